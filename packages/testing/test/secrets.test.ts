import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { Secrets } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const clusters = [
  { name: "default", orgs: [null, "acme"] },
  { name: "other", orgs: [null] }
]

const listAll = (options?: { readonly clusterName?: string }) =>
  Effect.flatMap(Secrets.Secrets, (s) => Effect.map(Stream.runCollect(s.list(options)), Chunk.toReadonlyArray))

const keysOf = (secrets: ReadonlyArray<Secrets.Secret>) => secrets.map((s) => `${s.orgName ?? "-"}/${s.key}`).sort()

describe("Secrets over LocalPlatform", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"], clusters }), { excludeTestServices: true })((it) => {
    it.effect("add, list and rm", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("wandb-token", Redacted.make("v1"))
        yield* secrets.add("db-password", Redacted.make(new Uint8Array([0, 1, 2, 255])))
        const listed = yield* listAll()
        assert.deepStrictEqual(keysOf(listed), ["-/db-password", "-/wandb-token"])
        const token = listed.find((s) => s.key === "wandb-token")!
        assert.strictEqual(token.owner, "alice")
        assert.strictEqual(token.clusterName, "default")
        assert.isNull(token.orgName)
        assert.strictEqual(token.uri.href, "secret://default/alice/wandb-token")
        yield* secrets.rm("wandb-token")
        yield* secrets.rm("db-password")
        assert.deepStrictEqual(yield* listAll(), [])
      }))

    it.effect("re-adding a key replaces its value (one secret)", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("dup", Redacted.make("one"))
        yield* secrets.add("dup", Redacted.make("two"))
        assert.deepStrictEqual(keysOf((yield* listAll()).filter((s) => s.key === "dup")), ["-/dup"])
        yield* secrets.rm("dup")
      }))

    it.effect("rm of a missing secret is ResourceNotFound", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        const error = yield* Effect.flip(secrets.rm("never-added"))
        assert.strictEqual(error._tag, "ResourceNotFound")
        assert.include(error.message, "Secret 'never-added' not found")
      }))

    it.effect("org option: explicit org, and null for none", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        const platform = yield* LocalPlatform.LocalPlatformTag
        yield* secrets.add("k", Redacted.make("in org"), { orgName: "acme" })
        yield* secrets.add("k", Redacted.make("no org"), { orgName: null })
        const listed = (yield* listAll()).filter((s) => s.key === "k")
        assert.deepStrictEqual(keysOf(listed), ["-/k", "acme/k"])
        assert.strictEqual(listed.find((s) => s.orgName === "acme")!.uri.href, "secret://default/acme/alice/k")
        yield* secrets.rm("k", { orgName: "acme" })
        const rm = (yield* platform.requests).filter((r) => r.method === "DELETE").at(-1)!
        assert.strictEqual(rm.path, "/api/v1/clusters/default/secrets/k")
        assert.strictEqual(rm.query, "?org_name=acme")
        assert.deepStrictEqual(keysOf((yield* listAll()).filter((s) => s.key === "k")), ["-/k"])
        yield* secrets.rm("k")
        const plain = (yield* platform.requests).filter((r) => r.method === "DELETE").at(-1)!
        assert.strictEqual(plain.query, "")
        // an org the user is not in: no write permission there
        assert.strictEqual((yield* Effect.flip(secrets.add("k", Redacted.make("x"), { orgName: "other-org" })))._tag, "AuthorizationError")
      }))

    it.effect("cluster option", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("elsewhere", Redacted.make("v"), { clusterName: "other" })
        const onOther = yield* listAll({ clusterName: "other" })
        assert.deepStrictEqual(keysOf(onOther), ["-/elsewhere"])
        assert.strictEqual(onOther[0]!.clusterName, "other")
        assert.strictEqual(onOther[0]!.uri.href, "secret://other/alice/elsewhere")
        assert.isFalse((yield* listAll()).some((s) => s.key === "elsewhere"))
        yield* secrets.rm("elsewhere", { clusterName: "other" })
        assert.deepStrictEqual(yield* listAll({ clusterName: "other" }), [])
        assert.strictEqual((yield* Effect.flip(listAll({ clusterName: "nowhere" })))._tag, "ConfigError")
      }))

    it.effect("the server validates keys and values (400 → IllegalArgumentError)", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        for (const bad of ["", "with space", "..", ".", "a/b", "---NEURO---", "x".repeat(254)]) {
          const error = yield* Effect.flip(secrets.add(bad, Redacted.make("v")))
          assert.strictEqual(error._tag, "IllegalArgumentError", bad)
        }
        for (const ok of ["a", "A_b-c.d", ".hidden", "x".repeat(253)]) {
          yield* secrets.add(ok, Redacted.make("v"))
          yield* secrets.rm(ok)
        }
        // a raw request with a value that is not base64
        const platform = yield* LocalPlatform.LocalPlatformTag
        const http = yield* HttpClient.HttpClient
        const response = yield* http.execute(
          HttpClientRequest.post(`${platform.url}/api/v1/clusters/default/secrets`).pipe(
            HttpClientRequest.bearerToken(platform.token("alice")),
            HttpClientRequest.bodyUnsafeJson({ key: "k", value: "not base64!" })
          )
        )
        assert.strictEqual(response.status, 400)
      }))

    it.effect("secret values never appear in models, errors or logs", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        const logs: Array<string> = []
        const capture = Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message, cause }) => void logs.push(JSON.stringify(message) + String(cause)))
        )
        const value = "sup3r-s3cret-value-0123456789"
        const run = Effect.gen(function*() {
          yield* Effect.logDebug("start")
          yield* secrets.add("leak-check", Redacted.make(value))
          const error = yield* Effect.flip(secrets.add("bad key", Redacted.make(value)))
          const listed = yield* listAll()
          const seen = [
            JSON.stringify(listed),
            String(listed),
            listed.map((s) => String(s)).join(),
            JSON.stringify(error),
            String(error),
            error.message,
            String(Redacted.make(value)),
            JSON.stringify({ v: Redacted.make(value) })
          ]
          for (const text of seen) assert.notInclude(text, value)
          yield* secrets.rm("leak-check")
        })
        yield* run.pipe(Effect.provide(capture), Logger.withMinimumLogLevel(LogLevel.All))
        assert.isAbove(logs.length, 0)
        for (const line of logs) {
          assert.notInclude(line, value)
          assert.notInclude(line, text64(value))
        }
      }))
  })

  layer(NeuroTest.layer({ transport: "in-process", users: ["alice"] }))((it) => {
    it.effect("works in-process too", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("in-process", Redacted.make("v"))
        assert.deepStrictEqual(keysOf(yield* listAll()), ["-/in-process"])
      }))
  })
})

const text64 = (s: string) => Buffer.from(s).toString("base64")
