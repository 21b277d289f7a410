import { assert, describe, it } from "@effect/vitest"
import { Secrets } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { empty, fakePlatform, json } from "./usersFixtures.js"

const list = (options?: { readonly clusterName?: string }) =>
  Effect.flatMap(Secrets.Secrets, (s) => Effect.map(Stream.runCollect(s.list(options)), Chunk.toReadonlyArray))

describe("Secrets (wire)", () => {
  it.effect("list decodes secrets of every org; the cluster comes from the call", () => {
    const p = fakePlatform(() =>
      json([
        { key: "wandb-token", owner: "alice", org_name: null },
        { key: "db-password", owner: "alice", org_name: "acme" },
        { key: "ci", owner: "alice/service-accounts/ci" }
      ])
    )
    return Effect.gen(function*() {
      const all = yield* list()
      assert.deepStrictEqual(all.map((s) => s.uri.href), [
        "secret://c1/alice/wandb-token",
        "secret://c1/acme/alice/db-password",
        "secret://c1/alice/service-accounts/ci/ci"
      ])
      assert.isNull(all[2]!.orgName)
      const other = yield* list({ clusterName: "c2" })
      assert.strictEqual(other[0]!.clusterName, "c2")
      assert.strictEqual(p.requests[0]!.url.href, "https://c1.example.org/api/v1/secrets")
      assert.strictEqual(p.requests[1]!.url.href, "https://c2.example.org/api/v1/secrets")
      assert.strictEqual(p.requests[0]!.headers["accept"], undefined)
      assert.strictEqual((yield* Effect.flip(list({ clusterName: "c3" })))._tag, "ConfigError")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("add sends base64 and the org (config org by default, null for none)", () => {
    const p = fakePlatform(() => json({ key: "k", owner: "alice", org_name: null }, 201), { orgName: "acme" })
    return Effect.gen(function*() {
      const secrets = yield* Secrets.Secrets
      yield* secrets.add("wandb-token", Redacted.make("secret-value"))
      yield* secrets.add("bin", Redacted.make(new Uint8Array([0, 255, 128])), { orgName: null, clusterName: "c2" })
      yield* secrets.add("big", Redacted.make(new Uint8Array(100_000).fill(7)), { orgName: "other" })
      assert.deepStrictEqual(JSON.parse(p.requests[0]!.body), { key: "wandb-token", value: "c2VjcmV0LXZhbHVl", org_name: "acme" })
      assert.deepStrictEqual(JSON.parse(p.requests[1]!.body), { key: "bin", value: "AP+A", org_name: null })
      assert.strictEqual(p.requests[1]!.url.href, "https://c2.example.org/api/v1/secrets")
      const big = JSON.parse(p.requests[2]!.body) as { value: string; org_name: string }
      assert.strictEqual(Buffer.from(big.value, "base64").length, 100_000)
      assert.strictEqual(big.org_name, "other")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("rm: key in the path, org_name only when there is one", () => {
    const p = fakePlatform(() => empty(204), { orgName: "acme" })
    return Effect.gen(function*() {
      const secrets = yield* Secrets.Secrets
      yield* secrets.rm("k1")
      yield* secrets.rm("k2", { orgName: null })
      assert.strictEqual(p.requests[0]!.method, "DELETE")
      assert.strictEqual(p.requests[0]!.url.href, "https://c1.example.org/api/v1/secrets/k1?org_name=acme")
      assert.strictEqual(p.requests[1]!.url.href, "https://c1.example.org/api/v1/secrets/k2")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("bad lists are MalformedResponse; 404 is ResourceNotFound", () => {
    const answers = [json([{ key: "k" }]), json({ key: "k", owner: "a" }), json({ error: "Secret 'k' not found" }, 404)]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(list()))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(list()))._tag, "MalformedResponse")
      const missing = yield* Effect.flip(Effect.flatMap(Secrets.Secrets, (s) => s.rm("k")))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      assert.strictEqual(missing.description, "Secret 'k' not found")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a value never reaches an error", () => {
    const p = fakePlatform(() => json({ error: "boom" }, 500))
    return Effect.gen(function*() {
      const value = "do-not-leak-0123456789"
      const error = yield* Effect.flip(Effect.flatMap(Secrets.Secrets, (s) => s.add("k", Redacted.make(value))))
      assert.strictEqual(error._tag, "IllegalArgumentError")
      for (const text of [error.message, JSON.stringify(error), String(error)]) {
        assert.notInclude(text, value)
        assert.notInclude(text, Buffer.from(value).toString("base64"))
      }
    }).pipe(Effect.provide(p.layer))
  })
})
