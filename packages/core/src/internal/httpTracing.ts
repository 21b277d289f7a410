/**
 * Tracing of HTTP requests that records no credential.
 *
 * `@effect/platform`'s `HttpClient` opens an `http.client` span per request. It records request
 * headers except a few names (`Headers.currentRedactedNames`: not `x-amz-security-token`), and it
 * ends the span with the exit of the transport: on success the response, which holds the request
 * with every header in clear; on failure a `RequestError` holding the same request, body included
 * (a secret's value, a token form). An exporter printing either prints the credentials.
 *
 * `withSafeTracing` turns that span off for the wrapped client and opens its own, with the same
 * name and attributes (OpenTelemetry semantic conventions), where credential-bearing headers and
 * query parameters are redacted, and which ends with a void success or with errors rebuilt from a
 * credential-free copy of the request.
 *
 * Under Effect's built-in tracer (no tracer installed: its spans go nowhere), no span is opened:
 * building one costs more per request than the rest of the SDK's bookkeeping.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/**
 * Header names whose values are credentials: the platform's defaults plus every name that
 * carries a token, key, signature or password (`x-amz-security-token`, SSE-C keys, ...).
 */
const SECRET_HEADERS: ReadonlyArray<string | RegExp> = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  /token|secret|password|passwd|credential|signature|api-?key|-key$|auth/i
]

/** Query parameters whose values are credentials (presigned URLs, SAS, OAuth). */
const SECRET_PARAMS = /^(x-amz-(signature|security-token|credential)|x-goog-(signature|credential)|sig|signature|se?token|token|access_token|refresh_token|id_token|code|code_verifier|client_secret|password|key|api_key)$/i

const REDACTED = "<redacted>"

/** The names to redact: ours and the fiber's (`Headers.currentRedactedNames`), joined once per list. */
const namesCache = new WeakMap<ReadonlyArray<string | RegExp>, ReadonlyArray<string | RegExp>>()
const secretNames = (extra: ReadonlyArray<string | RegExp>): ReadonlyArray<string | RegExp> => {
  let names = namesCache.get(extra)
  if (names === undefined) {
    names = [...SECRET_HEADERS, ...extra]
    namesCache.set(extra, names)
  }
  return names
}

const redactedHeaders = (headers: Headers.Headers, extra: ReadonlyArray<string | RegExp>): Record<string, string> => {
  const out: Record<string, string> = {}
  const redacted = Headers.redact(headers, secretNames(extra))
  for (const name in redacted) {
    const value = redacted[name]!
    out[name] = Redacted.isRedacted(value) ? REDACTED : value
  }
  return out
}

/** The URL without user info and with credential query parameters redacted. */
const redactedUrl = (url: URL): URL => {
  // nothing to redact: the URL itself (never changed here)
  if (url.username === "" && url.password === "" && url.search === "") return url
  const out = new URL(url)
  out.username = ""
  out.password = ""
  for (const name of [...new Set(out.searchParams.keys())]) {
    if (SECRET_PARAMS.test(name)) out.searchParams.set(name, REDACTED)
  }
  return out
}

/** A copy of `request` fit for a trace: URL and headers redacted, no body. */
const safeRequest = (request: HttpClientRequest.HttpClientRequest, url: URL, extra: ReadonlyArray<string | RegExp>) =>
  HttpClientRequest.make(request.method)(redactedUrl(url)).pipe(HttpClientRequest.setHeaders(redactedHeaders(request.headers, extra)))

const safeCause = (cause: unknown): { readonly cause?: unknown } =>
  cause instanceof Error && !HttpClientError.isHttpClientError(cause) ? { cause } : {}

/** The error as a trace may keep it: the same kind and description, over the redacted request. */
const safeError = (url: URL, extra: ReadonlyArray<string | RegExp>) => (error: unknown): unknown => {
  if (!HttpClientError.isHttpClientError(error)) return error
  const request = safeRequest(error.request, url, extra)
  const description = error.description === undefined ? {} : { description: error.description }
  if (error._tag === "RequestError") {
    return new HttpClientError.RequestError({ request, reason: error.reason, ...description, ...safeCause(error.cause) })
  }
  const response = HttpClientResponse.fromWeb(
    request,
    new Response(null, { status: error.response.status, headers: redactedHeaders(error.response.headers, extra) })
  )
  return new HttpClientError.ResponseError({ request, response, reason: error.reason, ...description, ...safeCause(error.cause) })
}

const requestAttributes = (request: HttpClientRequest.HttpClientRequest, url: URL, extra: ReadonlyArray<string | RegExp>) => {
  const safe = redactedUrl(url)
  const attributes: Record<string, unknown> = {
    "http.request.method": request.method,
    "server.address": safe.origin,
    "url.full": safe.toString(),
    "url.path": safe.pathname,
    "url.scheme": safe.protocol.slice(0, -1)
  }
  if (safe.port !== "") attributes["server.port"] = Number(safe.port)
  if (safe.search !== "") attributes["url.query"] = safe.search.slice(1)
  const headers = redactedHeaders(request.headers, extra)
  for (const name in headers) attributes[`http.request.header.${name}`] = headers[name]
  return attributes
}

const endSpan = (
  span: Tracer.Span,
  exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>,
  url: URL,
  extra: ReadonlyArray<string | RegExp>
) =>
  Effect.flatMap(Clock.currentTimeNanos, (now) =>
    Effect.sync(() => {
      if (Exit.isFailure(exit)) return span.end(now, Exit.failCause(Cause.map(exit.cause, safeError(url, extra))))
      span.attribute("http.response.status_code", exit.value.status)
      const headers = redactedHeaders(exit.value.headers, extra)
      for (const name in headers) span.attribute(`http.response.header.${name}`, headers[name])
      span.end(now, Exit.void)
    }))

const hasTraceHeaders = (request: HttpClientRequest.HttpClientRequest): boolean =>
  request.headers["b3"] !== undefined || request.headers["traceparent"] !== undefined

/**
 * neuro-sdk's trace headers (`b3: <trace>-<span>`, `sentry-trace: <trace>-<span>-<sampled>`) of a
 * request, rewritten to carry the `http.client` span's trace and span ids: the platform's traces
 * join the installed tracer's. The sampled flag of `sentry-trace` is kept.
 */
const withSpanIds = (request: HttpClientRequest.HttpClientRequest, span: Tracer.Span) => {
  const b3 = request.headers["b3"]
  if (b3 === undefined || !/^[0-9a-f]{32}-[0-9a-f]{16}$/.test(b3)) return request
  const headers: Record<string, string> = { b3: `${span.traceId}-${span.spanId}` }
  const sentry = request.headers["sentry-trace"]
  if (sentry !== undefined) headers["sentry-trace"] = `${span.traceId}-${span.spanId}${sentry.slice(b3.length)}`
  // the span records the headers as sent
  for (const name in headers) span.attribute(`http.request.header.${name}`, headers[name])
  return HttpClientRequest.setHeaders(request, headers)
}

/** Run `request` through `client` inside a credential-free `http.client` span. */
/** What `untraced` sets: no client below opens a span (recognised, so that it is set once). */
const alwaysDisabled = (): boolean => true

/** Effect's own tracer, the one a program runs with when it installs none. */
const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const traced = (client: HttpClient.HttpClient, request: HttpClientRequest.HttpClientRequest) =>
  Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
    // the client's own span would record the request in clear: never let it open one
    const untraced = (req: HttpClientRequest.HttpClientRequest) =>
      Effect.locally(client.execute(req), HttpClient.currentTracerDisabledWhen, alwaysDisabled)
    // below a traced request (ApiClient over NodeHttp.layer), or with tracing off: every client
    // below already sees tracing disabled
    const disabledWhen = fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)
    if (!fiber.getFiberRef(FiberRef.currentTracerEnabled) || disabledWhen === alwaysDisabled) return client.execute(request)
    // nobody receives the spans of the built-in tracer; a client below must still not open its
    // own (its trace headers would replace neuro-sdk's)
    if (Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer) === builtInTracer) return untraced(request)
    const urlResult = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (disabledWhen(request) || Either.isLeft(urlResult)) return untraced(request)
    const url = urlResult.right
    const extra = fiber.getFiberRef(Headers.currentRedactedNames)
    const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
    // a request that carries trace headers already (neuro-sdk's b3, set by ApiClient) keeps them,
    // with the span's ids
    const propagate = fiber.getFiberRef(HttpClient.currentTracerPropagation) && !hasTraceHeaders(request)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        Effect.makeSpan(name, { kind: "client", captureStackTrace: false, attributes: requestAttributes(request, url, extra) }),
        (span) => {
          const req = propagate ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span)) : withSpanIds(request, span)
          return restore(untraced(req).pipe(Effect.withParentSpan(span))).pipe(
            Effect.onExit((exit) => endSpan(span, exit, url, extra))
          )
        }
      )
    )
  })

/** Marks the clients `withSafeTracing` made. */
const SafeTracingId: unique symbol = Symbol.for("@neuro-sdk/core/SafeTracing")

/**
 * `client` whose requests are traced without credentials (see the module comment). A client it
 * made is returned as it is; a client wrapped twice in other ways opens one span per request.
 * A request that already carries trace headers (`b3`, `traceparent`) keeps them: the span's are
 * not added.
 *
 * @internal
 */
export const withSafeTracing = (client: HttpClient.HttpClient): HttpClient.HttpClient => {
  if (SafeTracingId in client) return client
  const safe = HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) => Effect.flatMap(request, (r) => traced(client, r)),
    Effect.succeed
  )
  return Object.assign(safe, { [SafeTracingId]: true })
}

/**
 * `effect` in a span named `name` when a tracer is installed; as it is under Effect's built-in
 * tracer (whose spans nobody receives), at the cost of one look-up.
 *
 * @internal
 */
export const withSpanWhenTraced = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) =>
    Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer) === builtInTracer
      ? effect
      : Effect.withSpan(effect, name, { captureStackTrace: false }))

/**
 * `stream` in a span named `name` (from its start to its end) when a tracer is installed.
 *
 * @internal
 */
export const streamWithSpanWhenTraced = <A, E, R>(name: string, stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.withFiberRuntime((fiber) =>
    Effect.succeed(
      Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer) === builtInTracer
        ? stream
        : Stream.withSpan(stream, name, { captureStackTrace: false })
    )
  ))
