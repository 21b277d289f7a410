/**
 * The transfer engine `Storage` and `Buckets` share, one file at a time: local paths, resumable
 * downloads into temporary files (checked against the listed size), and uploads with progress.
 * The tree walks are in `trees.ts`.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Errors from "../../Errors.js"
import * as LocalFiles from "../../LocalFiles.js"
import { StorageProgressComplete, StorageProgressStart, StorageProgressStep } from "../storageModels.js"
import { parseUrl } from "../uriStorage.js"
import { drain, makeSink, type Sink, streamReader } from "./fetch.js"
import type { Emit } from "./progress.js"
import type { DownloadFlags, KnownLocal, LocalDir, Remote } from "./remote.js"
import { partName } from "./remote.js"
import type { FileTimes, LocalError } from "./rules.js"
import { fromPlatform, isTransient, localError, localTimes } from "./rules.js"

/** A download from the start into a temporary file. */
const FRESH: DownloadPlan = { into: "part", offset: 0 }

const noStep = (_: number) => Effect.void

/** Temporary files being written by downloads of this process. */
const partsInUse = new Set<string>()

/** Where a download writes (its temporary file or the destination itself) and from which byte. */
interface DownloadPlan {
  readonly into: "part" | "dst"
  readonly offset: number
  /** The destination is a pipe or device (`/dev/stdout`): written in order, in place. */
  readonly sequential?: boolean
}

/** What is written into in place: neither a regular file nor a folder (a pipe, a terminal, a device). */
const isSpecial = (info: Option.Option<FileSystem.File.Info> | undefined): boolean =>
  info !== undefined && Option.isSome(info) && info.value.type !== "File" && info.value.type !== "Directory"

/** A download into a pipe or device: no temporary file, no rename over it, no resume. */
const INTO_SPECIAL: DownloadPlan = { into: "dst", offset: 0, sequential: true }

/** @internal */
export const makeEngine = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const files = Option.getOrElse(yield* Effect.serviceOption(LocalFiles.LocalFiles), () => LocalFiles.fromFileSystem(fs))

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

  const statOption = files.stat

  /** The temporary file a download of `dstPath` writes (see `partName`). */
  const partPath = (dstPath: string) => {
    const slash = dstPath.lastIndexOf(path.sep)
    return slash < 0 ? partName(dstPath) : dstPath.slice(0, slash + 1) + partName(dstPath.slice(slash + 1))
  }

  /**
   * The temporary file of a download: the shared name, or a private one (never resumed) while
   * another download in this process writes the shared one.
   */
  const claimPartNow = (dstPath: string): { readonly path: string; readonly resumable: boolean; readonly release: () => void } => {
    const shared = partPath(dstPath)
    if (!partsInUse.has(shared)) {
      partsInUse.add(shared)
      return { path: shared, resumable: true, release: () => partsInUse.delete(shared) }
    }
    const unique = path.join(path.dirname(dstPath), `.${path.basename(dstPath)}.${Math.random().toString(36).slice(2, 10)}.neuro-part`)
    return { path: unique, resumable: false, release: () => {} }
  }

  /** A local directory with its parents (one that exists is fine). */
  const makeDirectory = (dir: string) => Effect.mapError(fs.makeDirectory(dir, { recursive: true }), fromPlatform)

  /** The names in a directory, sorted. */
  const readNames = (dir: string) =>
    Effect.map(Effect.mapError(fs.readDirectory(dir), fromPlatform), (names) => names.sort())

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
  const uploadFile = <P, E>(remote: Remote<P, E>, srcPath: string, dst: P, size: number, offset: number, emit: Emit): Effect.Effect<void, E> =>
    emit.listening === false ? remote.upload(srcPath, dst, size, offset, noStep) : Effect.gen(function*() {
      // the URIs of the events are built only when someone listens
      let uris: { readonly src: URL; readonly dst: URL } | undefined
      const at = () => (uris ??= { src: fileUri(srcPath), dst: remote.url(dst) })
      yield* emit(() => new StorageProgressStart({ ...at(), size }))
      yield* remote.upload(srcPath, dst, size, offset, (current) => emit(() => new StorageProgressStep({ ...at(), current, size })))
      yield* emit(() => new StorageProgressComplete({ ...at(), size }))
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
    !flags.update && !flags.continue ? Effect.succeed(FRESH) : Effect.gen(function*() {
      const fresh = FRESH
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
   * One read of the remote file from `cursor.pos` into `sink`: the remote's batched reader when it
   * has one (a Step per write), else its byte stream (a Step per chunk received).
   */
  const readOnce = <P, E>(
    remote: Remote<P, E>,
    src: P,
    sink: Sink,
    cursor: { pos: number },
    step: ((current: number) => Effect.Effect<void>) | undefined
  ): Effect.Effect<void, E | LocalError> => {
    const open = remote.open
    if (open !== undefined) {
      return Effect.acquireUseRelease(open(src, cursor.pos), (reader) => drain(reader, sink, cursor, step), (reader) => reader.close)
    }
    return Effect.scoped(Effect.flatMap(streamReader(remote.read(src, cursor.pos), cursor.pos, step), (reader) => drain(reader, sink, cursor, undefined)))
  }

  /**
   * Fetch the remote bytes from `cursor.pos` into `sink` until `size`, advancing
   * `cursor.pos` by what was written. A transient failure resumes from there, up to
   * `remote.readRetries` times in a row without progress; an answer that ends early asks for the
   * rest with a new read, and one that brings nothing is a `MalformedResponse`.
   */
  const fetchInto = <P, E extends { readonly _tag: string }>(
    remote: Remote<P, E>,
    src: P,
    sink: Sink,
    cursor: { pos: number },
    size: number,
    step: ((current: number) => Effect.Effect<void>) | undefined
  ): Effect.Effect<void, E | LocalError | Errors.MalformedResponse> =>
    Effect.gen(function*() {
      const short = () =>
        new Errors.MalformedResponse({
          description: `${remote.url(src).href} ended after ${cursor.pos} of its ${size} bytes (did it change while downloading?)`
        })
      let attempt = 0
      while (cursor.pos < size) {
        const before = cursor.pos
        const result = yield* Effect.either(readOnce(remote, src, sink, cursor, step))
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
    Effect.suspend(() => {
      let uris: { readonly src: URL; readonly dst: URL } | undefined
      const at = () => (uris ??= { src: remote.url(src), dst: fileUri(dstPath) })
      const cursor = { pos: plan.offset }
      const step = emit.listening === false
        ? undefined
        : (current: number) => emit(() => new StorageProgressStep({ ...at(), current, size }))
      const fetch = (target: string) =>
        Effect.suspend(() => {
          const sink = makeSink(files, target, cursor.pos, plan.sequential === true)
          return fetchInto(remote, src, sink, cursor, size, step).pipe(
            Effect.zipRight(sink.finish),
            Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : sink.abandon))
          )
        })
      const transfer = plan.into === "dst" ? fetch(dstPath) : intoPart(dstPath, plan, cursor, fetch)
      if (emit.listening === false) return transfer
      return emit(() => new StorageProgressStart({ ...at(), size })).pipe(
        Effect.zipRight(transfer),
        Effect.zipRight(emit(() => new StorageProgressComplete({ ...at(), size })))
      )
    })

  /**
   * Fetch into the temporary file of `dstPath` and rename it into place. It stays when the
   * download was interrupted (or resumed it and failed), else a failure removes it.
   */
  const intoPart = <E>(
    dstPath: string,
    plan: DownloadPlan,
    cursor: { pos: number },
    fetch: (target: string) => Effect.Effect<void, E | LocalError>
  ): Effect.Effect<void, E | LocalError> =>
    Effect.uninterruptibleMask((restore) => {
      // claimed and released synchronously: nothing can come in between
      const part = claimPartNow(dstPath)
      if (!part.resumable) cursor.pos = 0
      const keep = (exit: Exit.Exit<unknown, unknown>) => part.resumable && cursor.pos > 0 && (Exit.isInterrupted(exit) || plan.offset > 0)
      return restore(Effect.zipRight(fetch(part.path), files.rename(part.path, dstPath))).pipe(
        Effect.onExit((exit) => {
          part.release()
          return Exit.isSuccess(exit) || keep(exit) ? Effect.void : Effect.ignore(fs.remove(part.path))
        })
      )
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
   * `known`: the destination and temporary file already stat'ed. A destination known to be a pipe
   * or device is written in place, in order (neuro-sdk opens the destination and writes it).
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
    isSpecial(known?.dst)
      ? transferFile(remote, src, dstPath, times.size, INTO_SPECIAL, emit)
      : Effect.flatMap(planDownload(remote, dstPath, times, flags, known), (plan) =>
        plan === "skip" ? Effect.void : transferFile(remote, src, dstPath, times.size, plan, emit))

  return {
    fs,
    path,
    localPath,
    fileUri,
    stat,
    statOption,
    readNames,
    makeDirectory,
    localDir,
    uploadFile,
    downloadFile,
    download
  }
})

/** @internal */
export type Engine = Effect.Effect.Success<typeof makeEngine>
