import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { ServiceAccounts, Users } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const listAll = Effect.flatMap(ServiceAccounts.ServiceAccounts, (s) => Effect.map(Stream.runCollect(s.list()), Chunk.toReadonlyArray))

const decodePassed = (token: Redacted.Redacted<string>) =>
  JSON.parse(Buffer.from(Redacted.value(token), "base64").toString("utf8")) as { token: string; cluster: string; url: string }

/** Status of `GET {api}/config`-independent call made with a bearer token (the secrets list of the cluster). */
const statusWith = (bearer: string) =>
  Effect.gen(function*() {
    const platform = yield* LocalPlatform.LocalPlatformTag
    const http = yield* HttpClient.HttpClient
    const response = yield* http.execute(
      HttpClientRequest.get(`${platform.url}/api/v1/clusters/default/secrets`).pipe(HttpClientRequest.bearerToken(bearer))
    )
    return response.status
  })

describe("ServiceAccounts over LocalPlatform", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"], clusters: [{ name: "default" }, { name: "other" }] }), {
    excludeTestServices: true
  })((it) => {
    it.effect("create, list, get by id and name, rm", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const platform = yield* LocalPlatform.LocalPlatformTag
        const before = Date.now()
        const { account, token } = yield* accounts.create({ name: "ci-bot" })
        assert.match(account.id, /^service-account-[0-9a-f-]{36}$/)
        assert.strictEqual(account.name, "ci-bot")
        assert.strictEqual(account.owner, "alice")
        assert.strictEqual(account.role, "alice/service-accounts/ci-bot")
        assert.strictEqual(account.defaultCluster, "default")
        assert.isAtLeast(account.createdAt.getTime(), before - 1000)

        const passed = decodePassed(token)
        assert.deepStrictEqual(Object.keys(passed).sort(), ["cluster", "token", "url"])
        assert.strictEqual(passed.cluster, "default")
        assert.strictEqual(passed.url, platform.apiUrl.href)

        assert.deepStrictEqual((yield* listAll).map((a) => a.id), [account.id])
        assert.strictEqual((yield* accounts.get(account.id)).role, account.role)
        assert.strictEqual((yield* accounts.get("ci-bot")).id, account.id)
        const users = yield* Users.Users
        assert.deepStrictEqual(yield* users.getSubroles("alice"), ["alice/service-accounts/ci-bot"])

        yield* accounts.rm("ci-bot")
        assert.deepStrictEqual(yield* listAll, [])
        const gone = yield* Effect.flip(accounts.get(account.id))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        assert.include(gone.message, `Service account ${account.id} not found`)
        assert.strictEqual((yield* Effect.flip(accounts.rm("ci-bot")))._tag, "ResourceNotFound")
        assert.deepStrictEqual(yield* users.getSubroles("alice"), [])
      }))

    it.effect("the token is a login while the account exists", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const { account, token } = yield* accounts.create({ name: "deployer" })
        const inner = decodePassed(token).token
        assert.strictEqual(yield* statusWith(inner), 200)
        yield* accounts.rm(account.id)
        assert.strictEqual(yield* statusWith(inner), 401)
      }))

    it.effect("unnamed accounts, the default cluster option, duplicate and bad names", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const platform = yield* LocalPlatform.LocalPlatformTag
        const unnamed = yield* accounts.create()
        assert.isNull(unnamed.account.name)
        assert.match(unnamed.account.role, /^alice\/service-accounts\/[0-9a-f]{16}$/)
        const elsewhere = yield* accounts.create({ name: "other-bot", defaultCluster: "other" })
        assert.strictEqual(elsewhere.account.defaultCluster, "other")
        assert.strictEqual(decodePassed(elsewhere.token).cluster, "other")

        const dup = yield* Effect.flip(accounts.create({ name: "other-bot" }))
        assert.strictEqual(dup._tag, "IllegalArgumentError")
        assert.include(dup.message, "Service Account with such name exists")
        for (const bad of ["Upper", "-lead", "trail-", "with space", "a..b", "under_score"]) {
          assert.strictEqual((yield* Effect.flip(accounts.create({ name: bad })))._tag, "IllegalArgumentError", bad)
        }
        for (const ok of ["a", "ci.bot", "x-1.y-2"]) {
          const created = yield* accounts.create({ name: ok })
          yield* accounts.rm(created.account.id)
        }
        // bob sees none of alice's accounts, and cannot get or remove them
        const bobToken = platform.token("bob")
        const http = yield* HttpClient.HttpClient
        const asBob = (request: HttpClientRequest.HttpClientRequest) =>
          Effect.map(http.execute(HttpClientRequest.bearerToken(request, bobToken)), (r) => r.status)
        const listBob = yield* http.execute(
          HttpClientRequest.get(`${platform.apiUrl.href}/service_accounts`).pipe(HttpClientRequest.bearerToken(bobToken))
        )
        assert.deepStrictEqual(yield* listBob.json, [])
        assert.strictEqual(yield* asBob(HttpClientRequest.get(`${platform.apiUrl.href}/service_accounts/${unnamed.account.id}`)), 404)
        assert.strictEqual(yield* asBob(HttpClientRequest.del(`${platform.apiUrl.href}/service_accounts/${unnamed.account.id}`)), 404)

        yield* accounts.rm(unnamed.account.id)
        yield* accounts.rm(elsewhere.account.id)
        assert.deepStrictEqual(yield* listAll, [])
      }))

    it.effect("the token never shows in models, errors or JSON", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const created = yield* accounts.create({ name: "quiet" })
        const raw = Redacted.value(created.token)
        const inner = decodePassed(created.token).token
        for (const text of [JSON.stringify(created), String(created.token), JSON.stringify(yield* listAll), String(created.account)]) {
          assert.notInclude(text, raw)
          assert.notInclude(text, inner)
        }
        yield* accounts.rm("quiet")
      }))

    it.effect("NDJSON listing when asked, as the real service does", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const platform = yield* LocalPlatform.LocalPlatformTag
        const a = yield* accounts.create({ name: "one" })
        const b = yield* accounts.create({ name: "two" })
        const http = yield* HttpClient.HttpClient
        const response = yield* http.execute(
          HttpClientRequest.get(`${platform.apiUrl.href}/service_accounts`).pipe(
            HttpClientRequest.bearerToken(platform.token("alice")),
            HttpClientRequest.setHeader("Accept", "application/x-ndjson")
          )
        )
        assert.match(response.headers["content-type"] ?? "", /^application\/x-ndjson/)
        const lines = (yield* response.text).split("\n").filter((l) => l !== "")
        assert.deepStrictEqual(lines.map((l) => (JSON.parse(l) as { name: string }).name), ["one", "two"])
        assert.deepStrictEqual((yield* listAll).map((x) => x.name), ["one", "two"])
        yield* accounts.rm(a.account.id)
        yield* accounts.rm(b.account.id)
      }))
  })
})
