/**
 * A local Google Cloud Storage endpoint at `{base}/gcs` serving the `gcp` buckets' provider
 * buckets over the JSON API (`/storage/v1`: objects list with prefix/delimiter/page tokens, object
 * metadata, `alt=media` reads with `Range`, delete, bucket metadata; `/upload/storage/v1`: media,
 * multipart and resumable uploads, chunks answered `308` with the kept `Range`), plus the token
 * endpoint of the service-account keys it hands out (`/gcs/token`, JWT-bearer grant, RS256
 * checked) and reads by signed URL (`/gcs/{bucket}/{object}?X-Goog-Signature=...`). Requests carry
 * the bearer tokens of `make_tmp_credentials` or of the token endpoint; public buckets may be read
 * anonymously. Downloads carry `x-goog-hash` (CRC32C and MD5) as GCS does.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, createHmac, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual, verify } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { pipeline } from "node:stream/promises"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import type { PlatformState } from "../state.js"
import {
  type AccessToken,
  type BucketStore,
  bucketStore,
  commitObject,
  crc32c,
  crc32cBase64,
  decodeToken,
  encodeToken,
  listPage,
  type ObjectRecord,
  type ProviderBucket,
  receiveBody,
  type ResumableSession,
  type ServiceAccountKey,
  sortedKeys
} from "./store.js"

const CHUNK_GRANULE = 256 * 1024

/** A fresh RSA service-account key for a persistent credential. */
/** @internal */
export const serviceAccountKey = (id: string): ServiceAccountKey => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" }
  })
  return { email: `${id}@local-platform.iam.gserviceaccount.com`, keyId: randomBytes(20).toString("hex"), privateKeyPem: privateKey, publicKeyPem: publicKey }
}

const encodePath = (key: string) => key.split("/").map(encodeURIComponent).join("/")

const goog4Date = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

const signedUrlSignature = (store: BucketStore, bucket: string, key: string, query: ReadonlyArray<readonly [string, string]>) => {
  const canonical = ["GET", `/${bucket}/${key}`, [...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")].join("\n")
  return createHmac("sha256", store.gcsSigningKey).update(canonical, "utf8").digest("hex")
}

/** A V4-style signed URL reading one object with a plain GET (HMAC-signed by the emulator). */
/** @internal */
export const gcsSignedUrl = (store: BucketStore, endpoint: string, bucket: string, key: string, expires: number): string => {
  const stamp = goog4Date(new Date())
  const query: Array<[string, string]> = [
    ["X-Goog-Algorithm", "GOOG4-HMAC-SHA256"],
    ["X-Goog-Credential", `local-platform/${stamp.slice(0, 8)}/auto/storage/goog4_request`],
    ["X-Goog-Date", stamp],
    ["X-Goog-Expires", String(expires)],
    ["X-Goog-SignedHeaders", "host"]
  ]
  const signature = signedUrlSignature(store, bucket, key, query)
  return `${endpoint}/${encodeURIComponent(bucket)}/${encodePath(key)}?${new URLSearchParams([...query, ["X-Goog-Signature", signature]]).toString()}`
}

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------

interface GcsFailure {
  readonly status: number
  readonly message: string
  readonly reason: string
}

const fail = (status: number, reason: string, message: string) => Effect.fail<GcsFailure>({ status, reason, message })

const baseHeaders = () => ({ Date: new Date().toUTCString(), "x-guploader-uploadid": randomBytes(12).toString("base64url") })

const errorResponse = (f: GcsFailure) =>
  HttpServerResponse.unsafeJson(
    { error: { code: f.status, message: f.message, errors: [{ message: f.message, domain: "global", reason: f.reason }] } },
    { status: f.status, headers: baseHeaders() }
  )

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status, headers: baseHeaders() })

const objectJson = (base: string, bucket: string, key: string, o: ObjectRecord) => {
  const generation = String(o.generation ?? o.modified.getTime() * 1000)
  return {
    kind: "storage#object",
    id: `${bucket}/${key}/${generation}`,
    selfLink: `${base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}`,
    mediaLink: `${base}/download/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}?generation=${generation}&alt=media`,
    name: key,
    bucket,
    generation,
    metageneration: "1",
    contentType: "application/octet-stream",
    storageClass: "STANDARD",
    size: String(o.size),
    md5Hash: Buffer.from(o.md5 ?? "", "hex").toString("base64"),
    crc32c: crc32cBase64(o.crc32c ?? 0),
    etag: Buffer.from(generation).toString("base64"),
    timeCreated: (o.created ?? o.modified).toISOString(),
    updated: o.modified.toISOString(),
    timeStorageClassUpdated: (o.created ?? o.modified).toISOString()
  }
}

// ---------------------------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------------------------

type Need = "read" | "write"

interface Target {
  readonly pb: ProviderBucket
  readonly bucket: string
  readonly key: string | undefined
}

/** @internal */
export const gcsRoutes = (state: PlatformState) => {
  const store = bucketStore(state)

  const authorize = (req: HttpServerRequest.HttpServerRequest, bucket: string, need: Need) =>
    Effect.gen(function*() {
      const onIt = store.bucketsOn(bucket, "gcs")
      const header = req.headers["authorization"]
      if (header === undefined) {
        if (need === "read" && onIt.some((b) => b.public)) return
        return yield* fail(401, "required", "Anonymous caller does not have storage.objects access to the Google Cloud Storage bucket.")
      }
      const m = /^Bearer\s+(\S+)$/.exec(header)
      const grant: AccessToken | undefined = m === null ? undefined : store.accessTokens.get(m[1]!)
      const live = grant !== undefined && Date.now() < grant.expiresAt &&
        (grant.persistentId === undefined || store.persistent.has(grant.persistentId))
      if (!live) return yield* fail(401, "authError", "Invalid Credentials")
      const bucketIds = grant.persistentId === undefined ? grant.bucketIds : store.persistent.get(grant.persistentId)!.bucketIds
      if (!onIt.some((b) => bucketIds.includes(b.id)) || (need === "write" && !grant.write)) {
        return yield* fail(403, "forbidden", `The caller does not have storage.objects.${need === "write" ? "create" : "get"} access to the Google Cloud Storage bucket.`)
      }
    })

  const target = (bucketRaw: string, keyRaw: string | undefined) =>
    Effect.gen(function*() {
      let bucket: string
      let key: string | undefined
      try {
        bucket = decodeURIComponent(bucketRaw)
        key = keyRaw === undefined ? undefined : decodeURIComponent(keyRaw)
      } catch {
        return yield* fail(400, "invalid", "Invalid request path.")
      }
      const pb = store.providerBucket(bucket)
      if (pb === undefined || store.bucketsOn(bucket, "gcs").length === 0) return yield* fail(404, "notFound", "The specified bucket does not exist.")
      return { pb, bucket, key } satisfies Target
    })

  const objectOf = (t: Target) => {
    const o = t.key === undefined ? undefined : t.pb.objects.get(t.key)
    return o === undefined ? fail(404, "notFound", `No such object: ${t.bucket}/${t.key ?? ""}`) : Effect.succeed(o)
  }

  // ------------------------------------------------------------------ reads
  const list = (t: Target, params: URLSearchParams) =>
    Effect.gen(function*() {
      const prefix = params.get("prefix") ?? ""
      const delimiter = params.get("delimiter") ?? ""
      const max = params.has("maxResults") ? Number(params.get("maxResults")) : 1000
      if (!Number.isInteger(max) || max < 1) return yield* fail(400, "invalid", "Invalid value for maxResults")
      const tokenText = params.get("pageToken") ?? ""
      const after = tokenText === "" ? undefined : decodeToken(tokenText)
      if (tokenText !== "" && after === undefined) return yield* fail(400, "invalid", "Invalid page token")
      const page = listPage(sortedKeys(t.pb.objects.keys()), prefix, delimiter, after, Math.min(max, 1000))
      const base = yield* endpoint
      const items = page.items.filter((i) => !i.prefix).map((i) => objectJson(base, t.bucket, i.key, t.pb.objects.get(i.key)!))
      const prefixes = page.items.filter((i) => i.prefix).map((i) => i.key)
      return json({
        kind: "storage#objects",
        ...(page.next === undefined ? {} : { nextPageToken: encodeToken(page.next) }),
        ...(prefixes.length === 0 ? {} : { prefixes }),
        ...(items.length === 0 ? {} : { items })
      })
    })

  const media = (o: ObjectRecord, req: HttpServerRequest.HttpServerRequest, extra: Record<string, string>) =>
    Effect.gen(function*() {
      const body = (start: number, end: number) =>
        end < start ? Stream.empty : NodeStream.fromReadable(() => createReadStream(o.file, { start, end, highWaterMark: 256 * 1024 }), () => "read failed")
      const headers = {
        ...baseHeaders(),
        ...extra,
        "x-goog-generation": String(o.generation ?? 1),
        "x-goog-metageneration": "1",
        "x-goog-stored-content-encoding": "identity",
        "x-goog-stored-content-length": String(o.size),
        "x-goog-hash": `crc32c=${crc32cBase64(o.crc32c ?? 0)},md5=${Buffer.from(o.md5 ?? "", "hex").toString("base64")}`,
        "Last-Modified": o.modified.toUTCString(),
        ETag: `"${o.md5 ?? ""}"`,
        "Accept-Ranges": "bytes"
      }
      const range = (req.headers["range"] ?? "").trim()
      const m = /^bytes=(\d+)-(\d*)$/.exec(range)
      if (range === "" || m === null) {
        return HttpServerResponse.stream(body(0, o.size - 1), {
          status: 200,
          headers: { ...headers, "Content-Length": String(o.size) },
          contentType: "application/octet-stream",
          contentLength: o.size
        })
      }
      const start = Number(m[1])
      const end = m[2] === "" ? o.size - 1 : Math.min(Number(m[2]), o.size - 1)
      if (start >= o.size) return yield* fail(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.")
      return HttpServerResponse.stream(body(start, end), {
        status: 206,
        headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${o.size}`, "Content-Length": String(end - start + 1) },
        contentType: "application/octet-stream",
        contentLength: end - start + 1
      })
    })

  const endpoint = Effect.map(HttpServerRequest.HttpServerRequest, (req) => `http://${req.headers["host"] ?? "127.0.0.1"}/gcs`)

  // ------------------------------------------------------------------ writes
  const finish = (t: Target, key: string, file: string) =>
    Effect.gen(function*() {
      const hashes = yield* Effect.promise(async () => {
        const md5 = createHash("md5")
        let crc = 0
        let size = 0
        for await (const chunk of createReadStream(file, { highWaterMark: 2 ** 20 }) as AsyncIterable<Buffer>) {
          md5.update(chunk)
          crc = crc32c(crc, chunk)
          size += chunk.length
        }
        return { size, md5: md5.digest("hex"), crc }
      })
      const o = yield* commitObject(t.pb, key, file, {
        size: hashes.size,
        etag: "",
        md5: hashes.md5,
        crc32c: hashes.crc,
        generation: Date.now() * 1000 + Math.floor(Math.random() * 1000)
      })
      return json(objectJson(yield* endpoint, t.bucket, key, o))
    })

  const nameOf = (params: URLSearchParams, metadata: unknown) => {
    const fromQuery = params.get("name")
    const fromBody = typeof metadata === "object" && metadata !== null ? (metadata as { name?: unknown }).name : undefined
    const name = fromQuery ?? (typeof fromBody === "string" ? fromBody : undefined)
    return name === undefined || name === "" ? fail(400, "required", "Required parameter: name") : Effect.succeed(name)
  }

  const readAll = (req: HttpServerRequest.HttpServerRequest) =>
    Effect.mapError(req.arrayBuffer, (): GcsFailure => ({ status: 400, reason: "invalid", message: "The request body could not be read." }))

  const upload = (t: Target, req: HttpServerRequest.HttpServerRequest, params: URLSearchParams) =>
    Effect.gen(function*() {
      const type = params.get("uploadType")
      if (type === "media") {
        const key = yield* nameOf(params, undefined)
        const r = yield* received(t.pb, req)
        return yield* finish(t, key, r)
      }
      if (type === "multipart") return yield* multipart(t, req, params)
      if (type === "resumable") {
        const body = yield* readAll(req)
        let metadata: unknown = {}
        try {
          metadata = body.byteLength === 0 ? {} : JSON.parse(Buffer.from(body).toString("utf8"))
        } catch {
          return yield* fail(400, "parseError", "Parse Error")
        }
        const key = yield* nameOf(params, metadata)
        const id = randomBytes(24).toString("base64url")
        const file = join(t.pb.dir, `.tmp-${randomUUID()}`)
        yield* Effect.promise(() => fsp.writeFile(file, new Uint8Array(0)))
        t.pb.sessions.set(id, { key, file, size: 0, done: undefined })
        const location = `${yield* endpoint}/upload/storage/v1/b/${encodeURIComponent(t.bucket)}/o?` +
          new URLSearchParams({ uploadType: "resumable", name: key, upload_id: id }).toString()
        return HttpServerResponse.empty({ status: 200, headers: { ...baseHeaders(), Location: location } })
      }
      return yield* fail(400, "invalid", `Invalid upload type: ${type ?? "(none)"}`)
    })

  const received = (pb: ProviderBucket, req: HttpServerRequest.HttpServerRequest) =>
    Effect.flatMap(receiveBody(pb, req.stream), (r) => (r === undefined ? fail(400, "invalid", "The request body terminated unexpectedly.") : Effect.succeed(r.file)))

  /** `multipart/related`: a JSON metadata part, then the media part. */
  const multipart = (t: Target, req: HttpServerRequest.HttpServerRequest, params: URLSearchParams) =>
    Effect.gen(function*() {
      const boundary = /boundary="?([^";]+)"?/.exec(req.headers["content-type"] ?? "")?.[1]
      if (boundary === undefined) return yield* fail(400, "invalid", "Missing multipart boundary")
      const body = Buffer.from(yield* readAll(req))
      const delimiter = Buffer.from(`--${boundary}`)
      const parts: Array<Buffer> = []
      let at = body.indexOf(delimiter)
      while (at >= 0) {
        const start = at + delimiter.length
        if (body.subarray(start, start + 2).toString() === "--") break
        const next = body.indexOf(delimiter, start)
        if (next < 0) break
        parts.push(body.subarray(start, next))
        at = next
      }
      const contentOf = (part: Buffer) => {
        const split = part.indexOf("\r\n\r\n")
        const content = split < 0 ? Buffer.alloc(0) : part.subarray(split + 4)
        return content.subarray(0, content.length - (content.subarray(-2).toString() === "\r\n" ? 2 : 0))
      }
      if (parts.length !== 2) return yield* fail(400, "invalid", "A multipart upload needs a metadata part and a media part")
      let metadata: unknown
      try {
        metadata = JSON.parse(contentOf(parts[0]!).toString("utf8"))
      } catch {
        return yield* fail(400, "parseError", "Parse Error")
      }
      const key = yield* nameOf(params, metadata)
      const file = join(t.pb.dir, `.tmp-${randomUUID()}`)
      yield* Effect.promise(() => fsp.writeFile(file, contentOf(parts[1]!)))
      return yield* finish(t, key, file)
    })

  /** A chunk of a resumable session: `Content-Range: bytes S-E/T`, `bytes S-*\/T` or a `bytes *\/T` query. */
  const chunk = (t: Target, session: ResumableSession, id: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const header = (req.headers["content-range"] ?? "").trim()
      const m = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(header)
      if (session.done !== undefined) return json(objectJson(yield* endpoint, t.bucket, session.key, session.done))
      if (m === null && header !== "") return yield* fail(400, "invalid", `Invalid Content-Range: ${header}`)
      const total = m === null || m[3] === "*" ? undefined : Number(m[3])
      if (m !== null && m[1] !== undefined) {
        const start = Number(m[1])
        if (start > session.size) return yield* fail(400, "invalid", `Invalid request. There were ${session.size} byte(s) before this chunk, which starts at ${start}.`)
        const r = yield* received(t.pb, req)
        // bytes the session already has (a chunk sent again) are skipped; the rest is appended, streamed
        session.size += yield* Effect.promise(async () => {
          const { size } = await fsp.stat(r)
          const skip = Math.min(size, session.size - start)
          if (skip < size) await pipeline(createReadStream(r, { start: skip }), createWriteStream(session.file, { flags: "a" }))
          await fsp.rm(r, { force: true })
          return size - skip
        })
      } else {
        yield* Effect.ignore(readAll(req))
      }
      const final = total !== undefined ? session.size >= total : m !== null && m[2] === "*"
      if (total !== undefined && session.size > total) return yield* fail(400, "invalid", "The upload is longer than its declared size.")
      if (!final) {
        // like GCS, keep only whole 256 KiB granules of a chunk that is not the last
        const kept = session.size - (session.size % CHUNK_GRANULE)
        if (kept !== session.size) {
          yield* Effect.promise(() => fsp.truncate(session.file, kept))
          session.size = kept
        }
        const range = session.size === 0 ? {} : { Range: `bytes=0-${session.size - 1}` }
        return HttpServerResponse.empty({ status: 308, headers: { ...baseHeaders(), ...range } })
      }
      t.pb.sessions.delete(id)
      const answer = yield* finish(t, session.key, session.file)
      session.done = t.pb.objects.get(session.key)
      return answer
    })

  const deleteObject = (t: Target) =>
    Effect.gen(function*() {
      const o = yield* objectOf(t)
      t.pb.objects.delete(t.key!)
      yield* Effect.promise(() => fsp.rm(o.file, { force: true }))
      return HttpServerResponse.empty({ status: 204, headers: baseHeaders() })
    })

  // ------------------------------------------------------------------ token endpoint
  const token = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const form = new URLSearchParams(Buffer.from(yield* Effect.orElseSucceed(req.arrayBuffer, () => new ArrayBuffer(0))).toString("utf8"))
    const invalid = (description: string) => HttpServerResponse.unsafeJson({ error: "invalid_grant", error_description: description }, { status: 400 })
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return HttpServerResponse.unsafeJson({ error: "unsupported_grant_type", error_description: "Invalid grant_type" }, { status: 400 })
    }
    const parts = (form.get("assertion") ?? "").split(".")
    if (parts.length !== 3) return invalid("Invalid JWT")
    let claims: { iss?: unknown; aud?: unknown; exp?: unknown; scope?: unknown }
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"))
    } catch {
      return invalid("Invalid JWT payload")
    }
    const c = [...store.persistent.values()].find((p) => p.gcpKey !== undefined && p.gcpKey.email === claims.iss)
    if (c === undefined) return invalid("Invalid JWT Signature.")
    const signed = verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), c.gcpKey!.publicKeyPem, Buffer.from(parts[2]!, "base64url"))
    if (!signed) return invalid("Invalid JWT Signature.")
    if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return invalid("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
    if (claims.aud !== `${yield* endpoint}/token`) return invalid("Invalid JWT: the audience is not this token endpoint.")
    const access = `ya29.lp-${randomBytes(24).toString("base64url")}`
    store.accessTokens.set(access, { expiresAt: Date.now() + 3600 * 1000, bucketIds: [], write: !c.readOnly, persistentId: c.id })
    return HttpServerResponse.unsafeJson({ access_token: access, expires_in: 3599, token_type: "Bearer" })
  })

  // ------------------------------------------------------------------ dispatch
  const api = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://local")
    const params = url.searchParams
    const method = req.method.toUpperCase()
    return yield* Effect.gen(function*() {
      const upload = /^\/gcs\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname)
      if (upload !== null) return yield* uploadRequest(upload[1]!, req, params, method)
      const m = /^\/gcs\/storage\/v1\/b\/([^/]+)(?:\/o(?:\/(.+))?)?$/.exec(url.pathname)
      if (m === null) return yield* fail(404, "notFound", "Not Found")
      const t = yield* target(m[1]!, m[2])
      const isObjects = url.pathname.includes("/o")
      if (!isObjects) {
        if (method !== "GET") return yield* fail(405, "methodNotAllowed", "Method not allowed")
        yield* authorize(req, t.bucket, "read")
        return json({ kind: "storage#bucket", id: t.bucket, name: t.bucket, location: "LOCAL", storageClass: "STANDARD", metageneration: "1" })
      }
      if (t.key === undefined) {
        if (method !== "GET") return yield* fail(405, "methodNotAllowed", "Method not allowed")
        yield* authorize(req, t.bucket, "read")
        return yield* list(t, params)
      }
      if (method === "GET") {
        yield* authorize(req, t.bucket, "read")
        const o = yield* objectOf(t)
        return params.get("alt") === "media" ? yield* media(o, req, {}) : json(objectJson(yield* endpoint, t.bucket, t.key, o))
      }
      if (method === "DELETE") {
        yield* authorize(req, t.bucket, "write")
        return yield* deleteObject(t)
      }
      return yield* fail(405, "methodNotAllowed", "Method not allowed")
    }).pipe(Effect.catchAll((f) => Effect.succeed(errorResponse(f))))
  })

  const uploadRequest = (bucketRaw: string, req: HttpServerRequest.HttpServerRequest, params: URLSearchParams, method: string) =>
    Effect.gen(function*() {
      const t = yield* target(bucketRaw, undefined)
      const id = params.get("upload_id")
      if (id !== null) {
        const session = t.pb.sessions.get(id)
        if (session === undefined) return yield* fail(404, "notFound", "No such upload session")
        if (method === "DELETE") {
          t.pb.sessions.delete(id)
          yield* Effect.promise(() => fsp.rm(session.file, { force: true }))
          return HttpServerResponse.empty({ status: 499, headers: baseHeaders() })
        }
        if (method !== "PUT" && method !== "POST") return yield* fail(405, "methodNotAllowed", "Method not allowed")
        return yield* chunk(t, session, id, req)
      }
      if (method !== "POST") return yield* fail(405, "methodNotAllowed", "Method not allowed")
      yield* authorize(req, t.bucket, "write")
      return yield* upload(t, req, params)
    })

  /** The XML API read of a signed URL. */
  const signedRead = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://local")
    return yield* Effect.gen(function*() {
      const m = /^\/gcs\/([^/]+)\/(.+)$/.exec(url.pathname)
      if (m === null || req.method.toUpperCase() !== "GET") return yield* fail(404, "notFound", "Not Found")
      const t = yield* target(m[1]!, undefined)
      const key = m[2]!.split("/").map(decodeURIComponent).join("/")
      const given = url.searchParams.get("X-Goog-Signature") ?? ""
      const query = [...url.searchParams.entries()].filter(([k]) => k !== "X-Goog-Signature")
      const expected = signedUrlSignature(store, t.bucket, key, query)
      const stamp = url.searchParams.get("X-Goog-Date") ?? ""
      const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)
      const signedAt = d === null ? Number.NaN : Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!)
      const expires = Number(url.searchParams.get("X-Goog-Expires"))
      if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        return yield* fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
      }
      if (Number.isNaN(signedAt) || Date.now() > signedAt + expires * 1000) return yield* fail(400, "ExpiredToken", "Request has expired")
      return yield* media(yield* objectOf({ ...t, key }), req, {})
    }).pipe(Effect.catchAll((f) => Effect.succeed(errorResponse(f))))
  })

  return HttpRouter.empty.pipe(
    HttpRouter.post("/gcs/token", token),
    HttpRouter.all("/gcs/storage/*", api),
    HttpRouter.all("/gcs/upload/*", api),
    HttpRouter.get("/gcs/:bucket/*", signedRead)
  )
}
