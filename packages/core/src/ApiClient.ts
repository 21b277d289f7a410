/**
 * The single transport choke point of the SDK: every platform call goes through `ApiClient`.
 *
 * It resolves base URLs (API URL, each cluster's service URLs), adds `Authorization: Bearer`,
 * the user agent and tracing headers neuro-sdk 23.2 sends, maps error answers to typed errors,
 * retries idempotent requests on transient failures, decodes JSON with Schema, streams NDJSON and
 * bytes with constant memory, and opens authenticated websockets.
 *
 * @since 1.0.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { AuthToken } from "./AuthToken.js"
import type { ClusterService, Endpoints } from "./Endpoints.js"
import type { ApiError, ConfigError } from "./Errors.js"
import * as internal from "./internal/apiClient.js"
import * as tracing from "./internal/httpTracing.js"
import type { WebSocketConnection, WebSocketDialer } from "./WebSocket.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class ApiClient extends Context.Tag("@neuro-sdk/core/ApiClient")<ApiClient, ApiClient.Service>() {}

/**
 * Retry policy for idempotent requests.
 *
 * @since 1.0.0
 * @category models
 */
export interface RetryPolicy {
  /** Retries after the first attempt (so `times + 1` attempts at most). Default 4. */
  readonly times: number
  /** Delay before the first retry; doubled each time (`factor`). Default 200 ms. */
  readonly baseDelay: Duration.DurationInput
  /** Growth of the delay per retry. Default 2. */
  readonly factor: number
  /** Upper bound of one delay (also caps `Retry-After`). Default 10 s. */
  readonly maxDelay: Duration.DurationInput
  /** Randomise each delay within [50%, 150%]. Default true. */
  readonly jitter: boolean
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Retry policy of idempotent requests; `false` disables retries. */
  readonly retry?: Partial<RetryPolicy> | false | undefined
  /**
   * Longest wait for the response headers and for each chunk of a body (neuro-sdk: 60 s
   * `sock_read`). `null` disables it.
   */
  readonly timeout?: Duration.DurationInput | null | undefined
  /** Trace id shared by all requests; by default each request gets a fresh one (neuro-sdk's default). */
  readonly traceId?: string | undefined
  /** `sampled` part of `sentry-trace` (`true` → `1`, `false` → `0`, unset → empty). */
  readonly traceSampled?: boolean | undefined
  /** Value of `User-Agent`. */
  readonly userAgent?: string | undefined
}

/**
 * Per-request options.
 *
 * @since 1.0.0
 * @category models
 */
export interface RequestOptions {
  /**
   * Whether the request may be sent again after a transient failure (no answer, a retryable
   * status, or, for `json`, `discard` and `ndjson`, an answer cut by the network). Defaults to true
   * for GET, HEAD, PUT, DELETE and OPTIONS. Requests with streamed bodies are never retried.
   */
  readonly idempotent?: boolean | undefined
  /** Override the client's timeout for this request (`null` disables it). */
  readonly timeout?: Duration.DurationInput | null | undefined
  /** Send `Authorization` (default true). */
  readonly auth?: boolean | undefined
}

/**
 * Options for reading the body of a response obtained with `execute`.
 *
 * @since 1.0.0
 * @category models
 */
export interface BodyOptions {
  /**
   * Override the client's timeout (`null` disables it): for a whole body read at once, its
   * longest wait; for a streamed body, the longest gap between two chunks.
   */
  readonly timeout?: Duration.DurationInput | null | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface NdjsonOptions extends RequestOptions {
  /**
   * Key of the list inside the JSON document a server sends when it does not stream
   * (e.g. `"jobs"`); without it the document must itself be an array.
   */
  readonly listKey?: string | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace ApiClient {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The API URL (`{api_url}`). */
    readonly apiUrl: URL
    /** `{api_url}/<segments...>`, each segment percent-encoded. */
    readonly api: (...segments: ReadonlyArray<string>) => URL
    /** Base URL of a cluster service (current cluster unless named), plus path segments. */
    readonly service: (
      service: ClusterService,
      options?: { readonly clusterName?: string | undefined },
      ...segments: ReadonlyArray<string>
    ) => Effect.Effect<URL, ConfigError>
    /** Send a request; status >= 400 fails with the mapped error (after retries, when allowed). */
    readonly execute: (
      request: HttpClientRequest.HttpClientRequest,
      options?: RequestOptions
    ) => Effect.Effect<HttpClientResponse.HttpClientResponse, ApiError>
    /**
     * Send a request and decode its JSON body. A body cut by the network is a `NetworkError`, and
     * the request is sent again when it may be.
     */
    readonly json: <A, I>(
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>,
      options?: RequestOptions
    ) => Effect.Effect<A, ApiError>
    /** Send a request and discard the body. */
    readonly discard: (request: HttpClientRequest.HttpClientRequest, options?: RequestOptions) => Effect.Effect<void, ApiError>
    /**
     * A streamed listing: NDJSON read line by line with constant memory (`{"error": ...}` lines
     * fail the stream with a typed error), or the whole JSON document when the server does not stream.
     *
     * A body cut by the network fails with a `NetworkError`; the unfinished last line is never
     * parsed (a last line without a newline counts only when the body ends cleanly). The request
     * is sent again when it may be and nothing has come out of the stream yet; once items were
     * emitted, sending it again would emit them twice, so the stream fails instead.
     */
    readonly ndjson: <A, I>(
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>,
      options?: NdjsonOptions
    ) => Stream.Stream<A, ApiError>
    /** The response body as a byte stream. */
    readonly bytes: (request: HttpClientRequest.HttpClientRequest, options?: RequestOptions) => Stream.Stream<Uint8Array, ApiError>
    /** An authenticated websocket; handshake refusals are mapped like HTTP errors (`X-Error` first). */
    readonly websocket: (
      url: URL,
      options?: { readonly protocols?: ReadonlyArray<string> | undefined; readonly auth?: boolean | undefined }
    ) => Effect.Effect<WebSocketConnection, ApiError, Scope.Scope>
    /**
     * The body of a response from `execute` as text. A broken connection is a `NetworkError`, as
     * for every other method.
     */
    readonly text: (response: HttpClientResponse.HttpClientResponse, options?: BodyOptions) => Effect.Effect<string, ApiError>
    /**
     * The JSON body of a response from `execute` decoded with `schema`, by the rules of `json`: a
     * JSON content type is required, and a mismatch is a `MalformedResponse` naming every field.
     */
    readonly decode: <A, I>(
      response: HttpClientResponse.HttpClientResponse,
      schema: Schema.Schema<A, I>,
      options?: BodyOptions
    ) => Effect.Effect<A, ApiError>
    /** The body of a response from `execute` as a byte stream, by the rules of `bytes`. */
    readonly body: (response: HttpClientResponse.HttpClientResponse, options?: BodyOptions) => Stream.Stream<Uint8Array, ApiError>
    /**
     * The NDJSON body of a response from `execute`, by the rules of `ndjson` (`{"error": ...}`
     * lines fail the stream with a typed error, a cut body is a `NetworkError`), for callers that
     * need the response itself (headers, a non-NDJSON answer of their own). Nothing is sent again.
     */
    readonly lines: <A, I>(
      response: HttpClientResponse.HttpClientResponse,
      schema: Schema.Schema<A, I>,
      options?: BodyOptions
    ) => Stream.Stream<A, ApiError>
  }
}

/**
 * Whether the `HttpClient` beside it applies `currentIdleTimeout` itself. `ApiClient` then sets
 * that fiber ref around each request instead of racing the request against a timer (two fibers
 * per request). Transports that provide it (`NodeHttp.layer`) fail a request whose connection
 * stays silent for longer with a transport error whose cause has the code `ETIMEDOUT`, which
 * `ApiClient` reports as a `NetworkError` with reason `"Timeout"`. Default: `false`.
 *
 * @since 1.0.0
 * @category transport
 */
export const TransportTimeouts: typeof internal.TransportTimeouts = internal.TransportTimeouts

/**
 * @since 1.0.0
 * @category transport
 */
export type TransportTimeouts = internal.TransportTimeouts

/**
 * The longest silence, in milliseconds, of the connection of the requests started under it (from
 * sending the request to the end of the answer), for transports that honour it
 * (`TransportTimeouts`); `undefined`: none. A reader that pauses the body does not count as
 * silence.
 *
 * @since 1.0.0
 * @category transport
 */
export const currentIdleTimeout: FiberRef.FiberRef<number | undefined> = internal.currentIdleTimeout

/**
 * What `ApiClient.make` needs: the transport, the token, the endpoints and a websocket dialer.
 *
 * @since 1.0.0
 * @category models
 */
export type Requirements = HttpClient.HttpClient | AuthToken | Endpoints | WebSocketDialer

/**
 * The default retry policy.
 *
 * @since 1.0.0
 * @category constants
 */
export const defaultRetryPolicy: RetryPolicy = internal.defaultRetryPolicy

/**
 * Build an `ApiClient` over `HttpClient`, `AuthToken`, `Endpoints` and `WebSocketDialer`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<
  ApiClient.Service,
  never,
  Requirements
> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ApiClient, never, Requirements> =>
  Layer.effect(ApiClient, internal.make(options))

/**
 * `url` with path segments appended the way neuro-sdk (yarl) does it: each segment
 * percent-encoded, no doubled `/` when the base ends with one, query and fragment dropped.
 *
 * @since 1.0.0
 * @category utils
 */
export const appendPath: (url: URL | string, ...segments: ReadonlyArray<string>) => URL = internal.appendPath

/**
 * The user agent the SDK sends.
 *
 * @since 1.0.0
 * @category constants
 */
export const USER_AGENT: string = internal.USER_AGENT

/**
 * `client` with tracing that records no credential. Each request gets one `http.client` span, as
 * `@effect/platform` opens it (same name and attributes), but credential-bearing headers
 * (`Authorization`, `Cookie`, `x-amz-security-token`, any name with token, secret, key,
 * signature or password) and query parameters (presigned URL signatures, tokens) are redacted,
 * and the span ends with a void success, or with the error rebuilt over a copy of the request
 * without body or credentials (the platform's span ends with the response or error, which hold
 * the request in clear). `ApiClient` applies it to its transport; `NodeHttp.layer` applies it to
 * every request of the SDK.
 *
 * @since 1.0.0
 * @category utils
 */
export const withSafeTracing: (client: HttpClient.HttpClient) => HttpClient.HttpClient = tracing.withSafeTracing
