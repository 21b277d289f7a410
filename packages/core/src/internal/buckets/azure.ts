/**
 * The Azure Blob Storage provider (`azure` buckets): the container calls neuro-sdk 23.2 makes
 * through azure-storage-blob's `ContainerClient` (List Blobs flat or by `/`, Get Blob Properties,
 * Put Blob, Put Block + Put Block List, Get Blob with a range, Delete Blob), authorized by the SAS
 * the platform hands out (`storage_endpoint`, `sas_token` renewed before `expiry`; or a static
 * `credential` SAS of an imported bucket). The SAS travels in the query, so request URLs in errors
 * and spans carry only the path.
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
import { concatBytes } from "../transfer.js"
import { BlobCommonPrefix, BlobObject } from "./models.js"
import type { BlobProvider } from "./provider.js"
import {
  badCredentials,
  checkKey,
  checkRange,
  credential,
  encodeKeyPath,
  makeClock,
  malformed,
  pagedListing,
  parseBaseUrl,
  parseExpiry,
  renewing,
  retryInternalErrors,
  whenMissing
} from "./shared.js"
import { child, childText, errorDocText, escapeXml, parseXml, type XmlElement } from "./xml.js"

/** The REST version sent in `x-ms-version` (accepted by Azure and Azurite). */
const API_VERSION = "2021-12-02"

/** Blocks of a streamed upload are staged once the buffer holds more than this. */
/** @internal */
export const BLOCK_SIZE = 10 * 2 ** 20

interface AzureCredentials {
  /** `{storage_endpoint}/{bucket_name}`, no query. */
  readonly container: string
  /** The SAS parameters, decoded. */
  readonly sas: Redacted.Redacted<ReadonlyArray<readonly [string, string]>>
  readonly expiresAt: number | undefined
}

const parseCredentials = (c: BucketCredentials): Effect.Effect<AzureCredentials, Errors.MalformedResponse> =>
  Effect.gen(function*() {
    const endpoint = credential(c, "storage_endpoint")
    const bucketName = credential(c, "bucket_name")
    const sas = credential(c, "sas_token") ?? credential(c, "credential")
    if (endpoint === undefined || endpoint === "") return yield* Effect.fail(badCredentials("no storage_endpoint"))
    if (bucketName === undefined || bucketName === "") return yield* Effect.fail(badCredentials("no bucket_name"))
    if (sas === undefined) return yield* Effect.fail(badCredentials("no sas_token or credential"))
    const base = yield* parseBaseUrl(endpoint, "storage_endpoint")
    const params = [...new URLSearchParams(sas.replace(/^\?/, "")).entries()]
    if (params.length === 0) return yield* Effect.fail(badCredentials("the SAS token is empty"))
    return {
      container: base.href.replace(/\/+$/, "") + "/" + encodeURIComponent(bucketName),
      sas: Redacted.make(params),
      expiresAt: credential(c, "sas_token") === undefined ? undefined : yield* parseExpiry(c, "expiry")
    }
  })

const date = (text: string | undefined): Date | null | undefined => {
  if (text === undefined || text === "") return null
  const d = new Date(text)
  return Number.isNaN(d.getTime()) ? undefined : d
}

interface Call {
  readonly method: "GET" | "HEAD" | "PUT" | "DELETE"
  readonly key?: string | undefined
  readonly query?: ReadonlyArray<readonly [string, string]> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Uint8Array | undefined
}

/** @internal */
export const makeAzureProvider = (
  api: ApiClient["Type"],
  bucket: Bucket,
  fetchCredentials: Effect.Effect<BucketCredentials, BucketsError>
): Effect.Effect<BlobProvider, BucketsError> =>
  Effect.gen(function*() {
    const current = yield* renewing(fetchCredentials, parseCredentials)
    const clock = yield* makeClock

    /** Azure's `<Error>` document as the message; the status decides the error class. */
    const mapError = (context: { readonly method: string; readonly url: string }) => (e: Errors.ApiError): Errors.ApiError => {
      if (!("status" in e) || e.status === undefined || e._tag === "MalformedResponse" || e._tag === "NDJSONError") return e
      const text = errorDocText(e.description)
      return text === undefined ? e : Errors.fromStatus(e.status, text, context)
    }

    const send = (call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, BucketsError> =>
      Effect.gen(function*() {
        if (call.key !== undefined) yield* checkKey(call.key)
        const c = yield* current
        const url = c.container + (call.key === undefined ? "" : "/" + encodeKeyPath(call.key))
        let request = HttpClientRequest.make(call.method)(url).pipe(
          HttpClientRequest.setUrlParams([...(call.query ?? []), ...Redacted.value(c.sas)]),
          HttpClientRequest.setHeaders({ "x-ms-version": API_VERSION, ...call.headers })
        )
        if (call.body !== undefined) request = HttpClientRequest.bodyUint8Array(request, call.body, "application/octet-stream")
        const t0 = Date.now() / 1000
        const response = yield* retryInternalErrors(
          api.execute(request, { auth: false, idempotent: true }).pipe(Effect.mapError(mapError({ method: call.method, url })))
        )
        yield* clock.record(t0, response)
        return response
      })

    const drain = (response: HttpClientResponse.HttpClientResponse) => Effect.ignore(response.text)

    // ------------------------------------------------------------------ list
    interface Page {
      readonly entries: ReadonlyArray<BucketEntry>
      readonly next: string | undefined
    }

    const nameOf = (e: XmlElement): string | undefined => {
      const name = child(e, "Name")
      if (name === undefined) return undefined
      if (name.attributes["Encoded"] !== "true") return name.text
      try {
        return decodeURIComponent(name.text)
      } catch {
        return undefined
      }
    }

    const entryOf = (e: XmlElement): BucketEntry | undefined => {
      const key = nameOf(e)
      if (key === undefined) return undefined
      if (e.name === "BlobPrefix") return new BlobCommonPrefix({ key, bucket, size: 0, createdAt: null, modifiedAt: null }, true)
      const props = child(e, "Properties")
      const size = Number(props === undefined ? undefined : childText(props, "Content-Length"))
      const created = date(props === undefined ? undefined : childText(props, "Creation-Time"))
      const modified = date(props === undefined ? undefined : childText(props, "Last-Modified"))
      if (!Number.isSafeInteger(size) || size < 0 || created === undefined || modified === undefined) return undefined
      return new BlobObject({ key, bucket, size, createdAt: created, modifiedAt: modified }, true)
    }

    const listPage = (prefix: string, recursive: boolean, marker: string | undefined): Effect.Effect<Page, BucketsError> =>
      Effect.gen(function*() {
        const query: Array<readonly [string, string]> = [["restype", "container"], ["comp", "list"], ["prefix", prefix]]
        if (!recursive) query.push(["delimiter", "/"])
        if (marker !== undefined) query.push(["marker", marker])
        const response = yield* send({ method: "GET", query })
        const text = yield* api.text(response)
        const doc = parseXml(text)
        if (typeof doc === "string") return yield* Effect.fail(malformed(response, `bad XML: ${doc}`))
        if (doc.name !== "EnumerationResults") return yield* Effect.fail(malformed(response, `expected <EnumerationResults>, got <${doc.name}>`))
        const entries: Array<BucketEntry> = []
        for (const e of child(doc, "Blobs")?.children ?? []) {
          if (e.name !== "Blob" && e.name !== "BlobPrefix") continue
          const entry = entryOf(e)
          if (entry === undefined) return yield* Effect.fail(malformed(response, `a <${e.name}> without a valid Name, Content-Length or date`))
          entries.push(entry)
        }
        const next = childText(doc, "NextMarker")
        if (next !== undefined && next !== "" && next === marker) return yield* Effect.fail(malformed(response, "the same NextMarker twice"))
        return { entries, next: next === undefined || next === "" ? undefined : next }
      })

    const listBlobs = (prefix: string, recursive: boolean, limit?: number): Stream.Stream<BucketEntry, BucketsError> =>
      pagedListing((marker) => listPage(prefix, recursive, marker), limit)

    // ------------------------------------------------------------------ blobs
    const headBlob = (key: string) =>
      Effect.gen(function*() {
        const response = yield* send({ method: "HEAD", key })
        yield* drain(response)
        const size = Number(response.headers["content-length"])
        const created = date(response.headers["x-ms-creation-time"])
        const modified = date(response.headers["last-modified"])
        if (!Number.isSafeInteger(size) || size < 0 || created === undefined || modified === undefined) {
          return yield* Effect.fail(malformed(response, "Get Blob Properties without a valid Content-Length or dates"))
        }
        return new BlobObject({ key, bucket, size, createdAt: created, modifiedAt: modified }, true)
      }).pipe(whenMissing(bucket, key))

    const fetchBlob = (key: string, offset: number): Stream.Stream<Uint8Array, BucketsError> =>
      Stream.unwrap(Effect.gen(function*() {
        const headers = offset > 0 ? { "x-ms-range": `bytes=${offset}-` } : {}
        const response = yield* send({ method: "GET", key, headers }).pipe(whenMissing(bucket, key))
        yield* checkRange(response, offset)
        return api.body(response)
      }))

    const deleteBlob = (key: string) => Effect.flatMap(send({ method: "DELETE", key }), drain).pipe(whenMissing(bucket, key))

    const putWhole = (key: string, body: Uint8Array) =>
      Effect.flatMap(send({ method: "PUT", key, headers: { "x-ms-blob-type": "BlockBlob" }, body }), drain)

    /** Blocks of `BLOCK_SIZE` staged in turn, then the list committed; ids of one length per blob. */
    const putBlocks = (
      key: string,
      body: Stream.Stream<Uint8Array, BucketsError>,
      progress: ((bytes: number) => Effect.Effect<void>) | undefined
    ) =>
      Effect.gen(function*() {
        const nonce = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("")
        const ids: Array<string> = []
        let buffer: Array<Uint8Array> = []
        let buffered = 0
        const stage = Effect.suspend(() => {
          const data = concatBytes(buffer)
          buffer = []
          buffered = 0
          const id = btoa(`${nonce}-${String(ids.length).padStart(6, "0")}`)
          return Effect.gen(function*() {
            yield* Effect.flatMap(send({ method: "PUT", key, query: [["comp", "block"], ["blockid", id]], body: data }), drain)
            ids.push(id)
            if (progress !== undefined && data.length > 0) yield* progress(data.length)
          })
        })
        yield* Stream.runForEach(body, (chunk) =>
          Effect.suspend(() => {
            if (chunk.length === 0) return Effect.void
            buffer.push(chunk)
            buffered += chunk.length
            return buffered >= BLOCK_SIZE ? stage : Effect.void
          }))
        if (ids.length === 0 && buffered === 0) return yield* putWhole(key, new Uint8Array(0))
        if (buffered > 0) yield* stage
        const xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" +
          ids.map((id) => `<Latest>${escapeXml(id)}</Latest>`).join("") + "</BlockList>"
        yield* Effect.flatMap(send({ method: "PUT", key, query: [["comp", "blocklist"]], body: new TextEncoder().encode(xml) }), drain)
      })

    const putBlob = (
      key: string,
      body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
      progress?: ((bytes: number) => Effect.Effect<void>) | undefined
    ) => (body instanceof Uint8Array ? putWhole(key, body) : putBlocks(key, body, progress))

    const provider: BlobProvider = { bucket, listBlobs, headBlob, putBlob, fetchBlob, deleteBlob, timeDiff: clock.timeDiff }
    return provider
  })

