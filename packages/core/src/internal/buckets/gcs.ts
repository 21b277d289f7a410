/**
 * The Google Cloud Storage provider (`gcp` buckets): the JSON API calls neuro-sdk 23.2 makes over
 * plain HTTP (objects list by prefix/delimiter with page tokens, object metadata, `alt=media`
 * reads with a range, delete, resumable uploads in chunks), with the bearer token the platform
 * hands out (`access_token`, renewed before `expire_time`) or one obtained from a service-account
 * key (`key_data`, `gcsAuth.ts`). neuro-sdk always talks to `storage.googleapis.com`; an
 * `endpoint_url` in the credentials (ours, e.g. LocalPlatform's) points the provider elsewhere.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ApiClient } from "../../ApiClient.js"
import type { Bucket, BucketCredentials, BucketEntry, BucketsError } from "../../Buckets.js"
import * as Errors from "../../Errors.js"
import { concatBytes } from "../transfer.js"
import { serviceAccountToken } from "./gcsAuth.js"
import { BlobCommonPrefix, BlobObject } from "./models.js"
import type { BlobProvider } from "./provider.js"
import { badCredentials, checkRange, credential, makeClock, malformed, pagedListing, parseBaseUrl, parseExpiry, renewingFrom, retryInternalErrors, whenMissing } from "./shared.js"

/** @internal */
export const DEFAULT_ENDPOINT = "https://storage.googleapis.com"

/** Resumable uploads take chunks of a multiple of 256 KiB (but the last); ours are 32 of them. */
/** @internal */
export const CHUNK_SIZE = 32 * 256 * 1024

interface Token {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt: number | undefined
}

const platformToken = (c: BucketCredentials): Effect.Effect<Token, Errors.MalformedResponse> =>
  Effect.gen(function*() {
    const token = c.credentials["access_token"]
    if (token === undefined) return yield* Effect.fail(badCredentials("no access_token or key_data"))
    return { token, expiresAt: yield* parseExpiry(c, "expire_time") }
  })

const ObjectWire = Schema.Struct({
  name: Schema.String,
  size: Schema.Union(Schema.String, Schema.Number),
  timeCreated: Schema.String
})

const ListWire = Schema.Struct({
  items: Schema.optional(Schema.Array(ObjectWire)),
  prefixes: Schema.optional(Schema.Array(Schema.String)),
  nextPageToken: Schema.optional(Schema.String)
})

/** `{"error": {"code", "message"}}`: the message; anything else as it came. */
const gcsErrorText = (body: string): string | undefined => {
  try {
    const json: unknown = JSON.parse(body)
    const error = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined
    const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined
    return typeof message === "string" ? message : undefined
  } catch {
    return undefined
  }
}

interface Call {
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  /** Absolute URL without query. */
  readonly url: string
  readonly query?: ReadonlyArray<readonly [string, string]> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Uint8Array | undefined
  readonly json?: unknown
  /** Resumable upload chunks go to the session URL, which is its own authorization. */
  readonly auth?: boolean | undefined
}

/** @internal */
export const makeGcsProvider = (
  api: ApiClient["Type"],
  bucket: Bucket,
  fetchCredentials: Effect.Effect<BucketCredentials, BucketsError>
): Effect.Effect<BlobProvider, BucketsError> =>
  Effect.gen(function*() {
    const initial = yield* fetchCredentials
    const bucketName = credential(initial, "bucket_name")
    if (bucketName === undefined || bucketName === "") return yield* Effect.fail(badCredentials("no bucket_name"))
    const base = (yield* parseBaseUrl(credential(initial, "endpoint_url") || DEFAULT_ENDPOINT, "endpoint_url")).href.replace(/\/+$/, "")
    const keyData = credential(initial, "key_data")
    const token = keyData === undefined
      ? yield* renewingFrom(yield* platformToken(initial), Effect.flatMap(fetchCredentials, platformToken))
      : yield* Effect.flatMap(serviceAccountToken(api, keyData), (first) => renewingFrom(first, serviceAccountToken(api, keyData)))
    const clock = yield* makeClock
    const objects = `${base}/storage/v1/b/${encodeURIComponent(bucketName)}/o`
    const uploads = `${base}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o`
    const objectUrl = (key: string) => `${objects}/${encodeURIComponent(key)}`

    const mapError = (context: { readonly method: string; readonly url: string }) => (e: Errors.ApiError): Errors.ApiError => {
      if (!("status" in e) || e.status === undefined || e._tag === "MalformedResponse" || e._tag === "NDJSONError") return e
      const text = gcsErrorText(e.description)
      return text === undefined ? e : Errors.fromStatus(e.status, text, context)
    }

    const send = (call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, BucketsError> =>
      Effect.gen(function*() {
        const headers: Record<string, string> = { ...call.headers }
        if (call.auth !== false) headers["authorization"] = `Bearer ${Redacted.value((yield* token).token)}`
        let request = HttpClientRequest.make(call.method)(call.url).pipe(
          HttpClientRequest.setUrlParams(call.query ?? []),
          HttpClientRequest.setHeaders(headers)
        )
        if (call.body !== undefined) request = HttpClientRequest.bodyUint8Array(request, call.body, "application/octet-stream")
        if (call.json !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, call.json)
        const t0 = Date.now() / 1000
        const idempotent = call.method !== "POST"
        const sent = api.execute(request, { auth: false, idempotent }).pipe(Effect.mapError(mapError({ method: call.method, url: call.url })))
        const response = yield* (idempotent ? retryInternalErrors(sent) : sent)
        yield* clock.record(t0, response)
        return response
      })

    const objectOf = (o: typeof ObjectWire.Type, response: HttpClientResponse.HttpClientResponse) => {
      const size = Number(o.size)
      const created = new Date(o.timeCreated)
      if (!Number.isSafeInteger(size) || size < 0 || Number.isNaN(created.getTime())) {
        return Effect.fail(malformed(response, `object ${o.name} without a valid size or timeCreated`))
      }
      // neuro-sdk: objects are immutable, their modification time is their creation time
      return Effect.succeed(new BlobObject({ key: o.name, bucket, size, createdAt: created, modifiedAt: created }, true))
    }

    // ------------------------------------------------------------------ list
    const listPage = (prefix: string, recursive: boolean, pageToken: string | undefined) =>
      Effect.gen(function*() {
        const query: Array<readonly [string, string]> = [["prefix", prefix]]
        if (!recursive) query.push(["delimiter", "/"])
        if (pageToken !== undefined) query.push(["pageToken", pageToken])
        const response = yield* send({ method: "GET", url: objects, query })
        const page = yield* api.decode(response, ListWire)
        const entries: Array<BucketEntry> = []
        for (const o of page.items ?? []) entries.push(yield* objectOf(o, response))
        for (const key of page.prefixes ?? []) entries.push(new BlobCommonPrefix({ key, bucket, size: 0, createdAt: null, modifiedAt: null }, true))
        const next = page.nextPageToken === undefined || page.nextPageToken === "" ? undefined : page.nextPageToken
        if (next !== undefined && next === pageToken) return yield* Effect.fail(malformed(response, "the same nextPageToken twice"))
        return { entries, next }
      })

    const listBlobs = (prefix: string, recursive: boolean, limit?: number): Stream.Stream<BucketEntry, BucketsError> =>
      pagedListing((marker) => listPage(prefix, recursive, marker), limit)

    // ------------------------------------------------------------------ objects
    const headBlob = (key: string) =>
      Effect.gen(function*() {
        const response = yield* send({ method: "GET", url: objectUrl(key) })
        return yield* objectOf(yield* api.decode(response, ObjectWire), response)
      }).pipe(whenMissing(bucket, key))

    const fetchBlob = (key: string, offset: number): Stream.Stream<Uint8Array, BucketsError> =>
      Stream.unwrap(Effect.gen(function*() {
        const headers = offset > 0 ? { range: `bytes=${offset}-` } : {}
        const response = yield* send({ method: "GET", url: objectUrl(key), query: [["alt", "media"]], headers }).pipe(whenMissing(bucket, key))
        yield* checkRange(response, offset)
        return api.body(response)
      }))

    const deleteBlob = (key: string) =>
      Effect.flatMap(send({ method: "DELETE", url: objectUrl(key) }), (r) => Effect.ignore(r.text)).pipe(whenMissing(bucket, key))

    const putBlob = (
      key: string,
      body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
      progress?: ((bytes: number) => Effect.Effect<void>) | undefined
    ) => resumableUpload(key, body instanceof Uint8Array ? Stream.make(body) : body, progress)

    /**
     * A resumable upload: the session opened with a POST, the bytes sent in chunks of `CHUNK_SIZE`
     * (`308` with `Range: bytes=0-N` tells how much the server kept; the rest is sent again), the
     * last one with the total size.
     */
    const resumableUpload = (
      key: string,
      body: Stream.Stream<Uint8Array, BucketsError>,
      progress: ((bytes: number) => Effect.Effect<void>) | undefined
    ) =>
      Effect.gen(function*() {
        const opened = yield* send({ method: "POST", url: uploads, query: [["uploadType", "resumable"], ["name", key]], json: {} })
        yield* Effect.ignore(opened.text)
        const location = opened.headers["location"]
        let session: URL
        try {
          session = new URL(location ?? "")
        } catch {
          return yield* Effect.fail(malformed(opened, "a resumable upload without a valid Location"))
        }
        // the session id is the upload's credential: in the query, never in error URLs
        const sessionUrl = session.origin + session.pathname
        const sessionQuery = [...session.searchParams.entries()]
        let sent = 0
        let pending: Array<Uint8Array> = []
        let buffered = 0

        const putChunk = (data: Uint8Array, final: boolean) =>
          Effect.gen(function*() {
            const total = final ? String(sent + data.length) : "*"
            const range = data.length === 0 ? "*" : `${sent}-${sent + data.length - 1}`
            const response = yield* send({
              method: "PUT",
              url: sessionUrl,
              query: sessionQuery,
              headers: { "content-range": `bytes ${range}/${total}` },
              body: data,
              auth: false
            })
            yield* Effect.ignore(response.text)
            if (final) {
              if (response.status !== 200 && response.status !== 201) return yield* Effect.fail(malformed(response, `the last chunk answered ${response.status}`))
              sent += data.length
              if (progress !== undefined && data.length > 0) yield* progress(data.length)
              return data.length
            }
            if (response.status !== 308) return yield* Effect.fail(malformed(response, `a chunk answered ${response.status}, not 308`))
            const m = /^bytes=0-(\d+)$/.exec(response.headers["range"] ?? "")
            const kept = m === null ? 0 : Number(m[1]) + 1 - sent
            if (kept < 0 || kept > data.length) return yield* Effect.fail(malformed(response, `a chunk answered Range ${response.headers["range"]}`))
            sent += kept
            if (progress !== undefined && kept > 0) yield* progress(kept)
            return kept
          })

        /** Whole chunks of the buffer sent, what the server did not keep kept in front; `final` sends the rest with the total. */
        const flush = (final: boolean): Effect.Effect<void, BucketsError> =>
          Effect.gen(function*() {
            let data = concatBytes(pending)
            while (data.length >= CHUNK_SIZE) {
              if (final && data.length === CHUNK_SIZE) break
              const kept = yield* putChunk(data.subarray(0, CHUNK_SIZE), false)
              if (kept === 0) return yield* Effect.fail(new Errors.NetworkError({ reason: "Transport", description: `the upload of ${key} makes no progress`, method: "PUT" }))
              data = data.subarray(kept)
            }
            if (final) {
              yield* putChunk(data, true)
              return
            }
            pending = data.length > 0 ? [data] : []
            buffered = data.length
          })

        yield* Stream.runForEach(body, (chunk) =>
          Effect.suspend(() => {
            if (chunk.length === 0) return Effect.void
            pending.push(chunk)
            buffered += chunk.length
            return buffered >= 2 * CHUNK_SIZE ? flush(false) : Effect.void
          }))
        yield* flush(true)
      })

    const provider: BlobProvider = { bucket, listBlobs, headBlob, putBlob, fetchBlob, deleteBlob, timeDiff: clock.timeDiff }
    return provider
  })
