import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Arr from "effect/Array"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as ApiClientModule from "../ApiClient.js"
import { AuthToken } from "../AuthToken.js"
import { Endpoints, serviceUrl } from "../Endpoints.js"
import * as Errors from "../Errors.js"
import { WebSocketDialer } from "../WebSocket.js"
import { describeParseError, jsonText } from "./decodeError.js"
import { decoderOf } from "./fastDecode.js"
import { withSafeTracing } from "./httpTracing.js"
import { timeoutFail } from "./timeout.js"
import { quotePath } from "./uri.js"

type Requirements = ApiClientModule.Requirements

/** @internal */
export const SDK_VERSION = "0.1.0"

/** @internal */
export const PROTOCOL_VERSION = "23.2.0"

const platformName = (): string => {
  const p: unknown = (globalThis as { readonly process?: { readonly platform?: unknown } }).process?.platform
  return typeof p === "string" ? p : "browser"
}

/** @internal */
export const USER_AGENT = `NeuroCLI/${PROTOCOL_VERSION} (${platformName()}) neuro-sdk-ts/${SDK_VERSION}`

/** @internal */
export const defaultRetryPolicy: ApiClientModule.RetryPolicy = {
  times: 4,
  baseDelay: Duration.millis(200),
  factor: 2,
  maxDelay: Duration.seconds(10),
  jitter: true
}

const DEFAULT_TIMEOUT = Duration.seconds(60)

/** @internal */
export class TransportTimeouts extends Context.Reference<TransportTimeouts>()("@neuro-sdk/core/ApiClient/TransportTimeouts", {
  defaultValue: (): boolean => false
}) {}

/** @internal */
export const currentIdleTimeout: FiberRef.FiberRef<number | undefined> = globalValue(
  Symbol.for("@neuro-sdk/core/ApiClient/currentIdleTimeout"),
  () => FiberRef.unsafeMake<number | undefined>(undefined)
)

const UNRESERVED = /^[A-Za-z0-9._~-]*$/

/** @internal */
export const appendPath = (url: URL | string, ...segments: ReadonlyArray<string>): URL => {
  const out = new URL(url)
  if (out.search !== "") out.search = ""
  if (out.hash !== "") out.hash = ""
  if (segments.length === 0) return out
  let path = out.pathname
  if (path.endsWith("/")) path = path.slice(0, -1)
  // yarl's path quoting (pchar: unreserved, sub-delims, ":" and "@" stay literal); a "/" inside
  // a segment is data, so it is escaped too. Unreserved characters alone (ids) need no quoting.
  for (const s of segments) path += "/" + (UNRESERVED.test(s) ? s : quotePath(s).replace(/\//g, "%2F"))
  out.pathname = path
  return out
}

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))

/** Random bytes for ids, taken from a pool filled by the platform's CSPRNG (one call per 200 requests, not two per request). */
const RANDOM_POOL = 4096
let pool = new Uint8Array(0)
let poolAt = 0

const randomHex = (n: number): string => {
  if (poolAt + n > pool.length) {
    pool = new Uint8Array(RANDOM_POOL)
    globalThis.crypto.getRandomValues(pool)
    poolAt = 0
  }
  let out = ""
  for (let i = 0; i < n; i++) out += HEX[pool[poolAt++]!]!
  return out
}

/** @internal */
export const makeTraceId = (nowMillis: number): string =>
  Math.floor(nowMillis / 1000).toString(16).padStart(8, "0").slice(-8) + randomHex(12)

/** @internal */
export const makeSpanId = (): string => randomHex(8)

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
const RETRY_STATUSES = new Set([429, 502, 503, 504])

const contextOf = (request: HttpClientRequest.HttpClientRequest): Errors.ErrorContext => ({
  method: request.method,
  url: request.url
})

/** A transport that applies `currentIdleTimeout` reports a silent connection with this code. */
const isIdleTimeout = (cause: unknown): boolean => Predicate.hasProperty(cause, "code") && cause.code === "ETIMEDOUT"

const fromHttpClientError = (error: HttpClientError.HttpClientError): Errors.NetworkError | Errors.MalformedResponse => {
  if ((error._tag === "RequestError" || error.reason === "Decode") && isIdleTimeout(error.cause)) {
    return new Errors.NetworkError({
      reason: "Timeout",
      description: describeCause(error.cause) ?? "the connection stayed silent",
      method: error.request.method,
      url: error.request.url
    })
  }
  if (error._tag === "RequestError") {
    return new Errors.NetworkError({
      reason: "Transport",
      description: error.description ?? describeCause(error.cause) ?? error.reason,
      method: error.request.method,
      url: error.request.url
    })
  }
  if (error.reason === "Decode" && isTransportCause(error.cause)) {
    return new Errors.NetworkError({
      reason: "Transport",
      description: describeCause(error.cause) ?? "the connection broke while reading the answer",
      method: error.request.method,
      url: error.request.url
    })
  }
  return new Errors.MalformedResponse({
    description: error.description ?? describeCause(error.cause) ?? error.reason,
    status: error.response.status,
    method: error.request.method,
    url: error.request.url
  })
}

const isTransportCause = (cause: unknown): boolean => {
  const code = Predicate.hasProperty(cause, "code") ? cause.code : undefined
  const name = Predicate.hasProperty(cause, "name") ? cause.name : undefined
  return (typeof code === "string" && /^(ECONN|EPIPE|ETIMEDOUT|UND_ERR|ERR_STREAM_PREMATURE_CLOSE)/.test(code)) ||
    name === "AbortError" ||
    (Predicate.hasProperty(cause, "message") && typeof cause.message === "string" &&
      /aborted|socket hang up|terminated|premature/i.test(cause.message))
}

const describeCause = (cause: unknown): string | undefined => {
  if (cause instanceof Error) {
    const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? ` (${cause.code})` : ""
    return cause.message + code
  }
  if (typeof cause === "string") return cause
  return undefined
}

/** @internal */
export const malformed = (request: HttpClientRequest.HttpClientRequest, status: number, description: string, cause?: unknown) =>
  new Errors.MalformedResponse({
    description,
    status,
    method: request.method,
    url: request.url,
    ...(cause === undefined ? {} : { cause })
  })

const parseRetryAfter = (value: string | undefined, nowMillis: number): Option.Option<Duration.Duration> => {
  if (value === undefined) return Option.none()
  const seconds = Number(value)
  if (value.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return Option.some(Duration.seconds(seconds))
  const date = Date.parse(value)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - nowMillis)))
}

const resolveTimeout = (value: Duration.DurationInput | null | undefined, fallback: Duration.Duration | null) =>
  value === undefined ? fallback : value === null ? null : Duration.decode(value)

// ---------------------------------------------------------------------------------------------
// reading answers (shared by every method and by the services that call `execute` themselves)
// ---------------------------------------------------------------------------------------------

const timeoutError = (response: HttpClientResponse.HttpClientResponse, description: string) =>
  new Errors.NetworkError({ reason: "Timeout", description, method: response.request.method, url: response.request.url })

/** The whole body as text; a body that does not finish within `timeout` is a `NetworkError`. */
const readText = (response: HttpClientResponse.HttpClientResponse, timeout: Duration.Duration | null) => {
  const text = Effect.mapError(response.text, fromHttpClientError)
  return timeout === null
    ? text
    : timeoutFail(text, timeout, () => timeoutError(response, `the body did not arrive within ${Duration.format(timeout)}`))
}

const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\b/i

/** The body parsed as JSON (`null` when empty); a content type that is not JSON is a `MalformedResponse`. */
const readJson = (response: HttpClientResponse.HttpClientResponse, timeout: Duration.Duration | null) =>
  Effect.flatMap(readText(response, timeout), (text) => {
    const request = response.request
    const contentType = response.headers["content-type"] ?? ""
    if (text === "") return Effect.succeed(null as unknown)
    if (!JSON_CONTENT_TYPE.test(contentType)) {
      return Effect.fail(malformed(request, response.status, `expected JSON but got content type "${contentType}"`))
    }
    return Effect.try({
      try: (): unknown => JSON.parse(text),
      // the parser's message quotes the body around the error, and a body can hold a secret
      // (a new service account's token): only the error's name is kept
      catch: (e) => malformed(request, response.status, `the body is not valid JSON (${e instanceof Error ? e.name : "error"})`)
    })
  })

// the description names paths and expected types only: a received value can be a credential,
// and printing a deeply nested one overflows the stack
const decodeWith = <A, I>(schema: Schema.Schema<A, I>, response: HttpClientResponse.HttpClientResponse) => {
  const decode = decoderOf(schema).effect
  return (u: unknown) => Effect.mapError(decode(u), (e) => malformed(response.request, response.status, describeParseError(e)))
}

const decodeBody = <A, I>(response: HttpClientResponse.HttpClientResponse, schema: Schema.Schema<A, I>, timeout: Duration.Duration | null) =>
  Effect.flatMap(readJson(response, timeout), decodeWith(schema, response))

/** The body as bytes; `timeout` bounds each gap between chunks. */
const bodyStream = (
  response: HttpClientResponse.HttpClientResponse,
  timeout: Duration.Duration | null
): Stream.Stream<Uint8Array, Errors.ApiError> => {
  const s = Stream.mapError(response.stream, fromHttpClientError)
  return timeout === null
    ? s
    : s.pipe(Stream.timeoutFail(() => timeoutError(response, `no data for ${Duration.format(timeout)}`), timeout))
}

/** An in-band `{"error": ..., "errno"?: ...}` line of an NDJSON stream as a typed error. */
const lineError = (line: Record<string, unknown>, request: HttpClientRequest.HttpClientRequest): Errors.ApiError => {
  const description = typeof line.error === "string" ? line.error : jsonText(line.error)
  if (typeof line.errno === "string") return Errors.fromErrno(line.errno, description, contextOf(request))
  return new Errors.NDJSONError({ description, method: request.method, url: request.url })
}

/** @internal */
export const isNdjson = (response: HttpClientResponse.HttpClientResponse) =>
  (response.headers["content-type"] ?? "").startsWith("application/x-ndjson")

/**
 * The complete lines of a byte stream, chunk by chunk: `push` adds the lines the next bytes
 * complete; `end` adds the last line (it needs no newline when the stream ends cleanly: the
 * storage service ends some listings that way). When the stream fails, `end` is never called: the
 * unfinished line is the part of a line that arrived before the connection broke, never a whole
 * one.
 *
 * Each line is decoded from its own bytes (a newline never falls inside a UTF-8 sequence), so no
 * text of the whole chunk is made and then copied line by line.
 */
class LineSplitter {
  // the byte order mark is taken off the first line only, as a decoder of the whole stream does
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  /** The bytes of the unfinished line. */
  private pending: Array<Uint8Array> = []
  private first = true

  private decode(bytes: Uint8Array): string {
    const line = this.decoder.decode(bytes)
    if (!this.first) return line
    this.first = false
    return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line
  }

  private takePending(last: Uint8Array): Uint8Array {
    if (this.pending.length === 0) return last
    let size = last.length
    for (const p of this.pending) size += p.length
    const out = new Uint8Array(size)
    let at = 0
    for (const p of this.pending) {
      out.set(p, at)
      at += p.length
    }
    out.set(last, at)
    this.pending = []
    return out
  }

  push(bytes: Uint8Array, lines: Array<string>): void {
    let start = 0
    for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
      const line = bytes.subarray(start, nl)
      lines.push(this.decode(start === 0 ? this.takePending(line) : line))
      start = nl + 1
    }
    // a copy: the producer's buffer is not held
    if (start < bytes.length) this.pending.push(bytes.slice(start))
  }

  end(lines: Array<string>): void {
    if (this.pending.length > 0) lines.push(this.decode(this.takePending(new Uint8Array(0))))
  }
}

/** How a batch of lines or values went: the items decoded, then what stopped it, if anything. */
interface Decoded<A> {
  readonly items: Array<A>
  /** A typed error that ends the stream. */
  readonly error?: Errors.ApiError
  /** A value the synchronous decoder refused: the Schema decides (its error, or a suspending Schema). */
  readonly refused?: { readonly value: unknown; readonly next: number }
}

/**
 * Decode NDJSON lines from `from` on, synchronously: blank lines skipped, an `{"error"}` line or a
 * line that is not JSON ends the batch with a typed error.
 */
const decodeLines = <A>(
  lines: ReadonlyArray<string>,
  from: number,
  decode: (u: unknown) => Either.Either<A, unknown>,
  response: HttpClientResponse.HttpClientResponse
): Decoded<A> => {
  const items: Array<A> = []
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    let u: unknown
    try {
      u = JSON.parse(line)
    } catch (e) {
      const error = malformed(response.request, response.status, `a streamed line is not valid JSON (${e instanceof Error ? e.name : "error"})`)
      return { items, error }
    }
    if (Predicate.isRecord(u) && "error" in u) return { items, error: lineError(u, response.request) }
    const r = decode(u)
    if (Either.isLeft(r)) return { items, refused: { value: u, next: i + 1 } }
    items.push(r.right)
  }
  return { items }
}

/**
 * A channel emitting what `decodeLines` decodes from `lines`, as one chunk per batch; a refused
 * value goes through `slow` (the Schema as an Effect), and the batch goes on after it.
 */
const emitLines = <A>(
  lines: ReadonlyArray<string>,
  from: number,
  decode: (u: unknown) => Either.Either<A, unknown>,
  slow: (u: unknown) => Effect.Effect<A, Errors.ApiError>,
  response: HttpClientResponse.HttpClientResponse
): Channel.Channel<Chunk.Chunk<A>, unknown, Errors.ApiError, unknown, void, unknown> => {
  const batch = decodeLines(lines, from, decode, response)
  const out = batch.items.length > 0 ? Channel.write(Chunk.unsafeFromArray(batch.items)) : Channel.void
  if (batch.error !== undefined) return Channel.zipRight(out, Channel.fail(batch.error))
  const refused = batch.refused
  if (refused === undefined) return out
  return Channel.zipRight(
    out,
    Channel.flatMap(Channel.fromEffect(slow(refused.value)), (a) =>
      Channel.zipRight(Channel.write(Chunk.of(a)), emitLines(lines, refused.next, decode, slow, response)))
  )
}

/**
 * The NDJSON body: blank lines skipped, `{"error"}` lines fail the stream, every other line
 * decoded. Each chunk of the body is split, parsed and decoded synchronously, and its items leave
 * as one chunk: the Effect work is per chunk of the body, not per line.
 */
const ndjsonLines = <A, I>(
  response: HttpClientResponse.HttpClientResponse,
  schema: Schema.Schema<A, I>,
  timeout: Duration.Duration | null
): Stream.Stream<A, Errors.ApiError> => {
  const decoder = decoderOf(schema)
  const slow = decodeWith(schema, response)
  return Stream.suspend(() => {
    const splitter = new LineSplitter()
    const emit = (lines: ReadonlyArray<string>) => emitLines(lines, 0, decoder.sync, slow, response)
    const loop: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Uint8Array>, Errors.ApiError, Errors.ApiError, void, unknown> = Channel
      .readWithCause({
        onInput: (chunk: Chunk.Chunk<Uint8Array>) => {
          const lines: Array<string> = []
          for (const bytes of chunk) splitter.push(bytes, lines)
          return Channel.zipRight(emit(lines), loop)
        },
        // a failed body: the unfinished line is dropped
        onFailure: Channel.failCause,
        onDone: () => {
          const lines: Array<string> = []
          splitter.end(lines)
          return emit(lines)
        }
      })
    return Stream.pipeThroughChannelOrFail(bodyStream(response, timeout), loop)
  })
}

/** How many items of a JSON document's list are decoded per chunk. */
const LIST_BATCH = 1024

/** The items of a listing sent as one JSON document (a list, or a list under `listKey`). */
const jsonList = <A, I>(
  response: HttpClientResponse.HttpClientResponse,
  schema: Schema.Schema<A, I>,
  listKey: string | undefined,
  timeout: Duration.Duration | null
): Stream.Stream<A, Errors.ApiError> =>
  Stream.unwrap(Effect.gen(function*() {
    const doc = yield* readJson(response, timeout)
    const list = listKey === undefined ? doc : Predicate.isRecord(doc) ? doc[listKey] : undefined
    if (!Array.isArray(list)) {
      const expected = listKey === undefined ? "expected a JSON list" : `expected a "${listKey}" list`
      return yield* Effect.fail(malformed(response.request, response.status, expected))
    }
    const decode = decoderOf(schema).sync
    const slow = decodeWith(schema, response)
    const items = list as ReadonlyArray<unknown>
    // batches of items, each decoded synchronously; an item the decoder refuses goes through the Schema
    return Stream.fromIterable(Arr.chunksOf(items, LIST_BATCH)).pipe(
      Stream.mapConcatEffect((batch) => {
        const out: Array<A> = []
        const go = (i: number): Effect.Effect<Array<A>, Errors.ApiError> => {
          for (; i < batch.length; i++) {
            const r = decode(batch[i])
            if (Either.isLeft(r)) {
              return Effect.flatMap(slow(batch[i]), (a) => {
                out.push(a)
                return go(i + 1)
              })
            }
            out.push(r.right)
          }
          return Effect.succeed(out)
        }
        return go(0)
      })
    )
  }))

/** An answer, and the retry number that got it (0: the first attempt). */
interface Sent {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly attempt: number
}

/** Sending requests, with retries until an answer (built by `make`). */
interface Sender {
  /** The retry policy of a request, or `undefined` when it may not be sent twice. */
  readonly policyOf: (request: HttpClientRequest.HttpClientRequest, opts: ApiClientModule.RequestOptions) => ApiClientModule.RetryPolicy | undefined
  /**
   * Send a request from retry number `from` on, retrying transient failures; the answer comes with
   * the retry number that got it, so that a caller sending again after a broken body goes on counting.
   */
  readonly sendFrom: (
    request: HttpClientRequest.HttpClientRequest,
    opts: ApiClientModule.RequestOptions,
    from: number
  ) => Effect.Effect<Sent, Errors.ApiError>
}

const delayFor = (attempt: number, policy: ApiClientModule.RetryPolicy) =>
  Effect.gen(function*() {
    const base = Duration.toMillis(policy.baseDelay) * Math.pow(policy.factor, attempt)
    const capped = Math.min(base, Duration.toMillis(policy.maxDelay))
    const factor = policy.jitter ? 0.5 + (yield* Random.next) : 1
    return Duration.millis(Math.round(capped * factor))
  })

/** The policy when `error`, met after `attempt` retries, may be retried. */
const retryAfterError = (policy: ApiClientModule.RetryPolicy | undefined, attempt: number, error: Errors.ApiError) =>
  policy !== undefined && attempt < policy.times && error._tag === "NetworkError" ? policy : undefined

const backoff = (attempt: number, policy: ApiClientModule.RetryPolicy) => Effect.flatMap(delayFor(attempt, policy), Effect.sleep)

/**
 * Send a request and read its answer with `read`. An answer cut by the network is a
 * `NetworkError`, and the request is sent again when it may be (the same policy as a request
 * that got no answer).
 */
const exchange = <A>(
  sender: Sender,
  request: HttpClientRequest.HttpClientRequest,
  opts: ApiClientModule.RequestOptions,
  read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, Errors.ApiError>
): Effect.Effect<A, Errors.ApiError> => {
  const policy = sender.policyOf(request, opts)
  const loop = (from: number): Effect.Effect<A, Errors.ApiError> =>
    Effect.flatMap(sender.sendFrom(request, opts, from), ({ attempt, response }) =>
      Effect.catchAll(read(response), (error) => {
        const retry = retryAfterError(policy, attempt, error)
        return retry === undefined ? Effect.fail(error) : Effect.zipRight(backoff(attempt, retry), loop(attempt + 1))
      }))
  return loop(0)
}

/**
 * `exchange` for a streamed answer. The request is sent again only while nothing has come out
 * of the stream: once items were emitted, sending it again would emit them twice, so a later cut
 * fails the stream with the `NetworkError`.
 */
const streamExchange = <A>(
  sender: Sender,
  request: HttpClientRequest.HttpClientRequest,
  opts: ApiClientModule.RequestOptions,
  read: (response: HttpClientResponse.HttpClientResponse) => Stream.Stream<A, Errors.ApiError>
): Stream.Stream<A, Errors.ApiError> => {
  const policy = sender.policyOf(request, opts)
  const loop = (from: number): Stream.Stream<A, Errors.ApiError> =>
    Stream.unwrap(Effect.map(sender.sendFrom(request, opts, from), ({ attempt, response }) => {
      let emitted = false
      return read(response).pipe(
        Stream.mapChunks((chunk) => {
          if (Chunk.isNonEmpty(chunk)) emitted = true
          return chunk
        }),
        Stream.catchAll((error) => {
          const retry = emitted ? undefined : retryAfterError(policy, attempt, error)
          return retry === undefined ? Stream.fail(error) : Stream.unwrap(Effect.as(backoff(attempt, retry), loop(attempt + 1)))
        })
      )
    }))
  return loop(0)
}

/** @internal */
export const make = Effect.fnUntraced(function*(
  options: ApiClientModule.Options = {}
): Effect.fn.Return<ApiClientModule.ApiClient.Service, never, Requirements> {
  // the spans record no credential, whatever the transport; tracing headers are neuro-sdk's own
  // (b3, sentry-trace, set on every request), which the span's propagation leaves in place
  const http = withSafeTracing(yield* HttpClient.HttpClient)
  const auth = yield* AuthToken
  const endpoints = yield* Endpoints
  const dialer = yield* WebSocketDialer
  const retryPolicy: ApiClientModule.RetryPolicy | undefined = options.retry === false
    ? undefined
    : { ...defaultRetryPolicy, ...options.retry }
  const clientTimeout = resolveTimeout(options.timeout, DEFAULT_TIMEOUT)
  // the transport bounds each silence of a connection itself: no timer fiber per request
  const transportTimeouts = yield* TransportTimeouts
  const userAgent = options.userAgent ?? USER_AGENT
  const sampled = options.traceSampled === undefined ? "" : options.traceSampled ? "1" : "0"

  /** The request with neuro-sdk's headers (one copy of the headers, not one per header). */
  const withHeaders = (request: HttpClientRequest.HttpClientRequest, nowMillis: number, token: Redacted.Redacted | undefined) => {
    const traceId = options.traceId ?? makeTraceId(nowMillis)
    const spanId = makeSpanId()
    const headers: Record<string, string> = {
      "user-agent": userAgent,
      b3: `${traceId}-${spanId}`,
      "sentry-trace": `${traceId}-${spanId}-${sampled}`
    }
    if (token !== undefined) headers["authorization"] = `Bearer ${Redacted.value(token)}`
    return HttpClientRequest.setHeaders(request, headers)
  }

  const prepare = (request: HttpClientRequest.HttpClientRequest, withAuth: boolean) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      withAuth
        ? Effect.map(auth.token, (token) => withHeaders(request, now, token))
        : Effect.succeed(withHeaders(request, now, undefined)))

  const policyOf: Sender["policyOf"] = (request, opts) => {
    const replayable = request.body._tag !== "Stream"
    const idempotent = replayable && (opts.idempotent ?? IDEMPOTENT_METHODS.has(request.method))
    return idempotent ? retryPolicy : undefined
  }

  const sendFrom: Sender["sendFrom"] = (request, opts, from) => {
    const timeout = resolveTimeout(opts.timeout, clientTimeout)
    const policy = policyOf(request, opts)
    const once = Effect.flatMap(prepare(request, opts.auth ?? true), (req) => {
      if (transportTimeouts) {
        const millis = timeout === null ? undefined : Duration.toMillis(timeout)
        return Effect.mapError(Effect.locally(http.execute(req), currentIdleTimeout, millis), fromHttpClientError)
      }
      const exec = Effect.mapError(http.execute(req), fromHttpClientError)
      return timeout === null ? exec : timeoutFail(exec, timeout, () =>
        new Errors.NetworkError({
          reason: "Timeout",
          description: `no answer within ${Duration.format(timeout)}`,
          method: req.method,
          url: req.url
        }))
    })
    const loop = (attempt: number): Effect.Effect<Sent, Errors.ApiError> =>
      once.pipe(
        Effect.matchEffect({
          onFailure: (error) => {
            const retry = retryAfterError(policy, attempt, error)
            return retry === undefined ? Effect.fail(error) : Effect.zipRight(backoff(attempt, retry), loop(attempt + 1))
          },
          onSuccess: (response) => {
            if (response.status < 400) return Effect.succeed({ response, attempt })
            if (policy !== undefined && attempt < policy.times && RETRY_STATUSES.has(response.status)) {
              return Effect.gen(function*() {
                yield* Effect.ignore(response.text)
                const now = yield* Clock.currentTimeMillis
                const fallback = yield* delayFor(attempt, policy)
                const delay = Option.match(parseRetryAfter(response.headers["retry-after"], now), {
                  onNone: () => fallback,
                  onSome: (d) => Duration.min(d, Duration.decode(policy.maxDelay))
                })
                yield* Effect.sleep(delay)
                return yield* loop(attempt + 1)
              })
            }
            return Effect.flatMap(
              Effect.orElseSucceed(response.text, () => ""),
              (body) => Effect.fail(Errors.fromStatus(response.status, body, contextOf(request)))
            )
          }
        })
      )
    return loop(from)
  }

  const send = (request: HttpClientRequest.HttpClientRequest, opts: ApiClientModule.RequestOptions = {}) =>
    Effect.map(sendFrom(request, opts, 0), (sent) => sent.response)

  const sender: Sender = { policyOf, sendFrom }

  const bodyTimeout = (opts: ApiClientModule.BodyOptions | undefined) => resolveTimeout(opts?.timeout, clientTimeout)
  /** The timeout of a body read right after its request: the request's own, which the transport may apply already. */
  const exchangeBodyTimeout = (opts: ApiClientModule.RequestOptions) => transportTimeouts ? null : bodyTimeout(opts)

  const json = <A, I>(request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>, opts: ApiClientModule.RequestOptions = {}) =>
    exchange(sender, request, opts, (response) => decodeBody(response, schema, exchangeBodyTimeout(opts)))

  const discard = (request: HttpClientRequest.HttpClientRequest, opts: ApiClientModule.RequestOptions = {}) =>
    exchange(sender, request, opts, (response) => readText(response, exchangeBodyTimeout(opts))).pipe(Effect.asVoid)

  const bytes = (request: HttpClientRequest.HttpClientRequest, opts: ApiClientModule.RequestOptions = {}) =>
    Stream.unwrap(Effect.map(send(request, opts), (r) => bodyStream(r, bodyTimeout(opts))))

  const ndjson = <A, I>(request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>, opts: ApiClientModule.NdjsonOptions = {}) =>
    streamExchange(
      sender,
      HttpClientRequest.setHeader(request, "Accept", "application/x-ndjson"),
      opts,
      (response) =>
        isNdjson(response)
          ? ndjsonLines(response, schema, bodyTimeout(opts))
          : jsonList(response, schema, opts.listKey, bodyTimeout(opts))
    )

  const websocket = (url: URL, wsOpts: { readonly protocols?: ReadonlyArray<string> | undefined; readonly auth?: boolean | undefined } = {}) =>
    Effect.gen(function*() {
      const headers: Record<string, string> = { "User-Agent": userAgent }
      if (wsOpts.auth ?? true) headers["Authorization"] = `Bearer ${Redacted.value(yield* auth.token)}`
      const context = { method: "GET", url: url.toString() }
      return yield* dialer.dial(url.toString(), { headers, protocols: wsOpts.protocols }).pipe(
        Effect.mapError((e): Errors.ApiError => {
          if (e._tag === "WebSocketHandshakeError") {
            return Errors.fromStatus(e.status, e.xError ?? e.body, context)
          }
          return new Errors.NetworkError({ reason: "Transport", description: e.description, ...context })
        })
      )
    })

  const service: ApiClientModule.ApiClient.Service = {
    apiUrl: endpoints.apiUrl,
    api: (...segments) => appendPath(endpoints.apiUrl, ...segments),
    service: (name, opts, ...segments) =>
      Effect.map(endpoints.cluster(opts?.clusterName), (cluster) => appendPath(serviceUrl(cluster, name), ...segments)),
    execute: send,
    json,
    discard,
    ndjson,
    bytes,
    websocket,
    text: (response, opts) => readText(response, bodyTimeout(opts)),
    decode: (response, schema, opts) => decodeBody(response, schema, bodyTimeout(opts)),
    body: (response, opts) => bodyStream(response, bodyTimeout(opts)),
    lines: (response, schema, opts) => ndjsonLines(response, schema, bodyTimeout(opts))
  }
  return service
})
