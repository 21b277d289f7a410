import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import type * as BucketsModule from "../Buckets.js"
import { Bucket, BucketCredentials, BucketUsage, PersistentBucketCredentials } from "../Buckets.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import * as FileFilter from "../FileFilter.js"
import type * as StorageModule from "../Storage.js"
import {
  StorageProgressComplete,
  StorageProgressDelete,
  StorageProgressEnterDir,
  StorageProgressFail,
  StorageProgressLeaveDir,
  StorageProgressStart,
  StorageProgressStep
} from "../Storage.js"
import * as UriModule from "../Uri.js"
import { childPath, dirKey, fileKey, quoteKey } from "./bucketKeys.js"
import { type BlobProvider, openProvider } from "./bucketProvider.js"
import { MIN_PART_SIZE as S3_MIN_PART_SIZE } from "./bucketS3.js"
import { hasMagic } from "./fileFilter.js"
import { makeLimiter } from "./storage.js"

type BucketsError = BucketsModule.BucketsError
type Progress = StorageModule.StorageProgress
type Entry = BucketsModule.BucketEntry

/** @internal */
export const DEFAULT_CONCURRENCY = 10

/** @internal */
export const MIN_PART_SIZE = S3_MIN_PART_SIZE

const READ_CHUNK = 2 ** 20
const TIME_THRESHOLD = 1
const DOWNLOAD_RETRIES = 5

// ---------------------------------------------------------------------------------------------
// wire
// ---------------------------------------------------------------------------------------------

const ProviderWire = Schema.Literal("aws", "minio", "azure", "gcp", "open_stack")

const WireDate = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (s, _, ast) => {
    const d = new Date(s)
    return Number.isNaN(d.getTime())
      ? ParseResult.fail(new ParseResult.Type(ast, s, `not an ISO 8601 date: ${JSON.stringify(s)}`))
      : ParseResult.succeed(d)
  },
  encode: (d) => ParseResult.succeed(d.toISOString())
})

const BucketWire = Schema.Struct({
  id: Schema.String,
  owner: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  provider: ProviderWire,
  created_at: WireDate,
  imported: Schema.optional(Schema.Boolean),
  public: Schema.optional(Schema.Boolean),
  org_name: Schema.optional(Schema.NullOr(Schema.String))
})
type BucketWire = typeof BucketWire.Type

const CredentialsWire = Schema.Struct({
  bucket_id: Schema.String,
  provider: ProviderWire,
  credentials: Schema.Record({ key: Schema.String, value: Schema.String })
})
type CredentialsWire = typeof CredentialsWire.Type

const PersistentWire = Schema.Struct({
  id: Schema.String,
  owner: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  read_only: Schema.optional(Schema.NullOr(Schema.Boolean)),
  credentials: Schema.Array(CredentialsWire)
})
type PersistentWire = typeof PersistentWire.Type

const SignedUrlWire = Schema.Struct({ url: Schema.String })

const toBucket = (w: BucketWire, clusterName: string): Bucket =>
  new Bucket(
    {
      id: w.id,
      owner: w.owner,
      clusterName,
      orgName: w.org_name ?? null,
      provider: w.provider,
      createdAt: w.created_at,
      imported: w.imported ?? false,
      public: w.public ?? false,
      name: w.name ?? null
    },
    true
  )

const toCredentials = (w: CredentialsWire): BucketCredentials =>
  new BucketCredentials(
    {
      bucketId: w.bucket_id,
      provider: w.provider,
      credentials: Object.fromEntries(Object.entries(w.credentials).map(([k, v]) => [k, Redacted.make(v)]))
    },
    true
  )

const toPersistent = (w: PersistentWire, clusterName: string): PersistentBucketCredentials =>
  new PersistentBucketCredentials(
    {
      id: w.id,
      owner: w.owner,
      clusterName,
      name: w.name ?? null,
      readOnly: w.read_only ?? false,
      credentials: w.credentials.map(toCredentials)
    },
    true
  )

// ---------------------------------------------------------------------------------------------
// local files
// ---------------------------------------------------------------------------------------------

const localError = (errno: string, description: string): Errors.FileSystemError => Errors.fromErrno(errno, description)

const stripContext = (e: Errors.FileSystemError): Errors.FileSystemError => {
  const fields = { errno: e.errno, description: e.description }
  switch (e._tag) {
    case "FileNotFound":
      return new Errors.FileNotFound(fields)
    case "FileExists":
      return new Errors.FileExists(fields)
    case "IsADirectory":
      return new Errors.IsADirectory(fields)
    case "NotADirectory":
      return new Errors.NotADirectory(fields)
    case "PermissionDenied":
      return new Errors.PermissionDenied(fields)
    case "OSError":
      return new Errors.OSError(fields)
  }
}

const fsError = (errno: string, description: string): Errors.FileSystemError => stripContext(localError(errno, description))

const fromPlatform = (e: PlatformError): Errors.FileSystemError => {
  const cause: unknown = e.cause
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  const where = e._tag === "SystemError" && e.pathOrDescriptor !== undefined ? ` (${String(e.pathOrDescriptor)})` : ""
  const description = (e._tag === "SystemError" ? e.description ?? e.reason : e.description) + where
  if (code !== undefined && code.startsWith("E")) return fsError(code, description)
  if (e._tag === "SystemError") {
    switch (e.reason) {
      case "NotFound":
        return fsError("ENOENT", description)
      case "AlreadyExists":
        return fsError("EEXIST", description)
      case "PermissionDenied":
        return fsError("EACCES", description)
      default:
        return fsError("EIO", description)
    }
  }
  return fsError("EINVAL", description)
}

const mtimeSeconds = (info: FileSystem.File.Info): number | undefined =>
  Option.getOrUndefined(Option.map(info.mtime, (d) => d.getTime() / 1000))

/** A name from a listing that is safe as one local path component. */
const isSafeName = (name: string): boolean =>
  name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\\") && !name.includes("\0")

interface Stat {
  readonly size: number
  /** Seconds since the epoch, when known. */
  readonly mtime: number | undefined
}

type Decision = number | "skip"

type Emit = (make: () => Progress) => Effect.Effect<void>

/**
 * neuro-sdk `_check_transfer` (buckets.md §7.4). Both modification times are put on the local
 * clock with the bucket's clock-difference interval, taking the bound that makes the destination
 * the least new (neuro-sdk subtracts the difference instead of adding it).
 */
const decide = (src: Stat, dst: Stat, srcShift: number, dstShift: number, update: boolean, cont: boolean): Decision => {
  if (src.mtime === undefined || dst.mtime === undefined) return 0
  const diff = (dst.mtime + dstShift) - (src.mtime + srcShift)
  if (diff < TIME_THRESHOLD + 1) return 0
  if (update) return "skip"
  if (cont) {
    if (src.size === dst.size) return "skip"
    if (dst.size < src.size) return dst.size
  }
  return 0
}

const isTransient = (e: BucketsError): boolean =>
  e._tag === "NetworkError" || e._tag === "ServerNotAvailable" ||
  ((e._tag === "IllegalArgumentError" || e._tag === "ClientError") && e.status !== undefined && [429, 503, 504].includes(e.status))

/** The listing of one folder level: sub-folders and objects by child name. */
interface Level {
  readonly dirs: ReadonlyArray<string>
  readonly files: ReadonlyMap<string, Entry>
  /** Children whose names cannot be used as paths (`""`, `.`, `..`, ...), by key. */
  readonly unsafe: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const clusterOf = (clusterName: string | undefined) => (clusterName === undefined ? config.clusterName : Effect.succeed(clusterName))

  const bucketsUrl = (clusterName: string, ...segments: ReadonlyArray<string>) =>
    api.service("buckets", { clusterName }, "buckets", ...segments)

  const credentialsUrl = (clusterName: string, ...segments: ReadonlyArray<string>) =>
    api.service("buckets", { clusterName }, "persistent_credentials", ...segments)

  const ownerParams = (owner: string | undefined) => (owner ? { owner } : {})

  // ------------------------------------------------------------------ platform API
  const list = (options: BucketsModule.ClusterOptions = {}): Stream.Stream<Bucket, BucketsError> =>
    Stream.unwrap(Effect.gen(function*() {
      const cluster = yield* clusterOf(options.clusterName)
      const url = yield* bucketsUrl(cluster)
      return api.ndjson(HttpClientRequest.get(url), BucketWire).pipe(Stream.map((w) => toBucket(w, cluster)))
    })).pipe(Stream.withSpan("Buckets.list"))

  const create = Effect.fn("Buckets.create")(function*(options: BucketsModule.CreateOptions = {}) {
    const cluster = yield* clusterOf(options.clusterName)
    const orgName = options.orgName !== undefined ? options.orgName : yield* config.orgName
    const url = yield* bucketsUrl(cluster)
    const request = HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson({ name: options.name ?? null, org_name: orgName }))
    return toBucket(yield* api.json(request, BucketWire), cluster)
  })

  const importExternal = Effect.fn("Buckets.importExternal")(function*(
    provider: BucketsModule.BucketProvider,
    providerBucketName: string,
    credentials: Readonly<Record<string, string | Redacted.Redacted<string>>>,
    options: BucketsModule.CreateOptions = {}
  ) {
    const cluster = yield* clusterOf(options.clusterName)
    const orgName = options.orgName !== undefined ? options.orgName : yield* config.orgName
    const url = yield* bucketsUrl(cluster, "import", "external")
    const plain = Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v]))
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyUnsafeJson({
        name: options.name ?? null,
        provider,
        provider_bucket_name: providerBucketName,
        credentials: plain,
        org_name: orgName
      })
    )
    return toBucket(yield* api.json(request, BucketWire), cluster)
  })

  const lookup = (method: "GET" | "DELETE" | "PATCH" | "POST", idOrName: string, options: BucketsModule.LookupOptions, ...rest: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const cluster = yield* clusterOf(options.clusterName)
      const url = yield* bucketsUrl(cluster, idOrName, ...rest)
      return {
        cluster,
        request: HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setUrlParams(ownerParams(options.bucketOwner)))
      }
    })

  const get = Effect.fn("Buckets.get")(function*(idOrName: string, options: BucketsModule.LookupOptions = {}) {
    const { cluster, request } = yield* lookup("GET", idOrName, options)
    return toBucket(yield* api.json(request, BucketWire), cluster)
  })

  const rm = Effect.fn("Buckets.rm")(function*(idOrName: string, options: BucketsModule.LookupOptions = {}) {
    const { request } = yield* lookup("DELETE", idOrName, options)
    yield* api.discard(request)
  })

  const setPublicAccess = Effect.fn("Buckets.setPublicAccess")(function*(
    idOrName: string,
    publicAccess: boolean,
    options: BucketsModule.LookupOptions = {}
  ) {
    const { cluster, request } = yield* lookup("PATCH", idOrName, options)
    return toBucket(yield* api.json(HttpClientRequest.bodyUnsafeJson(request, { public: publicAccess }), BucketWire), cluster)
  })

  const requestTmpCredentials = Effect.fn("Buckets.requestTmpCredentials")(function*(
    idOrName: string,
    options: BucketsModule.LookupOptions = {}
  ) {
    const { request } = yield* lookup("POST", idOrName, options, "make_tmp_credentials")
    return toCredentials(yield* api.json(request, CredentialsWire))
  })

  const findByPath = (uri: URL) =>
    Effect.gen(function*() {
      const decoded = yield* UriModule.decodedPath(uri)
      const url = yield* bucketsUrl(uri.host, "find", "by_path")
      const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setUrlParams({ path: decoded.replace(/^\/+/, "") }))
      return toBucket(yield* api.json(request, BucketWire), uri.host)
    })

  // ------------------------------------------------------------------ persistent credentials
  const persistentCredentialsList = (options: BucketsModule.ClusterOptions = {}) =>
    Stream.unwrap(Effect.gen(function*() {
      const cluster = yield* clusterOf(options.clusterName)
      const url = yield* credentialsUrl(cluster)
      return api.ndjson(HttpClientRequest.get(url), PersistentWire).pipe(Stream.map((w) => toPersistent(w, cluster)))
    })).pipe(Stream.withSpan("Buckets.persistentCredentialsList"))

  const persistentCredentialsCreate = Effect.fn("Buckets.persistentCredentialsCreate")(function*(
    bucketIds: Iterable<string>,
    options: BucketsModule.ClusterOptions & { readonly name?: string | null | undefined; readonly readOnly?: boolean | undefined } = {}
  ) {
    const cluster = yield* clusterOf(options.clusterName)
    const url = yield* credentialsUrl(cluster)
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyUnsafeJson({ name: options.name ?? null, bucket_ids: [...bucketIds], read_only: options.readOnly ?? false })
    )
    return toPersistent(yield* api.json(request, PersistentWire), cluster)
  })

  const persistentCredentialsGet = Effect.fn("Buckets.persistentCredentialsGet")(function*(
    idOrName: string,
    options: BucketsModule.ClusterOptions = {}
  ) {
    const cluster = yield* clusterOf(options.clusterName)
    const url = yield* credentialsUrl(cluster, idOrName)
    return toPersistent(yield* api.json(HttpClientRequest.get(url), PersistentWire), cluster)
  })

  const persistentCredentialsRm = Effect.fn("Buckets.persistentCredentialsRm")(function*(
    idOrName: string,
    options: BucketsModule.ClusterOptions = {}
  ) {
    const cluster = yield* clusterOf(options.clusterName)
    const url = yield* credentialsUrl(cluster, idOrName)
    yield* api.discard(HttpClientRequest.del(url))
  })

  // ------------------------------------------------------------------ provider sessions
  const providerFor = (bucket: Bucket) =>
    openProvider(api, bucket, requestTmpCredentials(bucket.id, { clusterName: bucket.clusterName }))

  const providerByName = (idOrName: string, options: BucketsModule.LookupOptions = {}) => Effect.flatMap(get(idOrName, options), providerFor)

  const normalize = (input: URL | string) =>
    Effect.flatMap(Effect.all({ username: config.username, clusterName: config.clusterName, orgName: config.orgName }), (identity) =>
      UriModule.normalizeUri(input, identity, { allowedSchemes: ["blob"] }))

  /** The bucket of a normalized `blob:` URI, a provider session for it, and the key. */
  const session = (uri: URL) =>
    Effect.gen(function*() {
      const bucket = yield* findByPath(uri)
      const key = yield* bucket.getKeyForUri(uri)
      const provider = yield* providerFor(bucket)
      return { bucket, key, provider }
    })

  // ------------------------------------------------------------------ BucketFS (buckets.md §7.1)
  const toUrl = (p: BlobProvider, keyPath: string): URL => new URL(p.bucket.uri.href + "/" + quoteKey(fileKey(keyPath)))

  const keyUrl = (p: BlobProvider, key: string): URL => new URL(p.bucket.uri.href + "/" + quoteKey(key.replace(/\/$/, "")))

  const headOption = (p: BlobProvider, keyPath: string) =>
    p.headBlob(fileKey(keyPath)).pipe(
      Effect.map(Option.some),
      Effect.catchIf((e) => e._tag === "ResourceNotFound", () => Effect.succeed(Option.none<BucketsModule.BlobObject>()))
    )

  const isDir = (p: BlobProvider, keyPath: string) => {
    const k = dirKey(keyPath)
    if (k === "") return Effect.succeed(true)
    return Effect.map(Stream.runCollect(p.listBlobs(k, false, 1)), (c) => Chunk.size(c) > 0)
  }

  const exists = (p: BlobProvider, keyPath: string) => {
    if (dirKey(keyPath) === "") return Effect.succeed(true)
    return Effect.flatMap(headOption(p, keyPath), (h) => (Option.isSome(h) ? Effect.succeed(true) : isDir(p, keyPath)))
  }

  /** One folder level, grouped by child name (a name that is both an object and a folder is a folder). */
  const listLevel = (p: BlobProvider, prefix: string): Effect.Effect<Level, BucketsError> =>
    Effect.map(Stream.runCollect(p.listBlobs(prefix, false)), (chunk) => {
      const dirs = new Set<string>()
      const files = new Map<string, Entry>()
      const unsafe: Array<string> = []
      for (const e of chunk) {
        if (e.key === prefix || !e.key.startsWith(prefix)) continue
        const rest = e.key.slice(prefix.length)
        const slash = rest.indexOf("/")
        const name = slash < 0 ? rest : rest.slice(0, slash)
        if (!isSafeName(name)) {
          unsafe.push(e.key)
          continue
        }
        if (e.isDir() || slash >= 0) dirs.add(name)
        else files.set(name, e)
      }
      for (const d of dirs) files.delete(d)
      return { dirs: [...dirs].sort(), files, unsafe }
    })

  const serialized = (progress: StorageModule.ProgressCallback | undefined) =>
    Effect.map(makeLimiter(1), (lock): Emit => (make) =>
      progress === undefined ? Effect.void : lock.withPermits(1)(Effect.suspend(() => progress(make()))))

  // ------------------------------------------------------------------ local side
  const invalidUri = (input: string, description: string) => new Errors.InvalidInputError({ kind: "uri", input, description })

  const localPath = (input: URL | string): Effect.Effect<string, Errors.InvalidInputError> => {
    if (typeof input === "string" && !input.startsWith("file:")) return Effect.succeed(path.resolve(input))
    return Effect.gen(function*() {
      const url = yield* Effect.try({ try: () => new URL(String(input)), catch: () => invalidUri(String(input), "not a URI") })
      if (url.protocol !== "file:") return yield* Effect.fail(invalidUri(String(input), `Invalid local file scheme '${url.protocol}' (only 'file:' is allowed)`))
      if (url.host !== "") return yield* Effect.fail(invalidUri(String(input), `Host part is not allowed in file URI, found '${url.host}'`))
      const p = yield* Effect.mapError(path.fromFileUrl(url), (e) => invalidUri(String(input), e.description ?? "bad file URI"))
      return path.resolve(p)
    })
  }

  const fileUri = (p: string): URL => {
    const url = new URL("file://")
    url.pathname = p
    return url
  }

  const localStatOption = (p: string) =>
    fs.stat(p).pipe(
      Effect.map(Option.some),
      Effect.catchAll(() => Effect.succeed(Option.none<FileSystem.File.Info>()))
    )

  const localInfo = (info: FileSystem.File.Info): Stat => ({ size: Number(info.size), mtime: mtimeSeconds(info) })

  const blobInfo = (e: Entry): Stat => ({ size: e.size, mtime: e.modifiedAt === null ? undefined : e.modifiedAt.getTime() / 1000 })

  // ------------------------------------------------------------------ low-level blob methods
  const headBlob = Effect.fn("Buckets.headBlob")(function*(idOrName: string, key: string, options: BucketsModule.LookupOptions = {}) {
    const p = yield* providerByName(idOrName, options)
    const entry: Entry = yield* p.headBlob(key)
    return entry
  })

  const putBlob = Effect.fn("Buckets.putBlob")(function*(
    idOrName: string,
    key: string,
    body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
    options: BucketsModule.LookupOptions = {}
  ) {
    const p = yield* providerByName(idOrName, options)
    yield* p.putBlob(key, body)
  })

  const fetchBlob = (
    idOrName: string,
    key: string,
    options: BucketsModule.LookupOptions & { readonly offset?: number | undefined } = {}
  ): Stream.Stream<Uint8Array, BucketsError> => {
    const offset = options.offset ?? 0
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return Stream.fail(new Errors.InvalidInputError({ kind: "option", input: String(offset), description: "offset should be a whole number >= 0" }))
    }
    return Stream.unwrap(Effect.map(providerByName(idOrName, options), (p) => p.fetchBlob(key, offset))).pipe(Stream.withSpan("Buckets.fetchBlob"))
  }

  const deleteBlob = Effect.fn("Buckets.deleteBlob")(function*(idOrName: string, key: string, options: BucketsModule.LookupOptions = {}) {
    const p = yield* providerByName(idOrName, options)
    yield* p.deleteBlob(key)
  })

  const getDiskUsage = (idOrName: string, options: BucketsModule.LookupOptions = {}): Stream.Stream<BucketUsage, BucketsError> =>
    Stream.unwrap(Effect.map(providerByName(idOrName, options), (p) =>
      p.listBlobs("", true).pipe(
        Stream.mapAccum({ total: 0, count: 0 }, (acc, e) => {
          const next = { total: acc.total + e.size, count: acc.count + 1 }
          return [next, new BucketUsage({ totalBytes: next.total, objectCount: next.count })] as const
        })
      ))).pipe(Stream.withSpan("Buckets.getDiskUsage"))

  // ------------------------------------------------------------------ listings
  const listBlobs = (
    uri: URL | string,
    options: { readonly recursive?: boolean | undefined; readonly limit?: number | undefined } = {}
  ): Stream.Stream<Entry, BucketsError> =>
    Stream.unwrap(Effect.gen(function*() {
      const { key, provider } = yield* session(yield* normalize(uri))
      return provider.listBlobs(key, options.recursive === true, options.limit)
    })).pipe(Stream.withSpan("Buckets.listBlobs"))

  const matcher = (pattern: string) => {
    const re = new RegExp(`^(?:${FileFilter.translate(pattern)})$`, "su")
    return (s: string) => re.test(s)
  }

  const safePrefix = (part: string) => {
    const m = /[*?[]/.exec(part)
    return m === null ? part : part.slice(0, m.index)
  }

  /** neuro-sdk `_glob_blobs` (buckets.md §7.3). */
  const globFrom = (p: BlobProvider, prefix: string, pattern: string): Stream.Stream<Entry, BucketsError> => {
    const slash = pattern.indexOf("/")
    const part = slash < 0 ? pattern : pattern.slice(0, slash)
    const rest = slash < 0 ? "" : pattern.slice(slash + 1)
    if (part === "**") {
      const full = matcher(pattern)
      return p.listBlobs(prefix, true).pipe(Stream.filter((e) => full(e.key.slice(prefix.length))))
    }
    const magic = hasMagic(part)
    const scan = magic ? prefix + safePrefix(part) : prefix
    const match = matcher(part)
    if (rest === "") return p.listBlobs(scan, false).pipe(Stream.filter((e) => match(e.name) && e.key !== scan))
    if (magic) {
      return p.listBlobs(scan, false).pipe(
        Stream.filter((e) => e.isDir() && match(e.name)),
        Stream.flatMap((e) => globFrom(p, e.key, rest))
      )
    }
    return globFrom(p, prefix + part + "/", rest)
  }

  const globBlobs = (uri: URL | string): Stream.Stream<Entry, BucketsError> =>
    Stream.unwrap(Effect.gen(function*() {
      const { key, provider } = yield* session(yield* normalize(uri))
      return globFrom(provider, "", key)
    })).pipe(Stream.withSpan("Buckets.globBlobs"))

  // ------------------------------------------------------------------ one file
  const uploadOne = (p: BlobProvider, srcPath: string, keyPath: string, size: number, emit: Emit) =>
    Effect.gen(function*() {
      const src = fileUri(srcPath)
      const dst = toUrl(p, keyPath)
      yield* emit(() => new StorageProgressStart({ src, dst, size }))
      let pos = 0
      const body = Stream.mapError(fs.stream(srcPath, { chunkSize: READ_CHUNK }), fromPlatform)
      yield* p.putBlob(fileKey(keyPath), body, (n) =>
        Effect.suspend(() => {
          pos += n
          const current = pos
          return emit(() => new StorageProgressStep({ src, dst, current, size }))
        }))
      yield* emit(() => new StorageProgressComplete({ src, dst, size }))
    })

  /** Download into `dstPath`: a temporary file renamed when complete, or appended from `offset` (continue). */
  const downloadOne = (p: BlobProvider, keyPath: string, dstPath: string, size: number, offset: number, emit: Emit) =>
    Effect.gen(function*() {
      const src = toUrl(p, keyPath)
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
        while (true) {
          const before = pos
          const result = yield* Effect.either(
            Stream.runForEachChunk(p.fetchBlob(fileKey(keyPath), pos), (chunks) =>
              Effect.forEach(chunks, (data) =>
                data.length === 0 ? Effect.void : Effect.zipRight(
                  Effect.mapError(file.writeAll(data), fromPlatform),
                  Effect.suspend(() => {
                    pos += data.length
                    const current = pos
                    return emit(() => new StorageProgressStep({ src, dst, current, size }))
                  })
                ), { discard: true }))
          )
          if (result._tag === "Right") break
          const error = result.left
          if (!isTransient(error) || pos >= size) return yield* Effect.fail(error)
          attempt = pos > before ? 0 : attempt + 1
          if (attempt > DOWNLOAD_RETRIES) return yield* Effect.fail(error)
          yield* Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** attempt)))
        }
      }))
      if (offset > 0) yield* fetchInto
      else {
        yield* fetchInto.pipe(
          Effect.zipRight(Effect.mapError(fs.rename(target, dstPath), fromPlatform)),
          Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : Effect.ignore(fs.remove(target))))
        )
      }
      yield* emit(() => new StorageProgressComplete({ src, dst, size }))
    })

  const uploadFile = Effect.fn("Buckets.uploadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.TransferOptions = {}
  ) {
    const srcPath = yield* localPath(srcInput)
    const dst = yield* normalize(dstInput)
    const info = yield* Effect.mapError(fs.stat(srcPath), () => fsError("ENOENT", `No such file: ${srcPath}`))
    if (info.type === "Directory") return yield* Effect.fail(fsError("EISDIR", `Is a directory, use recursive copy: ${srcPath}`))
    const { key, provider } = yield* session(dst)
    const emit = yield* serialized(options.progress)
    let offset: Decision = 0
    const head = yield* headOption(provider, key)
    if ((yield* isDir(provider, key))) return yield* Effect.fail(fsError("EISDIR", `Is a directory: ${dst.href}`))
    if (Option.isSome(head) && options.update === true) {
      const skew = yield* provider.timeDiff
      offset = decide(localInfo(info), blobInfo(head.value), 0, skew.min, true, false)
    }
    if (offset === "skip") return
    yield* uploadOne(provider, srcPath, key, Number(info.size), emit)
  })

  const downloadFile = Effect.fn("Buckets.downloadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.DownloadOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstPath = yield* localPath(dstInput)
    const { key, provider } = yield* session(src)
    const head = yield* headOption(provider, key)
    const folder = yield* isDir(provider, key)
    if (folder) return yield* Effect.fail(fsError("EISDIR", `Is a directory, use recursive copy: ${src.href}`))
    if (Option.isNone(head)) return yield* Effect.fail(fsError("ENOENT", `No such file: ${src.href}`))
    const remote = head.value
    const emit = yield* serialized(options.progress)
    let offset: Decision = 0
    const local = yield* localStatOption(dstPath)
    if (Option.isSome(local)) {
      if (local.value.type === "Directory") return yield* Effect.fail(fsError("EISDIR", `Is a directory: ${dstPath}`))
      if (options.update === true || options.continue === true) {
        const skew = yield* provider.timeDiff
        offset = decide(blobInfo(remote), localInfo(local.value), skew.max, 0, options.update === true, options.continue === true)
      }
    }
    if (offset === "skip") return
    yield* downloadOne(provider, key, dstPath, remote.size, offset, emit)
  })

  // ------------------------------------------------------------------ directories
  const readLocalDir = (dir: string) =>
    Effect.gen(function*() {
      const names = yield* Effect.mapError(fs.readDirectory(dir), fromPlatform)
      names.sort()
      return yield* Effect.forEach(names, (name) => Effect.map(localStatOption(path.join(dir, name)), (info) => ({ name, info })), {
        concurrency: 16
      })
    })

  const loadIgnoreFile = (file: string, prefix: string, prefix2: string, previous: FileFilter.FileFilter) =>
    FileFilter.readFromFile(FileFilter.on(previous), fs, file, { prefix, prefix2 })

  const uploadDir = Effect.fn("Buckets.uploadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.UploadDirOptions = {}
  ) {
    const given = yield* localPath(srcInput)
    const root = yield* fs.realPath(given).pipe(Effect.catchAll(() => Effect.fail(fsError("ENOENT", `No such file: ${given}`))))
    const rootInfo = yield* Effect.mapError(fs.stat(root), fromPlatform)
    if (rootInfo.type !== "Directory") return yield* Effect.fail(fsError("ENOTDIR", `Not a directory: ${root}`))
    const dst = yield* normalize(dstInput)
    const { key, provider } = yield* session(dst)
    const emit = yield* serialized(options.progress)
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    const slots = yield* makeLimiter(limit)
    const update = options.update === true
    const ignoreNames = [...(options.ignoreFileNames ?? [])].sort()
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
      keyPath: string,
      rel: string,
      match: FileFilter.FileFilter,
      ancestorIds: ReadonlySet<string>
    ): Effect.Effect<void, BucketsError> =>
      Effect.gen(function*() {
        const level = yield* slots.withPermits(1)(listLevel(provider, dirKey(keyPath)))
        const isFolder = dirKey(keyPath) === "" || level.dirs.length > 0 || level.files.size > 0 || level.unsafe.length > 0 ||
          (yield* slots.withPermits(1)(isDir(provider, keyPath)))
        if (!isFolder) {
          if (Option.isSome(yield* slots.withPermits(1)(headOption(provider, keyPath)))) {
            return yield* Effect.fail(fsError("ENOTDIR", `Not a directory: ${toUrl(provider, keyPath).href}`))
          }
          yield* slots.withPermits(1)(provider.putBlob(dirKey(keyPath), new Uint8Array(0)))
        }
        const srcUri = fileUri(dir)
        const dstUri = toUrl(provider, keyPath)
        yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
        const entries = yield* slots.withPermits(1)(readLocalDir(dir))
        let here = match
        for (const e of entries) {
          if (ignoreNames.includes(e.name) && Option.isSome(e.info) && e.info.value.type === "File") {
            here = yield* loadIgnoreFile(path.join(dir, e.name), rel, "", here)
          }
        }
        const filter = here
        const skew = yield* provider.timeDiff
        const tasks: Array<Effect.Effect<void, BucketsError>> = []
        for (const e of entries) {
          const childLocal = path.join(dir, e.name)
          const childKey = childPath(keyPath, e.name)
          const info = Option.getOrUndefined(e.info)
          const isDirectory = info?.type === "Directory"
          const childRel = rel + e.name + (isDirectory ? "/" : "")
          if (!(yield* FileFilter.match(filter, childRel))) continue
          if (info !== undefined && info.type === "File") {
            const remote = level.files.get(e.name)
            const decision: Decision = update && remote !== undefined
              ? decide(localInfo(info), blobInfo(remote), 0, skew.min, true, false)
              : 0
            if (decision === "skip") continue
            tasks.push(slots.withPermits(1)(uploadOne(provider, childLocal, childKey, Number(info.size), emit)))
          } else if (isDirectory && ancestorIds.has(idOf(info))) {
            tasks.push(emit(() =>
              new StorageProgressFail({ src: fileUri(childLocal), dst: toUrl(provider, childKey), message: `Cannot upload ${childLocal}, a symlink loop` })
            ))
          } else if (isDirectory) {
            tasks.push(walk(childLocal, childKey, childRel, filter, new Set([...ancestorIds, idOf(info)])))
          } else {
            tasks.push(emit(() =>
              new StorageProgressFail({
                src: fileUri(childLocal),
                dst: toUrl(provider, childKey),
                message: `Cannot upload ${childLocal}, not regular file/directory`
              })
            ))
          }
        }
        yield* Effect.all(tasks, { concurrency: limit, discard: true })
        yield* emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri }))
      })

    yield* walk(root, key, "", ancestors, new Set([idOf(rootInfo)]))
  })

  const downloadDir = Effect.fn("Buckets.downloadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.DownloadDirOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstRoot = yield* localPath(dstInput)
    const { key, provider } = yield* session(src)
    if (!(yield* exists(provider, key))) return yield* Effect.fail(fsError("ENOENT", `No such file: ${src.href}`))
    if (!(yield* isDir(provider, key))) return yield* Effect.fail(fsError("ENOTDIR", `Not a directory: ${src.href}`))
    const emit = yield* serialized(options.progress)
    const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    const slots = yield* makeLimiter(limit)
    const update = options.update === true
    const cont = options.continue === true
    const userFilter = options.filter

    const walk = (keyPath: string, dir: string, rel: string): Effect.Effect<void, BucketsError> =>
      Effect.gen(function*() {
        const existing = yield* localStatOption(dir)
        if (Option.isSome(existing) && existing.value.type !== "Directory") {
          return yield* Effect.fail(fsError("ENOTDIR", `Not a directory: ${dir}`))
        }
        yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), fromPlatform)
        const srcUri = toUrl(provider, keyPath)
        const dstUri = fileUri(dir)
        yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
        const local = new Map<string, FileSystem.File.Info>()
        if (update || cont) {
          for (const e of yield* slots.withPermits(1)(readLocalDir(dir))) {
            if (Option.isSome(e.info) && e.info.value.type === "File") local.set(e.name, e.info.value)
          }
        }
        const level = yield* slots.withPermits(1)(listLevel(provider, dirKey(keyPath)))
        const skew = yield* provider.timeDiff
        const tasks: Array<Effect.Effect<void, BucketsError>> = []
        for (const badKey of level.unsafe) {
          tasks.push(emit(() =>
            new StorageProgressFail({ src: keyUrl(provider, badKey), dst: dstUri, message: `Cannot download ${JSON.stringify(badKey)}: the key has no usable local name` })
          ))
        }
        const names = [...new Set([...level.dirs, ...level.files.keys()])].sort()
        for (const name of names) {
          const childKey = childPath(keyPath, name)
          const childLocal = path.join(dir, name)
          const folder = level.dirs.includes(name)
          const childRel = rel + name + (folder ? "/" : "")
          if (userFilter !== undefined && !(yield* userFilter(childRel))) continue
          if (folder) {
            tasks.push(walk(childKey, childLocal, childRel))
            continue
          }
          const entry = level.files.get(name)!
          const l = local.get(name)
          const decision: Decision = l !== undefined ? decide(blobInfo(entry), localInfo(l), skew.max, 0, update, cont) : 0
          if (decision === "skip") continue
          tasks.push(slots.withPermits(1)(downloadOne(provider, childKey, childLocal, entry.size, decision, emit)))
        }
        yield* Effect.all(tasks, { concurrency: limit, discard: true })
        yield* emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri }))
      })

    yield* walk(fileKey(key), dstRoot, "")
  })

  // ------------------------------------------------------------------ folders and removal
  const blobIsDir = Effect.fn("Buckets.blobIsDir")(function*(input: URL | string) {
    const uri = yield* normalize(input)
    if (uri.pathname.endsWith("/")) return true
    const { key, provider } = yield* session(uri)
    return yield* isDir(provider, key)
  })

  const blobRm = Effect.fn("Buckets.blobRm")(function*(
    input: URL | string,
    options: { readonly recursive?: boolean | undefined; readonly progress?: StorageModule.ProgressCallback | undefined } = {}
  ) {
    const uri = yield* normalize(input)
    const { key, provider } = yield* session(uri)
    const emit = yield* serialized(options.progress)
    const head = dirKey(key) === "" ? Option.none() : yield* headOption(provider, key)
    const folder = yield* isDir(provider, key)
    if (Option.isNone(head) && !folder) return yield* Effect.fail(fsError("ENOENT", `No such file or directory: ${uri.href}`))
    if (options.recursive !== true && folder) {
      return yield* Effect.fail(fsError("EISDIR", `Is a directory, use recursive remove: ${uri.href}`))
    }
    const slots = yield* makeLimiter(DEFAULT_CONCURRENCY)
    const removeFile = (k: string) =>
      Effect.zipRight(slots.withPermits(1)(provider.deleteBlob(k)), emit(() => new StorageProgressDelete({ uri: keyUrl(provider, k), isDir: false })))

    /** Everything under a folder key (raw keys: a `dir//x` key cannot loop), then its marker. */
    const removeTree = (prefix: string): Effect.Effect<void, BucketsError> =>
      Effect.gen(function*() {
        const entries = yield* slots.withPermits(1)(Stream.runCollect(provider.listBlobs(prefix, false)))
        const tasks: Array<Effect.Effect<void, BucketsError>> = []
        for (const e of entries) {
          if (e.key === prefix) continue
          if (e._tag === "BlobCommonPrefix") tasks.push(removeTree(e.key))
          else if (e.isDir()) tasks.push(removeTree(e.key))
          else tasks.push(removeFile(e.key))
        }
        yield* Effect.all(tasks, { concurrency: "unbounded", discard: true })
        if (prefix !== "") yield* slots.withPermits(1)(provider.deleteBlob(prefix))
        yield* emit(() => new StorageProgressDelete({ uri: prefix === "" ? new URL(provider.bucket.uri.href + "/") : keyUrl(provider, prefix), isDir: true }))
      })

    if (folder) yield* removeTree(dirKey(key))
    if (Option.isSome(head)) yield* removeFile(fileKey(key))
  })

  const makeSignedUrl = Effect.fn("Buckets.makeSignedUrl")(function*(
    input: URL | string,
    options: { readonly expiresInSeconds?: number | undefined } = {}
  ) {
    const uri = yield* normalize(input)
    const bucket = yield* findByPath(uri)
    const key = yield* bucket.getKeyForUri(uri)
    const url = yield* bucketsUrl(bucket.clusterName, bucket.id, "sign_blob_url")
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setUrlParams({ owner: bucket.owner }),
      HttpClientRequest.bodyUnsafeJson({ key, expires_in_sec: options.expiresInSeconds ?? 3600 })
    )
    const answer = yield* api.json(request, SignedUrlWire)
    return yield* Either.try({
      try: () => new URL(answer.url),
      catch: () => new Errors.MalformedResponse({ description: "sign_blob_url answered a url that is not a URL", method: "POST", url: request.url })
    })
  })

  const service: BucketsModule.Buckets.Service = {
    list,
    create,
    importExternal,
    get,
    rm,
    setPublicAccess,
    requestTmpCredentials,
    getDiskUsage,
    headBlob,
    putBlob,
    fetchBlob,
    deleteBlob,
    listBlobs,
    globBlobs,
    uploadFile,
    downloadFile,
    uploadDir,
    downloadDir,
    blobIsDir,
    blobRm,
    makeSignedUrl,
    persistentCredentialsList,
    persistentCredentialsCreate,
    persistentCredentialsGet,
    persistentCredentialsRm
  }
  return service
})

