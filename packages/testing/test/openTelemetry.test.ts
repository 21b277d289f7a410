/**
 * OpenTelemetry through `@effect/opentelemetry`: the SDK's spans (a span per service call, an
 * `http.client` span per request) reach an OpenTelemetry exporter with their names and
 * attributes, the platform's trace headers (`b3`, `sentry-trace`) carry the trace and span ids of
 * the request's span, and no span holds a secret (token, secret value).
 */
import { NodeSdk } from "@effect/opentelemetry"
import { assert, describe, it } from "@effect/vitest"
import { Disks, Jobs, Secrets, Storage } from "@neuro-sdk/core"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const SECRET_VALUE = "s3cr3t-value-that-no-span-may-hold"

describe("OpenTelemetry", () => {
  it.live("spans reach the exporter: names, attributes, trace headers, no secret", () => {
    const exporter = new InMemorySpanExporter()
    const tracing = NodeSdk.layer(() => ({
      resource: { serviceName: "neuro-sdk-test" },
      spanProcessor: new SimpleSpanProcessor(exporter)
    }))
    return Effect.gen(function*() {
      const platform = yield* LocalPlatform.LocalPlatformTag
      const jobs = yield* Jobs.Jobs
      const secrets = yield* Secrets.Secrets
      const storage = yield* Storage.Storage
      const disks = yield* Disks.Disks
      yield* Effect.gen(function*() {
        yield* secrets.add("api-key", Redacted.make(SECRET_VALUE))
        yield* storage.mkdir("storage:traced", { parents: true })
        yield* storage.stat("storage:traced")
        yield* disks.list().pipe(Stream.runDrain)
        const job = yield* jobs.start({ image: "ubuntu", presetName: "cpu-small", command: "true" })
        yield* jobs.status(job.id)
      }).pipe(Effect.withSpan("app.work"))

      const spans = exporter.getFinishedSpans()
      const named = (name: string) => spans.filter((s) => s.name === name)
      const app = named("app.work")
      assert.lengthOf(app, 1)
      const traceId = app[0]!.spanContext().traceId
      // one trace: the application's span is the root of every SDK span
      for (const span of spans) assert.strictEqual(span.spanContext().traceId, traceId, span.name)
      for (const name of ["Secrets.add", "Storage.mkdir", "Storage.stat", "Jobs.start", "Jobs.status"]) assert.lengthOf(named(name), 1, name)

      const http = spans.filter((s) => s.name.startsWith("http.client "))
      assert.includeMembers(http.map((s) => s.name), ["http.client POST", "http.client GET", "http.client PUT"])
      const secretPost = http.find((s) => String(s.attributes["url.path"]).endsWith("/secrets"))
      assert.isDefined(secretPost)
      const attributes = secretPost!.attributes
      assert.strictEqual(attributes["http.request.method"], "POST")
      assert.strictEqual(attributes["http.response.status_code"], 201)
      assert.strictEqual(attributes["url.scheme"], "http")
      assert.strictEqual(attributes["server.address"], new URL(platform.url).origin)
      assert.strictEqual(attributes["http.request.header.authorization"], "<redacted>")
      assert.strictEqual(secretPost!.kind, 2) // SpanKind.CLIENT
      // the SDK call's span is the parent of its request's span
      assert.strictEqual(secretPost!.parentSpanContext?.spanId, named("Secrets.add")[0]!.spanContext().spanId)

      // b3 and sentry-trace, as the platform received them: the request span's ids
      const requests = yield* platform.requests
      const sent = (span: ReadableSpan) => `${span.spanContext().traceId}-${span.spanContext().spanId}`
      for (const span of http) {
        const path = String(span.attributes["url.path"])
        const received = requests.filter((r) => r.headers["b3"] === sent(span))
        assert.lengthOf(received, 1, `${span.name} ${path}: b3 ${sent(span)}`)
        assert.isTrue(received[0]!.headers["sentry-trace"]!.startsWith(`${sent(span)}-`), received[0]!.headers["sentry-trace"])
        assert.strictEqual(span.attributes["http.request.header.b3"], sent(span))
      }

      // no secret anywhere in what was exported
      const exported = JSON.stringify(spans.map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        status: s.status,
        links: s.links
      })))
      assert.notInclude(exported, SECRET_VALUE)
      assert.notInclude(exported, Redacted.value(platform.token("alice")))
      assert.notInclude(exported, "Bearer ")
    }).pipe(Effect.provide(Layer.merge(NeuroTest.layer({ users: ["alice"] }), tracing)))
  }, 60_000)
})
