import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import type * as StorageModule from "../Storage.js"
import {
  DiskUsageInfo,
  FileStatus,
  StorageProgressComplete,
  StorageProgressDelete,
  StorageProgressEnterDir,
  StorageProgressFail,
  StorageProgressLeaveDir,
  StorageProgressStart,
  StorageProgressStep
} from "../Storage.js"
import * as FileFilter from "../FileFilter.js"
import { fnmatchRegex, hasMagic } from "./fileFilter.js"
import * as Uri from "./uriStorage.js"

type StorageError = StorageModule.StorageError
type Progress = StorageModule.StorageProgress

/** @internal */
export const DEFAULT_CONCURRENCY = 64

/** @internal */
export const CHUNK_SIZE = 16 * 1024 * 1024

/** Longest silence of a streamed answer (listing, delete progress, download) before it counts as dead. */
const BODY_GAP_TIMEOUT = Duration.seconds(60)
const READ_CHUNK = 256 * 1024
const TIME_THRESHOLD = 1
const RETRY_TIMES = 9

// ---------------------------------------------------------------------------------------------
// wire
// ---------------------------------------------------------------------------------------------

const WireFileStatus = Schema.Struct({
  path: Schema.String,
  type: Schema.String,
  length: Schema.Number,
  modificationTime: Schema.Number,
  permission: Schema.Literal("read", "write", "manage"),
  target: Schema.optional(Schema.NullOr(Schema.String))
})
type WireFileStatus = typeof WireFileStatus.Type

const ListLine = Schema.Struct({ FileStatus: WireFileStatus })
const ListDocument = Schema.Struct({ FileStatuses: Schema.Struct({ FileStatus: Schema.Array(WireFileStatus) }) })
const StatDocument = Schema.Struct({ FileStatus: WireFileStatus })
const DiskUsageDocument = Schema.Struct({ total: Schema.Number, used: Schema.Number, free: Schema.Number })
const DeleteLine = Schema.Struct({ path: Schema.String, is_dir: Schema.Boolean })

const toStatus = (w: WireFileStatus, uri: URL): FileStatus =>
  new FileStatus(
    {
      path: w.path,
      size: Math.trunc(w.length),
      type: w.type === "FILE" || w.type === "DIRECTORY" || w.type === "SYMLINK" ? w.type : "UNKNOWN",
      modificationTime: Math.trunc(w.modificationTime),
      permission: w.permission,
      uri,
      ...(typeof w.target === "string" ? { target: w.target } : {})
    },
    // already validated by the wire schema
    true
  )

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

const malformed = (request: HttpClientRequest.HttpClientRequest, status: number, description: string) =>
  new Errors.MalformedResponse({ description, status, method: request.method, url: request.url })

const localError = (errno: string, description: string): Errors.FileSystemError => {
  const fields = { errno, description }
  switch (errno) {
    case "ENOENT":
      return new Errors.FileNotFound(fields)
    case "EEXIST":
      return new Errors.FileExists(fields)
    case "EISDIR":
      return new Errors.IsADirectory(fields)
    case "ENOTDIR":
      return new Errors.NotADirectory(fields)
    case "EACCES":
    case "EPERM":
      return new Errors.PermissionDenied(fields)
    default:
      return new Errors.OSError(fields)
  }
}

const fromPlatform = (e: PlatformError): Errors.FileSystemError => {
  const cause: unknown = e.cause
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  const path = e._tag === "SystemError" && e.pathOrDescriptor !== undefined ? ` (${String(e.pathOrDescriptor)})` : ""
  const description = (e._tag === "SystemError" ? e.description ?? e.reason : e.description) + path
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

const isTransient = (e: StorageError): boolean =>
  e._tag === "NetworkError" || e._tag === "ServerNotAvailable" ||
  ((e._tag === "IllegalArgumentError" || e._tag === "ClientError") && e.status !== undefined && [429, 502, 503, 504].includes(e.status))

const retrySchedule = Schedule.exponential(Duration.millis(100), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(2))),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(RETRY_TIMES))
)

/** Transfer-level retry (neuro-sdk `retries`): transport failures and gateway answers only. */
const retrying = <A, R>(effect: Effect.Effect<A, StorageError, R>): Effect.Effect<A, StorageError, R> =>
  Effect.retry(effect, { schedule: retrySchedule, while: isTransient })

const isNotFound = (e: StorageError) => e._tag === "ResourceNotFound"

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
// service
// ---------------------------------------------------------------------------------------------

interface LocalEntry {
  readonly name: string
  readonly info: Option.Option<FileSystem.File.Info>
}

type Decision = number | "skip"

type Emit = (make: () => Progress) => Effect.Effect<void>

const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
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

const mtimeSeconds = (info: FileSystem.File.Info): number => Option.getOrElse(Option.map(info.mtime, (d) => d.getTime() / 1000), () => 0)

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const clock = yield* Ref.make({ minDiff: 0, maxDiff: 0 })

  const who = Effect.all({ user: config.username, cluster: config.clusterName, org: config.orgName })

  const normalize = (uri: URL | string) => Effect.flatMap(who, (w) => Uri.normalizeStorage(uri, w))

  const localPath = (input: URL | string): Effect.Effect<string, Errors.InvalidInputError> => {
    if (typeof input === "string" && !input.startsWith("file:")) return Effect.succeed(path.resolve(input))
    return Effect.flatMap(Uri.parseUrl(input), (url) => {
      if (url.protocol !== "file:") {
        return Effect.fail(
          new Errors.InvalidInputError({
            kind: "uri",
            input: String(input),
            description: `Invalid local file scheme '${url.protocol}' (only 'file:' is allowed)`
          })
        )
      }
      if (url.host !== "") {
        return Effect.fail(
          new Errors.InvalidInputError({ kind: "uri", input: String(input), description: `Host part is not allowed in file URI, found '${url.host}'` })
        )
      }
      return Effect.mapError(
        path.fromFileUrl(url),
        (e) => new Errors.InvalidInputError({ kind: "uri", input: String(input), description: e.description ?? "bad file URI" })
      ).pipe(Effect.map((p) => path.resolve(p)))
    })
  }

  const fileUri = (p: string): URL => {
    const url = new URL("file://")
    url.pathname = p
    return url
  }

  const requestUrl = (uri: URL) => api.service("storage", { clusterName: uri.host }, ...Uri.segmentsOf(uri))

  const op = (method: "GET" | "PUT" | "PATCH" | "DELETE" | "POST", uri: URL, name: string, params: Record<string, string> = {}) =>
    Effect.map(requestUrl(uri), (url) =>
      HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setUrlParams({ op: name, ...params })))

  /** neuro-sdk's clock-offset estimate from a `Date` header (storage.md §5.7). */
  const recordClock = (t0: number, response: HttpClientResponse.HttpClientResponse) =>
    Effect.sync(() => Date.now() / 1000).pipe(
      Effect.flatMap((t1) => {
        const date = response.headers["date"]
        const parsed = date === undefined ? Number.NaN : Date.parse(date)
        if (Number.isNaN(parsed)) return Effect.void
        const s = parsed / 1000
        return Ref.set(clock, { minDiff: t0 - s - 1, maxDiff: t1 - s })
      })
    )

  const timedExecute = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const t0 = Date.now() / 1000
      const response = yield* api.execute(request)
      yield* recordClock(t0, response)
      return response
    })

  const readText = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.mapError(response.text, (e) =>
      e._tag === "ResponseError" && e.reason === "Decode"
        ? new Errors.NetworkError({ reason: "Transport", description: "the connection broke while reading the answer", method: response.request.method, url: response.request.url })
        : malformed(response.request, response.status, e.message))

  const decodeJson = <A, I>(response: HttpClientResponse.HttpClientResponse, schema: Schema.Schema<A, I>) =>
    Effect.flatMap(readText(response), (text) =>
      Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: () => malformed(response.request, response.status, "the body is not valid JSON")
      }).pipe(
        Effect.flatMap((u) =>
          Effect.mapError(
            Schema.decodeUnknown(schema)(u),
            (e) => malformed(response.request, response.status, ParseResult.TreeFormatter.formatErrorSync(e))
          )
        )
      ))

  const checkName = (request: HttpClientRequest.HttpClientRequest, w: WireFileStatus) =>
    Uri.isSafeName(w.path)
      ? Effect.succeed(w)
      : Effect.fail(malformed(request, 200, `unsafe entry name ${JSON.stringify(w.path)} in a directory listing`))

  /** A body that sends nothing for 60 s (neuro-sdk's `sock_read`) is a dead connection. */
  const gapTimed = <A>(request: HttpClientRequest.HttpClientRequest) => (stream: Stream.Stream<A, StorageError>) =>
    Stream.timeoutFail(
      stream,
      () =>
        new Errors.NetworkError({
          reason: "Timeout",
          description: `no data for ${Duration.format(BODY_GAP_TIMEOUT)}`,
          method: request.method,
          url: request.url
        }),
      BODY_GAP_TIMEOUT
    )

  // ------------------------------------------------------------------ list
  const list = (input: URL | string): Stream.Stream<FileStatus, StorageError> =>
    Stream.unwrap(Effect.gen(function*() {
      const uri = yield* normalize(input)
      const request = (yield* op("GET", uri, "LISTSTATUS")).pipe(HttpClientRequest.setHeader("Accept", "application/x-ndjson"))
      const response = yield* timedExecute(request)
      const entry = (w: WireFileStatus) => Effect.map(checkName(request, w), (ok) => toStatus(ok, Uri.child(uri, ok.path)))
      const contentType = response.headers["content-type"] ?? ""
      if (!contentType.startsWith("application/x-ndjson")) {
        const doc = yield* decodeJson(response, ListDocument)
        return Stream.fromIterable(doc.FileStatuses.FileStatus).pipe(Stream.mapEffect(entry))
      }
      const decodeLine = Schema.decodeUnknown(ListLine)
      return response.stream.pipe(
        Stream.mapError((e): StorageError =>
          e._tag === "ResponseError" && e.reason === "Decode"
            ? new Errors.NetworkError({ reason: "Transport", description: "the connection broke during the listing", method: "GET", url: request.url })
            : malformed(request, response.status, e.message)
        ),
        gapTimed(request),
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim() !== ""),
        Stream.mapEffect((line) =>
          Effect.gen(function*() {
            const u = yield* Effect.try({
              try: (): unknown => JSON.parse(line),
              catch: () => malformed(request, response.status, "a streamed line is not valid JSON")
            })
            if (Predicate.isRecord(u) && "error" in u) return yield* Effect.fail(lineError(u, request))
            const parsed = yield* Effect.mapError(
              decodeLine(u),
              (e) => malformed(request, response.status, ParseResult.TreeFormatter.formatErrorSync(e))
            )
            return yield* entry(parsed.FileStatus)
          })
        )
      )
    }))

  const lineError = (line: Record<string, unknown>, request: HttpClientRequest.HttpClientRequest): StorageError => {
    const description = typeof line.error === "string" ? line.error : JSON.stringify(line.error)
    if (typeof line.errno === "string") return Errors.fromErrno(line.errno, description, { method: request.method, url: request.url })
    return new Errors.NDJSONError({ description, method: request.method, url: request.url })
  }

  const listAll = (uri: URL) => retrying(Effect.map(Stream.runCollect(list(uri)), Chunk.toReadonlyArray))

  // ------------------------------------------------------------------ stat / mkdir / rm / mv / du
  const statNormalized = (uri: URL) =>
    Effect.gen(function*() {
      const request = yield* op("GET", uri, "GETFILESTATUS")
      const response = yield* timedExecute(request)
      const doc = yield* decodeJson(response, StatDocument)
      return toStatus(doc.FileStatus, Uri.fromRootPath(uri.host, doc.FileStatus.path))
    })

  const stat = Effect.fn("Storage.stat")(function*(input: URL | string) {
    return yield* statNormalized(yield* normalize(input))
  })

  const statOption = (uri: URL) =>
    statNormalized(uri).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<FileStatus>()))
    )

  const mkdirs = (uri: URL) => Effect.flatMap(op("PUT", uri, "MKDIRS"), (r) => api.discard(r))

  const mkdir = Effect.fn("Storage.mkdir")(function*(
    input: URL | string,
    options: { readonly parents?: boolean | undefined; readonly existOk?: boolean | undefined } = {}
  ) {
    const uri = yield* normalize(input)
    if (options.existOk !== true && Option.isSome(yield* statOption(uri))) {
      return yield* Effect.fail(localError("EEXIST", `File exists: ${uri.href}`))
    }
    if (options.parents !== true) {
      const parent = yield* parentOfGiven(input)
      if (parent !== undefined) {
        const p = yield* normalize(parent)
        if (Option.isNone(yield* statOption(p))) return yield* Effect.fail(localError("ENOENT", `No such directory: ${parent.href}`))
      }
    }
    yield* mkdirs(uri)
  })

  /** The parent of the URI as given (storage.md §5.3), undefined when it is a root. */
  const parentOfGiven = (input: URL | string) =>
    Effect.map(Uri.parseUrl(input), (url) => {
      const segments = url.pathname.split("/")
      while (segments.length > 0 && segments[segments.length - 1] === "") segments.pop()
      segments.pop()
      const p = segments.join("/")
      if (p === "" || p === "/") return undefined
      return Uri.withPath(url, p)
    })

  const rm = Effect.fn("Storage.rm")(function*(
    input: URL | string,
    options: { readonly recursive?: boolean | undefined; readonly progress?: StorageModule.ProgressCallback | undefined } = {}
  ) {
    const uri = yield* normalize(input)
    const request = yield* op("DELETE", uri, "DELETE", { recursive: options.recursive === true ? "true" : "false" })
    const response = yield* api.execute(request.pipe(HttpClientRequest.setHeader("Accept", "application/x-ndjson")))
    if (!(response.headers["content-type"] ?? "").startsWith("application/x-ndjson")) {
      yield* Effect.ignore(response.text)
      return
    }
    const progress = options.progress
    yield* response.stream.pipe(
      Stream.mapError((e): StorageError =>
        e._tag === "ResponseError" && e.reason === "Decode"
          ? new Errors.NetworkError({ reason: "Transport", description: "the connection broke during the delete", method: "DELETE", url: request.url })
          : malformed(request, response.status, e.message)
      ),
      gapTimed(request),
      Stream.decodeText(),
      Stream.splitLines,
      Stream.filter((line) => line.trim() !== ""),
      Stream.runForEach((line) =>
        Effect.gen(function*() {
          const u = yield* Effect.try({ try: (): unknown => JSON.parse(line), catch: () => malformed(request, 200, "a streamed line is not valid JSON") })
          if (Predicate.isRecord(u) && "error" in u) return yield* Effect.fail(lineError(u, request))
          const d = yield* Effect.mapError(Schema.decodeUnknown(DeleteLine)(u), (e) => malformed(request, 200, ParseResult.TreeFormatter.formatErrorSync(e)))
          if (progress !== undefined) yield* progress(new StorageProgressDelete({ uri: Uri.fromRootPath(uri.host, d.path), isDir: d.is_dir }))
        })
      )
    )
  })

  const mv = Effect.fn("Storage.mv")(function*(srcInput: URL | string, dstInput: URL | string) {
    const src = yield* normalize(srcInput)
    const dst = yield* normalize(dstInput)
    if (src.host !== dst.host) {
      return yield* Effect.fail(new Errors.InvalidInputError({ kind: "uri", input: dst.href, description: "Cannot move cross-cluster" }))
    }
    const request = yield* op("POST", src, "RENAME", { destination: Uri.rootPath(dst) })
    yield* api.discard(request)
  })

  const diskUsage = Effect.fn("Storage.diskUsage")(function*(
    options: { readonly clusterName?: string | undefined; readonly orgName?: string | null | undefined; readonly uri?: URL | string | undefined } = {}
  ) {
    const w = yield* who
    const clusterName = options.clusterName ?? w.cluster
    const orgName = options.orgName === undefined ? w.org : options.orgName
    const uri = options.uri !== undefined
      ? yield* normalize(options.uri)
      : Uri.storageUrl(clusterName, orgName === null ? [w.user] : [orgName, w.user])
    const request = yield* op("GET", uri, "GETDISKUSAGE")
    const response = yield* timedExecute(request)
    const doc = yield* decodeJson(response, DiskUsageDocument)
    return new DiskUsageInfo({
      clusterName,
      orgName,
      total: doc.total,
      used: doc.used,
      free: doc.free,
      ...(options.uri !== undefined ? { uri: yield* Uri.parseUrl(options.uri) } : {})
    })
  })

  // ------------------------------------------------------------------ create / write / open
  const octet = "application/octet-stream"

  const create = Effect.fn("Storage.create")(function*(
    input: URL | string,
    data: Uint8Array | Stream.Stream<Uint8Array, StorageError>
  ) {
    const uri = yield* normalize(input)
    const request = yield* op("PUT", uri, "CREATE")
    const body = data instanceof Uint8Array
      ? HttpClientRequest.bodyUint8Array(request, data, octet)
      : HttpClientRequest.bodyStream(request, data, { contentType: octet })
    yield* api.discard(body, { timeout: null })
  })

  const writeRequest = (uri: URL, offset: number, length: number) =>
    Effect.map(op("PATCH", uri, "WRITE"), (r) =>
      HttpClientRequest.setHeader(r, "Content-Range", `bytes ${offset}-${offset + length - 1}/*`))

  const write = Effect.fn("Storage.write")(function*(input: URL | string, data: Uint8Array, offset: number) {
    if (data.length === 0) {
      return yield* Effect.fail(new Errors.InvalidInputError({ kind: "option", input: "data", description: "empty data" }))
    }
    if (offset < 0) return yield* Effect.fail(new Errors.InvalidInputError({ kind: "option", input: String(offset), description: "offset should be >= 0" }))
    const uri = yield* normalize(input)
    const request = yield* writeRequest(uri, offset, data.length)
    yield* api.discard(HttpClientRequest.bodyUint8Array(request, data, octet), { timeout: null, idempotent: true })
  })

  const openNormalized = (uri: URL, offset: number, size: number | undefined): Stream.Stream<Uint8Array, StorageError> =>
    Stream.unwrap(Effect.gen(function*() {
      let request = yield* op("GET", uri, "OPEN")
      const ranged = offset > 0 || size !== undefined
      if (ranged) request = HttpClientRequest.setHeader(request, "Range", `bytes=${offset}-${size === undefined ? "" : offset + size - 1}`)
      const response = yield* api.execute(request, { timeout: null })
      if (ranged) {
        if (response.status !== 206) {
          yield* Effect.ignore(response.text)
          return yield* Effect.fail(malformed(request, response.status, `Unexpected status code ${response.status}`))
        }
        const range = response.headers["content-range"]
        const m = range === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim())
        if (m === null || Number(m[2]) < Number(m[1]) || Number(m[1]) !== offset) {
          yield* Effect.ignore(response.text)
          return yield* Effect.fail(malformed(request, response.status, range === undefined ? "Missed header Content-Range" : `Invalid header Content-Range: ${range}`))
        }
      }
      return Stream.mapError(response.stream, (e): StorageError =>
        e._tag === "ResponseError" && e.reason === "Decode"
          ? new Errors.NetworkError({ reason: "Transport", description: "the connection broke during the download", method: "GET", url: request.url })
          : malformed(request, response.status, e.message)).pipe(gapTimed(request))
    }))

  const open = (
    input: URL | string,
    options: { readonly offset?: number | undefined; readonly size?: number | undefined } = {}
  ): Stream.Stream<Uint8Array, StorageError> => {
    const offset = options.offset ?? 0
    if (offset < 0) return Stream.fail(new Errors.InvalidInputError({ kind: "option", input: String(offset), description: "offset should be >= 0" }))
    if (options.size !== undefined && options.size < 0) {
      return Stream.fail(new Errors.InvalidInputError({ kind: "option", input: String(options.size), description: "size should be >= 0" }))
    }
    if (options.size === 0) return Stream.empty
    return Stream.unwrap(Effect.map(normalize(input), (uri) => openNormalized(uri, offset, options.size)))
  }

  // ------------------------------------------------------------------ transfers
  /** Progress delivery: one event at a time, in emission order; events are only built when someone listens. */
  const serialized = (progress: StorageModule.ProgressCallback | undefined) =>
    Effect.map(makeLimiter(1), (lock): Emit => (make) => progress === undefined ? Effect.void : lock.withPermits(1)(Effect.suspend(() => progress(make()))))

  const localStat = (p: string) => Effect.mapError(fs.stat(p), fromPlatform)
  const localStatOption = (p: string) =>
    fs.stat(p).pipe(
      Effect.map(Option.some),
      Effect.catchAll(() => Effect.succeed(Option.none<FileSystem.File.Info>()))
    )

  const uploadDecision = (local: FileSystem.File.Info, remote: FileStatus, update: boolean, cont: boolean) =>
    Effect.map(Ref.get(clock), ({ minDiff }): Decision => {
      const delta = mtimeSeconds(local) - remote.modificationTime
      const lsize = Number(local.size)
      if (delta > minDiff - TIME_THRESHOLD) return 0
      if (update) return "skip"
      if (cont && lsize === remote.size) return "skip"
      if (cont && lsize > remote.size) return remote.size
      return 0
    })

  const downloadDecision = (local: FileSystem.File.Info, remote: FileStatus, update: boolean, cont: boolean) =>
    Effect.map(Ref.get(clock), ({ maxDiff }): Decision => {
      const delta = mtimeSeconds(local) - remote.modificationTime
      const lsize = Number(local.size)
      if (delta < maxDiff + TIME_THRESHOLD + 1) return 0
      if (update) return "skip"
      if (cont && lsize === remote.size) return "skip"
      if (cont && lsize < remote.size) return lsize
      return 0
    })

  /** One upload request: bytes [offset, offset+length) of the file, streamed from disk; retried as a whole. */
  const sendChunk = (srcPath: string, dst: URL, offset: number, length: number, first: boolean) =>
    retrying(Effect.gen(function*() {
      const base = first ? yield* op("PUT", dst, "CREATE") : yield* writeRequest(dst, offset, length)
      const request = length === 0
        ? HttpClientRequest.bodyUint8Array(base, new Uint8Array(0), octet)
        : HttpClientRequest.bodyStream(base, fs.stream(srcPath, { offset, bytesToRead: length, chunkSize: Math.min(READ_CHUNK, length) }), {
          contentType: octet,
          contentLength: length
        })
      yield* api.discard(request, { timeout: null })
    }))

  const uploadOne = (srcPath: string, dst: URL, size: number, offset: number, emit: Emit) =>
    Effect.gen(function*() {
      const src = fileUri(srcPath)
      yield* emit(() => new StorageProgressStart({ src, dst, size }))
      let pos = offset
      if (pos === 0) {
        const n = Math.min(size, CHUNK_SIZE)
        yield* sendChunk(srcPath, dst, 0, n, true)
        pos = n
      }
      while (pos > 0 && pos < size) {
        const current = pos
        yield* emit(() => new StorageProgressStep({ src, dst, current, size }))
        const n = Math.min(size - pos, CHUNK_SIZE)
        yield* sendChunk(srcPath, dst, pos, n, false)
        pos += n
      }
      const end = pos
      if (size > 0) yield* emit(() => new StorageProgressStep({ src, dst, current: end, size }))
      yield* emit(() => new StorageProgressComplete({ src, dst, size }))
    })

  const uploadFile = Effect.fn("Storage.uploadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.TransferOptions = {}
  ) {
    const srcPath = yield* localPath(srcInput)
    const dst = yield* normalize(dstInput)
    const info = yield* localStat(srcPath).pipe(
      Effect.catchTag("FileNotFound", () => Effect.fail(localError("ENOENT", `No such file: ${srcPath}`)))
    )
    if (info.type === "Directory") return yield* Effect.fail(localError("EISDIR", `Is a directory, use recursive copy: ${srcPath}`))
    const emit = yield* serialized(options.progress)
    let offset: Decision = 0
    const remote = yield* statOption(dst)
    if (Option.isSome(remote)) {
      if (remote.value.isDir()) return yield* Effect.fail(localError("EISDIR", `Is a directory: ${dst.href}`))
      if ((options.update === true || options.continue === true) && info.type === "File") {
        offset = yield* uploadDecision(info, remote.value, options.update === true, options.continue === true)
      }
    } else {
      const parent = Uri.withPath(dst, dst.pathname.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/")
      const p = yield* statOption(parent)
      if (Option.isNone(p) || !p.value.isDir()) return yield* Effect.fail(localError("ENOTDIR", `Not a directory: ${parent.href}`))
    }
    if (offset === "skip") return
    yield* uploadOne(srcPath, dst, Number(info.size), offset, emit)
  })

  /** Download into `dstPath`: a temporary file renamed when complete, or appended from `offset` (continue). */
  const downloadOne = (src: URL, dstPath: string, size: number, offset: number, emit: Emit) =>
    Effect.gen(function*() {
      const dst = fileUri(dstPath)
      yield* emit(() => new StorageProgressStart({ src, dst, size }))
      const target = offset > 0
        ? dstPath
        : path.join(path.dirname(dstPath), `.${path.basename(dstPath)}.${Math.random().toString(36).slice(2, 10)}.neuro-part`)
      const fetchInto = Effect.scoped(Effect.gen(function*() {
        const file = yield* Effect.mapError(fs.open(target, { flag: offset > 0 ? "r+" : "w" }), fromPlatform)
        let pos = offset
        if (pos > 0) yield* file.seek(pos, "start")
        let attempt = 0
        while (pos < size) {
          const before = pos
          const result = yield* Effect.either(
            Stream.runForEachChunk(openNormalized(src, pos, undefined), (chunks) => {
              const parts = Chunk.toReadonlyArray(chunks)
              const data = parts.length === 1 ? parts[0]! : concatBytes(parts)
              if (data.length === 0) return Effect.void
              return Effect.zipRight(
                Effect.mapError(file.writeAll(data), fromPlatform),
                Effect.suspend(() => {
                  pos += data.length
                  const current = pos
                  return emit(() => new StorageProgressStep({ src, dst, current, size }))
                })
              )
            })
          )
          if (result._tag === "Right") break
          const error = result.left
          if (!isTransient(error)) return yield* Effect.fail(error)
          attempt = pos > before ? 0 : attempt + 1
          if (attempt > RETRY_TIMES) return yield* Effect.fail(error)
          yield* Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** attempt)))
        }
      }))
      if (offset > 0) {
        yield* fetchInto
      } else {
        yield* fetchInto.pipe(
          Effect.zipRight(Effect.mapError(fs.rename(target, dstPath), fromPlatform)),
          Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : Effect.ignore(fs.remove(target)))
        )
      }
      yield* emit(() => new StorageProgressComplete({ src, dst, size }))
    })

  const downloadFile = Effect.fn("Storage.downloadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.TransferOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstPath = yield* localPath(dstInput)
    const remote = yield* statNormalized(src)
    if (!remote.isFile()) return yield* Effect.fail(localError("EISDIR", `Is a directory: ${src.href}`))
    const emit = yield* serialized(options.progress)
    let offset: Decision = 0
    if (options.update === true || options.continue === true) {
      const local = yield* localStatOption(dstPath)
      if (Option.isSome(local) && local.value.type === "File") {
        offset = yield* downloadDecision(local.value, remote, options.update === true, options.continue === true)
      }
    }
    if (offset === "skip") return
    const existing = yield* localStatOption(dstPath)
    if (Option.isSome(existing) && existing.value.type === "Directory") {
      return yield* Effect.fail(localError("EISDIR", `Is a directory: ${dstPath}`))
    }
    yield* downloadOne(src, dstPath, remote.size, offset, emit)
  })

  // ------------------------------------------------------------------ directory transfers
  const readLocalDir = (dir: string) =>
    Effect.gen(function*() {
      const names = yield* Effect.mapError(fs.readDirectory(dir), fromPlatform)
      names.sort()
      return yield* Effect.forEach(names, (name) => Effect.map(localStatOption(path.join(dir, name)), (info): LocalEntry => ({ name, info })), {
        concurrency: 16
      })
    })

  /** An ignore file's rules on top of `previous` (neuro-sdk `FileFilter(previous.match)`). */
  const loadIgnoreFile = (file: string, prefix: string, prefix2: string, previous: FileFilter.FileFilter) =>
    FileFilter.readFromFile(FileFilter.on(previous), fs, file, { prefix, prefix2 })

  const uploadDir = Effect.fn("Storage.uploadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.UploadDirOptions = {}
  ) {
    const given = yield* localPath(srcInput)
    const root = yield* fs.realPath(given).pipe(Effect.catchAll(() => Effect.fail(localError("ENOENT", `No such file: ${given}`))))
    const rootInfo = yield* localStat(root)
    if (rootInfo.type !== "Directory") return yield* Effect.fail(localError("ENOTDIR", `Not a directory: ${root}`))
    const dstRoot = yield* normalize(dstInput)
    const emit = yield* serialized(options.progress)
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    const slots = yield* makeLimiter(limit)
    const fanOut = limit
    const ignoreNames = [...(options.ignoreFileNames ?? [])].sort()
    // the user's filter is the fallback: ignore-file rules decide first, as in neuro-sdk
    let ancestors = FileFilter.make(options.filter)
    if (ignoreNames.length > 0) {
      const chain: Array<string> = []
      for (let d = path.dirname(root); ; d = path.dirname(d)) {
        chain.unshift(d)
        if (path.dirname(d) === d) break
      }
      for (const dir of chain) {
        const rel = path.relative(dir, root) + "/"
        for (const name of ignoreNames) {
          const file = path.join(dir, name)
          const info = yield* localStatOption(file)
          if (Option.isSome(info) && info.value.type === "File") ancestors = yield* loadIgnoreFile(file, "", rel, ancestors)
        }
      }
    }

    const idOf = (info: FileSystem.File.Info) => `${info.dev}:${Option.getOrElse(info.ino, () => -1)}`

    const walk = (
      dir: string,
      dst: URL,
      rel: string,
      match: FileFilter.FileFilter,
      update: boolean,
      cont: boolean,
      ancestorsIds: ReadonlySet<string>
    ): Effect.Effect<void, StorageError> =>
      Effect.gen(function*() {
        let remote = new Map<string, FileStatus>()
        let listed = false
        let upd = update
        let con = cont
        if (upd || con) {
          const entries = yield* slots.withPermits(1)(listAll(dst)).pipe(
            Effect.map(Option.some),
            Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<ReadonlyArray<FileStatus>>()))
          )
          if (Option.isSome(entries)) {
            listed = true
            remote = new Map(entries.value.filter((e) => e.isFile()).map((e) => [e.name, e]))
          } else {
            upd = false
            con = false
          }
        }
        if (!listed) {
          yield* slots.withPermits(1)(retrying(mkdirs(dst))).pipe(
            Effect.catchTag("FileExists", () => Effect.fail(localError("ENOTDIR", `Not a directory: ${dst.href}`)))
          )
        }
        const srcUri = fileUri(dir)
        yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst }))
        const entries = yield* slots.withPermits(1)(readLocalDir(dir))
        let here = match
        for (const e of entries) {
          if (ignoreNames.includes(e.name) && Option.isSome(e.info) && e.info.value.type === "File") {
            here = yield* loadIgnoreFile(path.join(dir, e.name), rel, "", here)
          }
        }
        const filter = here
        const tasks: Array<Effect.Effect<void, StorageError>> = []
        for (const e of entries) {
          const childPath = path.join(dir, e.name)
          const childDst = Uri.child(dst, e.name)
          const info = Option.getOrUndefined(e.info)
          const isDir = info?.type === "Directory"
          const childRel = rel + e.name + (isDir ? "/" : "")
          if (!(yield* FileFilter.match(filter, childRel))) continue
          if (info !== undefined && info.type === "File") {
            tasks.push(Effect.gen(function*() {
              const r = remote.get(e.name)
              const decision: Decision = (upd || con) && r !== undefined ? yield* uploadDecision(info, r, upd, con) : 0
              if (decision === "skip") return
              yield* slots.withPermits(1)(uploadOne(childPath, childDst, Number(info.size), decision, emit))
            }))
          } else if (isDir && ancestorsIds.has(idOf(info))) {
            tasks.push(emit(() => new StorageProgressFail({ src: fileUri(childPath), dst: childDst, message: `Cannot upload ${childPath}, a symlink loop` })))
          } else if (isDir) {
            tasks.push(walk(childPath, childDst, childRel, filter, upd, con, new Set([...ancestorsIds, idOf(info)])))
          } else {
            tasks.push(emit(() => new StorageProgressFail({ src: fileUri(childPath), dst: childDst, message: `Cannot upload ${childPath}, not regular file/directory` })))
          }
        }
        yield* Effect.all(tasks, { concurrency: fanOut, discard: true })
        yield* emit(() => new StorageProgressLeaveDir({ src: srcUri, dst }))
      })

    yield* walk(root, dstRoot, "", ancestors, options.update === true, options.continue === true, new Set([idOf(rootInfo)]))
  })

  const downloadDir = Effect.fn("Storage.downloadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.DirTransferOptions = {}
  ) {
    const srcRoot = yield* normalize(srcInput)
    const dstRoot = yield* localPath(dstInput)
    const emit = yield* serialized(options.progress)
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    const slots = yield* makeLimiter(limit)
    const fanOut = limit
    const userFilter = options.filter
    const update = options.update === true
    const cont = options.continue === true

    const walk = (src: URL, dir: string, rel: string): Effect.Effect<void, StorageError> =>
      Effect.gen(function*() {
        yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), fromPlatform)
        yield* emit(() => new StorageProgressEnterDir({ src, dst: fileUri(dir) }))
        const local = new Map<string, FileSystem.File.Info>()
        if (update || cont) {
          for (const e of yield* slots.withPermits(1)(readLocalDir(dir))) {
            if (Option.isSome(e.info) && e.info.value.type === "File") local.set(e.name, e.info.value)
          }
        }
        const entries = yield* slots.withPermits(1)(listAll(src))
        const tasks: Array<Effect.Effect<void, StorageError>> = []
        for (const e of entries) {
          const childSrc = Uri.child(src, e.name)
          const childPath = path.join(dir, e.name)
          const childRel = rel + e.name + (e.isDir() ? "/" : "")
          if (userFilter !== undefined && !(yield* userFilter(childRel))) continue
          if (e.isFile()) {
            tasks.push(Effect.gen(function*() {
              const l = local.get(e.name)
              const decision: Decision = l !== undefined ? yield* downloadDecision(l, e, update, cont) : 0
              if (decision === "skip") return
              yield* slots.withPermits(1)(downloadOne(childSrc, childPath, e.size, decision, emit))
            }))
          } else if (e.isDir()) {
            tasks.push(walk(childSrc, childPath, childRel))
          } else {
            tasks.push(
              emit(() => new StorageProgressFail({ src: childSrc, dst: fileUri(childPath), message: `Cannot download ${childSrc.href} (${e.type}), not regular file/directory` }))
            )
          }
        }
        yield* Effect.all(tasks, { concurrency: fanOut, discard: true })
        yield* emit(() => new StorageProgressLeaveDir({ src, dst: fileUri(dir) }))
      })

    yield* walk(srcRoot, dstRoot, "")
  })

  // ------------------------------------------------------------------ glob
  const glob = (input: URL | string, options: { readonly dironly?: boolean | undefined } = {}): Stream.Stream<URL, StorageError> =>
    Stream.unwrap(Effect.map(Uri.parseUrl(input), (pattern) => globUrl(pattern, options.dironly === true)))

  const decodedPath = (url: URL) => {
    try {
      return decodeURIComponent(url.pathname)
    } catch {
      return url.pathname
    }
  }

  const globChild = (d: URL, name: string): URL => {
    const encoded = encodeURIComponent(name)
    return Uri.withPath(d, d.pathname === "" || d.pathname.endsWith("/") ? d.pathname + encoded : d.pathname + "/" + encoded)
  }

  const globUrl = (pattern: URL, dironly: boolean): Stream.Stream<URL, StorageError> => {
    if (!hasMagic(decodedPath(pattern))) return Stream.make(pattern)
    const segments = pattern.pathname.split("/")
    const baseRaw = segments.pop() ?? ""
    const base = (() => {
      try {
        return decodeURIComponent(baseRaw)
      } catch {
        return baseRaw
      }
    })()
    const parentPath = pattern.pathname === baseRaw ? "" : segments.length === 1 && segments[0] === "" ? "/" : segments.join("/")
    const parent = Uri.withPath(pattern, parentPath)
    const listDirs = (d: URL) => list(d).pipe(Stream.filter((e) => !dironly || e.isDir()))
    return globUrl(parent, true).pipe(
      Stream.flatMap((d) => {
        if (!hasMagic(base)) {
          const candidate = base === "" ? withSlash(d) : globChild(d, base)
          const found = Effect.flatMap(normalize(candidate), statOption)
          return Stream.fromEffect(found).pipe(
            Stream.filterMap((s) => Option.map(s, () => candidate))
          )
        }
        if (base === "**") {
          const walk = (dir: URL): Stream.Stream<URL, StorageError> =>
            listDirs(dir).pipe(
              Stream.filter((e) => !e.name.startsWith(".")),
              Stream.flatMap((e) => {
                const c = globChild(dir, e.name)
                return e.isDir() ? Stream.concat(Stream.make(c), walk(c)) : Stream.make(c)
              })
            )
          return Stream.concat(Stream.make(d), walk(d))
        }
        const re = fnmatchRegex(base)
        return listDirs(d).pipe(
          Stream.filter((e) => re.test(e.name) && (base.startsWith(".") || !e.name.startsWith("."))),
          Stream.map((e) => globChild(d, e.name))
        )
      })
    )
  }

  const withSlash = (d: URL): URL => d.pathname.endsWith("/") ? d : Uri.withPath(d, d.pathname + "/")

  const service: StorageModule.Storage.Service = {
    list,
    glob,
    mkdir,
    rm,
    mv,
    rename: mv,
    stat,
    diskUsage,
    create,
    write,
    open,
    uploadFile,
    downloadFile,
    uploadDir,
    downloadDir
  }
  return service
})
