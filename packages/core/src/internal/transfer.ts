/**
 * The transfer engine `Storage` and `Buckets` share: local paths, the local tree walk with filters
 * and ignore files, update/continue decisions, serialized progress, the FIFO limiter, resumable
 * downloads into temporary files (checked against the listed size), and the directory
 * upload/download walks. The remote side is a small interface (`Remote`) each service implements
 * over its own protocol.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as Errors from "../Errors.js"
import * as FileFilter from "../FileFilter.js"
import type { FilterFunc, ProgressCallback, StorageProgress } from "../Storage.js"
import {
  StorageProgressComplete,
  StorageProgressEnterDir,
  StorageProgressFail,
  StorageProgressLeaveDir,
  StorageProgressStart,
  StorageProgressStep
} from "./storageModels.js"
import { parseUrl } from "./uriStorage.js"

// ---------------------------------------------------------------------------------------------
// concurrency
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface Limiter {
  readonly withPermits: (n: 1) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * A FIFO counting semaphore whose acquire and release are O(1) however many fibers wait
 * (a tree walk parks one fiber per file; Effect's semaphore wakes every waiter on each release).
 */
/** @internal */
export const makeLimiter = (permits: number): Effect.Effect<Limiter> =>
  Effect.sync(() => {
    let free = permits
    const waiting = new Set<Deferred.Deferred<void>>()
    const release = Effect.sync(() => {
      const next = waiting.values().next()
      if (next.done === true) free++
      else {
        waiting.delete(next.value)
        Deferred.unsafeDone(next.value, Exit.void)
      }
    })
    const acquire = (restore: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        if (free > 0) {
          free--
          return Effect.void
        }
        return Effect.flatMap(Deferred.make<void>(), (d) => {
          waiting.add(d)
          return restore(Deferred.await(d)).pipe(
            Effect.onInterrupt(() => (waiting.delete(d) ? Effect.void : release))
          )
        })
      })
    return {
      withPermits: () => (effect) =>
        Effect.uninterruptibleMask((restore) => Effect.zipRight(acquire(restore), Effect.ensuring(restore(effect), release)))
    }
  })

// ---------------------------------------------------------------------------------------------
// progress
// ---------------------------------------------------------------------------------------------

/** Builds and delivers one progress event (built only when someone listens). */
/** @internal */
export type Emit = (make: () => StorageProgress) => Effect.Effect<void>

/** Progress delivery: one event at a time, in emission order. */
/** @internal */
export const serialized = (progress: ProgressCallback | undefined): Effect.Effect<Emit> =>
  Effect.map(makeLimiter(1), (lock): Emit => (make) =>
    progress === undefined ? Effect.void : lock.withPermits(1)(Effect.suspend(() => progress(make()))))

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/** What the local side of a transfer fails with (an unreadable ignore file is an `InvalidInputError`). */
/** @internal */
export type LocalError = Errors.FileSystemError | Errors.InvalidInputError

/** A local file-system error (no HTTP status or request). */
/** @internal */
export const localError: (errno: string, description: string) => Errors.FileSystemError = Errors.fromLocalErrno

/** @internal */
export const fromPlatform = (e: PlatformError): Errors.FileSystemError => {
  const cause: unknown = e.cause
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  const where = e._tag === "SystemError" && e.pathOrDescriptor !== undefined ? ` (${String(e.pathOrDescriptor)})` : ""
  const description = (e._tag === "SystemError" ? e.description ?? e.reason : e.description) + where
  if (code !== undefined && code.startsWith("E")) return localError(code, description)
  if (e._tag === "SystemError") {
    switch (e.reason) {
      case "NotFound":
        return localError("ENOENT", description)
      case "AlreadyExists":
        return localError("EEXIST", description)
      case "PermissionDenied":
        return localError("EACCES", description)
      default:
        return localError("EIO", description)
    }
  }
  return localError("EINVAL", description)
}

const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/** Worth another attempt of a transfer step: transport failures and gateway/throttling answers. */
/** @internal */
export const isTransient = (e: { readonly _tag: string }): boolean =>
  e._tag === "NetworkError" || e._tag === "ServerNotAvailable" ||
  ((e._tag === "IllegalArgumentError" || e._tag === "ClientError") &&
    Predicate.hasProperty(e, "status") && typeof e.status === "number" && TRANSIENT_STATUSES.has(e.status))

// ---------------------------------------------------------------------------------------------
// update / continue
// ---------------------------------------------------------------------------------------------

/** Size and modification time (seconds since the epoch, when known) of a file on either side. */
/** @internal */
export interface FileTimes {
  readonly size: number
  readonly mtime: number | undefined
}

/** Where a transfer starts: a byte offset (0 = the whole file), or not at all. */
/** @internal */
export type Decision = number | "skip"

/** neuro-sdk's "1 second" of modification-time tolerance. */
/** @internal */
export const TIME_THRESHOLD = 1

/**
 * neuro-sdk `_check_upload`/`_check_download`/`_check_transfer`: both modification times moved
 * by their shift (a clock difference), the file is transferred unless the destination is newer
 * by `threshold` seconds or more; then `update` skips it, and `continue` skips a complete copy
 * or resumes a shorter one.
 *
 * `shortMayBePartial`: a destination shorter than the source may be what a failed transfer left
 * (written just now, so newer): `update` does not skip it but sends the file again (or resumes
 * it, with `continue`). neuro-sdk skips it.
 */
/** @internal */
export const decide = (
  src: FileTimes,
  dst: FileTimes,
  shifts: { readonly src: number; readonly dst: number; readonly threshold: number },
  update: boolean,
  cont: boolean,
  shortMayBePartial = false
): Decision => {
  if (src.mtime === undefined || dst.mtime === undefined) return 0
  if ((dst.mtime + shifts.dst) - (src.mtime + shifts.src) < shifts.threshold) return 0
  if (update && !(shortMayBePartial && dst.size < src.size)) return "skip"
  if (cont) {
    if (src.size === dst.size) return "skip"
    if (dst.size < src.size) return dst.size
  }
  return 0
}

/**
 * neuro-sdk's clock-offset sample from an answer's `Date` header: the local clock minus the
 * server's, as an interval (`t0` is when the request left, in seconds).
 */
/** @internal */
export const clockSample = (
  t0: number,
  response: HttpClientResponse.HttpClientResponse
): { readonly min: number; readonly max: number } | undefined => {
  const t1 = Date.now() / 1000
  const date = response.headers["date"]
  const server = date === undefined ? Number.NaN : Date.parse(date) / 1000
  return Number.isNaN(server) ? undefined : { min: t0 - server - 1, max: t1 - server }
}

/** @internal */
export const localTimes = (info: FileSystem.File.Info): FileTimes => ({
  size: Number(info.size),
  mtime: Option.getOrUndefined(Option.map(info.mtime, (d) => d.getTime() / 1000))
})

// ---------------------------------------------------------------------------------------------
// the remote side
// ---------------------------------------------------------------------------------------------

/** One child of a remote folder, as a directory download sees it. */
/** @internal */
export type RemoteEntry =
  | { readonly _tag: "File"; readonly name: string; readonly times: FileTimes }
  | { readonly _tag: "Dir"; readonly name: string }
  /** Not transferable: reported as a `StorageProgressFail` (with a `name`, at that local path, filtered). */
  | { readonly _tag: "Fail"; readonly name: string | undefined; readonly src: URL; readonly message: string }

/**
 * What the engine needs of a remote file tree. `P` is a remote path (a storage URI, a bucket key)
 * and `E` the service's error type.
 */
/** @internal */
export interface Remote<P, E> {
  /** The URI of a remote path in progress events. */
  readonly url: (p: P) => URL
  readonly child: (p: P, name: string) => P
  /**
   * Send one local file (`size` bytes, from `offset`), calling `step` with the bytes sent so far
   * whenever the service reports progress.
   */
  readonly upload: (
    srcPath: string,
    dst: P,
    size: number,
    offset: number,
    step: (current: number) => Effect.Effect<void>
  ) => Effect.Effect<void, E>
  /** The bytes of a remote file from `offset`. */
  readonly read: (src: P, offset: number) => Stream.Stream<Uint8Array, E>
  /** Transient read failures retried without progress before a download gives up. */
  readonly readRetries: number
  readonly checkUpload: (local: FileTimes, remote: FileTimes, update: boolean, cont: boolean) => Effect.Effect<Decision>
  readonly checkDownload: (remote: FileTimes, local: FileTimes, update: boolean, cont: boolean) => Effect.Effect<Decision>
  /**
   * Make `p` a folder for an upload (created when missing). The files already there by name when
   * the service can compare (`compare` asks for them); `undefined` means nothing below `p` can
   * be compared.
   */
  readonly prepareFolder: (p: P, compare: boolean) => Effect.Effect<ReadonlyMap<string, FileTimes> | undefined, E>
  /** The children of a remote folder, in transfer order. */
  readonly listFolder: (p: P) => Effect.Effect<ReadonlyArray<RemoteEntry>, E>
}

/** @internal */
export interface TreeOptions {
  readonly update: boolean
  readonly continue: boolean
  /** Files transferred at once; shared with the folder listings and creations of the walk. */
  readonly concurrency: number
  readonly filter?: FilterFunc | undefined
  readonly emit: Emit
}

/** @internal */
export interface UploadTreeOptions extends TreeOptions {
  readonly ignoreFileNames?: Iterable<string> | undefined
}

/** The `*Dir` options of `Storage` and `Buckets`. */
/** @internal */
export interface DirOptions {
  readonly update?: boolean | undefined
  readonly continue?: boolean | undefined
  readonly concurrency?: number | undefined
  readonly filter?: FilterFunc | undefined
  readonly ignoreFileNames?: Iterable<string> | undefined
  readonly progress?: ProgressCallback | undefined
}

/** The engine's options from a service's `*Dir` options. */
/** @internal */
export const treeOptions = (options: DirOptions, defaultConcurrency: number): Effect.Effect<UploadTreeOptions> =>
  Effect.map(serialized(options.progress), (emit) => ({
    update: options.update === true,
    continue: options.continue === true,
    concurrency: Math.max(1, options.concurrency ?? defaultConcurrency),
    filter: options.filter,
    ignoreFileNames: options.ignoreFileNames,
    emit
  }))

/** A resolved local directory to upload. */
/** @internal */
export interface LocalDir {
  readonly path: string
  readonly info: FileSystem.File.Info
}

interface LocalEntry {
  readonly name: string
  readonly info: Option.Option<FileSystem.File.Info>
}

/** The parts as one array (the part itself when there is one). */
/** @internal */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * The name of a download's temporary file next to its destination `name`. It is the same for
 * every run, so that what an interrupted or killed download fetched is found again.
 */
/** @internal */
export const partName = (name: string): string => `.${name}.neuro-part`

/** Temporary files being written by downloads of this process. */
const partsInUse = new Set<string>()

/** Whether a download may skip or resume from what is already on the local side. */
/** @internal */
export interface DownloadFlags {
  readonly update: boolean
  readonly continue: boolean
}

/** The destination and temporary file of a download, when already stat'ed (undefined: not yet). */
/** @internal */
export interface KnownLocal {
  readonly dst?: Option.Option<FileSystem.File.Info> | undefined
  readonly part?: Option.Option<FileSystem.File.Info> | undefined
}

/** Where a download writes (its temporary file or the destination itself) and from which byte. */
interface DownloadPlan {
  readonly into: "part" | "dst"
  readonly offset: number
}

const idOf = (info: FileSystem.File.Info) => `${info.dev}:${Option.getOrElse(info.ino, () => -1)}`

// ---------------------------------------------------------------------------------------------
// the engine
// ---------------------------------------------------------------------------------------------

/** @internal */
export const make = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const invalidUri = (input: URL | string, description: string) =>
    new Errors.InvalidInputError({ kind: "uri", input: String(input), description })

  /** A local path from a plain path (resolved) or a `file:` URI. */
  const localPath = (input: URL | string): Effect.Effect<string, Errors.InvalidInputError> => {
    if (typeof input === "string" && !input.startsWith("file:")) return Effect.succeed(path.resolve(input))
    return Effect.flatMap(parseUrl(input), (url) => {
      if (url.protocol !== "file:") {
        return Effect.fail(invalidUri(input, `Invalid local file scheme '${url.protocol}' (only 'file:' is allowed)`))
      }
      if (url.host !== "") return Effect.fail(invalidUri(input, `Host part is not allowed in file URI, found '${url.host}'`))
      return Effect.mapError(path.fromFileUrl(url), (e) => invalidUri(input, e.description ?? "bad file URI")).pipe(
        Effect.map((p) => path.resolve(p))
      )
    })
  }

  const fileUri = (p: string): URL => {
    const url = new URL("file://")
    url.pathname = p
    return url
  }

  const stat = (p: string) => Effect.mapError(fs.stat(p), fromPlatform)

  const statOption = (p: string) =>
    fs.stat(p).pipe(
      Effect.map(Option.some),
      Effect.catchAll(() => Effect.succeed(Option.none<FileSystem.File.Info>()))
    )

  /** The temporary file a download of `dstPath` writes (see `partName`). */
  const partPath = (dstPath: string) => path.join(path.dirname(dstPath), partName(path.basename(dstPath)))

  /**
   * The temporary file of a download: the shared name, or a private one (never resumed) while
   * another download in this process writes the shared one.
   */
  const claimPart = (dstPath: string) =>
    Effect.sync(() => {
      const shared = partPath(dstPath)
      if (!partsInUse.has(shared)) {
        partsInUse.add(shared)
        return { path: shared, resumable: true, release: Effect.sync(() => partsInUse.delete(shared)) }
      }
      const unique = path.join(path.dirname(dstPath), `.${path.basename(dstPath)}.${Math.random().toString(36).slice(2, 10)}.neuro-part`)
      return { path: unique, resumable: false, release: Effect.void }
    })

  /** A directory's entries sorted by name, each with its `stat` (following links) when it has one. */
  const readDir = (dir: string) =>
    Effect.gen(function*() {
      const names = yield* Effect.mapError(fs.readDirectory(dir), fromPlatform)
      names.sort()
      return yield* Effect.forEach(names, (name) => Effect.map(statOption(path.join(dir, name)), (info): LocalEntry => ({ name, info })), {
        concurrency: 16
      })
    })

  /** The real path of a local directory to upload. */
  const localDir = (given: string) =>
    Effect.gen(function*() {
      const root = yield* fs.realPath(given).pipe(Effect.catchAll(() => Effect.fail(localError("ENOENT", `No such file: ${given}`))))
      const info = yield* stat(root)
      if (info.type !== "Directory") return yield* Effect.fail(localError("ENOTDIR", `Not a directory: ${root}`))
      const dir: LocalDir = { path: root, info }
      return dir
    })

  // ------------------------------------------------------------------ one file

  /** Start, the remote's own steps, Complete. */
  const uploadFile = <P, E>(remote: Remote<P, E>, srcPath: string, dst: P, size: number, offset: number, emit: Emit) =>
    Effect.gen(function*() {
      const src = fileUri(srcPath)
      const dstUrl = remote.url(dst)
      yield* emit(() => new StorageProgressStart({ src, dst: dstUrl, size }))
      yield* remote.upload(srcPath, dst, size, offset, (current) => emit(() => new StorageProgressStep({ src, dst: dstUrl, current, size })))
      yield* emit(() => new StorageProgressComplete({ src, dst: dstUrl, size }))
    })

  const regularFile = (info: Option.Option<FileSystem.File.Info>) => Option.filter(info, (i) => i.type === "File")

  /**
   * Where a download starts (storage.md §5.7 with our temporary file): `update`/`continue` compare
   * the destination as neuro-sdk does; `continue` then also resumes the temporary file an
   * interrupted download left, when it is newer than the remote file and not longer (a complete
   * one is just renamed). Whichever of the two holds more is resumed; a skip or an in-place resume
   * removes a stale temporary file, a fresh download overwrites it.
   */
  const planDownload = <P, E>(
    remote: Remote<P, E>,
    dstPath: string,
    times: FileTimes,
    flags: DownloadFlags,
    known: KnownLocal | undefined
  ): Effect.Effect<DownloadPlan | "skip"> =>
    Effect.gen(function*() {
      const fresh: DownloadPlan = { into: "part", offset: 0 }
      if (!flags.update && !flags.continue) return fresh
      const part = partPath(dstPath)
      const dst = regularFile(known?.dst ?? (yield* statOption(dstPath)))
      const partInfo = regularFile(known?.part ?? (yield* statOption(part)))
      // a stale one (not while a download of this process writes it)
      const dropPart = Option.isSome(partInfo) && !partsInUse.has(part) ? Effect.ignore(fs.remove(part)) : Effect.void
      const dstDecision = Option.isSome(dst) ? yield* remote.checkDownload(times, localTimes(dst.value), flags.update, flags.continue) : 0
      if (dstDecision === "skip") {
        yield* dropPart
        return "skip"
      }
      const partDecision = flags.continue && Option.isSome(partInfo)
        ? yield* remote.checkDownload(times, localTimes(partInfo.value), false, true)
        : 0
      const partOffset = partDecision === "skip" ? times.size : partDecision
      if (partOffset > 0 && partOffset >= dstDecision) return { into: "part", offset: partOffset }
      if (dstDecision > 0) {
        yield* dropPart
        return { into: "dst", offset: dstDecision }
      }
      return fresh
    })

  /**
   * Fetch the remote bytes from `cursor.pos` into the open `file` until `size`, advancing
   * `cursor.pos` by what was written. A transient failure resumes from there, up to
   * `remote.readRetries` times in a row without progress; an answer that ends early asks for the
   * rest with a new read, and one that brings nothing is a `MalformedResponse`.
   */
  const fetchInto = <P, E extends { readonly _tag: string }>(
    remote: Remote<P, E>,
    src: P,
    file: FileSystem.File,
    cursor: { pos: number },
    size: number,
    step: (current: number) => Effect.Effect<void>
  ): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
    Effect.gen(function*() {
      const short = () =>
        new Errors.MalformedResponse({
          description: `${remote.url(src).href} ended after ${cursor.pos} of its ${size} bytes (did it change while downloading?)`
        })
      let attempt = 0
      while (cursor.pos < size) {
        const before = cursor.pos
        const result = yield* Effect.either(
          Stream.runForEachChunk(remote.read(src, cursor.pos), (chunks) => {
            const data = concatBytes(Chunk.toReadonlyArray(chunks))
            if (data.length === 0) return Effect.void
            return Effect.zipRight(
              Effect.mapError(file.writeAll(data), fromPlatform),
              Effect.suspend(() => {
                cursor.pos += data.length
                return step(cursor.pos)
              })
            )
          })
        )
        if (cursor.pos >= size) break
        if (result._tag === "Right") {
          if (cursor.pos === before) return yield* Effect.fail(short())
          attempt = 0
          continue
        }
        const error = result.left
        // asking past the end of the file: it is shorter now than listed
        if (Predicate.hasProperty(error, "status") && error.status === 416 && cursor.pos > 0) return yield* Effect.fail(short())
        if (!isTransient(error)) return yield* Effect.fail(error)
        attempt = cursor.pos > before ? 0 : attempt + 1
        if (attempt > remote.readRetries) return yield* Effect.fail(error)
        yield* Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** attempt)))
      }
    })

  /**
   * Download one file by `plan`: a destination resumed in place (neuro-sdk's `continue`) is
   * appended to; otherwise the bytes go to `.<name>.neuro-part` next to the destination (resumed
   * from `plan.offset`), renamed into place when complete. An interrupted download (or a killed
   * process) leaves that file for a later `continue`; a failed one removes it unless it was resumed
   * (it then keeps at least what it held).
   */
  const transferFile = <P, E extends { readonly _tag: string }>(
    remote: Remote<P, E>,
    src: P,
    dstPath: string,
    size: number,
    plan: DownloadPlan,
    emit: Emit
  ): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
    Effect.gen(function*() {
      const srcUrl = remote.url(src)
      const dst = fileUri(dstPath)
      yield* emit(() => new StorageProgressStart({ src: srcUrl, dst, size }))
      const cursor = { pos: plan.offset }
      const step = (current: number) => emit(() => new StorageProgressStep({ src: srcUrl, dst, current, size }))
      const fetch = (target: string) =>
        Effect.scoped(Effect.gen(function*() {
          const file = yield* Effect.mapError(fs.open(target, { flag: cursor.pos > 0 ? "r+" : "w" }), fromPlatform)
          if (cursor.pos > 0) yield* file.seek(cursor.pos, "start")
          yield* fetchInto(remote, src, file, cursor, size, step)
        }))
      if (plan.into === "dst") {
        yield* fetch(dstPath)
      } else {
        const keep = (exit: Exit.Exit<unknown, unknown>, resumable: boolean) =>
          resumable && cursor.pos > 0 && (Exit.isInterrupted(exit) || plan.offset > 0)
        yield* Effect.acquireUseRelease(
          claimPart(dstPath),
          (part) =>
            Effect.suspend(() => {
              if (!part.resumable) cursor.pos = 0
              return fetch(part.path)
            }).pipe(
              Effect.zipRight(Effect.mapError(fs.rename(part.path, dstPath), fromPlatform)),
              Effect.onExit((exit) =>
                Exit.isSuccess(exit) || keep(exit, part.resumable) ? Effect.void : Effect.ignore(fs.remove(part.path))
              )
            ),
          (part) => part.release
        )
      }
      yield* emit(() => new StorageProgressComplete({ src: srcUrl, dst, size }))
    })

  /** Download at a given offset: 0 into a fresh temporary file, more by appending to the destination. */
  const downloadFile = <P, E extends { readonly _tag: string }>(
    remote: Remote<P, E>,
    src: P,
    dstPath: string,
    size: number,
    offset: number,
    emit: Emit
  ): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
    transferFile(remote, src, dstPath, size, offset > 0 ? { into: "dst", offset } : { into: "part", offset: 0 }, emit)

  /**
   * Download one file as `update`/`continue` decide (`planDownload`); a skip sends no event.
   * `known`: the destination and temporary file already stat'ed by a tree walk.
   */
  const download = <P, E extends { readonly _tag: string }>(
    remote: Remote<P, E>,
    src: P,
    dstPath: string,
    times: FileTimes,
    flags: DownloadFlags,
    emit: Emit,
    known?: KnownLocal
  ): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
    Effect.flatMap(planDownload(remote, dstPath, times, flags, known), (plan) =>
      plan === "skip" ? Effect.void : transferFile(remote, src, dstPath, times.size, plan, emit))

  // ------------------------------------------------------------------ trees

  /** An ignore file's rules on top of `previous` (neuro-sdk `FileFilter(previous.match)`). */
  const loadIgnoreFile = (file: string, prefix: string, prefix2: string, previous: FileFilter.FileFilter) =>
    FileFilter.readFromFile(FileFilter.on(previous), fs, file, { prefix, prefix2 })

  /**
   * The filter at the root of an upload: the user's filter as the fallback, then the ignore files
   * of every ancestor directory, outermost first (ignore-file rules decide first, as in neuro-sdk).
   */
  const rootFilter = (root: string, ignoreNames: ReadonlyArray<string>, filter: FilterFunc | undefined) =>
    Effect.gen(function*() {
      let rules = FileFilter.make(filter)
      if (ignoreNames.length === 0) return rules
      const chain: Array<string> = []
      for (let d = path.dirname(root); ; d = path.dirname(d)) {
        chain.unshift(d)
        if (path.dirname(d) === d) break
      }
      for (const dir of chain) {
        const rel = path.relative(dir, root) + "/"
        for (const name of ignoreNames) {
          const file = path.join(dir, name)
          const info = yield* statOption(file)
          if (Option.isSome(info) && info.value.type === "File") rules = yield* loadIgnoreFile(file, "", rel, rules)
        }
      }
      return rules
    })

  /**
   * Upload a local tree: each folder prepared on the remote side, then its children at once
   * (behind `concurrency` slots). Symlinks are followed; a loop, a broken link or anything but a
   * file or a directory is a `Fail` event.
   */
  const uploadTree = <P, E>(remote: Remote<P, E>, root: LocalDir, dstRoot: P, options: UploadTreeOptions) =>
    Effect.gen(function*() {
      const { concurrency, emit, update } = options
      const cont = options.continue
      const slots = yield* makeLimiter(concurrency)
      const ignoreNames = [...(options.ignoreFileNames ?? [])].sort()
      const rules = yield* rootFilter(root.path, ignoreNames, options.filter)

      const walk = (
        dir: string,
        dst: P,
        rel: string,
        match: FileFilter.FileFilter,
        compare: boolean,
        ancestorIds: ReadonlySet<string>
      ): Effect.Effect<void, E | LocalError> =>
        Effect.gen(function*() {
          const existing = yield* slots.withPermits(1)(remote.prepareFolder(dst, compare))
          const srcUri = fileUri(dir)
          const dstUri = remote.url(dst)
          yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
          const entries = yield* slots.withPermits(1)(readDir(dir))
          let here = match
          for (const e of entries) {
            if (ignoreNames.includes(e.name) && Option.isSome(e.info) && e.info.value.type === "File") {
              here = yield* loadIgnoreFile(path.join(dir, e.name), rel, "", here)
            }
          }
          const filter = here
          const tasks: Array<Effect.Effect<void, E | LocalError>> = []
          for (const e of entries) {
            const childPath = path.join(dir, e.name)
            const childDst = remote.child(dst, e.name)
            const info = Option.getOrUndefined(e.info)
            const isDir = info?.type === "Directory"
            const childRel = rel + e.name + (isDir ? "/" : "")
            if (!(yield* FileFilter.match(filter, childRel))) continue
            if (info !== undefined && info.type === "File") {
              tasks.push(Effect.gen(function*() {
                const r = existing?.get(e.name)
                const decision = (update || cont) && r !== undefined ? yield* remote.checkUpload(localTimes(info), r, update, cont) : 0
                if (decision === "skip") return
                yield* slots.withPermits(1)(uploadFile(remote, childPath, childDst, Number(info.size), decision, emit))
              }))
            } else if (isDir && ancestorIds.has(idOf(info))) {
              tasks.push(emit(() =>
                new StorageProgressFail({ src: fileUri(childPath), dst: remote.url(childDst), message: `Cannot upload ${childPath}, a symlink loop` })
              ))
            } else if (isDir) {
              tasks.push(walk(childPath, childDst, childRel, filter, existing !== undefined, new Set([...ancestorIds, idOf(info)])))
            } else {
              tasks.push(emit(() =>
                new StorageProgressFail({
                  src: fileUri(childPath),
                  dst: remote.url(childDst),
                  message: `Cannot upload ${childPath}, not regular file/directory`
                })
              ))
            }
          }
          yield* Effect.all(tasks, { concurrency, discard: true })
          yield* emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri }))
        })

      yield* walk(root.path, dstRoot, "", rules, update || cont, new Set([idOf(root.info)]))
    })

  /** Download a remote tree into `dstRoot` (created as needed), children of a folder at once. */
  const downloadTree = <P, E extends { readonly _tag: string }>(remote: Remote<P, E>, srcRoot: P, dstRoot: string, options: TreeOptions) =>
    Effect.gen(function*() {
      const { concurrency, emit, filter, update } = options
      const cont = options.continue
      const slots = yield* makeLimiter(concurrency)

      const walk = (src: P, dir: string, rel: string): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
        Effect.gen(function*() {
          // a file in the way is EEXIST, as neuro-sdk's `mkdir(parents=True, exist_ok=True)`
          yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), fromPlatform)
          const srcUri = remote.url(src)
          const dstUri = fileUri(dir)
          yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
          const local = new Map<string, FileSystem.File.Info>()
          if (update || cont) {
            for (const e of yield* slots.withPermits(1)(readDir(dir))) {
              if (Option.isSome(e.info) && e.info.value.type === "File") local.set(e.name, e.info.value)
            }
          }
          const entries = yield* slots.withPermits(1)(remote.listFolder(src))
          const tasks: Array<Effect.Effect<void, E | LocalError | Errors.MalformedResponse>> = []
          for (const e of entries) {
            if (e._tag === "Fail" && e.name === undefined) {
              tasks.push(emit(() => new StorageProgressFail({ src: e.src, dst: dstUri, message: e.message })))
              continue
            }
            const name = e.name!
            const childPath = path.join(dir, name)
            const childRel = rel + name + (e._tag === "Dir" ? "/" : "")
            if (filter !== undefined && !(yield* filter(childRel))) continue
            if (e._tag === "Fail") {
              tasks.push(emit(() => new StorageProgressFail({ src: e.src, dst: fileUri(childPath), message: e.message })))
            } else if (e._tag === "Dir") {
              tasks.push(walk(remote.child(src, name), childPath, childRel))
            } else {
              const known: KnownLocal = { dst: Option.fromNullable(local.get(name)), part: Option.fromNullable(local.get(partName(name))) }
              tasks.push(slots.withPermits(1)(download(remote, remote.child(src, name), childPath, e.times, { update, continue: cont }, emit, known)))
            }
          }
          yield* Effect.all(tasks, { concurrency, discard: true })
          yield* emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri }))
        })

      yield* walk(srcRoot, dstRoot, "")
    })

  return {
    localPath,
    fileUri,
    stat,
    statOption,
    localDir,
    uploadFile,
    downloadFile,
    download,
    uploadTree,
    downloadTree
  }
})
