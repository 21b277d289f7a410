/**
 * A local S3-compatible endpoint at `{base}/s3` (path-style `/s3/{bucket}/{key}`) serving the
 * provider buckets of `bucketsRoutes.ts` from `<dataDir>/buckets/<bucket>/`: ListObjectsV2
 * (prefix, delimiter, continuation, start-after, max-keys, `encoding-type=url`), HeadBucket,
 * HeadObject, GetObject (with `Range`), PutObject, DeleteObject, and multipart uploads
 * (Create, UploadPart, Complete, Abort). Every request is authenticated with AWS Signature V4
 * (header or presigned query) against the keys the buckets API handed out: the signature, the
 * payload hash, the date skew, the session token and the key's expiry are all checked, and the
 * key must grant the bucket (read, or write for changes). Public buckets may be read anonymously.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { bucketStore, type BucketStore, type ObjectRecord, type ProviderBucket, type TemporaryKey } from "./store.js"
import type { PlatformState } from "../state.js"

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
const MAX_SKEW_MS = 15 * 60 * 1000
const MIN_PART = 5 * 2 ** 20

// ---------------------------------------------------------------------------------------------
// SigV4 (server side)
// ---------------------------------------------------------------------------------------------

/** RFC 3986 encoding of SigV4: unreserved characters stay, every other UTF-8 byte is `%XX`. */
const uriEncode = (value: string, keepSlash: boolean): string => {
  let out = ""
  for (const b of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

const formDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

const pathDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** Query parameters of a raw query string, decoded, in order. */
const parseQuery = (raw: string): Array<[string, string]> | undefined => {
  const out: Array<[string, string]> = []
  for (const part of raw.split("&")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    const k = formDecode(eq < 0 ? part : part.slice(0, eq))
    const v = formDecode(eq < 0 ? "" : part.slice(eq + 1))
    if (k === undefined || v === undefined) return undefined
    out.push([k, v])
  }
  return out
}

const canonicalQuery = (params: ReadonlyArray<readonly [string, string]>): string =>
  params
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")

/** The canonical URI of a raw request path: each segment decoded, then encoded once (S3 rules). */
const canonicalPath = (rawPath: string): string | undefined => {
  const segments = rawPath.split("/").map(pathDecode)
  if (segments.some((s) => s === undefined)) return undefined
  return (segments as Array<string>).map((s) => uriEncode(s, false)).join("/") || "/"
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest()
const sha256 = (data: string) => createHash("sha256").update(data, "utf8").digest("hex")

const signature = (secret: string, stamp: string, scope: string, canonicalRequest: string): string => {
  const [day, region, service] = scope.split("/")
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256(canonicalRequest)].join("\n")
  let k = hmac("AWS4" + secret, day!)
  k = hmac(k, region!)
  k = hmac(k, service!)
  k = hmac(k, "aws4_request")
  return createHmac("sha256", k).update(stringToSign, "utf8").digest("hex")
}

const amzDate = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

const parseAmzDate = (s: string): number => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s)
  return m === null ? Number.NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

/**
 * A presigned `GetObject` URL (SigV4 query signing, `host` signed, unsigned payload) for
 * `sign_blob_url`.
 */
/** @internal */
export const presignGet = (endpoint: string, bucket: string, key: string, k: TemporaryKey, region: string, expires: number): string => {
  const base = new URL(endpoint)
  const now = new Date()
  const stamp = amzDate(now)
  const scope = `${stamp.slice(0, 8)}/${region}/s3/aws4_request`
  const path = base.pathname.replace(/\/+$/, "") + "/" + uriEncode(bucket, false) + "/" + uriEncode(key, true)
  const query: Array<[string, string]> = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${k.accessKeyId}/${scope}`],
    ["X-Amz-Date", stamp],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", "host"]
  ]
  const canonical = ["GET", canonicalPath(path)!, canonicalQuery(query), `host:${base.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n")
  const sig = signature(k.secret, stamp, scope, canonical)
  return `${base.origin}${path}?${canonicalQuery(query)}&X-Amz-Signature=${sig}`
}

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

const xmlUnescape = (s: string) =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith("#x")
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith("#")
      ? String.fromCodePoint(parseInt(e.slice(1), 10))
      : ({ amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" } as Record<string, string>)[e]!)

const baseHeaders = () => ({ Date: new Date().toUTCString(), "x-amz-request-id": randomBytes(8).toString("hex").toUpperCase() })

const xmlResponse = (status: number, body: string) =>
  HttpServerResponse.text(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    contentType: "application/xml",
    headers: baseHeaders()
  })

interface S3Failure {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly extra?: Readonly<Record<string, string>> | undefined
}

const s3Fail = (status: number, code: string, message: string, extra?: Record<string, string>) =>
  Effect.fail<S3Failure>({ status, code, message, extra })

const errorResponse = (f: S3Failure, head: boolean) =>
  head
    ? HttpServerResponse.empty({ status: f.status, headers: baseHeaders() })
    : xmlResponse(
      f.status,
      `<Error><Code>${f.code}</Code><Message>${xmlEscape(f.message)}</Message>` +
        Object.entries(f.extra ?? {}).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join("") +
        `<RequestId>${randomBytes(8).toString("hex").toUpperCase()}</RequestId></Error>`
    )

const etagOf = (md5hex: string) => `"${md5hex}"`

// ---------------------------------------------------------------------------------------------
// request parsing and authorization
// ---------------------------------------------------------------------------------------------

interface Grant {
  readonly write: boolean
  readonly bucketIds: ReadonlyArray<string>
}

interface Parsed {
  readonly method: string
  readonly rawPath: string
  readonly query: ReadonlyArray<[string, string]>
  readonly params: ReadonlyMap<string, string>
  readonly bucket: string
  /** `undefined` for bucket-level requests. */
  readonly key: string | undefined
}

interface Authorized {
  readonly grant: Grant | "anonymous"
  /** The payload hash the body must have (hex), or `undefined` when unsigned. */
  readonly payloadHash: string | undefined
}

const lookupKey = (store: BucketStore, accessKeyId: string, now: number) => {
  const temporary = store.temporary.get(accessKeyId)
  if (temporary !== undefined) {
    if (now >= temporary.expiresAt) return s3Fail(400, "ExpiredToken", "The provided token has expired.")
    return Effect.succeed({
      secret: temporary.secret,
      token: temporary.sessionToken,
      grant: { write: temporary.write, bucketIds: temporary.bucketIds }
    })
  }
  for (const c of store.persistent.values()) {
    if (c.accessKeyId === accessKeyId) {
      return Effect.succeed({ secret: c.secret, token: undefined, grant: { write: !c.readOnly, bucketIds: c.bucketIds } })
    }
  }
  return s3Fail(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
}

const authorize = (store: BucketStore, req: HttpServerRequest.HttpServerRequest, p: Parsed): Effect.Effect<Authorized, S3Failure> =>
  Effect.gen(function*() {
    const header = req.headers["authorization"]
    const queryAuth = p.params.get("X-Amz-Credential")
    if (header === undefined && queryAuth === undefined) return { grant: "anonymous" as const, payloadHash: undefined }
    const now = Date.now()
    let accessKeyId: string
    let scope: string
    let signedHeaders: Array<string>
    let given: string
    let stamp: string
    let payload: string
    let token: string | undefined
    let query = p.query
    if (header !== undefined) {
      const m = /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(header)
      if (m === null) return yield* s3Fail(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
      accessKeyId = m[1]!
      scope = m[2]!
      signedHeaders = m[3]!.split(";")
      given = m[4]!
      stamp = req.headers["x-amz-date"] ?? ""
      const date = parseAmzDate(stamp)
      if (Number.isNaN(date)) return yield* s3Fail(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
      if (Math.abs(now - date) > MAX_SKEW_MS) {
        return yield* s3Fail(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
      }
      payload = req.headers["x-amz-content-sha256"] ?? ""
      if (!/^[0-9a-f]{64}$/.test(payload) && payload !== "UNSIGNED-PAYLOAD") {
        if (payload.startsWith("STREAMING-")) return yield* s3Fail(501, "NotImplemented", "aws-chunked uploads are not supported by LocalPlatform")
        return yield* s3Fail(400, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest")
      }
      token = req.headers["x-amz-security-token"]
    } else {
      if (p.params.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") {
        return yield* s3Fail(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
      }
      const cred = /^([^/]+)\/(.+)$/.exec(queryAuth!)
      given = p.params.get("X-Amz-Signature") ?? ""
      stamp = p.params.get("X-Amz-Date") ?? ""
      const expires = Number(p.params.get("X-Amz-Expires"))
      const date = parseAmzDate(stamp)
      if (cred === null || Number.isNaN(date) || !Number.isInteger(expires)) {
        return yield* s3Fail(400, "AuthorizationQueryParametersError", "Invalid presigned URL parameters")
      }
      if (now > date + expires * 1000) return yield* s3Fail(403, "AccessDenied", "Request has expired")
      accessKeyId = cred[1]!
      scope = cred[2]!
      signedHeaders = (p.params.get("X-Amz-SignedHeaders") ?? "host").split(";")
      payload = "UNSIGNED-PAYLOAD"
      token = p.params.get("X-Amz-Security-Token")
      query = p.query.filter(([k]) => k !== "X-Amz-Signature")
    }
    const [day, region, service, terminator] = scope.split("/")
    if (day !== stamp.slice(0, 8) || region === undefined || service !== "s3" || terminator !== "aws4_request") {
      return yield* s3Fail(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the credential scope is wrong.")
    }
    if (region !== store.region) {
      return yield* s3Fail(400, "AuthorizationHeaderMalformed", `The authorization header is malformed; the region '${region}' is wrong; expecting '${store.region}'`, {
        Region: store.region
      })
    }
    if (!signedHeaders.includes("host")) return yield* s3Fail(403, "AccessDenied", "host must be a signed header")
    const key = yield* lookupKey(store, accessKeyId, now)
    if (key.token !== undefined && token !== key.token) return yield* s3Fail(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    const canonicalUri = canonicalPath(p.rawPath)
    if (canonicalUri === undefined) return yield* s3Fail(400, "InvalidURI", "Couldn't parse the specified URI.")
    const headerLines = signedHeaders.map((h) => {
      const v = req.headers[h]
      return `${h}:${(v ?? "").trim().replace(/\s+/g, " ")}\n`
    })
    const canonical = [p.method, canonicalUri, canonicalQuery(query), headerLines.join(""), signedHeaders.join(";"), payload].join("\n")
    const expected = signature(key.secret, stamp, scope, canonical)
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      return yield* s3Fail(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method."
      )
    }
    return { grant: key.grant, payloadHash: payload === "UNSIGNED-PAYLOAD" ? undefined : payload }
  })

// ---------------------------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------------------------

interface Received {
  readonly file: string
  readonly size: number
  readonly md5: string
  readonly sha256: string
}

const sortKeys = (keys: Iterable<string>) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")))

const keyCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

const urlEncodeKey = (s: string) => encodeURIComponent(s).replace(/%20/g, "+").replace(/%2F/g, "/")

/** @internal */
export const s3Routes = (state: PlatformState) => {
  const store = bucketStore(state)

  const tmpName = (pb: ProviderBucket) => join(pb.dir, `.tmp-${randomUUID()}`)

  /** The body into a file, with its size, MD5 and SHA-256; the payload hash checked when signed. */
  const receive = (req: HttpServerRequest.HttpServerRequest, file: string, expected: string | undefined) =>
    Effect.gen(function*() {
      const md5 = createHash("md5")
      const sha = createHash("sha256")
      let size = 0
      const out = createWriteStream(file)
      const written = yield* Stream.runForEach(
        Stream.mapError(req.stream, (): S3Failure => ({ status: 400, code: "IncompleteBody", message: "The request body terminated unexpectedly" })),
        (chunk) =>
          Effect.async<void>((resume) => {
            md5.update(chunk)
            sha.update(chunk)
            size += chunk.length
            if (out.write(chunk)) resume(Effect.void)
            else out.once("drain", () => resume(Effect.void))
          })
      ).pipe(Effect.either)
      yield* Effect.async<void>((resume) => {
        out.end(() => resume(Effect.void))
      })
      const fail = (f: S3Failure) => Effect.zipRight(Effect.promise(() => fsp.rm(file, { force: true })), Effect.fail(f))
      if (written._tag === "Left") return yield* fail(written.left)
      const received: Received = { file, size, md5: md5.digest("hex"), sha256: sha.digest("hex") }
      if (expected !== undefined && expected !== received.sha256) {
        return yield* fail({ status: 400, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed." })
      }
      const contentMd5 = req.headers["content-md5"]
      if (contentMd5 !== undefined && Buffer.from(received.md5, "hex").toString("base64") !== contentMd5) {
        return yield* fail({ status: 400, code: "BadDigest", message: "The Content-MD5 you specified did not match what we received." })
      }
      return received
    })

  const commit = (pb: ProviderBucket, key: string, r: Received, etag: string) =>
    Effect.promise(async () => {
      const file = join(pb.dir, randomUUID())
      await fsp.rename(r.file, file)
      const old = pb.objects.get(key)
      const record: ObjectRecord = { file, size: r.size, etag, modified: new Date() }
      pb.objects.set(key, record)
      if (old !== undefined) await fsp.rm(old.file, { force: true })
      return record
    })

  const objectHeaders = (o: ObjectRecord) => ({
    ...baseHeaders(),
    ETag: o.etag,
    "Last-Modified": o.modified.toUTCString(),
    "Accept-Ranges": "bytes"
  })

  // ------------------------------------------------------------------ operations
  const listObjectsV2 = (pb: ProviderBucket, p: Parsed) =>
    Effect.gen(function*() {
      const prefix = p.params.get("prefix") ?? ""
      const delimiter = p.params.get("delimiter") ?? ""
      const url = p.params.get("encoding-type") === "url"
      if (p.params.has("encoding-type") && !url) return yield* s3Fail(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
      const maxKeysText = p.params.get("max-keys")
      const maxKeys = maxKeysText === undefined ? 1000 : Math.min(1000, Number(maxKeysText))
      if (!Number.isInteger(maxKeys) || maxKeys < 0) return yield* s3Fail(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
      const token = p.params.get("continuation-token")
      let after: { readonly k: string; readonly p: boolean } | undefined
      if (token !== undefined) {
        try {
          const decoded: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
          if (typeof decoded !== "object" || decoded === null || typeof (decoded as { k?: unknown }).k !== "string") throw new Error()
          after = decoded as { k: string; p: boolean }
        } catch {
          return yield* s3Fail(400, "InvalidArgument", "The continuation token provided is incorrect")
        }
      }
      const startAfter = p.params.get("start-after")
      const enc = (s: string) => xmlEscape(url ? urlEncodeKey(s) : s)
      const contents: Array<string> = []
      const prefixes: Array<string> = []
      let count = 0
      let last: { k: string; p: boolean } | undefined
      let truncated = false
      const seenPrefixes = new Set<string>()
      for (const key of sortKeys(pb.objects.keys())) {
        if (!key.startsWith(prefix)) continue
        if (startAfter !== undefined && token === undefined && keyCompare(key, startAfter) <= 0) continue
        if (after !== undefined && (keyCompare(key, after.k) <= 0 || (after.p && key.startsWith(after.k)))) continue
        const rest = key.slice(prefix.length)
        const at = delimiter === "" ? -1 : rest.indexOf(delimiter)
        if (at >= 0) {
          const common = prefix + rest.slice(0, at + delimiter.length)
          if (seenPrefixes.has(common)) continue
          if (count === maxKeys) {
            truncated = true
            break
          }
          seenPrefixes.add(common)
          prefixes.push(`<CommonPrefixes><Prefix>${enc(common)}</Prefix></CommonPrefixes>`)
          last = { k: common, p: true }
        } else {
          if (count === maxKeys) {
            truncated = true
            break
          }
          const o = pb.objects.get(key)!
          contents.push(
            `<Contents><Key>${enc(key)}</Key><LastModified>${o.modified.toISOString()}</LastModified>` +
              `<ETag>${xmlEscape(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`
          )
          last = { k: key, p: false }
        }
        count++
      }
      const next = truncated && last !== undefined ? Buffer.from(JSON.stringify(last)).toString("base64url") : undefined
      return xmlResponse(
        200,
        `<ListBucketResult xmlns="${S3_NS}"><Name>${xmlEscape(pb.name)}</Name><Prefix>${enc(prefix)}</Prefix>` +
          (delimiter === "" ? "" : `<Delimiter>${enc(delimiter)}</Delimiter>`) +
          `<MaxKeys>${maxKeys}</MaxKeys>` + (url ? "<EncodingType>url</EncodingType>" : "") +
          `<KeyCount>${count}</KeyCount><IsTruncated>${truncated}</IsTruncated>` +
          (token === undefined ? "" : `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`) +
          (next === undefined ? "" : `<NextContinuationToken>${next}</NextContinuationToken>`) +
          (startAfter === undefined ? "" : `<StartAfter>${enc(startAfter)}</StartAfter>`) +
          contents.join("") + prefixes.join("") + "</ListBucketResult>"
      )
    })

  const getObject = (pb: ProviderBucket, key: string, req: HttpServerRequest.HttpServerRequest, head: boolean) =>
    Effect.gen(function*() {
      const o = pb.objects.get(key)
      if (o === undefined) return yield* s3Fail(404, "NoSuchKey", "The specified key does not exist.", { Key: key })
      const body = (start: number, end: number) =>
        head || end < start
          ? Stream.empty
          : NodeStream.fromReadable(() => createReadStream(o.file, { start, end, highWaterMark: 256 * 1024 }), () => "read failed")
      const range = (req.headers["range"] ?? "").trim()
      // `contentLength: 0` is dropped by the platform server: say it explicitly
      const whole = o.size === 0 ? { ...objectHeaders(o), "Content-Length": "0" } : objectHeaders(o)
      if (range === "") {
        return HttpServerResponse.stream(body(0, o.size - 1), {
          status: 200,
          headers: whole,
          contentType: "application/octet-stream",
          contentLength: o.size
        })
      }
      const m = /^bytes=(\d*)-(\d*)$/.exec(range)
      let start = Number.NaN
      let end = Number.NaN
      if (m !== null && m[1] !== "") {
        start = Number(m[1])
        end = m[2] === "" ? o.size - 1 : Math.min(Number(m[2]), o.size - 1)
      } else if (m !== null && m[2] !== "") {
        start = Math.max(0, o.size - Number(m[2]))
        end = o.size - 1
      }
      if (m === null || Number.isNaN(start)) {
        return HttpServerResponse.stream(body(0, o.size - 1), {
          status: 200,
          headers: whole,
          contentType: "application/octet-stream",
          contentLength: o.size
        })
      }
      if (!(start < o.size) || end < start) {
        return yield* s3Fail(416, "InvalidRange", "The requested range is not satisfiable", { ActualObjectSize: String(o.size) })
      }
      return HttpServerResponse.stream(body(start, end), {
        status: 206,
        headers: { ...objectHeaders(o), "Content-Range": `bytes ${start}-${end}/${o.size}` },
        contentType: "application/octet-stream",
        contentLength: end - start + 1
      })
    })

  const putObject = (pb: ProviderBucket, key: string, req: HttpServerRequest.HttpServerRequest, payloadHash: string | undefined) =>
    Effect.gen(function*() {
      if (req.headers["x-amz-copy-source"] !== undefined) return yield* s3Fail(501, "NotImplemented", "CopyObject is not supported by LocalPlatform")
      const r = yield* receive(req, tmpName(pb), payloadHash)
      const o = yield* commit(pb, key, r, etagOf(r.md5))
      return HttpServerResponse.empty({ status: 200, headers: { ...baseHeaders(), ETag: o.etag } })
    })

  const createUpload = (pb: ProviderBucket, key: string) =>
    Effect.gen(function*() {
      const id = randomBytes(16).toString("hex")
      const dir = join(pb.dir, ".uploads", id)
      yield* Effect.promise(() => fsp.mkdir(dir, { recursive: true }))
      pb.uploads.set(id, { key, dir, parts: new Map() })
      return xmlResponse(
        200,
        `<InitiateMultipartUploadResult xmlns="${S3_NS}"><Bucket>${xmlEscape(pb.name)}</Bucket><Key>${xmlEscape(key)}</Key>` +
          `<UploadId>${id}</UploadId></InitiateMultipartUploadResult>`
      )
    })

  const uploadFor = (pb: ProviderBucket, key: string, id: string) => {
    const u = pb.uploads.get(id)
    return u === undefined || u.key !== key
      ? s3Fail(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", { UploadId: id })
      : Effect.succeed(u)
  }

  const uploadPart = (pb: ProviderBucket, key: string, p: Parsed, req: HttpServerRequest.HttpServerRequest, payloadHash: string | undefined) =>
    Effect.gen(function*() {
      const u = yield* uploadFor(pb, key, p.params.get("uploadId")!)
      const n = Number(p.params.get("partNumber"))
      if (!Number.isInteger(n) || n < 1 || n > 10000) return yield* s3Fail(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
      const r = yield* receive(req, join(u.dir, `.tmp-${randomUUID()}`), payloadHash)
      const file = join(u.dir, `part-${n}`)
      yield* Effect.promise(() => fsp.rename(r.file, file))
      const etag = etagOf(r.md5)
      u.parts.set(n, { file, size: r.size, etag, modified: new Date() })
      return HttpServerResponse.empty({ status: 200, headers: { ...baseHeaders(), ETag: etag } })
    })

  const completeUpload = (pb: ProviderBucket, key: string, p: Parsed, req: HttpServerRequest.HttpServerRequest, payloadHash: string | undefined) =>
    Effect.gen(function*() {
      const id = p.params.get("uploadId")!
      const u = yield* uploadFor(pb, key, id)
      const r = yield* receive(req, join(u.dir, `.body-${randomUUID()}`), payloadHash)
      const text = yield* Effect.promise(() => fsp.readFile(r.file, "utf8"))
      yield* Effect.promise(() => fsp.rm(r.file, { force: true }))
      const parts: Array<{ readonly n: number; readonly etag: string }> = []
      for (const m of text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
        const n = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]!)
        const e = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]!)
        if (n === null || e === null) return yield* s3Fail(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
        parts.push({ n: Number(n[1]), etag: xmlUnescape(e[1]!).trim() })
      }
      if (!/<CompleteMultipartUpload[\s>]/.test(text) || parts.length === 0) {
        return yield* s3Fail(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
      }
      for (let i = 1; i < parts.length; i++) {
        if (parts[i]!.n <= parts[i - 1]!.n) return yield* s3Fail(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
      }
      const records: Array<ObjectRecord> = []
      for (const [i, part] of parts.entries()) {
        const stored = u.parts.get(part.n)
        const quoted = part.etag.startsWith("\"") ? part.etag : `"${part.etag}"`
        if (stored === undefined || stored.etag !== quoted) {
          return yield* s3Fail(400, "InvalidPart", "One or more of the specified parts could not be found.", { PartNumber: String(part.n) })
        }
        if (i < parts.length - 1 && stored.size < MIN_PART) {
          return yield* s3Fail(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
        }
        records.push(stored)
      }
      const target = tmpName(pb)
      const md5s = createHash("md5")
      let size = 0
      yield* Effect.promise(async () => {
        const out = await fsp.open(target, "w")
        try {
          for (const r of records) {
            md5s.update(Buffer.from(r.etag.replace(/"/g, ""), "hex"))
            const data = await fsp.readFile(r.file)
            await out.write(data)
            size += data.length
          }
        } finally {
          await out.close()
        }
      })
      const etag = `"${md5s.digest("hex")}-${records.length}"`
      yield* commit(pb, key, { file: target, size, md5: "", sha256: "" }, etag)
      pb.uploads.delete(id)
      yield* Effect.promise(() => fsp.rm(u.dir, { recursive: true, force: true }))
      return xmlResponse(
        200,
        `<CompleteMultipartUploadResult xmlns="${S3_NS}"><Location>/${xmlEscape(pb.name)}/${xmlEscape(key)}</Location>` +
          `<Bucket>${xmlEscape(pb.name)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`
      )
    })

  const abortUpload = (pb: ProviderBucket, key: string, p: Parsed) =>
    Effect.gen(function*() {
      const id = p.params.get("uploadId")!
      const u = yield* uploadFor(pb, key, id)
      pb.uploads.delete(id)
      yield* Effect.promise(() => fsp.rm(u.dir, { recursive: true, force: true }))
      return HttpServerResponse.empty({ status: 204, headers: baseHeaders() })
    })

  const deleteObject = (pb: ProviderBucket, key: string) =>
    Effect.gen(function*() {
      const o = pb.objects.get(key)
      if (o !== undefined) {
        pb.objects.delete(key)
        yield* Effect.promise(() => fsp.rm(o.file, { force: true }))
      }
      return HttpServerResponse.empty({ status: 204, headers: baseHeaders() })
    })

  // ------------------------------------------------------------------ dispatch
  const parse = (req: HttpServerRequest.HttpServerRequest): Effect.Effect<Parsed, S3Failure> => {
    const raw = req.url
    const q = raw.indexOf("?")
    const rawPath = q < 0 ? raw : raw.slice(0, q)
    const query = parseQuery(q < 0 ? "" : raw.slice(q + 1))
    const m = /^\/s3\/([^/]+)(?:\/(.*))?$/.exec(rawPath)
    if (query === undefined || m === null) return s3Fail(400, "InvalidURI", "Couldn't parse the specified URI.")
    const bucket = pathDecode(m[1]!)
    const key = m[2] === undefined ? undefined : pathDecode(m[2])
    if (bucket === undefined || (m[2] !== undefined && key === undefined)) return s3Fail(400, "InvalidURI", "Couldn't parse the specified URI.")
    return Effect.succeed({
      method: req.method.toUpperCase(),
      rawPath,
      query,
      params: new Map(query),
      bucket,
      key: key === "" ? undefined : key
    })
  }

  const route = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const head = req.method.toUpperCase() === "HEAD"
    return yield* Effect.gen(function*() {
      const p = yield* parse(req)
      const auth = yield* authorize(store, req, p)
      const pb = store.providerBucket(p.bucket)
      if (pb === undefined) return yield* s3Fail(404, "NoSuchBucket", "The specified bucket does not exist", { BucketName: p.bucket })
      const onIt = store.bucketsOn(pb.name)
      const writing = !(p.method === "GET" || p.method === "HEAD")
      if (auth.grant === "anonymous") {
        if (writing || !onIt.some((b) => b.public)) return yield* s3Fail(403, "AccessDenied", "Access Denied")
      } else {
        const grant = auth.grant
        const granted = onIt.some((b) => grant.bucketIds.includes(b.id))
        if (!granted || (writing && !grant.write)) return yield* s3Fail(403, "AccessDenied", "Access Denied")
      }
      const payload = auth.payloadHash
      if (p.key === undefined) {
        if (p.method === "HEAD") return HttpServerResponse.empty({ status: 200, headers: baseHeaders() })
        if (p.method === "GET" && p.params.get("list-type") === "2") return yield* listObjectsV2(pb, p)
        return yield* s3Fail(501, "NotImplemented", "This bucket operation is not supported by LocalPlatform")
      }
      const key = p.key
      switch (p.method) {
        case "GET":
        case "HEAD":
          return yield* getObject(pb, key, req, head)
        case "PUT":
          return p.params.has("uploadId") ? yield* uploadPart(pb, key, p, req, payload) : yield* putObject(pb, key, req, payload)
        case "POST":
          if (p.params.has("uploads")) return yield* createUpload(pb, key)
          if (p.params.has("uploadId")) return yield* completeUpload(pb, key, p, req, payload)
          return yield* s3Fail(501, "NotImplemented", "This object operation is not supported by LocalPlatform")
        case "DELETE":
          return p.params.has("uploadId") ? yield* abortUpload(pb, key, p) : yield* deleteObject(pb, key)
        default:
          return yield* s3Fail(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
      }
    }).pipe(Effect.catchAll((f) => Effect.succeed(errorResponse(f, head))))
  })

  return HttpRouter.empty.pipe(HttpRouter.all("/s3/*", route))
}
