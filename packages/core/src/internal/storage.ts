import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import type * as StorageModule from "../Storage.js"
import { isNdjson } from "./apiClient.js"
import { fnmatchRegex, hasMagic } from "./fileFilter.js"
import { documentEntries, ndjsonEntries, type WireEntry } from "./storageListing.js"
import * as StorageIO from "./storageIO.js"
import * as StorageRemote from "./storageRemote.js"
import { DiskUsageInfo, FileStatus, StorageProgressDelete } from "./storageModels.js"
import * as Transfer from "./transfer.js"
import * as Uri from "./uriStorage.js"

type StorageError = StorageModule.StorageError

/** @internal */
export const DEFAULT_CONCURRENCY = 64

/** @internal */
export const CHUNK_SIZE = 16 * 1024 * 1024

/** Longest silence of a streamed answer (listing, delete progress, download) before it counts as dead. */
const BODY_GAP_TIMEOUT = Duration.seconds(60)
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
// errors and retries
// ---------------------------------------------------------------------------------------------

const malformed = (request: HttpClientRequest.HttpClientRequest, status: number, description: string) =>
  new Errors.MalformedResponse({ description, status, method: request.method, url: request.url })

/**
 * Transfer-level retry (neuro-sdk `retries`): transport failures and gateway answers only, up to
 * `RETRY_TIMES` more attempts, 0.1 s doubling to 2 s apart (jittered). Nothing is built on the
 * way of an attempt that succeeds.
 */
const retrying = <A, R>(effect: Effect.Effect<A, StorageError, R>): Effect.Effect<A, StorageError, R> => {
  const attempt = (n: number): Effect.Effect<A, StorageError, R> =>
    Effect.catchIf(effect, (e) => n < RETRY_TIMES && Transfer.isTransient(e), () =>
      Effect.zipRight(Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** n) * (0.5 + Math.random()))), attempt(n + 1)))
  return attempt(0)
}

const isNotFound = (e: StorageError) => e._tag === "ResourceNotFound"

const statusTimes = (s: FileStatus): Transfer.FileTimes => ({ size: s.size, mtime: s.modificationTime })


// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config
  const local = yield* Transfer.make
  const bytesIO = yield* StorageIO.make
  /** neuro-sdk's clock offset from the last `Date` header (storage.md §5.7), seconds. */
  const clock = yield* Ref.make({ min: 0, max: 0 })

  const who = Effect.all({ user: config.username, cluster: config.clusterName, org: config.orgName })

  const normalize = (uri: URL | string) => Effect.flatMap(who, (w) => Uri.normalizeStorage(uri, w))

  const requestUrl = (uri: URL) => api.service("storage", { clusterName: uri.host }, ...Uri.segmentsOf(uri))

  const op = (method: "GET" | "PUT" | "PATCH" | "DELETE" | "POST", uri: URL, name: string, params: Record<string, string> = {}) =>
    Effect.map(requestUrl(uri), (url) =>
      HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setUrlParams({ op: name, ...params })))

  /** A request at a request URL (no query), `op` and `params` in its query. */
  const opAt = (method: "GET" | "PUT", url: string, name: string) =>
    HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setUrlParams({ op: name }))

  /** The transfer path of a normalized storage URI. */
  const target = (uri: URL) => Effect.map(requestUrl(uri), (url) => StorageRemote.Target.root(uri, url.href))

  const recordClock = (t0: number, response: HttpClientResponse.HttpClientResponse) =>
    Effect.suspend(() => {
      const sample = Transfer.clockSample(t0, response)
      return sample === undefined ? Effect.void : Ref.set(clock, sample)
    })

  const timedExecute = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const t0 = Date.now() / 1000
      const response = yield* api.execute(request)
      yield* recordClock(t0, response)
      return response
    })

  // ------------------------------------------------------------------ list
  const list = (input: URL | string): Stream.Stream<FileStatus, StorageError> =>
    Stream.unwrap(Effect.gen(function*() {
      const uri = yield* normalize(input)
      const request = (yield* op("GET", uri, "LISTSTATUS")).pipe(HttpClientRequest.setHeader("Accept", "application/x-ndjson"))
      const response = yield* timedExecute(request)
      const entry = (w: WireFileStatus) =>
        Uri.isSafeName(w.path)
          ? Effect.succeed(toStatus(w, Uri.child(uri, w.path)))
          : Effect.fail(malformed(request, response.status, `unsafe entry name ${JSON.stringify(w.path)} in a directory listing`))
      if (!isNdjson(response)) {
        const doc = yield* api.decode(response, ListDocument)
        return Stream.fromIterable(doc.FileStatuses.FileStatus).pipe(Stream.mapEffect(entry))
      }
      return api.lines(response, ListLine, { timeout: BODY_GAP_TIMEOUT }).pipe(Stream.mapEffect((line) => entry(line.FileStatus)))
    }))

  /**
   * A folder's entries for the transfer walks: no `FileStatus` (nor URI) per entry, no Schema per
   * line; retried as a whole.
   */
  const listEntries = (t: StorageRemote.Target): Effect.Effect<Array<WireEntry>, StorageError> =>
    retrying(Effect.gen(function*() {
      const request = opAt("GET", t.url, "LISTSTATUS").pipe(HttpClientRequest.setHeader("Accept", "application/x-ndjson"))
      const response = yield* timedExecute(request)
      const entries = isNdjson(response)
        ? yield* ndjsonEntries(api.body(response, { timeout: BODY_GAP_TIMEOUT }), request, response.status)
        : yield* Effect.flatMap(api.text(response), (text) => documentEntries(text, request, response.status))
      const unsafe = entries.find((e) => !Uri.isSafeName(e.path))
      if (unsafe !== undefined) {
        return yield* Effect.fail(malformed(request, response.status, `unsafe entry name ${JSON.stringify(unsafe.path)} in a directory listing`))
      }
      return entries
    }))

  // ------------------------------------------------------------------ stat / mkdir / rm / mv / du
  const statNormalized = (uri: URL) =>
    Effect.gen(function*() {
      const response = yield* timedExecute(yield* op("GET", uri, "GETFILESTATUS"))
      const doc = yield* api.decode(response, StatDocument)
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
      return yield* Effect.fail(Transfer.localError("EEXIST", `File exists: ${uri.href}`))
    }
    if (options.parents !== true) {
      const parent = yield* parentOfGiven(input)
      if (parent !== undefined) {
        const p = yield* normalize(parent)
        if (Option.isNone(yield* statOption(p))) return yield* Effect.fail(Transfer.localError("ENOENT", `No such directory: ${parent.href}`))
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
    if (!isNdjson(response)) return yield* Effect.ignore(api.text(response))
    const progress = options.progress
    yield* api.lines(response, DeleteLine, { timeout: BODY_GAP_TIMEOUT }).pipe(
      Stream.runForEach((d) =>
        progress === undefined ? Effect.void : progress(new StorageProgressDelete({ uri: Uri.fromRootPath(uri.host, d.path), isDir: d.is_dir }))
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
    const doc = yield* api.decode(response, DiskUsageDocument)
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

  /** One `OPEN` answer: its body, and how many bytes it promises when it says (`Content-Range`, `X-File-Length`). */
  const openResponse = (url: string, offset: number, size: number | undefined) =>
    Effect.gen(function*() {
      let request = opAt("GET", url, "OPEN")
      const ranged = offset > 0 || size !== undefined
      if (ranged) request = HttpClientRequest.setHeader(request, "Range", `bytes=${offset}-${size === undefined ? "" : offset + size - 1}`)
      const response = yield* api.execute(request, { timeout: null })
      let length: number | undefined
      if (ranged) {
        const checked = StorageIO.checkRange(response.status, response.headers["content-range"], offset)
        if (typeof checked === "string") {
          yield* Effect.ignore(api.text(response))
          return yield* Effect.fail(malformed(request, response.status, checked))
        }
        length = checked
      } else {
        const header = response.headers["x-file-length"]
        if (header !== undefined && /^\d+$/.test(header.trim())) length = Number(header)
      }
      return { body: api.body(response, { timeout: BODY_GAP_TIMEOUT }), length, request, status: response.status }
    })

  /**
   * The bytes from `offset` (`size` of them, or to the end). An answer that ends before the
   * length it announced is followed by a ranged `OPEN` for the rest; one that brings nothing
   * more is a `MalformedResponse`.
   */
  const openNormalized = (url: string, offset: number, size: number | undefined): Stream.Stream<Uint8Array, StorageError> =>
    Stream.unwrap(Effect.map(openResponse(url, offset, size), (answer) => {
      const length = answer.length
      if (length === undefined) return answer.body
      let got = 0
      const counted = Stream.map(answer.body, (bytes) => {
        got += bytes.length
        return bytes
      })
      return Stream.concat(
        counted,
        Stream.suspend(() => {
          if (got >= length) return Stream.empty
          if (got === 0) {
            return Stream.fail(malformed(answer.request, answer.status, `the answer ended with none of the ${length} bytes it announced from byte ${offset}`))
          }
          return openNormalized(url, offset + got, length - got)
        })
      )
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
    return Stream.unwrap(Effect.map(Effect.flatMap(normalize(input), requestUrl), (url) => openNormalized(url.href, offset, options.size)))
  }

  // ------------------------------------------------------------------ transfers
  /** The storage side of the transfer engine. */
  const remote = StorageRemote.make({
    io: bytesIO,
    clock,
    chunkSize: CHUNK_SIZE,
    readRetries: RETRY_TIMES,
    retrying,
    listEntries,
    mkdirs: (t) => api.discard(opAt("PUT", t.url, "MKDIRS")),
    // one request per read: the engine checks the length against the listed size and resumes
    read: (t, offset) => Stream.unwrap(Effect.map(openResponse(t.url, offset, undefined), (answer) => answer.body))
  })

  const uploadFile = Effect.fn("Storage.uploadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.TransferOptions = {}
  ) {
    const srcPath = yield* local.localPath(srcInput)
    const dst = yield* normalize(dstInput)
    const info = yield* local.stat(srcPath).pipe(
      Effect.catchTag("FileNotFound", () => Effect.fail(Transfer.localError("ENOENT", `No such file: ${srcPath}`)))
    )
    if (info.type === "Directory") return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory, use recursive copy: ${srcPath}`))
    const emit = yield* Transfer.serialized(options.progress)
    let offset: Transfer.Decision = 0
    const existing = yield* statOption(dst)
    if (Option.isSome(existing)) {
      if (existing.value.isDir()) return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory: ${dst.href}`))
      if ((options.update === true || options.continue === true) && info.type === "File") {
        offset = yield* remote.checkUpload(Transfer.localTimes(info), statusTimes(existing.value), options.update === true, options.continue === true)
      }
    } else {
      const parent = Uri.withPath(dst, dst.pathname.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/")
      const p = yield* statOption(parent)
      if (Option.isNone(p) || !p.value.isDir()) return yield* Effect.fail(Transfer.localError("ENOTDIR", `Not a directory: ${parent.href}`))
    }
    if (offset === "skip") return
    yield* local.uploadFile(remote, srcPath, yield* target(dst), Number(info.size), offset, emit)
  })

  const downloadFile = Effect.fn("Storage.downloadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.TransferOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstPath = yield* local.localPath(dstInput)
    const remoteFile = yield* statNormalized(src)
    if (!remoteFile.isFile()) return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory: ${src.href}`))
    const emit = yield* Transfer.serialized(options.progress)
    const existing = yield* local.statOption(dstPath)
    if (Option.isSome(existing) && existing.value.type === "Directory") {
      return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory: ${dstPath}`))
    }
    const flags = { update: options.update === true, continue: options.continue === true }
    yield* local.download(remote, yield* target(src), dstPath, statusTimes(remoteFile), flags, emit, { dst: existing })
  })

  // ------------------------------------------------------------------ directory transfers
  const uploadDir = Effect.fn("Storage.uploadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.UploadDirOptions = {}
  ) {
    const root = yield* local.localDir(yield* local.localPath(srcInput))
    const dst = yield* normalize(dstInput)
    yield* local.uploadTree(remote, root, yield* target(dst), yield* Transfer.treeOptions(options, DEFAULT_CONCURRENCY))
  })

  const downloadDir = Effect.fn("Storage.downloadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: StorageModule.DirTransferOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstRoot = yield* local.localPath(dstInput)
    yield* local.downloadTree(remote, yield* target(src), dstRoot, yield* Transfer.treeOptions(options, DEFAULT_CONCURRENCY))
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
    // encoded as `list` encodes its URIs (neuro-sdk: yarl's `parent / name`)
    const encoded = Uri.encodeSegment(name)
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
