/**
 * What the blob providers share: the clock-difference estimate, credentials renewed before they
 * expire, credential parsing, key checks, not-found errors and ranged answers.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Bucket, BucketCredentials, BucketEntry, BucketsError } from "../../Buckets.js"
import * as Errors from "../../Errors.js"
import { clockSample } from "../transfer.js"
import type { TimeDiff } from "./provider.js"

/** Temporary credentials are renewed this long before they expire (neuro-sdk: 10 minutes). */
/** @internal */
export const REFRESH_MARGIN_MS = 10 * 60 * 1000

/** neuro-sdk's moving average of the clock difference, fed with each answer's `Date`. */
/** @internal */
export const makeClock = Effect.map(Ref.make<TimeDiff | undefined>(undefined), (clock) => ({
  record: (t0: number, response: HttpClientResponse.HttpClientResponse) =>
    Effect.suspend(() => {
      const sample = clockSample(t0, response)
      if (sample === undefined) return Effect.void
      return Ref.update(clock, (prev) =>
        prev === undefined ? sample : { min: prev.min * 0.9 + sample.min * 0.1, max: prev.max * 0.9 + sample.max * 0.1 })
    }),
  timeDiff: Effect.map(Ref.get(clock), (d) => d ?? { min: 0, max: 0 })
}))

/**
 * A value that expires (credentials, an access token), got again with `refresh` once it is within
 * `REFRESH_MARGIN_MS` of `expiresAt` (one renewal at a time); `undefined` never expires.
 */
/** @internal */
export const renewingFrom = <C extends { readonly expiresAt: number | undefined }>(
  first: C,
  refresh: Effect.Effect<C, BucketsError>
): Effect.Effect<Effect.Effect<C, BucketsError>> =>
  Effect.gen(function*() {
    const state = yield* Ref.make(first)
    const lock = yield* Effect.makeSemaphore(1)
    return lock.withPermits(1)(Effect.gen(function*() {
      const c = yield* Ref.get(state)
      if (c.expiresAt === undefined || Date.now() < c.expiresAt - REFRESH_MARGIN_MS) return c
      const fresh = yield* refresh
      yield* Ref.set(state, fresh)
      return fresh
    }))
  })

/** Credentials parsed from `make_tmp_credentials`, asked for again before they expire. */
/** @internal */
export const renewing = <C extends { readonly expiresAt: number | undefined }>(
  fetch: Effect.Effect<BucketCredentials, BucketsError>,
  parse: (c: BucketCredentials) => Effect.Effect<C, BucketsError>
): Effect.Effect<Effect.Effect<C, BucketsError>, BucketsError> =>
  Effect.flatMap(Effect.flatMap(fetch, parse), (first) => renewingFrom(first, Effect.flatMap(fetch, parse)))

/** @internal */
export const badCredentials = (description: string) => new Errors.MalformedResponse({ description: `bucket credentials: ${description}` })

/** A credential value in clear, `undefined` when absent. */
/** @internal */
export const credential = (c: BucketCredentials, key: string): string | undefined => {
  const v = c.credentials[key]
  return v === undefined ? undefined : Redacted.value(v)
}

/** An ISO 8601 expiry in milliseconds; `undefined` when absent, a failure when unreadable. */
/** @internal */
export const parseExpiry = (c: BucketCredentials, key: string): Effect.Effect<number | undefined, Errors.MalformedResponse> => {
  const text = credential(c, key)
  if (text === undefined) return Effect.succeed(undefined)
  const at = Date.parse(text)
  return Number.isNaN(at) ? Effect.fail(badCredentials(`${key} is not an ISO 8601 date`)) : Effect.succeed(at)
}

/** An `http(s)` base URL without trailing slashes. */
/** @internal */
export const parseBaseUrl = (text: string, key: string): Effect.Effect<URL, Errors.MalformedResponse> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Effect.fail(badCredentials(`${key} is not a URL`))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return Effect.fail(badCredentials(`${key} is not http(s)`))
  url.search = ""
  url.hash = ""
  url.pathname = url.pathname.replace(/\/+$/, "")
  return Effect.succeed(url)
}

/** Keys with `.` or `..` segments would be rewritten by URL handling on either side: refused. */
/** @internal */
export const checkKey = (key: string): Effect.Effect<void, Errors.InvalidInputError> =>
  key.split("/").some((s) => s === "." || s === "..")
    ? Effect.fail(
      new Errors.InvalidInputError({
        kind: "option",
        input: key,
        description: "an object key with a \".\" or \"..\" path segment cannot be sent in a URL"
      })
    )
    : Effect.void

/** Each `/`-separated segment of a key percent-encoded (RFC 3986 unreserved characters kept). */
/** @internal */
export const encodeKeyPath = (key: string): string =>
  key.split("/").map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())).join("/")

/** @internal */
export const notFound = (bucket: Bucket, key: string) =>
  new Errors.ResourceNotFound({ description: `There is no object with key ${key} in bucket ${bucket.name ?? bucket.id}`, status: 404 })

/** A 404 of the provider as the neuro-sdk message naming the key and the bucket. */
/** @internal */
export const whenMissing = (bucket: Bucket, key: string) => <A, R>(effect: Effect.Effect<A, BucketsError, R>) =>
  Effect.catchIf(effect, (e) => e._tag === "ResourceNotFound", () => Effect.fail(notFound(bucket, key)))

/** @internal */
export const malformed = (response: HttpClientResponse.HttpClientResponse, description: string) =>
  new Errors.MalformedResponse({ description, status: response.status, method: response.request.method, url: response.request.url })

/**
 * The `Content-Range` of a ranged answer must start at `offset` (a server that ignores `Range`
 * would otherwise hand the whole object to a resumed download).
 */
/** @internal */
export const checkRange = (response: HttpClientResponse.HttpClientResponse, offset: number): Effect.Effect<void, BucketsError> => {
  if (offset === 0) return Effect.void
  const range = response.headers["content-range"]
  const m = range === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim())
  if (response.status === 206 && m !== null && Number(m[1]) === offset) return Effect.void
  return Effect.zipRight(
    Effect.ignore(response.text),
    Effect.fail(malformed(response, `a ranged read answered ${response.status} ${range ?? "without Content-Range"}`))
  )
}

/**
 * S3, Azure and GCS all document `500` (internal error) as worth sending again, as their own SDKs
 * do; `ApiClient` retries 429/502/503/504 only. An idempotent provider request answered 500 is sent
 * up to 3 more times, 100 ms, 200 ms and 400 ms apart.
 */
/** @internal */
export const retryInternalErrors = <A, R>(effect: Effect.Effect<A, BucketsError, R>): Effect.Effect<A, BucketsError, R> =>
  Effect.retry(effect, {
    times: 3,
    schedule: Schedule.exponential("100 millis"),
    while: (e) => "status" in e && e.status === 500
  })

/** One page of a provider's listing: its entries and the marker of the next page, if any. */
/** @internal */
export interface ListingPage {
  readonly entries: ReadonlyArray<BucketEntry>
  readonly next: string | undefined
}

/** A listing read page by page, `page(marker)` asked for each (at most `limit` entries). */
/** @internal */
export const pagedListing = (
  page: (marker: string | undefined) => Effect.Effect<ListingPage, BucketsError>,
  limit: number | undefined
): Stream.Stream<BucketEntry, BucketsError> => {
  const all = Stream.paginateChunkEffect<string | null, BucketEntry, BucketsError, never>(null, (marker) =>
    Effect.map(page(marker ?? undefined), (p) =>
      [Chunk.fromIterable(p.entries), p.next === undefined ? Option.none() : Option.some(p.next)] as const))
  return limit === undefined ? all : Stream.take(all, Math.max(0, limit))
}
