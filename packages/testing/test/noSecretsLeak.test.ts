/**
 * Issue 10, "done when": a run of the SDK against LocalPlatform over a real socket, with failures
 * injected (401, 500, dropped connections, malformed answers), records every span (name,
 * attributes, events, links, exit), every log line and every error, and finds no credential in
 * any of them: not the platform token (nor the registry's Basic credentials made from it), not
 * the S3 secret key or session token, not a secret's value, not a service account's token.
 *
 * Each record is checked twice: as `util.inspect(record, { depth: Infinity })` prints it, and by
 * walking every object reachable from it (own properties, map and set entries, byte arrays read
 * as text), so that a value a printer would hide is found as well.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import {
  Buckets,
  ConfigData,
  ConfigStore,
  Factory,
  Images,
  NeuroClient,
  Secrets,
  ServerConfig,
  ServiceAccounts,
  Session,
  Storage
} from "@neuro-sdk/core"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeLogin from "@neuro-sdk/node/NodeLogin"
import * as NodeWebSocket from "@neuro-sdk/node/NodeWebSocket"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { inspect } from "node:util"
import { LocalPlatform, MemoryConfigStore, TestBrowser } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// recording every span and log line
// ---------------------------------------------------------------------------------------------

class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<readonly [name: string, startTime: bigint, attributes: Record<string, unknown>]> = []
  readonly links: Array<Tracer.SpanLink>

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Parameters<Tracer.Tracer["span"]>[2],
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.status = { _tag: "Started", startTime }
    this.traceId = Option.isSome(parent) ? parent.value.traceId : Math.random().toString(16).slice(2)
    this.links = [...links]
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push([name, startTime, attributes ?? {}])
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }

  /** What an exporter can see of the span. */
  get record() {
    return { name: this.name, kind: this.kind, attributes: this.attributes, events: this.events, links: this.links, status: this.status }
  }
}

const makeRecorder = () => {
  const spans: Array<RecordingSpan> = []
  const logs: Array<unknown> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordingSpan(name, parent, context, links, startTime, kind)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  const logger = Logger.make((options) => {
    logs.push({ level: options.logLevel.label, message: options.message, cause: options.cause, annotations: options.annotations, spans: options.spans })
    logs.push(Logger.logfmtLogger.log(options))
    logs.push(Cause.pretty(options.cause))
  })
  return { spans, logs, tracer, logger }
}

// ---------------------------------------------------------------------------------------------
// what must never show: every credential the run handles
// ---------------------------------------------------------------------------------------------

const SECRET_VALUE = "pg-pa55w0rd-of-the-team-3b1f9c7e"

/** Every string reachable from `root`: own properties (symbol keys too), map, set and byte-array contents. */
const reachableText = (root: unknown): Array<string> => {
  const out: Array<string> = []
  const seen = new Set<unknown>()
  const stack: Array<unknown> = [root]
  const decoder = new TextDecoder("utf-8", { fatal: false })
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value === "string") {
      out.push(value)
      continue
    }
    if (typeof value !== "object" || value === null || seen.has(value)) continue
    seen.add(value)
    if (value instanceof Uint8Array) {
      out.push(decoder.decode(value))
      continue
    }
    if (value instanceof Error) out.push(String(value), value.message, value.stack ?? "")
    if (value instanceof Map) for (const [k, v] of value) stack.push(k, v)
    if (value instanceof Set) for (const v of value) stack.push(v)
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === "string") out.push(key)
      const descriptor = Object.getOwnPropertyDescriptor(value, key)
      if (descriptor !== undefined && "value" in descriptor) stack.push(descriptor.value)
    }
  }
  return out
}

const deepInspect = (x: unknown) => inspect(x, { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity })

/** The forms in which a credential could appear in text: as is, base64, and in Basic credentials. */
const formsOf = (secret: string, label: string, username: string): ReadonlyArray<readonly [needle: string, label: string]> => [
  [secret, label],
  [Buffer.from(secret).toString("base64"), `${label} (base64)`],
  [Buffer.from(`${username}:${secret}`).toString("base64"), `${label} (in Basic credentials)`]
]

// ---------------------------------------------------------------------------------------------
// the SDK over a real socket, with a transport that sees credential-bearing answers and can
// corrupt answers
// ---------------------------------------------------------------------------------------------

interface Corruption {
  readonly path: RegExp
  readonly rewrite: (body: string) => string
  remaining: number
}

interface World {
  /** Credential values seen on the wire (answers that hand them out) or made by the test, with what they are. */
  readonly credentials: Map<string, string>
  readonly corruptions: Array<Corruption>
}

const CREDENTIAL_ANSWERS = /make_tmp_credentials|persistent_credentials|service_accounts/

const collectCredentials = (world: World, json: unknown) => {
  const stack = [json]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v !== "object" || v === null) continue
    for (const [key, inner] of Object.entries(v)) {
      if (typeof inner === "string" && /secret|token|password/.test(key)) world.credentials.set(inner, key)
      else stack.push(inner)
    }
  }
}

/** Reads (and possibly rewrites) answers of credential-bearing endpoints. */
const observing = (client: HttpClient.HttpClient, world: World): HttpClient.HttpClient =>
  HttpClient.transformResponse(client, (effect) =>
    Effect.flatMap(effect, (response) => {
      const path = new URL(response.request.url).pathname
      const corruption = world.corruptions.find((c) => c.remaining > 0 && c.path.test(path))
      if (corruption === undefined && !CREDENTIAL_ANSWERS.test(path)) return Effect.succeed(response)
      return Effect.map(response.text, (text) => {
        try {
          collectCredentials(world, JSON.parse(text))
        } catch {
          // not JSON: nothing handed out
        }
        let body = text
        if (corruption !== undefined) {
          corruption.remaining -= 1
          body = corruption.rewrite(text)
        }
        const headers = Object.fromEntries(Object.entries(response.headers).filter(([k]) => k !== "content-length"))
        return HttpClientResponse.fromWeb(response.request, new Response(body, { status: response.status, headers }))
      })
    }))

const USER = "alice"

/** `NeuroTest.layer` over a running platform, with the observing transport. */
const sdkLayer = (platform: LocalPlatform.LocalPlatform, world: World) => {
  const token = platform.token(USER)
  world.credentials.set(Redacted.value(token), "the platform token")
  const http = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, (c) => observing(c, world))).pipe(
    Layer.provide(NodeHttp.layer)
  )
  const infra = Layer.mergeAll(http, NodeWebSocket.layer, Layer.succeed(LocalPlatform.LocalPlatformTag, platform))
  const store = Layer.effect(
    ConfigStore.ConfigStore,
    Effect.gen(function*() {
      const server = yield* ServerConfig.fetch(platform.apiUrl, { token }).pipe(Effect.orDie)
      return yield* MemoryConfigStore.make(
        new ConfigData.ConfigData({
          authConfig: server.auth,
          token,
          expirationTime: Date.now() / 1000 + 86400,
          refreshToken: Redacted.make(""),
          url: platform.apiUrl.toString(),
          version: ConfigData.CONFIG_VERSION,
          clusterName: server.clusters[0]!.name,
          orgName: null,
          clusters: server.clusters
        })
      )
    })
  ).pipe(Layer.provide(http))
  const withStore = Layer.mergeAll(infra, store)
  const factory = Factory.layer.pipe(Layer.provide(Layer.mergeAll(withStore, TestBrowser.layer, NodeLogin.layerCallbackServer)))
  const session = Session.layerWith(Effect.succeed({})).pipe(Layer.provide(Layer.merge(withStore, factory)), Layer.orDie)
  const base = Layer.mergeAll(Layer.provideMerge(session, withStore), NodeFileSystem.layer, NodePath.layer)
  return NeuroClient.layer({ apiClient: { retry: { times: 2, baseDelay: "5 millis", jitter: false } } }).pipe(Layer.provideMerge(base))
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

interface Outcome {
  readonly step: string
  readonly error: unknown
}

const bytes = (s: string) => new TextEncoder().encode(s)

const run = (platform: LocalPlatform.LocalPlatform, world: World, outcomes: Array<Outcome>) =>
  Effect.gen(function*() {
    // as an application would: every failure and every result logged (inside the run's span, so
    // that log lines also become span events)
    const step = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.either(effect), (result) => {
        if (Either.isRight(result)) return Effect.as(Effect.logDebug(`${name} done`, result.right), Either.getRight(result))
        outcomes.push({ step: name, error: result.left })
        return Effect.as(Effect.logError(`${name} failed`, result.left), Option.none())
      })
    const faults = platform.faults
    const storage = yield* Storage.Storage
    const secrets = yield* Secrets.Secrets
    const accounts = yield* ServiceAccounts.ServiceAccounts
    const buckets = yield* Buckets.Buckets
    const images = yield* Images.Images

    // storage: a dropped listing (retried), 401 and 500 answers
    const storagePath = "/api/v1/clusters/default/storage"
    yield* step("storage.create", storage.create("storage:notes.txt", bytes("hello")))
    yield* faults.dropNext({ path: storagePath, method: "GET" })
    yield* step("storage.list after a drop", Stream.runCollect(storage.list("storage:")))
    yield* faults.failNext(401, { path: storagePath })
    yield* step("storage.list 401", Stream.runCollect(storage.list("storage:")))
    yield* faults.failNext(500, { path: storagePath })
    yield* step("storage.stat 500", storage.stat("storage:notes.txt"))

    // secrets: the value travels in request bodies
    const secretsPath = /\/secrets/
    yield* step("secrets.add", secrets.add("db-password", Redacted.make(SECRET_VALUE)))
    yield* faults.failNext(500, { path: secretsPath, method: "POST" })
    yield* step("secrets.add 500", secrets.add("db-password-2", Redacted.make(SECRET_VALUE)))
    yield* faults.dropNext({ path: secretsPath, method: "POST" })
    yield* step("secrets.add dropped", secrets.add("db-password-3", Redacted.make(SECRET_VALUE)))
    yield* faults.failNext(401, { path: secretsPath })
    yield* step("secrets.list 401", Stream.runCollect(secrets.list()))
    yield* step("secrets.list", Stream.runCollect(secrets.list()))

    // service accounts: a token in the answer
    const created = yield* step("serviceAccounts.create", accounts.create({ name: "ci-bot" }))
    if (Option.isSome(created)) world.credentials.set(Redacted.value(created.value.token), "a service account token")
    yield* faults.failNext(500, { path: "/api/v1/service_accounts", method: "POST" })
    yield* step("serviceAccounts.create 500", accounts.create({ name: "ci-bot-2" }))
    world.corruptions.push({ path: /service_accounts$/, remaining: 1, rewrite: (b) => `[${b}]` })
    yield* step("serviceAccounts.create malformed", accounts.create({ name: "ci-bot-3" }))
    yield* step("serviceAccounts.list", Stream.runCollect(accounts.list()))

    // buckets: S3 requests carry the session token and are signed with the secret key
    const bucket = yield* step("buckets.create", buckets.create({ name: "data" }))
    yield* step("buckets.requestTmpCredentials", buckets.requestTmpCredentials("data"))
    yield* step("buckets.putBlob", buckets.putBlob("data", "a.txt", bytes("first")))
    yield* faults.dropNext({ path: "/s3/" })
    yield* step("buckets.putBlob after a drop", buckets.putBlob("data", "b.txt", bytes("second")))
    yield* faults.failNext(500, { path: "/s3/", method: "PUT" })
    yield* step("buckets.putBlob 500", buckets.putBlob("data", "c.txt", bytes("third")))
    yield* faults.failNext(403, { path: "/s3/", method: "GET" })
    yield* step("buckets.fetchBlob 403", Stream.runCollect(buckets.fetchBlob("data", "a.txt")))
    yield* step("buckets.fetchBlob", Stream.runCollect(buckets.fetchBlob("data", "a.txt")))
    yield* faults.dropNext({ path: "/s3/", method: "GET", times: 5 })
    yield* step("buckets.fetchBlob dropped", Stream.runCollect(buckets.fetchBlob("data", "a.txt")))
    yield* step("buckets.listBlobs", Stream.runCollect(buckets.listBlobs("blob:data/")))
    world.corruptions.push({ path: /make_tmp_credentials/, remaining: 1, rewrite: (b) => `[${b}]` })
    yield* step("buckets.requestTmpCredentials malformed", buckets.requestTmpCredentials("data"))
    world.corruptions.push({
      path: /make_tmp_credentials/,
      remaining: 1,
      rewrite: (b) => b.replace(/"session_token":\s*("[^"]*")/, `"session_token": {"value": $1}`)
    })
    yield* step("buckets.requestTmpCredentials with a bad field", buckets.requestTmpCredentials("data"))
    if (Option.isSome(bucket)) {
      world.corruptions.push({ path: /persistent_credentials/, remaining: 1, rewrite: (b) => `[${b}]` })
      yield* step("buckets.persistentCredentialsCreate malformed", buckets.persistentCredentialsCreate([bucket.value.id]))
    }

    // the registry: Basic credentials made of the user name and the platform token
    yield* step("images.list", images.list())
    yield* faults.failNext(401, { path: "/v2/" })
    yield* step("images.list 401", images.list())
    yield* faults.dropNext({ path: "/v2/", times: 5 })
    yield* step("images.list dropped", images.list())
    yield* faults.failNext(500, { path: "/v2/" })
    yield* step("images.list 500", images.list())
  }).pipe(Effect.withSpan("noSecretsLeak.run"))

describe("no credential in any span, log line or error (issue 10)", () => {
  it.live("a run with 401s, 500s, drops and malformed answers leaks nothing", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: [USER] })
      const world: World = { credentials: new Map([[SECRET_VALUE, "a secret's value"]]), corruptions: [] }
      const outcomes: Array<Outcome> = []
      const recorder = makeRecorder()
      yield* run(platform, world, outcomes).pipe(
        Effect.provide(sdkLayer(platform, world)),
        Effect.withTracer(recorder.tracer),
        Effect.provide(Logger.replace(Logger.defaultLogger, recorder.logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )

      // the run did what it is meant to: credentials handed out, failures of each kind met
      const kinds = new Set(outcomes.map((o) => (o.error as { readonly _tag?: string })._tag))
      for (const kind of ["AuthenticationError", "IllegalArgumentError", "NetworkError", "MalformedResponse"]) {
        assert.isTrue(kinds.has(kind), `no ${kind} in ${[...kinds].join(", ")}`)
      }
      assert.isAtLeast(world.credentials.size, 5, "token, secret value, service account token, S3 secret key and session token")
      const s3Spans = recorder.spans.filter((s) => String(s.attributes.get("url.path") ?? "").startsWith("/s3/"))
      assert.isAbove(s3Spans.length, 3, "S3 requests were traced")
      assert.isTrue(
        s3Spans.some((s) => s.attributes.has("http.request.header.x-amz-security-token")),
        "the session token header is recorded (redacted)"
      )
      assert.isAbove(recorder.spans.filter((s) => s.status._tag === "Ended" && s.status.exit._tag === "Failure").length, 5)
      assert.isAbove(recorder.logs.length, outcomes.length, "every step logged")
      assert.isAbove(recorder.spans.find((s) => s.name === "noSecretsLeak.run")!.events.length, outcomes.length, "log lines as span events")

      const records: Array<readonly [where: string, value: unknown]> = [
        ...recorder.spans.map((s) => [`span ${s.name}`, s.record] as const),
        ...recorder.logs.map((l, i) => [`log line ${i}`, l] as const),
        ...outcomes.map((o) => [`error of ${o.step}`, { error: o.error, text: String(o.error), json: JSON.stringify(o.error) }] as const)
      ]
      const needles = [...world.credentials].flatMap(([c, label]) => formsOf(c, label, USER))
      const leaks = new Set<string>()
      for (const [where, value] of records) {
        const printed = deepInspect(value)
        const reachable = reachableText(value)
        for (const [needle, label] of needles) {
          if (printed.includes(needle)) leaks.add(`${where}, printed: ${label}`)
          else if (reachable.some((t) => t.includes(needle))) leaks.add(`${where}, reachable: ${label}`)
        }
      }
      assert.deepStrictEqual([...leaks], [], "credentials found in the records")
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
