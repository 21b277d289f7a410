/**
 * Answers of the wrong shape (issue 10, defects 6 and 7), over a fake transport:
 * - a deeply nested answer is a `MalformedResponse`, never a `RangeError` (JSON bodies, NDJSON
 *   lines, in-band error lines, every service that decodes an answer);
 * - a decode error names paths and expected types, never the values received, so credentials in
 *   a wrong-shaped answer (bucket keys, session tokens) do not reach any message.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import {
  ApiClient,
  AuthToken,
  Buckets,
  Config,
  Disks,
  Endpoints,
  Errors,
  Jobs,
  NeuroClient,
  Secrets,
  ServerConfig,
  ServiceAccounts,
  Storage,
  Users,
  WebSocket
} from "@neuro-sdk/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { inspect } from "node:util"
import { makeConfigStub } from "./configStub.js"

const API = "https://api.example.org/api/v1"
const SECRET_KEY = "s3cr3t-Access-KEY-0f9e8d7c6b5a"
const SESSION_TOKEN = "sEsSiOn-ToKeN-1a2b3c4d5e6f7a8b"
const DEPTH = 5000

const deepArray = "[".repeat(DEPTH) + "]".repeat(DEPTH)
const deepObject = `{"a":`.repeat(DEPTH) + "1" + "}".repeat(DEPTH)

const cluster = new ServerConfig.Cluster({
  name: "c1",
  orgs: [null],
  registryUrl: "https://registry.c1.example.org",
  storageUrl: "https://c1.example.org/api/v1/storage",
  usersUrl: "https://c1.example.org/api/v1/users",
  monitoringUrl: "https://c1.example.org/api/v1/jobs",
  secretsUrl: "https://c1.example.org/api/v1/secrets",
  disksUrl: "https://c1.example.org/api/v1/disk",
  bucketsUrl: "https://c1.example.org/api/v1/buckets",
  presets: new Map()
})

/** Every request gets `answer(accept)`: the body text and its content type. */
const fakeHttp = (answer: (wantsNdjson: boolean) => { readonly body: string; readonly contentType: string }) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        const { body, contentType } = answer((request.headers["accept"] ?? "").includes("ndjson"))
        return HttpClientResponse.fromWeb(request, new Response(body, { headers: { "content-type": contentType } }))
      })
    )
  )

const infra = (http: Layer.Layer<HttpClient.HttpClient>) =>
  Layer.mergeAll(
    http,
    AuthToken.layerStatic(Redacted.make("platform-token")),
    Endpoints.layer({ apiUrl: API, clusters: [cluster], clusterName: "c1" }),
    Layer.succeed(
      WebSocket.WebSocketDialer,
      WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
    ),
    Layer.succeed(Config.Config, makeConfigStub({ apiUrl: API, clusters: [cluster] })),
    NodeFileSystem.layer,
    NodePath.layer
  )

const sdk = (http: Layer.Layer<HttpClient.HttpClient>) =>
  NeuroClient.layer({ apiClient: { retry: false } }).pipe(Layer.provideMerge(infra(http)))

const Item = Schema.Struct({ id: Schema.Number, name: Schema.String })

/** The error of a failed call; a defect (a crash such as a `RangeError`) fails the test. */
const typedFailure = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    assert.isTrue(Exit.isFailure(exit), `${what} should fail`)
    if (Exit.isSuccess(exit)) throw new Error("unreachable")
    const failure = Cause.failureOption(exit.cause)
    assert.isTrue(Option.isSome(failure), `${what} must fail with a typed error, not crash: ${Cause.pretty(exit.cause).slice(0, 300)}`)
    return Option.getOrThrow(failure)
  })

const drain = <A, E, R>(s: Stream.Stream<A, E, R>) => Stream.runDrain(s)

/** The subsystem services of `NeuroClient.layer`. */
const services = Effect.all({
  secrets: Secrets.Secrets,
  disks: Disks.Disks,
  serviceAccounts: ServiceAccounts.ServiceAccounts,
  buckets: Buckets.Buckets,
  users: Users.Users,
  jobs: Jobs.Jobs,
  storage: Storage.Storage
})

/** A transport answering each request by the last segment of its path. */
const byPath = (answers: Record<string, string>, contentType: string) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        const body = answers[request.url.split("/").at(-1) ?? ""] ?? "null"
        return HttpClientResponse.fromWeb(request, new Response(body, { headers: { "content-type": contentType } }))
      })
    )
  )

describe("deeply nested answers (defect 6)", () => {
  for (const [shape, deep] of [["arrays", deepArray], ["objects", deepObject]] as const) {
    it.effect(`a JSON body of ${DEPTH} nested ${shape} is a MalformedResponse`, () =>
      Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        for (const path of ["whole", "field", "item"]) {
          const error = yield* typedFailure(path, api.json(HttpClientRequest.get(api.api(path)), Item))
          assert.strictEqual((error as Errors.ApiError)._tag, "MalformedResponse", path)
        }
      }).pipe(Effect.provide(sdk(byPath({ whole: deep, field: `{"id": 1, "name": ${deep}}`, item: `[${deep}]` }, "application/json")))))

    it.effect(`an NDJSON line of ${DEPTH} nested ${shape} is a MalformedResponse; a nested in-band error is an NDJSONError`, () =>
      Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        const line = yield* typedFailure("a deep line", drain(api.ndjson(HttpClientRequest.get(api.api("line")), Item)))
        assert.strictEqual((line as Errors.ApiError)._tag, "MalformedResponse")
        const inBand = yield* typedFailure("a deep error line", drain(api.ndjson(HttpClientRequest.get(api.api("error")), Item)))
        assert.strictEqual((inBand as Errors.ApiError)._tag, "NDJSONError")
      }).pipe(Effect.provide(sdk(byPath({ line: `${deep}\n`, error: `{"error": ${deep}}\n` }, "application/x-ndjson")))))
  }

  it.effect("every service that decodes an answer fails with a typed error on a deep answer", () =>
    Effect.gen(function*() {
      const c = yield* services
      const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
        ["secrets.list", drain(c.secrets.list())],
        ["disks.list", drain(c.disks.list())],
        ["disks.get", c.disks.get("disk-1")],
        ["disks.create", c.disks.create(1024)],
        ["serviceAccounts.list", drain(c.serviceAccounts.list())],
        ["serviceAccounts.get", c.serviceAccounts.get("sa")],
        ["serviceAccounts.create", c.serviceAccounts.create()],
        ["buckets.list", drain(c.buckets.list())],
        ["buckets.get", c.buckets.get("b")],
        ["buckets.create", c.buckets.create()],
        ["buckets.requestTmpCredentials", c.buckets.requestTmpCredentials("bucket-1")],
        ["buckets.persistentCredentialsCreate", c.buckets.persistentCredentialsCreate(["bucket-1"])],
        ["buckets.persistentCredentialsList", drain(c.buckets.persistentCredentialsList())],
        ["users.getAcl", c.users.getAcl("alice")],
        ["users.getShares", c.users.getShares("alice")],
        ["users.getSubroles", c.users.getSubroles("alice")],
        ["jobs.status", c.jobs.status("job-1")],
        ["jobs.list", drain(c.jobs.list())],
        ["jobs.getCapacity", c.jobs.getCapacity()],
        ["storage.stat", c.storage.stat("storage:x")],
        ["storage.list", drain(c.storage.list("storage:x"))]
      ]
      for (const [name, call] of calls) {
        const error = yield* typedFailure(name, call)
        assert.isTrue(Errors.isNeuroError(error), `${name}: ${String(error)}`)
      }
    }).pipe(Effect.provide(sdk(fakeHttp((nd) => nd
      ? { body: `${deepArray}\n`, contentType: "application/x-ndjson" }
      : { body: `[${deepArray}]`, contentType: "application/json" })))))
})

describe("deeply nested answers outside ApiClient.json (defect 6)", () => {
  it.effect("/config nested 5000 levels deep is a MalformedResponse", () =>
    Effect.gen(function*() {
      const error = yield* typedFailure("ServerConfig.fetch", ServerConfig.fetch(API, { token: Redacted.make("t") }))
      assert.strictEqual((error as Errors.ApiError)._tag, "MalformedResponse")
    }).pipe(Effect.provide(fakeHttp(() => ({ body: `{"auth_url": ${deepArray}, "clusters": [${deepObject}]}`, contentType: "application/json" })))))

  it.effect("a new service account whose fields are nested 5000 levels deep is a MalformedResponse without the token", () =>
    Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      const error = yield* typedFailure("serviceAccounts.create", accounts.create({ name: "x" }))
      assert.strictEqual((error as Errors.ApiError)._tag, "MalformedResponse")
      for (const text of forms(error)) assert.notInclude(text, SESSION_TOKEN)
    }).pipe(Effect.provide(sdk(fakeHttp(() => ({
      body: `{"token": "${SESSION_TOKEN}", "id": ${deepArray}, "owner": ${deepObject}}`,
      contentType: "application/json"
    }))))))
})

const credentialsWire = (credentials: unknown) => ({ bucket_id: "bucket-1", provider: "minio", credentials })

const goodCredentials = {
  bucket_name: "b",
  endpoint_url: "https://s3.example.org",
  region_name: "us-east-1",
  access_key_id: "AKIAEXAMPLE",
  secret_access_key: SECRET_KEY,
  session_token: SESSION_TOKEN
}

/** Every text form of an error a user or a log could see. */
const forms = (error: unknown): ReadonlyArray<string> => [
  String(error),
  error instanceof Error ? error.message : "",
  JSON.stringify(error),
  inspect(error, { depth: Infinity })
]

const assertNoCredentials = (what: string, error: unknown) => {
  for (const text of forms(error)) {
    assert.notInclude(text, SECRET_KEY, what)
    assert.notInclude(text, SESSION_TOKEN, what)
  }
}

describe("credentials in wrong-shaped answers (defect 7)", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["temporary credentials wrapped in an array", [credentialsWire(goodCredentials)], "at the top level: expected an object"],
    [
      "a credential of the wrong type next to the real ones",
      credentialsWire({ ...goodCredentials, session_token: { value: SESSION_TOKEN } }),
      "at credentials.session_token: expected string"
    ],
    ["credentials as a list", credentialsWire([SECRET_KEY, SESSION_TOKEN]), "at credentials: expected"]
  ]
  for (const [what, answer, expected] of cases) {
    it.effect(`requestTmpCredentials: ${what} is a MalformedResponse naming the place, not the values`, () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const error = yield* Effect.flip(buckets.requestTmpCredentials("bucket-1"))
        assert.strictEqual(error._tag, "MalformedResponse")
        assertNoCredentials(what, error)
        assert.include(error.message, expected)
      }).pipe(Effect.provide(sdk(fakeHttp(() => ({ body: JSON.stringify(answer), contentType: "application/json" }))))))
  }

  for (const [what, answer, expected] of [
    ["persistent credentials wrapped in an array", [{ id: "c", owner: "alice", credentials: [credentialsWire(goodCredentials)] }], "at the top level: expected an object"],
    [
      "one bucket's credentials of the wrong shape",
      { id: "c", owner: "alice", credentials: [credentialsWire(goodCredentials), [credentialsWire(goodCredentials)]] },
      "at credentials[1]: expected an object"
    ]
  ] as const) {
    it.effect(`persistentCredentialsCreate: ${what} is a MalformedResponse naming the place, not the values`, () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const error = yield* Effect.flip(buckets.persistentCredentialsCreate(["bucket-1"]))
        assert.strictEqual(error._tag, "MalformedResponse")
        assertNoCredentials(what, error)
        assert.include(error.message, expected)
      }).pipe(Effect.provide(sdk(fakeHttp(() => ({ body: JSON.stringify(answer), contentType: "application/json" }))))))
  }

  it.effect("any decode error: paths and expected types, no received value, and a bounded list", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const error = yield* Effect.flip(api.json(HttpClientRequest.get(api.api("x")), Schema.Array(Item)))
      assert.strictEqual(error._tag, "MalformedResponse")
      assertNoCredentials("a plain list", error)
      assert.include(error.message, "at [0].id: expected number")
      assert.include(error.message, "at [0].name: is missing")
      assert.include(error.message, "at [1]: expected an object")
      assert.match(error.message, /and \d+ more/)
      assert.notInclude(error.message, "marker-value")
    }).pipe(Effect.provide(sdk(fakeHttp(() => ({
      body: JSON.stringify([
        { id: SECRET_KEY },
        SESSION_TOKEN,
        ...Array.from({ length: 20 }, () => ({ id: "marker-value", name: 1 }))
      ]),
      contentType: "application/json"
    }))))))
})
