/**
 * The S3 provider (`aws`, `minio`, `open_stack` buckets): the nine S3 operations neuro-sdk issues
 * (ListObjectsV2, HeadObject, GetObject, PutObject, Create/UploadPart/Complete/AbortMultipartUpload,
 * DeleteObject), SigV4-signed, sent through the `ApiClient` without the platform token.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { ApiClient } from "../../ApiClient.js"
import type { Bucket, BucketCredentials, BucketEntry, BucketsError } from "../../Buckets.js"
import * as Errors from "../../Errors.js"
import type { BlobProvider } from "./provider.js"
import { badCredentials, checkKey, checkRange, makeClock, malformed, pagedListing, renewing, retryInternalErrors, whenMissing as whenMissingIn } from "./shared.js"
import { canonicalQuery, EMPTY_SHA256, sha256Hex, signHeaders, uriEncode } from "./sigV4.js"
import { childrenNamed, childText, errorDocText, escapeXml, parseXml, type XmlElement } from "./xml.js"
import { concatBytes } from "../transfer.js"
import { withoutTrailingSlashes } from "../uri.js"
import { BlobCommonPrefix, BlobObject } from "./models.js"

/** Parts of a streamed upload are sent once the buffer holds more than this (neuro-sdk: 10 MiB). */
/** @internal */
export const MIN_PART_SIZE = 10 * 2 ** 20

interface S3Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken: Redacted.Redacted<string> | undefined
  /** Milliseconds since the epoch; `undefined` for static keys. */
  readonly expiresAt: number | undefined
  readonly endpoint: URL | undefined
  readonly region: string
  readonly bucketName: string
}

const bad = badCredentials

const parseCredentials = (c: BucketCredentials): Effect.Effect<S3Credentials, Errors.MalformedResponse> =>
  Effect.suspend(() => {
    const get = (k: string) => {
      const v = c.credentials[k]
      return v === undefined ? undefined : Redacted.value(v)
    }
    const accessKeyId = get("access_key_id")
    const secret = c.credentials["secret_access_key"]
    const bucketName = get("bucket_name")
    if (accessKeyId === undefined || secret === undefined) return Effect.fail(bad("no access_key_id / secret_access_key"))
    if (bucketName === undefined || bucketName === "") return Effect.fail(bad("no bucket_name"))
    const expirationText = get("expiration")
    let expiresAt: number | undefined
    if (expirationText !== undefined) {
      expiresAt = Date.parse(expirationText)
      if (Number.isNaN(expiresAt)) return Effect.fail(bad("expiration is not an ISO 8601 date"))
      if (c.credentials["session_token"] === undefined) return Effect.fail(bad("expiring credentials without session_token"))
    }
    const endpointText = get("endpoint_url")
    let endpoint: URL | undefined
    if (endpointText !== undefined && endpointText !== "") {
      try {
        endpoint = new URL(endpointText)
      } catch {
        return Effect.fail(bad("endpoint_url is not a URL"))
      }
      if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") return Effect.fail(bad("endpoint_url is not http(s)"))
    }
    return Effect.succeed({
      accessKeyId,
      secretAccessKey: secret,
      sessionToken: c.credentials["session_token"],
      expiresAt,
      endpoint,
      region: get("region_name") || "us-east-1",
      bucketName
    })
  })

/** `encoding-type=url` keys: `+` is a space, then percent-decoding. */
const urlDecode = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return s
  }
}

const s3ErrorText = errorDocText

/** @internal */
export const makeS3Provider = (
  api: ApiClient["Type"],
  bucket: Bucket,
  fetchCredentials: Effect.Effect<BucketCredentials, BucketsError>
): Effect.Effect<BlobProvider, BucketsError> =>
  Effect.gen(function*() {
    const current = yield* renewing(fetchCredentials, parseCredentials)
    const clock = yield* makeClock

    /** The URL (without query) and the path to sign, path-style under a custom endpoint. */
    const target = (c: S3Credentials, key: string | undefined) => {
      const keyPath = key === undefined ? "" : "/" + uriEncode(key, true)
      if (c.endpoint !== undefined) {
        const base = withoutTrailingSlashes(c.endpoint.pathname)
        const path = base + "/" + uriEncode(c.bucketName, false) + keyPath
        return { origin: c.endpoint.origin, host: c.endpoint.host, path }
      }
      const virtual = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(c.bucketName)
      const awsHost = `s3.${c.region}.amazonaws.com`
      return virtual
        ? { origin: `https://${c.bucketName}.${awsHost}`, host: `${c.bucketName}.${awsHost}`, path: keyPath === "" ? "/" : keyPath }
        : { origin: `https://${awsHost}`, host: awsHost, path: "/" + uriEncode(c.bucketName, false) + keyPath }
    }

    const mapError = (request: { readonly method: string; readonly url: string }) => (e: Errors.ApiError): Errors.ApiError => {
      if (!("status" in e) || e.status === undefined || e._tag === "MalformedResponse" || e._tag === "NDJSONError") return e
      const text = s3ErrorText(e.description)
      return text === undefined ? e : Errors.fromStatus(e.status, text, request)
    }

    interface Call {
      readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE"
      readonly key?: string | undefined
      readonly query?: ReadonlyArray<readonly [string, string]> | undefined
      readonly headers?: Readonly<Record<string, string>> | undefined
      readonly body?: Uint8Array | undefined
      readonly contentType?: string | undefined
    }

    const send = (call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, BucketsError> =>
      Effect.gen(function*() {
        if (call.key !== undefined) yield* checkKey(call.key)
        const c = yield* current
        const t = target(c, call.key)
        const query = call.query ?? []
        const q = canonicalQuery(query)
        const url = t.origin + t.path + (q === "" ? "" : "?" + q)
        const payloadHash = call.body === undefined || call.body.length === 0 ? EMPTY_SHA256 : yield* sha256Hex(call.body)
        const signed = yield* signHeaders(
          { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
          {
            method: call.method,
            path: t.path,
            query,
            headers: call.headers ?? {},
            host: t.host,
            payloadHash,
            region: c.region,
            service: "s3",
            date: new Date()
          }
        )
        let request = HttpClientRequest.make(call.method)(url).pipe(
          HttpClientRequest.setHeaders({ ...call.headers, ...signed })
        )
        if (call.body !== undefined) {
          request = HttpClientRequest.bodyUint8Array(request, call.body, call.contentType ?? "application/octet-stream")
        }
        const t0 = Date.now() / 1000
        const idempotent = call.method !== "POST"
        const sent = api.execute(request, { auth: false, idempotent }).pipe(Effect.mapError(mapError({ method: call.method, url })))
        const response = yield* (idempotent ? retryInternalErrors(sent) : sent)
        yield* clock.record(t0, response)
        return response
      })

    const readXml = (response: HttpClientResponse.HttpClientResponse, root: string) =>
      Effect.flatMap(api.text(response), (text): Effect.Effect<XmlElement, BucketsError> => {
        const doc = parseXml(text)
        if (typeof doc === "string") return Effect.fail(malformed(response, `bad XML: ${doc}`))
        if (doc.name === "Error") {
          return Effect.fail(Errors.fromStatus(500, s3ErrorText(text) ?? "S3 error", { method: response.request.method, url: response.request.url }))
        }
        if (doc.name !== root) return Effect.fail(malformed(response, `expected <${root}>, got <${doc.name}>`))
        return Effect.succeed(doc)
      })

    const whenMissing = (key: string) => whenMissingIn(bucket, key)

    // ------------------------------------------------------------------ list
    interface Page {
      readonly entries: ReadonlyArray<BucketEntry>
      readonly next: string | undefined
    }

    const listPage = (prefix: string, recursive: boolean, token: string | undefined): Effect.Effect<Page, BucketsError> =>
      Effect.gen(function*() {
        const query: Array<readonly [string, string]> = [["list-type", "2"], ["prefix", prefix], ["encoding-type", "url"]]
        if (!recursive) query.push(["delimiter", "/"])
        if (token !== undefined) query.push(["continuation-token", token])
        const response = yield* send({ method: "GET", query })
        const doc = yield* readXml(response, "ListBucketResult")
        const decode = childText(doc, "EncodingType") === "url" ? urlDecode : (s: string) => s
        const entries: Array<BucketEntry> = []
        for (const p of childrenNamed(doc, "CommonPrefixes")) {
          const key = childText(p, "Prefix")
          if (key === undefined) return yield* Effect.fail(malformed(response, "CommonPrefixes without Prefix"))
          entries.push(new BlobCommonPrefix({ key: decode(key), bucket, size: 0, createdAt: null, modifiedAt: null }, true))
        }
        for (const o of childrenNamed(doc, "Contents")) {
          const key = childText(o, "Key")
          const size = Number(childText(o, "Size"))
          const modified = childText(o, "LastModified")
          const date = modified === undefined ? null : new Date(modified)
          if (key === undefined || !Number.isSafeInteger(size) || size < 0 || (date !== null && Number.isNaN(date.getTime()))) {
            return yield* Effect.fail(malformed(response, "a Contents entry without a valid Key, Size or LastModified"))
          }
          entries.push(new BlobObject({ key: decode(key), bucket, size, createdAt: null, modifiedAt: date }, true))
        }
        const truncated = childText(doc, "IsTruncated") === "true"
        const next = childText(doc, "NextContinuationToken")
        if (truncated && (next === undefined || next === "" || next === token)) {
          return yield* Effect.fail(malformed(response, "a truncated listing without a new NextContinuationToken"))
        }
        return { entries, next: truncated ? next : undefined }
      })

    const listBlobs = (prefix: string, recursive: boolean, limit?: number): Stream.Stream<BucketEntry, BucketsError> =>
      pagedListing((marker) => listPage(prefix, recursive, marker), limit)

    // ------------------------------------------------------------------ objects
    const headBlob = (key: string) =>
      Effect.gen(function*() {
        const response = yield* send({ method: "HEAD", key })
        yield* Effect.ignore(response.text)
        const size = Number(response.headers["content-length"])
        const modified = response.headers["last-modified"]
        const date = modified === undefined ? null : new Date(modified)
        if (!Number.isSafeInteger(size) || size < 0 || (date !== null && Number.isNaN(date.getTime()))) {
          return yield* Effect.fail(malformed(response, "HeadObject without a valid Content-Length or Last-Modified"))
        }
        return new BlobObject({ key, bucket, size, createdAt: null, modifiedAt: date }, true)
      }).pipe(whenMissing(key))

    const fetchBlob = (key: string, offset: number): Stream.Stream<Uint8Array, BucketsError> =>
      Stream.unwrap(Effect.gen(function*() {
        const response = yield* send({ method: "GET", key, headers: offset > 0 ? { range: `bytes=${offset}-` } : {} }).pipe(whenMissing(key))
        yield* checkRange(response, offset)
        return api.body(response)
      }))

    const deleteBlob = (key: string) =>
      Effect.flatMap(send({ method: "DELETE", key }), (r) => Effect.ignore(r.text))

    const putObject = (key: string, body: Uint8Array) =>
      Effect.flatMap(send({ method: "PUT", key, body }), (r) => Effect.ignore(r.text))

    const multipart = (
      key: string,
      body: Stream.Stream<Uint8Array, BucketsError>,
      progress: ((bytes: number) => Effect.Effect<void>) | undefined
    ) =>
      Effect.gen(function*() {
        const created = yield* send({ method: "POST", key, query: [["uploads", ""]] })
        const init = yield* readXml(created, "InitiateMultipartUploadResult")
        const uploadId = childText(init, "UploadId")
        if (uploadId === undefined || uploadId === "") return yield* Effect.fail(malformed(created, "no UploadId"))
        const parts: Array<{ readonly etag: string; readonly number: number }> = []
        let buffer: Array<Uint8Array> = []
        let buffered = 0
        const flush = Effect.suspend(() => {
          const data = concatBytes(buffer)
          const number = parts.length + 1
          buffer = []
          buffered = 0
          return Effect.gen(function*() {
            const response = yield* send({
              method: "PUT",
              key,
              query: [["partNumber", String(number)], ["uploadId", uploadId]],
              body: data
            })
            yield* Effect.ignore(response.text)
            const etag = response.headers["etag"]
            if (etag === undefined || etag === "") return yield* Effect.fail(malformed(response, "UploadPart without ETag"))
            parts.push({ etag, number })
            if (progress !== undefined && data.length > 0) yield* progress(data.length)
          })
        })
        const upload = Effect.gen(function*() {
          yield* Stream.runForEach(body, (chunk) =>
            Effect.suspend(() => {
              if (chunk.length === 0) return Effect.void
              buffer.push(chunk)
              buffered += chunk.length
              return buffered > MIN_PART_SIZE ? flush : Effect.void
            }))
          if (buffered > 0 || parts.length === 0) yield* flush
          const xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
            parts.map((p) => `<Part><ETag>${escapeXml(p.etag)}</ETag><PartNumber>${p.number}</PartNumber></Part>`).join("") +
            "</CompleteMultipartUpload>"
          const done = yield* send({ method: "POST", key, query: [["uploadId", uploadId]], body: new TextEncoder().encode(xml), contentType: "application/xml" })
          yield* readXml(done, "CompleteMultipartUploadResult")
        })
        yield* upload.pipe(
          Effect.onExit((exit) =>
            exit._tag === "Success"
              ? Effect.void
              : Effect.ignore(Effect.flatMap(send({ method: "DELETE", key, query: [["uploadId", uploadId]] }), (r) => r.text))
          )
        )
      })

    const putBlob = (
      key: string,
      body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
      progress?: ((bytes: number) => Effect.Effect<void>) | undefined
    ) => (body instanceof Uint8Array ? putObject(key, body) : multipart(key, body, progress))

    const provider: BlobProvider = {
      bucket,
      listBlobs,
      headBlob,
      putBlob,
      fetchBlob,
      deleteBlob,
      timeDiff: clock.timeDiff
    }
    return provider
  })

