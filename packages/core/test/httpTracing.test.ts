/**
 * `ApiClient.withSafeTracing` (issue 10, defect 8): `http.client` spans keep their name and
 * attributes, but no credential: header values and query parameters that carry one are redacted,
 * and the span ends with a void success or with an error over a copy of the request without body
 * or credentials.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Endpoints, WebSocket } from "@neuro-sdk/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import { inspect } from "node:util"

const PLATFORM_TOKEN = "eyJhbGciOiJIUzI1NiJ9.cGxhdGZvcm0tdG9rZW4.c2lnbmF0dXJl"
const SESSION_TOKEN = "FwoGZXIvYXdzEJr-session-token-value"
const SECRET_VALUE = "the-secret-value-in-a-body"

interface Recorded {
  readonly name: string
  readonly attributes: Map<string, unknown>
  exit?: Exit.Exit<unknown, unknown>
}

const recordingTracer = () => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const recorded: Recorded = { name, attributes: new Map() }
      spans.push(recorded)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: String(spans.length),
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          recorded.exit = exit
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

/** A transport that answers 200, except for paths ending in `/drop` (a transport error). */
const transport = HttpClient.make((request) =>
  request.url.endsWith("/drop")
    ? Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "connection reset" }))
    : Effect.succeed(
      HttpClientResponse.fromWeb(request, new Response("{}", { headers: { "content-type": "application/json", "set-cookie": "s=1" } }))
    )
)

const s3Put = (url: string) =>
  HttpClientRequest.put(url).pipe(
    HttpClientRequest.setHeaders({
      authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/s3/aws4_request, Signature=abc",
      "x-amz-security-token": SESSION_TOKEN,
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      "user-agent": "test"
    }),
    HttpClientRequest.bodyText(`{"value": "${SECRET_VALUE}"}`, "application/json")
  )

const texts = (x: unknown) => [inspect(x, { depth: Infinity, showHidden: true }), JSON.stringify(x) ?? ""]

const assertClean = (what: string, x: unknown) => {
  for (const text of texts(x)) {
    for (const secret of [PLATFORM_TOKEN, SESSION_TOKEN, SECRET_VALUE, "Signature=abc"]) assert.notInclude(text, secret, what)
  }
}

describe("withSafeTracing", () => {
  it.effect("redacts credential headers and query parameters; keeps the others", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const client = ApiClient.withSafeTracing(transport)
      yield* client.execute(s3Put("https://s3.example.org/bucket/key?X-Amz-Signature=abc&X-Amz-Security-Token=tok&partNumber=1")).pipe(
        Effect.withTracer(tracer)
      )
      assert.deepStrictEqual(spans.map((s) => s.name), ["http.client PUT"])
      const a = spans[0]!.attributes
      assert.strictEqual(a.get("http.request.header.x-amz-security-token"), "<redacted>")
      assert.strictEqual(a.get("http.request.header.authorization"), "<redacted>")
      assert.strictEqual(a.get("http.request.header.x-amz-content-sha256"), "UNSIGNED-PAYLOAD")
      assert.strictEqual(a.get("http.request.header.user-agent"), "test")
      assert.strictEqual(a.get("http.request.method"), "PUT")
      assert.strictEqual(a.get("url.path"), "/bucket/key")
      assert.strictEqual(a.get("url.query"), "X-Amz-Signature=%3Credacted%3E&X-Amz-Security-Token=%3Credacted%3E&partNumber=1")
      assert.strictEqual(a.get("http.response.status_code"), 200)
      assert.strictEqual(a.get("http.response.header.set-cookie"), "<redacted>")
      assert.isTrue(Exit.isSuccess(spans[0]!.exit!), "the span ends successfully")
      assertClean("span", { attributes: [...a], exit: spans[0]!.exit })
    }))

  it.effect("a failed request ends its span with the error over a request without body or credentials", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const client = ApiClient.withSafeTracing(transport)
      const error = yield* Effect.flip(client.execute(s3Put("https://s3.example.org/bucket/drop")).pipe(Effect.withTracer(tracer)))
      assert.strictEqual(error._tag, "RequestError", "the caller still gets the transport's error")
      const exit = spans[0]!.exit!
      assert.isTrue(Exit.isFailure(exit))
      const recorded = Option.getOrThrow(Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause))
      assert.isTrue(HttpClientError.isHttpClientError(recorded))
      if (!HttpClientError.isHttpClientError(recorded)) return
      assert.strictEqual(recorded._tag, "RequestError")
      assert.strictEqual(recorded.request.method, "PUT")
      assert.strictEqual(recorded.request.headers["x-amz-security-token"], "<redacted>")
      assert.strictEqual(recorded.request.body._tag, "Empty")
      assert.include(recorded.message, "connection reset")
      assertClean("recorded exit", exit)
    }))

  it.effect("ApiClient: one span per request, the bearer token redacted in attributes and exits", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const api = yield* ApiClient.ApiClient
      yield* api.discard(HttpClientRequest.get(api.api("ok"))).pipe(Effect.withTracer(tracer))
      yield* Effect.flip(api.discard(HttpClientRequest.post(api.api("drop")).pipe(HttpClientRequest.bodyUnsafeJson({ value: SECRET_VALUE })))).pipe(
        Effect.withTracer(tracer)
      )
      assert.deepStrictEqual(spans.map((s) => s.name), ["http.client GET", "http.client POST"])
      assert.strictEqual(spans[0]!.attributes.get("http.request.header.authorization"), "<redacted>")
      assert.isFalse(spans[0]!.attributes.has("http.request.header.traceparent"), "neuro-sdk's own trace headers only")
      assert.isTrue(spans[0]!.attributes.has("http.request.header.b3"))
      for (const span of spans) assertClean(span.name, { attributes: [...span.attributes], exit: span.exit })
    }).pipe(Effect.provide(
      ApiClient.layer({ retry: false }).pipe(Layer.provide(Layer.mergeAll(
        Layer.succeed(HttpClient.HttpClient, transport),
        AuthToken.layerStatic(Redacted.make(PLATFORM_TOKEN)),
        Endpoints.layer({ apiUrl: "https://api.example.org/api/v1", clusters: [] }),
        Layer.succeed(
          WebSocket.WebSocketDialer,
          WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
        )
      )))
    )))

  it.effect("a client wrapped twice opens one span per request", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const client = ApiClient.withSafeTracing(HttpClient.mapRequest(ApiClient.withSafeTracing(transport), HttpClientRequest.setHeader("x-a", "1")))
      yield* client.execute(HttpClientRequest.get("https://example.org/x")).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((s) => s.name), ["http.client GET"])
    }))

  it.effect("without the wrapper, the platform's span records the session token and the request in its exit", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.flip(transport.execute(s3Put("https://s3.example.org/bucket/drop")).pipe(Effect.withTracer(tracer)))
      // what the wrapper is for: this is the behaviour of @effect/platform it replaces
      assert.strictEqual(spans[0]!.attributes.get("http.request.header.x-amz-security-token"), SESSION_TOKEN)
      assert.isTrue(texts(spans[0]!.exit).some((t) => t.includes(SECRET_VALUE) || t.includes(SESSION_TOKEN)))
    }))
})
