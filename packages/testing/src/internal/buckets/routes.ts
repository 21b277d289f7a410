/**
 * The buckets service (platform-buckets-api, early 2023) of each cluster, at the cluster's
 * `buckets_url`: buckets (`/buckets`: list, create, import/external, find/by_path, get, patch,
 * delete, make_tmp_credentials, sign_blob_url) and persistent credentials
 * (`/persistent_credentials`), same paths, bodies, lookups and status codes as the real server
 * (protocol/buckets.md §3). Buckets it creates are of the cluster's `bucketProvider` (default
 * `minio`), served by the local endpoint of that provider, with credentials of its shape: S3
 * (`s3.ts`, at `{base}/s3`), Azure Blob (`azure.ts`, `{base}/azure`) or GCS (`gcs.ts`,
 * `{base}/gcs`); objects live under `<dataDir>/buckets`.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import * as fsp from "node:fs/promises"
import { authenticate, baseUrl, errorResponse, handle, jsonResponse, plainError, reply } from "../http.js"
import type { Identity, PlatformState } from "../state.js"
import { azureSas } from "./azure.js"
import { gcsSignedUrl, serviceAccountKey } from "./gcs.js"
import { presignGet } from "./s3.js"
import {
  type AccessToken,
  type BucketRecord,
  bucketStore,
  endpointOf,
  type PersistentRecord,
  PROVIDERS,
  type ProviderType,
  type TemporaryKey
} from "./store.js"

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

  const makeProviderBucket = (name: string) => Effect.promise(() => store.makeProviderBucket(name))

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
        provider: state.clusters.find((c) => c.name === cluster)?.bucketProvider ?? "minio",
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
      if (!b.imported && store.bucketsOn(b.providerBucketName, endpointOf(b.provider)).length === 0) {
        const pb = store.providerBuckets.get(b.providerBucketName)
        store.providerBuckets.delete(b.providerBucketName)
        if (pb !== undefined) yield* Effect.promise(() => fsp.rm(pb.dir, { recursive: true, force: true }))
      }
      return HttpServerResponse.empty({ status: 204 })
    })

  /** Fresh temporary credentials of the bucket's provider, write access or read only. */
  const temporaryCredentials = (b: BucketRecord, write: boolean, base: string): Record<string, string> => {
    const expiresAt = Date.now() + 3600 * 1000
    const expiry = iso(new Date(expiresAt)).replace(/\.\d{3}/, "")
    switch (endpointOf(b.provider)) {
      case "azure": {
        const sas = azureSas(store, { container: b.providerBucketName, permissions: write ? "racwdl" : "rl", expiresAt })
        return { storage_endpoint: `${base}/azure`, sas_token: sas, expiry }
      }
      case "gcs": {
        const token = `ya29.lp-${randomBytes(24).toString("base64url")}`
        const grant: AccessToken = { expiresAt, bucketIds: [b.id], write }
        store.accessTokens.set(token, grant)
        return { project: "local-platform", access_token: token, expire_time: expiry, endpoint_url: `${base}/gcs` }
      }
      case "s3": {
        const key: TemporaryKey = {
          accessKeyId: randomKey("LPTMP", 8),
          secret: randomBytes(24).toString("base64url"),
          sessionToken: randomBytes(32).toString("base64url"),
          expiresAt,
          bucketIds: [b.id],
          write
        }
        store.temporary.set(key.accessKeyId, key)
        return {
          endpoint_url: `${base}/s3`,
          region_name: store.region,
          access_key_id: key.accessKeyId,
          secret_access_key: key.secret,
          session_token: key.sessionToken!,
          expiration: expiry
        }
      }
    }
  }

  const makeTmpCredentials = (b: BucketRecord, identity: Identity) =>
    Effect.gen(function*() {
      yield* needOn(identity, b, "read")
      const write = canAccess(state, identity.user, b, "write")
      const credentials = b.imported ? { ...b.importCredentials } : temporaryCredentials(b, write, yield* baseUrl)
      return jsonResponse({
        bucket_id: b.id,
        provider: b.provider,
        read_only: !write,
        credentials: { bucket_name: b.providerBucketName, ...credentials }
      })
    })

  /** A URL that reads the object with a plain GET until it expires: S3 presigned, Azure SAS, GCS signed. */
  const signedUrl = (b: BucketRecord, key: string, expires: number, base: string): string => {
    const expiresAt = Date.now() + expires * 1000
    switch (endpointOf(b.provider)) {
      case "azure": {
        const sas = azureSas(store, { container: b.providerBucketName, blob: key, permissions: "r", expiresAt })
        return `${base}/azure/${encodeURIComponent(b.providerBucketName)}/${key.split("/").map(encodeURIComponent).join("/")}?${sas}`
      }
      case "gcs":
        return gcsSignedUrl(store, `${base}/gcs`, b.providerBucketName, key, expires)
      case "s3": {
        const signer: TemporaryKey = {
          accessKeyId: randomKey("LPSIGN", 8),
          secret: randomBytes(24).toString("base64url"),
          sessionToken: undefined,
          expiresAt,
          bucketIds: [b.id],
          write: false
        }
        store.temporary.set(signer.accessKeyId, signer)
        return presignGet(`${base}/s3`, b.providerBucketName, key, signer, store.region, expires)
      }
    }
  }

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
      if (store.providerBucket(b.providerBucketName) === undefined) {
        return yield* reply(errorResponse(400, `Cannot sign URLs for bucket ${b.name ?? b.id}: it is not served by LocalPlatform`))
      }
      return jsonResponse({ url: signedUrl(b, data.key, expires, yield* baseUrl) })
    })

  // ------------------------------------------------------------------ persistent credentials
  /** Persistent credentials by provider: S3 keys, an Azure SAS naming the credential (`si`), a GCP service-account key. */
  const persistentCredentials = (c: PersistentRecord, b: BucketRecord, base: string): Record<string, string> => {
    switch (endpointOf(b.provider)) {
      case "azure": {
        const expiresAt = Date.now() + 10 * 365 * 86400 * 1000
        const sas = azureSas(store, { container: b.providerBucketName, permissions: c.readOnly ? "rl" : "racwdl", expiresAt, identifier: c.id })
        return { storage_endpoint: `${base}/azure`, sas_token: sas }
      }
      case "gcs": {
        c.gcpKey ??= serviceAccountKey(c.id)
        const key = {
          type: "service_account",
          project_id: "local-platform",
          private_key_id: c.gcpKey.keyId,
          private_key: c.gcpKey.privateKeyPem,
          client_email: c.gcpKey.email,
          token_uri: `${base}/gcs/token`
        }
        return { project: "local-platform", key_data: Buffer.from(JSON.stringify(key)).toString("base64"), endpoint_url: `${base}/gcs` }
      }
      case "s3":
        return { endpoint_url: `${base}/s3`, region_name: store.region, access_key_id: c.accessKeyId, secret_access_key: c.secret }
    }
  }

  const persistentJson = (c: PersistentRecord, base: string) => ({
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
        credentials: { bucket_name: b.providerBucketName, ...persistentCredentials(c, b, base) }
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
      const endpoint = yield* baseUrl
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
      return jsonResponse(persistentJson(record, yield* baseUrl), 201)
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
      if (method === "GET") return jsonResponse(persistentJson(c, yield* baseUrl))
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
