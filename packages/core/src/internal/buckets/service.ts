import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { WireDate } from "../wireDate.js"
import * as Stream from "effect/Stream"
import { ApiClient } from "../../ApiClient.js"
import type * as BucketsModule from "../../Buckets.js"
import { Config } from "../../Config.js"
import * as Errors from "../../Errors.js"
import * as FileFilter from "../../FileFilter.js"
import type * as StorageModule from "../../Storage.js"
import * as UriModule from "../../Uri.js"
import { childPath, dirKey, fileKey, quoteKey } from "./keys.js"
import { type BlobProvider, openProvider } from "./provider.js"
import { Bucket, BucketCredentials, BucketUsage, PersistentBucketCredentials } from "./models.js"
import { MIN_PART_SIZE as S3_MIN_PART_SIZE } from "./s3.js"
import { hasMagic } from "../fileFilter.js"
import { StorageProgressDelete } from "../storageModels.js"
import * as Transfer from "../transfer.js"
import { isSafeName } from "../uriStorage.js"

type BucketsError = BucketsModule.BucketsError
type Entry = BucketsModule.BucketEntry

/** @internal */
export const DEFAULT_CONCURRENCY = 10

/** @internal */
export const MIN_PART_SIZE = S3_MIN_PART_SIZE

const READ_CHUNK = 2 ** 20
const DOWNLOAD_RETRIES = 5

// ---------------------------------------------------------------------------------------------
// wire
// ---------------------------------------------------------------------------------------------

const ProviderWire = Schema.Literal("aws", "minio", "azure", "gcp", "open_stack")


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

const blobTimes = (e: Entry): Transfer.FileTimes => ({
  size: e.size,
  mtime: e.modifiedAt === null ? undefined : e.modifiedAt.getTime() / 1000
})

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
  const local = yield* Transfer.make

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

  /** A linear-time matcher (no regular expression to backtrack); a pattern that is not valid is an `InvalidInputError`. */
  const withMatcher = (
    pattern: string,
    use: (test: (s: string) => boolean) => Stream.Stream<Entry, BucketsError>
  ): Stream.Stream<Entry, BucketsError> =>
    Either.match(FileFilter.matcher(pattern), {
      onLeft: (error) => Stream.fail(error),
      onRight: (m) => use((s) => m.test(s))
    })

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
      return withMatcher(pattern, (full) => p.listBlobs(prefix, true).pipe(Stream.filter((e) => full(e.key.slice(prefix.length)))))
    }
    const magic = hasMagic(part)
    const scan = magic ? prefix + safePrefix(part) : prefix
    if (rest === "") return withMatcher(part, (match) => p.listBlobs(scan, false).pipe(Stream.filter((e) => match(e.name) && e.key !== scan)))
    if (magic) {
      return withMatcher(part, (match) =>
        p.listBlobs(scan, false).pipe(
          Stream.filter((e) => e.isDir() && match(e.name)),
          Stream.flatMap((e) => globFrom(p, e.key, rest))
        ))
    }
    return globFrom(p, prefix + part + "/", rest)
  }

  const globBlobs = (uri: URL | string): Stream.Stream<Entry, BucketsError> =>
    Stream.unwrap(Effect.gen(function*() {
      const { key, provider } = yield* session(yield* normalize(uri))
      return globFrom(provider, "", key)
    })).pipe(Stream.withSpan("Buckets.globBlobs"))

  // ------------------------------------------------------------------ transfers
  /**
   * The bucket side of the transfer engine, over one provider session. Update/continue follow
   * neuro-sdk `_check_transfer` (buckets.md §7.4): both modification times on the local clock
   * with the bucket's clock-difference interval, taking the bound that makes the destination the
   * least new (neuro-sdk subtracts the difference instead of adding it), + 1 s for truncation.
   */
  const remoteFor = (p: BlobProvider): Transfer.Remote<string, BucketsError> => ({
    url: (keyPath) => toUrl(p, keyPath),
    child: childPath,
    /** A multipart upload of the file's stream, `step` told after each part. */
    upload: (srcPath, keyPath, _size, _offset, step) =>
      Effect.suspend(() => {
        let pos = 0
        const body = Stream.mapError(fs.stream(srcPath, { chunkSize: READ_CHUNK }), Transfer.fromPlatform)
        return p.putBlob(fileKey(keyPath), body, (n) =>
          Effect.suspend(() => {
            pos += n
            return step(pos)
          }))
      }),
    read: (keyPath, offset) => p.fetchBlob(fileKey(keyPath), offset),
    readRetries: DOWNLOAD_RETRIES,
    checkUpload: (localFile, blob, update, cont) =>
      Effect.map(p.timeDiff, (skew) =>
        Transfer.decide(localFile, blob, { src: 0, dst: skew.min, threshold: Transfer.TIME_THRESHOLD + 1 }, update, cont)),
    checkDownload: (blob, localFile, update, cont) =>
      Effect.map(p.timeDiff, (skew) =>
        Transfer.decide(blob, localFile, { src: skew.max, dst: 0, threshold: Transfer.TIME_THRESHOLD + 1 }, update, cont)),
    /** A folder exists when something is under its key; else its `key/` marker is written (a file there is ENOTDIR). */
    prepareFolder: (keyPath) =>
      Effect.gen(function*() {
        const level = yield* listLevel(p, dirKey(keyPath))
        const isFolder = dirKey(keyPath) === "" || level.dirs.length > 0 || level.files.size > 0 || level.unsafe.length > 0 ||
          (yield* isDir(p, keyPath))
        if (!isFolder) {
          if (Option.isSome(yield* headOption(p, keyPath))) {
            return yield* Effect.fail(Transfer.localError("ENOTDIR", `Not a directory: ${toUrl(p, keyPath).href}`))
          }
          yield* p.putBlob(dirKey(keyPath), new Uint8Array(0))
        }
        return new Map([...level.files].map(([name, e]) => [name, blobTimes(e)]))
      }),
    /** Keys that cannot be local names first (as `Fail` events), then the children by name. */
    listFolder: (keyPath) =>
      Effect.map(listLevel(p, dirKey(keyPath)), (level) => {
        const entries: Array<Transfer.RemoteEntry> = level.unsafe.map((badKey) => ({
          _tag: "Fail",
          name: undefined,
          src: keyUrl(p, badKey),
          message: `Cannot download ${JSON.stringify(badKey)}: the key has no usable local name`
        }))
        for (const name of [...new Set([...level.dirs, ...level.files.keys()])].sort()) {
          const file = level.files.get(name)
          entries.push(level.dirs.includes(name) || file === undefined ? { _tag: "Dir", name } : { _tag: "File", name, times: blobTimes(file) })
        }
        return entries
      })
  })

  const uploadFile = Effect.fn("Buckets.uploadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.TransferOptions = {}
  ) {
    const srcPath = yield* local.localPath(srcInput)
    const dst = yield* normalize(dstInput)
    const info = yield* Effect.mapError(fs.stat(srcPath), () => Transfer.localError("ENOENT", `No such file: ${srcPath}`))
    if (info.type === "Directory") return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory, use recursive copy: ${srcPath}`))
    const { key, provider } = yield* session(dst)
    const remote = remoteFor(provider)
    const emit = yield* Transfer.serialized(options.progress)
    let offset: Transfer.Decision = 0
    const head = yield* headOption(provider, key)
    if ((yield* isDir(provider, key))) return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory: ${dst.href}`))
    if (Option.isSome(head) && options.update === true) {
      offset = yield* remote.checkUpload(Transfer.localTimes(info), blobTimes(head.value), true, false)
    }
    if (offset === "skip") return
    yield* local.uploadFile(remote, srcPath, key, Number(info.size), 0, emit)
  })

  const downloadFile = Effect.fn("Buckets.downloadFile")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.DownloadOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstPath = yield* local.localPath(dstInput)
    const { key, provider } = yield* session(src)
    const remote = remoteFor(provider)
    const head = yield* headOption(provider, key)
    const folder = yield* isDir(provider, key)
    if (folder) return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory, use recursive copy: ${src.href}`))
    if (Option.isNone(head)) return yield* Effect.fail(Transfer.localError("ENOENT", `No such file: ${src.href}`))
    const blob = head.value
    const emit = yield* Transfer.serialized(options.progress)
    const existing = yield* local.statOption(dstPath)
    if (Option.isSome(existing) && existing.value.type === "Directory") {
      return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory: ${dstPath}`))
    }
    const flags = { update: options.update === true, continue: options.continue === true }
    yield* local.download(remote, key, dstPath, blobTimes(blob), flags, emit, { dst: existing })
  })

  // ------------------------------------------------------------------ directories
  const uploadDir = Effect.fn("Buckets.uploadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.UploadDirOptions = {}
  ) {
    const root = yield* local.localDir(yield* local.localPath(srcInput))
    const dst = yield* normalize(dstInput)
    const { key, provider } = yield* session(dst)
    // bucket uploads have no `continue` (neuro-sdk)
    yield* local.uploadTree(remoteFor(provider), root, key, yield* Transfer.treeOptions(options, DEFAULT_CONCURRENCY))
  })

  const downloadDir = Effect.fn("Buckets.downloadDir")(function*(
    srcInput: URL | string,
    dstInput: URL | string,
    options: BucketsModule.DownloadDirOptions = {}
  ) {
    const src = yield* normalize(srcInput)
    const dstRoot = yield* local.localPath(dstInput)
    const { key, provider } = yield* session(src)
    if (!(yield* exists(provider, key))) return yield* Effect.fail(Transfer.localError("ENOENT", `No such file: ${src.href}`))
    if (!(yield* isDir(provider, key))) return yield* Effect.fail(Transfer.localError("ENOTDIR", `Not a directory: ${src.href}`))
    yield* local.downloadTree(remoteFor(provider), fileKey(key), dstRoot, yield* Transfer.treeOptions(options, DEFAULT_CONCURRENCY))
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
    const emit = yield* Transfer.serialized(options.progress)
    const head = dirKey(key) === "" ? Option.none() : yield* headOption(provider, key)
    const folder = yield* isDir(provider, key)
    if (Option.isNone(head) && !folder) return yield* Effect.fail(Transfer.localError("ENOENT", `No such file or directory: ${uri.href}`))
    if (options.recursive !== true && folder) {
      return yield* Effect.fail(Transfer.localError("EISDIR", `Is a directory, use recursive remove: ${uri.href}`))
    }
    const slots = yield* Transfer.makeLimiter(DEFAULT_CONCURRENCY)
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
        // the folder's marker; a folder that is only a prefix has none (Azure and GCS say so)
        if (prefix !== "") {
          yield* slots.withPermits(1)(provider.deleteBlob(prefix)).pipe(Effect.catchIf((e) => e._tag === "ResourceNotFound", () => Effect.void))
        }
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

