import { assert, describe, it } from "@effect/vitest"
import { ServiceAccounts } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { API, empty, fakePlatform, json } from "./usersFixtures.js"

const account = {
  id: "service-account-0c8e0a57-6a55-4c57-a0f0-2b1f41c7d0a1",
  owner: "alice",
  name: "ci-bot",
  role: "alice/service-accounts/ci-bot",
  default_cluster: "c1",
  created_at: "2023-02-14T09:31:07.412938+00:00",
  role_deleted: false
}

const TOKEN = "eyJ0b2tlbiI6ICJzZWNyZXQtaW5uZXItdG9rZW4iLCAiY2x1c3RlciI6ICJjMSJ9"

describe("ServiceAccounts (wire)", () => {
  it.effect("list, get and rm on {api_url}/service_accounts", () => {
    const answers = [json([account, { ...account, id: "service-account-2", name: null, role_deleted: true }]), json(account), empty(204)]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(accounts.list()))
      assert.deepStrictEqual(all.map((a) => a.name), ["ci-bot", null])
      assert.strictEqual(all[0]!.defaultCluster, "c1")
      assert.strictEqual(all[0]!.role, "alice/service-accounts/ci-bot")
      assert.strictEqual(all[0]!.createdAt.toISOString(), "2023-02-14T09:31:07.412Z")
      assert.strictEqual((yield* accounts.get("ci-bot")).id, account.id)
      yield* accounts.rm(account.id)
      assert.strictEqual(p.requests[0]!.url.href, `${API}/service_accounts`)
      assert.strictEqual(p.requests[1]!.url.href, `${API}/service_accounts/ci-bot`)
      assert.strictEqual(p.requests[2]!.method, "DELETE")
      assert.strictEqual(p.requests[2]!.url.href, `${API}/service_accounts/${account.id}`)
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("create sends name and default cluster; the token comes back redacted", () => {
    const p = fakePlatform(() => json({ ...account, token: TOKEN }, 201))
    return Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      const created = yield* accounts.create()
      yield* accounts.create({ name: "ci-bot", defaultCluster: "c2" })
      assert.deepStrictEqual(JSON.parse(p.requests[0]!.body), { name: null, default_cluster: "c1" })
      assert.deepStrictEqual(JSON.parse(p.requests[1]!.body), { name: "ci-bot", default_cluster: "c2" })
      assert.strictEqual(Redacted.value(created.token), TOKEN)
      assert.strictEqual(created.account.id, account.id)
      for (const text of [JSON.stringify(created), String(created.token), String(created.account)]) assert.notInclude(text, TOKEN)
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a malformed create answer never quotes the token", () => {
    const answers = [
      json({ ...account, created_at: 12, token: TOKEN }, 201),
      json({ ...account, token: 42 }, 201),
      json({ token: TOKEN }, 201),
      json([TOKEN], 201)
    ]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      for (let i = 0; i < 4; i++) {
        const error = yield* Effect.flip(accounts.create())
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.notInclude(error.message, TOKEN)
        assert.notInclude(JSON.stringify(error), TOKEN)
      }
      assert.strictEqual(p.requests.length, 4)
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("409 and 404 keep their kinds", () => {
    const answers = [
      json({ code: "unique", description: "Service Account with such name exists" }, 409),
      new Response("Service account x not found", { status: 404 })
    ]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      const dup = yield* Effect.flip(accounts.create({ name: "x" }))
      assert.strictEqual(dup._tag, "IllegalArgumentError")
      assert.include(dup.message, "Service Account with such name exists")
      const missing = yield* Effect.flip(accounts.get("x"))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      assert.strictEqual(p.requests.length, 2)
    }).pipe(Effect.provide(p.layer))
  })
})
