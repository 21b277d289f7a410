import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { AuthToken, Config, ConfigStore, Factory, Session } from "@neuro-sdk/core"
import { NodeConfigStore, NodeHttp, NodeLogin } from "@neuro-sdk/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, TestBrowser } from "../src/index.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "neuro-login-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A platform on a real socket, and the login services over a config directory in a temp folder. */
const setup = (options: LocalPlatform.ServeOptions = {}) =>
  Effect.gen(function*() {
    const platform = yield* LocalPlatform.serve({ users: ["erin", "frank"], ...options })
    const dir = join(yield* tempDir, "neuro")
    const store = NodeConfigStore.layer({ path: dir })
    const base = Layer.mergeAll(store, NodeHttp.layer, TestBrowser.layer, NodeLogin.layerCallbackServer, NodeContext.layer)
    const factory = Factory.layer.pipe(Layer.provide(base))
    const login = Layer.merge(factory, base)
    const session = Session.layerWith(Effect.succeed({})).pipe(Layer.provide(login))
    return { platform, dir, login, session: Layer.merge(session, login) }
  })

describe("login against LocalPlatform over a real socket", () => {
  it.scopedLive("browser login: authorization code + PKCE through the local callback server", () =>
    Effect.gen(function*() {
      const { platform, login, session } = yield* setup()
      yield* platform.oauth.approveAs("frank")
      yield* Effect.gen(function*() {
        const factory = yield* Factory.Factory
        assert.isFalse(yield* factory.isConfigPresent)
        yield* factory.login({ url: platform.apiUrl })
        assert.isTrue(yield* factory.isConfigPresent)
        const stored = yield* (yield* ConfigStore.ConfigStore).load
        assert.notStrictEqual(Redacted.value(stored.refreshToken), "")
        assert.strictEqual(stored.clusterName, "default")
        assert.strictEqual(stored.url, platform.apiUrl.toString())
        const now = Date.now() / 1000
        assert.approximately(stored.expirationTime, now + 86400 * 0.75, 60)
        const requests = yield* platform.oauth.tokenRequests
        const form = new URLSearchParams(requests.at(-1)!)
        assert.deepStrictEqual([...form.keys()], ["grant_type", "code_verifier", "code", "client_id", "redirect_uri"])
        assert.match(form.get("redirect_uri")!, /^http:\/\/127\.0\.0\.1:5454[0-2]$/)
        assert.strictEqual(form.get("code_verifier")!.length, 43)
      }).pipe(Effect.provide(login))
      const username = yield* Effect.flatMap(Config.Config, (c) => c.username).pipe(Effect.provide(session))
      assert.strictEqual(username, "frank")
    }), { timeout: 60_000 })

  it.scopedLive("a denied authorization is an AuthError and writes nothing", () =>
    Effect.gen(function*() {
      const { platform, login } = yield* setup()
      yield* platform.oauth.approveAs("deny")
      const factory = yield* Effect.provide(Factory.Factory, login)
      const error = yield* Effect.flip(factory.login({ url: platform.apiUrl }))
      assert.strictEqual(error._tag, "AuthError")
      assert.isFalse(yield* factory.isConfigPresent)
    }))

  it.scopedLive("headless login with the code shown by the headless page", () =>
    Effect.gen(function*() {
      const { platform, login, session } = yield* setup()
      const factory = yield* Effect.provide(Factory.Factory, login)
      let shown: URL | undefined
      yield* factory.loginHeadless((url) => {
        shown = url
        return TestBrowser.headlessCode(url)
      }, { url: platform.apiUrl })
      assert.strictEqual(shown!.searchParams.get("redirect_uri"), `${platform.url}/oauth/show-code`)
      const username = yield* Effect.flatMap(Config.Config, (c) => c.username).pipe(Effect.provide(session))
      assert.strictEqual(username, "erin")
    }))

  it.scopedLive("token login, then a second login is refused until logout", () =>
    Effect.gen(function*() {
      const { platform, login, session, dir } = yield* setup()
      const factory = yield* Effect.provide(Factory.Factory, login)
      yield* factory.loginWithToken(platform.token("frank"), { url: platform.apiUrl })
      const stored = yield* Effect.flatMap(ConfigStore.ConfigStore, (s) => s.load).pipe(Effect.provide(login))
      assert.strictEqual(Redacted.value(stored.refreshToken), "")
      assert.approximately(stored.expirationTime, Date.now() / 1000 + 94_608_000 * 0.75, 60)
      const again = yield* Effect.flip(factory.loginWithToken(platform.token("frank"), { url: platform.apiUrl }))
      assert.strictEqual(again._tag, "ConfigError")
      assert.include(again.message, dir)
      const username = yield* Effect.flatMap(Config.Config, (c) => c.username).pipe(Effect.provide(session))
      assert.strictEqual(username, "frank")
      yield* factory.logout()
      assert.isFalse(yield* factory.isConfigPresent)
      const missing = yield* Effect.flip(Effect.provide(Config.Config, session))
      assert.strictEqual(missing._tag, "ConfigError")
    }))

  it.scopedLive("a rejected token writes nothing", () =>
    Effect.gen(function*() {
      const { platform, login } = yield* setup()
      const factory = yield* Effect.provide(Factory.Factory, login)
      const error = yield* Effect.flip(factory.loginWithToken(Redacted.make("bad.token.here"), { url: platform.apiUrl }))
      assert.strictEqual(error._tag, "AuthError")
      assert.isFalse(yield* factory.isConfigPresent)
    }))

  it.scopedLive("passed-config login switches to the passed cluster", () =>
    Effect.gen(function*() {
      const { platform, login, session } = yield* setup({
        clusters: [{ name: "first", orgs: [null] }, { name: "second", orgs: ["acme"] }]
      })
      const factory = yield* Effect.provide(Factory.Factory, login)
      const payload = { token: Redacted.value(platform.token("erin")), cluster: "second", org_name: "acme", url: platform.apiUrl.toString() }
      yield* factory.loginWithPassedConfig(Redacted.make(Buffer.from(JSON.stringify(payload)).toString("base64")))
      const [cluster, org] = yield* Effect.flatMap(Config.Config, (c) => Effect.all([c.clusterName, c.orgName])).pipe(
        Effect.provide(session)
      )
      assert.strictEqual(cluster, "second")
      assert.strictEqual(org, "acme")
      yield* factory.logout()
      const malformed = yield* Effect.flip(factory.loginWithPassedConfig(Redacted.make("%%%not base64")))
      assert.strictEqual(malformed._tag, "ConfigError")
      assert.notInclude(malformed.message, "%%%")
    }))

  it.scopedLive("an expired token is refreshed once under 20 concurrent calls, and persisted", () =>
    Effect.gen(function*() {
      const { platform, login, session } = yield* setup()
      yield* platform.oauth.setTokenTtl(1)
      const factory = yield* Effect.provide(Factory.Factory, login)
      yield* factory.login({ url: platform.apiUrl })
      yield* platform.oauth.setTokenTtl(3600)
      const before = yield* platform.oauth.refreshCount
      const tokens = yield* Effect.gen(function*() {
        const auth = yield* AuthToken.AuthToken
        return yield* Effect.all(Array.from({ length: 20 }, () => auth.token), { concurrency: "unbounded" })
      }).pipe(Effect.provide(session))
      assert.strictEqual((yield* platform.oauth.refreshCount) - before, 1)
      assert.strictEqual(new Set(tokens.map(Redacted.value)).size, 1)
      const stored = yield* Effect.flatMap(ConfigStore.ConfigStore, (s) => s.load).pipe(Effect.provide(login))
      assert.strictEqual(Redacted.value(stored.token), Redacted.value(tokens[0]!))
      assert.approximately(stored.expirationTime, Date.now() / 1000 + 3600 * 0.75, 60)
      const http = yield* Effect.provide(HttpClient.HttpClient, login)
      const answer = yield* http.get(`${platform.apiUrl}/config`, { headers: { authorization: `Bearer ${Redacted.value(tokens[0]!)}` } })
      assert.include(yield* answer.text, `"authorized":true`)
    }), { timeout: 60_000 })

  it.scopedLive("a refresh the server refuses is an AuthError asking to log in again", () =>
    Effect.gen(function*() {
      const { platform, login, session } = yield* setup()
      yield* platform.oauth.setTokenTtl(1)
      const factory = yield* Effect.provide(Factory.Factory, login)
      yield* factory.login({ url: platform.apiUrl })
      yield* platform.faults.failNext(403, { path: "/oauth/token" })
      const error = yield* Effect.flip(Effect.flatMap(AuthToken.AuthToken, (a) => a.token).pipe(Effect.provide(session)))
      assert.strictEqual(error._tag, "AuthError")
      assert.include(error.message.toLowerCase(), "log in again")
    }))
})
