/**
 * The buckets service (platform-buckets-api, early 2023) of each cluster, at the cluster's
 * `buckets_url`: buckets (`/buckets`: list, create, import/external, find/by_path, get, patch,
 * delete, make_tmp_credentials, sign_blob_url) and persistent credentials
 * (`/persistent_credentials`), same paths, bodies, lookups and status codes as the real server
 * (protocol/buckets.md §3). Buckets it creates are `minio` buckets of the local S3-compatible
 * endpoint (`s3Routes.ts`) at `{base}/s3`, whose objects live under `<dataDir>/buckets`.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { authenticate, baseUrl, errorResponse, handle, jsonResponse, plainError, reply } from "./http.js"
import { presignGet } from "./s3Routes.js"
import type { Identity, PlatformState } from "./state.js"

/** Wire strings of `Bucket.Provider` the 23.2 SDK understands. */
/** @internal */
export const PROVIDERS = ["aws", "minio", "azure", "gcp", "open_stack"] as const

/** @internal */
export type ProviderType = typeof PROVIDERS[number]

/** @internal */
export interface BucketRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly org: string | null
  readonly name: string | undefined
  readonly provider: ProviderType
  /** The bucket's name inside the provider (`credentials.bucket_name`). */
  readonly providerBucketName: string
  readonly createdAt: Date
  readonly imported: boolean
  public: boolean
  /** Import credentials, handed out verbatim. */
  readonly importCredentials: Readonly<Record<string, string>> | undefined
}

/** @internal */
export interface PersistentRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly name: string | undefined
  readonly readOnly: boolean
  bucketIds: Array<string>
  readonly accessKeyId: string
  readonly secret: string
}

/** A temporary key pair (`make_tmp_credentials`, or the one behind a signed URL). */
/** @internal */
export interface TemporaryKey {
  readonly accessKeyId: string
  readonly secret: string
  readonly sessionToken: string | undefined
  readonly expiresAt: number
  readonly bucketIds: ReadonlyArray<string>
  readonly write: boolean
}

/** An object of an emulated provider bucket; its bytes are in `file`. */
/** @internal */
export interface ObjectRecord {
  readonly file: string
  readonly size: number
  readonly etag: string
  readonly modified: Date
}

/** @internal */
export interface MultipartUpload {
  readonly key: string
  readonly dir: string
  readonly parts: Map<number, ObjectRecord>
}

/** An emulated S3 bucket: an index of objects in memory, their bytes in a folder. */
/** @internal */
export interface ProviderBucket {
  readonly name: string
  readonly dir: string
  readonly objects: Map<string, ObjectRecord>
  readonly uploads: Map<string, MultipartUpload>
}

/** Everything the buckets API and the S3 endpoint share. */
/** @internal */
export class BucketStore {
  readonly buckets = new Map<string, BucketRecord>()
  readonly persistent = new Map<string, PersistentRecord>()
  readonly temporary = new Map<string, TemporaryKey>()
  readonly providerBuckets = new Map<string, ProviderBucket>()
  /** Region of the emulated endpoint. */
  readonly region = "us-east-1"
  constructor(readonly root: string) {}

  providerBucket(name: string): ProviderBucket | undefined {
    return this.providerBuckets.get(name)
  }

  /** The platform buckets backed by an emulated provider bucket. */
  bucketsOn(providerBucketName: string): Array<BucketRecord> {
    return [...this.buckets.values()].filter((b) => b.providerBucketName === providerBucketName && b.provider !== "azure" && b.provider !== "gcp")
  }
}

const stores = new WeakMap<PlatformState, BucketStore>()

/** @internal */
export const bucketStore = (state: PlatformState): BucketStore => {
  let store = stores.get(state)
  if (store === undefined) {
    store = new BucketStore(join(state.dataDir, "buckets"))
    stores.set(state, store)
  }
  return store
}

const NAME_PATTERN = /^[a-z](?:-?[a-z0-9_-])*$/

const validName = (name: unknown): name is string =>
  typeof name === "string" && NAME_PATTERN.test(name) && name.length >= 3 && name.length <= 40

/** ISO-8601 with a `+00:00` offset, as Python's `isoformat()` writes UTC times. */
const iso = (d: Date) => d.toISOString().replace(/Z$/, "+00:00")

const bucketJson = (b: BucketRecord) => ({
  id: b.id,
  owner: b.owner,
  name: b.name ?? null,
  org_name: b.org,
  provider: b.provider,
  created_at: iso(b.createdAt),
  imported: b.imported,
  public: b.public
})

/** The URIs permissions on a bucket are checked on: by name (when named) and by id. */
/** @internal */
export const bucketUris = (b: BucketRecord): Array<string> => {
  const base = `blob://${b.cluster}/${b.org === null ? "" : b.org + "/"}${b.owner}`
  return b.name === undefined ? [`${base}/${b.id}`] : [`${base}/${b.name}`, `${base}/${b.id}`]
}

/** @internal */
export const canAccess = (state: PlatformState, user: string, b: BucketRecord, action: "read" | "write") =>
  bucketUris(b).some((uri) => state.acl.can(user, uri, action))

const missing = (uris: ReadonlyArray<string>, action: string) =>
  reply(HttpServerResponse.unsafeJson({ missing: uris.map((uri) => ({ uri, action })) }, { status: 403 }))

const conflict = (description: string) => reply(HttpServerResponse.unsafeJson({ code: "unique", description }, { status: 409 }))

const randomKey = (prefix: string, bytes: number) => prefix + randomBytes(bytes).toString("hex").toUpperCase()

/** `neuro-pl-<10 hex of sha256(owner)>-<owner>[-<name>]`, cut to 45 characters, + 12 random hex. */
const providerBucketName = (owner: string, name: string | undefined) => {
  const hash = createHash("sha256").update(owner).digest("hex").slice(0, 10)
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, "-")
  const base = `neuro-pl-${hash}-${clean(owner)}${name === undefined ? "" : "-" + clean(name)}`.slice(0, 45)
  return base + randomBytes(6).toString("hex")
}

const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** @internal */
export const bucketsRoutes = (state: PlatformState) => {
  const store = bucketStore(state)

  const endpointUrl = Effect.map(baseUrl, (base) => `${base}/s3`)

  const body = (req: HttpServerRequest.HttpServerRequest) =>
    Effect.flatMap(Effect.catchAll(req.json, () => reply(errorResponse(400, "Invalid JSON body"))), (b) =>
      typeof b === "object" && b !== null && !Array.isArray(b)
        ? Effect.succeed(b as Record<string, unknown>)
        : reply(errorResponse(400, "Invalid input type.")))

  /** By id first (any owner), then by name of `?owner=` (default: the caller). */
  const resolve = (req: HttpServerRequest.HttpServerRequest, cluster: string, idOrName: string, caller: string) => {
    const byId = store.buckets.get(idOrName)
    if (byId !== undefined && byId.cluster === cluster) return Effect.succeed(byId)
    const owner = new URL(req.url, "http://local").searchParams.get("owner") || caller
    for (const b of store.buckets.values()) {
      if (b.cluster === cluster && b.owner === owner && b.name === idOrName) return Effect.succeed(b)
    }
    return reply(HttpServerResponse.text(`Bucket ${idOrName} not found`, { status: 404 }))
  }

  const needOn = (identity: Identity, b: BucketRecord, action: "read" | "write") =>
    canAccess(state, identity.user, b, action) ? Effect.void : missing(bucketUris(b), action)

  const checkOrg = (cluster: string, org: unknown) => {
    if (org !== undefined && org !== null && typeof org !== "string") return reply(errorResponse(400, "{'org_name': ['Not a valid string.']}"))
    const value = typeof org === "string" && org !== "" ? org : null
    const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? [null]
    if (!orgs.includes(value)) return reply(errorResponse(400, `Unknown org ${value} on cluster ${cluster}`))
    return Effect.succeed(value)
  }

  const needCreate = (identity: Identity, cluster: string, org: string | null) => {
    const home = `blob://${cluster}/${org === null ? "" : org + "/"}${identity.user}`
    return state.acl.can(identity.user, home, "write") ? Effect.void : missing([home], "write")
  }

  const checkUniqueName = (owner: string, cluster: string, name: string | undefined) => {
    if (name === undefined) return Effect.void
    for (const b of store.buckets.values()) {
      if (b.cluster === cluster && b.owner === owner && b.name === name) return conflict("Bucket with given name exists")
    }
    return Effect.void
  }

  const makeProviderBucket = (name: string) =>
    Effect.promise(async () => {
      const dir = join(store.root, name)
      await fsp.mkdir(dir, { recursive: true })
      store.providerBuckets.set(name, { name, dir, objects: new Map(), uploads: new Map() })
    })

  // ------------------------------------------------------------------ buckets
  const list = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) => {
    const out = [...store.buckets.values()]
      .filter((b) => b.cluster === cluster && canAccess(state, identity.user, b, "read"))
      .map(bucketJson)
    if ((req.headers["accept"] ?? "").includes("application/x-ndjson")) {
      return Effect.succeed(HttpServerResponse.text(out.map((b) => JSON.stringify(b) + "\n").join(""), { contentType: "application/x-ndjson" }))
    }
    return Effect.succeed(jsonResponse(out))
  }

  const create = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const data = yield* body(req)
      if (data.name !== undefined && data.name !== null && !validName(data.name)) {
        return yield* reply(errorResponse(400, "{'name': ['String does not match expected pattern.']}"))
      }
      const org = yield* checkOrg(cluster, data.org_name)
      yield* needCreate(identity, cluster, org)
      const name = typeof data.name === "string" ? data.name : undefined
      yield* checkUniqueName(identity.user, cluster, name)
      const providerName = providerBucketName(identity.user, name)
      yield* makeProviderBucket(providerName)
      const record: BucketRecord = {
        id: `bucket-${randomUUID()}`,
        owner: identity.user,
        cluster,
        org,
        name,
        provider: "minio",
        providerBucketName: providerName,
        createdAt: new Date(),
        imported: false,
        public: false,
        importCredentials: undefined
      }
      store.buckets.set(record.id, record)
      return jsonResponse(bucketJson(record), 201)
    })

  const importExternal = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const data = yield* body(req)
      if (data.name !== undefined && data.name !== null && !validName(data.name)) {
        return yield* reply(errorResponse(400, "{'name': ['String does not match expected pattern.']}"))
      }
      const provider = data.provider
      if (typeof provider !== "string" || !(PROVIDERS as ReadonlyArray<string>).includes(provider)) {
        return yield* reply(errorResponse(400, "{'provider': ['Must be one of: aws, minio, azure, gcp, open_stack.']}"))
      }
      if (typeof data.provider_bucket_name !== "string" || data.provider_bucket_name === "") {
        return yield* reply(errorResponse(400, "{'provider_bucket_name': ['Missing data for required field.']}"))
      }
      const creds = data.credentials
      if (typeof creds !== "object" || creds === null || Array.isArray(creds)) {
        return yield* reply(errorResponse(400, "{'credentials': ['Not a valid mapping type.']}"))
      }
      const org = yield* checkOrg(cluster, data.org_name)
      yield* needCreate(identity, cluster, org)
      const name = typeof data.name === "string" ? data.name : undefined
      yield* checkUniqueName(identity.user, cluster, name)
      const record: BucketRecord = {
        id: `bucket-${randomUUID()}`,
        owner: identity.user,
        cluster,
        org,
        name,
        provider: provider as ProviderType,
        providerBucketName: data.provider_bucket_name,
        createdAt: new Date(),
        imported: true,
        public: false,
        importCredentials: Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]))
      }
      store.buckets.set(record.id, record)
      return jsonResponse(bucketJson(record), 201)
    })

  /** `path` = `[org/]owner/<name-or-id>[/key…]`: the first bucket one of whose paths is a prefix of it. */
  const findByPath = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const path = new URL(req.url, "http://local").searchParams.get("path")
      if (path === null) return yield* reply(errorResponse(400, "{'path': ['Missing data for required field.']}"))
      for (const b of store.buckets.values()) {
        if (b.cluster !== cluster) continue
        const base = `${b.org === null ? "" : b.org + "/"}${b.owner}`
        const candidates = [`${base}/${b.id}`, ...(b.name === undefined ? [] : [`${base}/${b.name}`])]
        if (candidates.some((c) => path === c || path.startsWith(c + "/"))) {
          yield* needOn(identity, b, "read")
          return jsonResponse(bucketJson(b))
        }
      }
      return yield* reply(HttpServerResponse.text(`Bucket for path ${path} not found`, { status: 404 }))
    })

  const get = (b: BucketRecord, identity: Identity) => Effect.as(needOn(identity, b, "read"), jsonResponse(bucketJson(b)))

  const patch = (b: BucketRecord, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const data = yield* body(req)
      if (data.public !== undefined && data.public !== null && typeof data.public !== "boolean") {
        return yield* reply(errorResponse(400, "{'public': ['Not a valid boolean.']}"))
      }
      yield* needOn(identity, b, "write")
      if (typeof data.public === "boolean") b.public = data.public
      return jsonResponse(bucketJson(b))
    })

  const remove = (b: BucketRecord, identity: Identity) =>
    Effect.gen(function*() {
      yield* needOn(identity, b, "write")
      for (const c of [...store.persistent.values()]) {
        if (!c.bucketIds.includes(b.id)) continue
        if (c.bucketIds.length === 1) store.persistent.delete(c.id)
        else c.bucketIds = c.bucketIds.filter((id) => id !== b.id)
      }
      store.buckets.delete(b.id)
      if (!b.imported && store.bucketsOn(b.providerBucketName).length === 0) {
        const pb = store.providerBuckets.get(b.providerBucketName)
        store.providerBuckets.delete(b.providerBucketName)
        if (pb !== undefined) yield* Effect.promise(() => fsp.rm(pb.dir, { recursive: true, force: true }))
      }
      return HttpServerResponse.empty({ status: 204 })
    })

  const makeTmpCredentials = (b: BucketRecord, identity: Identity) =>
    Effect.gen(function*() {
      yield* needOn(identity, b, "read")
      const write = canAccess(state, identity.user, b, "write")
      let credentials: Record<string, string>
      if (b.imported) {
        credentials = { ...b.importCredentials }
      } else {
        const key: TemporaryKey = {
          accessKeyId: randomKey("LPTMP", 8),
          secret: randomBytes(24).toString("base64url"),
          sessionToken: randomBytes(32).toString("base64url"),
          expiresAt: Date.now() + 3600 * 1000,
          bucketIds: [b.id],
          write
        }
        store.temporary.set(key.accessKeyId, key)
        credentials = {
          endpoint_url: yield* endpointUrl,
          region_name: store.region,
          access_key_id: key.accessKeyId,
          secret_access_key: key.secret,
          session_token: key.sessionToken!,
          expiration: iso(new Date(key.expiresAt)).replace(/\.\d{3}/, "")
        }
      }
      return jsonResponse({
        bucket_id: b.id,
        provider: b.provider,
        read_only: !write,
        credentials: { bucket_name: b.providerBucketName, ...credentials }
      })
    })

  const signBlobUrl = (b: BucketRecord, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* needOn(identity, b, "read")
      const data = yield* body(req)
      if (typeof data.key !== "string") return yield* reply(errorResponse(400, "{'key': ['Missing data for required field.']}"))
      const expires = data.expires_in_sec === undefined ? 3600 : data.expires_in_sec
      if (typeof expires !== "number" || !Number.isInteger(expires) || expires < 1) {
        return yield* reply(errorResponse(400, "Duration must be greater than 0 seconds"))
      }
      if (expires > 604800) return yield* reply(errorResponse(400, "Signed URL expiration cannot be longer than 7 days"))
      if (b.provider === "azure" || b.provider === "gcp" || store.providerBucket(b.providerBucketName) === undefined) {
        return yield* reply(errorResponse(400, `Cannot sign URLs for bucket ${b.name ?? b.id}: not on the local S3 endpoint`))
      }
      const key: TemporaryKey = {
        accessKeyId: randomKey("LPSIGN", 8),
        secret: randomBytes(24).toString("base64url"),
        sessionToken: undefined,
        expiresAt: Date.now() + expires * 1000,
        bucketIds: [b.id],
        write: false
      }
      store.temporary.set(key.accessKeyId, key)
      const url = presignGet(yield* endpointUrl, b.providerBucketName, data.key, key, store.region, expires)
      return jsonResponse({ url })
    })

  // ------------------------------------------------------------------ persistent credentials
  const persistentJson = (c: PersistentRecord, endpoint: string) => ({
    id: c.id,
    name: c.name ?? null,
    owner: c.owner,
    read_only: c.readOnly,
    credentials: c.bucketIds.flatMap((id) => {
      const b = store.buckets.get(id)
      if (b === undefined) return []
      return [{
        bucket_id: b.id,
        provider: b.provider,
        read_only: c.readOnly,
        credentials: {
          bucket_name: b.providerBucketName,
          endpoint_url: endpoint,
          region_name: store.region,
          access_key_id: c.accessKeyId,
          secret_access_key: c.secret
        }
      }]
    })
  })

  const resolveCredentials = (cluster: string, idOrName: string, identity: Identity) => {
    const byId = store.persistent.get(idOrName)
    const found = byId !== undefined && byId.cluster === cluster
      ? byId
      : [...store.persistent.values()].find((c) => c.cluster === cluster && c.owner === identity.user && c.name === idOrName)
    if (found === undefined || found.owner !== identity.user) {
      return reply(HttpServerResponse.text(`PersistentCredentials ${idOrName} not found`, { status: 404 }))
    }
    return Effect.succeed(found)
  }

  const credentialsList = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const endpoint = yield* endpointUrl
      const out = [...store.persistent.values()]
        .filter((c) => c.cluster === cluster && c.owner === identity.user)
        .map((c) => persistentJson(c, endpoint))
      if ((req.headers["accept"] ?? "").includes("application/x-ndjson")) {
        return HttpServerResponse.text(out.map((c) => JSON.stringify(c) + "\n").join(""), { contentType: "application/x-ndjson" })
      }
      return jsonResponse(out)
    })

  const credentialsCreate = (cluster: string, identity: Identity, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const data = yield* body(req)
      if (data.name !== undefined && data.name !== null && !validName(data.name)) {
        return yield* reply(errorResponse(400, "{'name': ['String does not match expected pattern.']}"))
      }
      const ids = data.bucket_ids
      if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
        return yield* reply(errorResponse(400, "{'bucket_ids': ['Not a valid list.']}"))
      }
      if (data.read_only !== undefined && data.read_only !== null && typeof data.read_only !== "boolean") {
        return yield* reply(errorResponse(400, "{'read_only': ['Not a valid boolean.']}"))
      }
      const readOnly = data.read_only === true
      for (const id of ids as ReadonlyArray<string>) {
        const b = store.buckets.get(id)
        if (b === undefined || b.cluster !== cluster) return yield* reply(HttpServerResponse.text(`Bucket ${id} not found`, { status: 404 }))
        yield* needOn(identity, b, readOnly ? "read" : "write")
        if (b.imported) return yield* reply(errorResponse(400, `Cannot create credential for imported bucket ${b.name ?? b.id}`))
      }
      const name = typeof data.name === "string" ? data.name : undefined
      if (name !== undefined && [...store.persistent.values()].some((c) => c.cluster === cluster && c.owner === identity.user && c.name === name)) {
        return yield* conflict("Credentials with given name exists")
      }
      const record: PersistentRecord = {
        id: `bucket-credentials-${randomUUID()}`,
        owner: identity.user,
        cluster,
        name,
        readOnly,
        bucketIds: [...new Set(ids as ReadonlyArray<string>)],
        accessKeyId: randomKey("LPKEY", 8),
        secret: randomBytes(24).toString("base64url")
      }
      store.persistent.set(record.id, record)
      return jsonResponse(persistentJson(record, yield* endpointUrl), 201)
    })

  // ------------------------------------------------------------------ dispatch
  const route = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://local")
    const m = /^\/api\/v1\/clusters\/([^/]+)\/buckets\/(buckets|persistent_credentials)((?:\/[^/]*)*)$/.exec(url.pathname)
    if (m === null) return yield* reply(plainError(404, "Not Found"))
    const cluster = safeDecode(m[1]!)
    if (cluster === undefined || !state.clusters.some((c) => c.name === cluster)) return yield* reply(plainError(404, "Not Found"))
    const identity = yield* authenticate(state)
    const decoded = m[3]!.split("/").slice(1).map(safeDecode)
    if (decoded.some((s) => s === undefined)) return yield* reply(plainError(404, "Not Found"))
    const segments = decoded as Array<string>
    if (segments.length > 0 && segments[segments.length - 1] === "") segments.pop()
    const method = req.method.toUpperCase()
    const notAllowed = reply(plainError(405, "Method Not Allowed"))
    if (m[2] === "persistent_credentials") {
      if (segments.length === 0) {
        if (method === "GET") return yield* credentialsList(cluster, identity, req)
        if (method === "POST") return yield* credentialsCreate(cluster, identity, req)
        return yield* notAllowed
      }
      if (segments.length !== 1) return yield* reply(plainError(404, "Not Found"))
      const c = yield* resolveCredentials(cluster, segments[0]!, identity)
      if (method === "GET") return jsonResponse(persistentJson(c, yield* endpointUrl))
      if (method === "DELETE") {
        store.persistent.delete(c.id)
        return HttpServerResponse.empty({ status: 204 })
      }
      return yield* notAllowed
    }
    if (segments.length === 0) {
      if (method === "GET") return yield* list(cluster, identity, req)
      if (method === "POST") return yield* create(cluster, identity, req)
      return yield* notAllowed
    }
    if (segments.length === 2 && segments[0] === "import" && segments[1] === "external") {
      return method === "POST" ? yield* importExternal(cluster, identity, req) : yield* notAllowed
    }
    if (segments.length === 2 && segments[0] === "find" && segments[1] === "by_path") {
      return method === "GET" ? yield* findByPath(cluster, identity, req) : yield* notAllowed
    }
    if (segments.length === 1) {
      const b = yield* resolve(req, cluster, segments[0]!, identity.user)
      if (method === "GET") return yield* get(b, identity)
      if (method === "PATCH") return yield* patch(b, identity, req)
      if (method === "DELETE") return yield* remove(b, identity)
      return yield* notAllowed
    }
    if (segments.length === 2 && (segments[1] === "make_tmp_credentials" || segments[1] === "sign_blob_url")) {
      if (method !== "POST") return yield* notAllowed
      const b = yield* resolve(req, cluster, segments[0]!, identity.user)
      return segments[1] === "make_tmp_credentials" ? yield* makeTmpCredentials(b, identity) : yield* signBlobUrl(b, identity, req)
    }
    return yield* reply(plainError(404, "Not Found"))
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.all("/api/v1/clusters/:cluster/buckets/*", route)
  )
}
