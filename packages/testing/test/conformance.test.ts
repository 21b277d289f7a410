/**
 * Issue 15 (conformance residue) over LocalPlatform on a real socket: the login options and
 * one-call helpers, `.neuro.toml` pins on switches, glob URIs, blank exec commands, and the items
 * neuro-sdk's documentation names (`Secrets.list({ orgName })`, `ServiceAccount.roleDeleted`,
 * `Parser.uriToPath(uri, { clusterName })`). Wire-level checks are in
 * packages/core/test/conformance.test.ts.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it, layer } from "@effect/vitest"
import { Config, ConfigData, ConfigStore, Factory, Jobs, Parser, Secrets, ServerConfig, ServiceAccounts, Session, Storage, Users } from "@neuro-sdk/core"
import { NeuroNode, NodeConfigStore, NodeHttp, NodeLogin } from "@neuro-sdk/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, MemoryConfigStore, NeuroTest, TestBrowser } from "../src/index.js"

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "neuro-conformance-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("login options (items 1 and 2)", () => {
  /** Login services over a temp config directory, with no `BrowserOpener` at all. */
  const setup = Effect.gen(function*() {
    const platform = yield* LocalPlatform.serve({ users: ["erin"] })
    const dir = join(yield* tempDir, "neuro")
    const base = Layer.mergeAll(NodeConfigStore.layer({ path: dir }), NodeHttp.layer, NodeLogin.layerCallbackServer, NodeContext.layer)
    const factory = yield* Effect.provide(Factory.Factory, Layer.provide(Factory.layer, base))
    return { platform, dir, factory }
  })

  it.scopedLive("login shows the page through showBrowser (no BrowserOpener needed)", () =>
    Effect.gen(function*() {
      const { factory, platform } = yield* setup
      const shown: Array<URL> = []
      yield* factory.login({ url: platform.apiUrl, showBrowser: (url) => Effect.zipRight(Effect.sync(() => shown.push(url)), TestBrowser.open(url)) })
      assert.strictEqual(shown.length, 1)
      assert.strictEqual(shown[0]!.searchParams.get("response_type"), "code")
      assert.isTrue(yield* factory.isConfigPresent)
    }))

  it.scopedLive("without showBrowser and without a BrowserOpener the login is an AuthError", () =>
    Effect.gen(function*() {
      const { factory, platform } = yield* setup
      const error = yield* Effect.flip(factory.login({ url: platform.apiUrl }))
      assert.strictEqual(error._tag, "AuthError")
      assert.include(error.message, "showBrowser")
      assert.isFalse(yield* factory.isConfigPresent)
    }))

  it.scopedLive("an error of showBrowser is the login's error", () =>
    Effect.gen(function*() {
      const { factory, platform } = yield* setup
      const error = yield* Effect.flip(factory.login({ url: platform.apiUrl, showBrowser: () => Effect.fail("no display" as const) }))
      assert.strictEqual(error, "no display")
    }))

  it.scopedLive("codeTimeout bounds the wait for the browser's code", () =>
    Effect.gen(function*() {
      const { factory, platform } = yield* setup
      const error = yield* Effect.flip(factory.login({ url: platform.apiUrl, showBrowser: () => Effect.void, codeTimeout: "200 millis" }))
      assert.strictEqual(error._tag, "AuthError")
      assert.include(error.message, "200ms")
    }))

  it.scopedLive("timeout bounds each request of a login; null waits", () =>
    Effect.gen(function*() {
      const { factory, platform } = yield* setup
      yield* platform.faults.addLatency("1 second", { path: "/api/v1/config", times: 2 })
      const token = platform.token("erin")
      const error = yield* Effect.flip(factory.loginWithToken(token, { url: platform.apiUrl, timeout: "100 millis" }))
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual(error._tag === "NetworkError" ? error.reason : "", "Timeout")
      yield* factory.loginWithToken(token, { url: platform.apiUrl, timeout: null })
      assert.isTrue(yield* factory.isConfigPresent)
    }))

  it.scopedLive("one-call helpers: NeuroNode.login, loginHeadless, loginWithToken and logout", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["erin"] })
      const path = join(yield* tempDir, "neuro")
      const options = { path, url: platform.apiUrl, showBrowser: TestBrowser.open }
      yield* NeuroNode.login(options)
      const store = NodeConfigStore.layer({ path })
      assert.isTrue(yield* Effect.flatMap(ConfigStore.ConfigStore, (s) => s.exists).pipe(Effect.provide(store)))
      const logoutPages: Array<URL> = []
      yield* NeuroNode.logout({ path, showBrowser: (url) => Effect.sync(() => logoutPages.push(url)) })
      assert.strictEqual(logoutPages.length, 1)
      assert.isFalse(yield* Effect.flatMap(ConfigStore.ConfigStore, (s) => s.exists).pipe(Effect.provide(store)))
      yield* NeuroNode.loginHeadless(TestBrowser.headlessCode, { path, url: platform.apiUrl })
      yield* NeuroNode.logout({ path })
      yield* NeuroNode.loginWithToken(platform.token("erin"), { path, url: platform.apiUrl })
      const stored = yield* Effect.flatMap(ConfigStore.ConfigStore, (s) => s.load).pipe(Effect.provide(store))
      assert.strictEqual(stored.url, platform.apiUrl.href)
    }), { timeout: 60_000 })
})

describe("switches respect the .neuro.toml pins (item 5)", () => {
  const clusters = [
    { name: "c1", orgs: [null, "acme"] },
    { name: "c2", orgs: ["acme", "zeta"] },
    { name: "c3", orgs: ["beta", "Zeta"] }
  ]

  /** A session over LocalPlatform whose user config (the `.neuro.toml` `[job]` pins) the test sets. */
  const setup = Effect.gen(function*() {
    const platform = yield* LocalPlatform.serve({ users: ["erin"], clusters })
    const pins = yield* Ref.make<Config.UserConfigData>({})
    const token = platform.token("erin")
    const server = yield* ServerConfig.fetch(platform.apiUrl, { token }).pipe(Effect.provide(NodeHttp.layer))
    const store = MemoryConfigStore.layer(
      new ConfigData.ConfigData({
        authConfig: server.auth,
        token,
        expirationTime: Date.now() / 1000 + 86400,
        refreshToken: Redacted.make(""),
        url: platform.apiUrl.href,
        version: ConfigData.CONFIG_VERSION,
        clusterName: "c1",
        orgName: null,
        clusters: server.clusters
      })
    )
    const infra = Layer.mergeAll(store, NodeHttp.layer)
    const factory = Factory.layer.pipe(Layer.provide(Layer.merge(infra, NodeLogin.layerCallbackServer)))
    const session = Session.layerWith(Ref.get(pins)).pipe(Layer.provide(Layer.merge(infra, factory)))
    const context = yield* Layer.build(Layer.merge(session, store))
    return { pins, config: Effect.provide(Config.Config, context), store: Effect.provide(ConfigStore.ConfigStore, context) }
  })

  it.scopedLive("a pinned org is the one kept by a cluster switch; a pinned cluster is the one an org switch checks", () =>
    Effect.gen(function*() {
      const { config, pins, store } = yield* setup
      const c = yield* config
      // pinned org acme (the stored one is none): switching to c2 keeps acme, as neuro-sdk's `org_name`
      yield* Ref.set(pins, { job: { "org-name": "acme" } })
      yield* c.switchCluster("c2")
      assert.strictEqual((yield* (yield* store).load).orgName, "acme")
      // pinned cluster c1 (stored: c2, whose orgs lack none): switching to no org checks c1's orgs
      yield* Ref.set(pins, { job: { "cluster-name": "c1" } })
      yield* c.switchOrg(null)
      assert.isNull((yield* (yield* store).load).orgName)
      // and an org only c2 has is refused, naming c1
      const error = yield* Effect.flip(c.switchOrg("zeta"))
      assert.include(error.message, "'c1'")
      // pins refuse the switch they pin
      assert.include((yield* Effect.flip(c.switchCluster("c3"))).message, ".neuro.toml")
      yield* Ref.set(pins, { job: { "org-name": "NO_ORG" } })
      assert.include((yield* Effect.flip(c.switchOrg("acme"))).message, ".neuro.toml")
    }))

  it.scopedLive("the fallback org is the first in Python's sort order", () =>
    Effect.gen(function*() {
      const { config, store } = yield* setup
      yield* (yield* config).switchCluster("c3")
      // code points: "Zeta" < "beta" (a locale sort puts "beta" first)
      assert.strictEqual((yield* (yield* store).load).orgName, "Zeta")
    }))
})

describe("over LocalPlatform", () => {
  const clusters = [{ name: "default", orgs: [null, "acme"] }]
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], clusters }), { excludeTestServices: true })((it) => {
    it.effect("Secrets.list({ orgName }) lists one org's secrets (item: Secrets.list org)", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("in-acme", Redacted.make("1"), { orgName: "acme" })
        yield* secrets.add("no-org", Redacted.make("2"), { orgName: null })
        const keys = (orgName?: string | null) =>
          Effect.map(collect(secrets.list(orgName === undefined ? {} : { orgName })), (s) => s.map((x) => x.key).sort())
        assert.deepStrictEqual(yield* keys(), ["in-acme", "no-org"])
        assert.deepStrictEqual(yield* keys("acme"), ["in-acme"])
        assert.deepStrictEqual(yield* keys(null), ["no-org"])
        const platform = yield* LocalPlatform.LocalPlatformTag
        const lists = (yield* platform.requests).filter((r) => r.method === "GET" && r.path.endsWith("/secrets"))
        assert.deepStrictEqual(lists.slice(-3).map((r) => r.query), ["", "?org_name=acme", "?org_name=NO_ORG"])
      }))

    it.effect("ServiceAccount.roleDeleted follows the platform's role_deleted", () =>
      Effect.gen(function*() {
        const accounts = yield* ServiceAccounts.ServiceAccounts
        const { account } = yield* accounts.create({ name: "bot" })
        assert.isFalse(account.roleDeleted)
        // the role is removed behind the account's back (neuro-sdk `users.remove`, DELETE {api}/users/{role})
        yield* (yield* Users.Users).remove(account.role)
        assert.isTrue((yield* accounts.get("bot")).roleDeleted)
        assert.deepStrictEqual((yield* collect(accounts.list())).map((a) => a.roleDeleted), [true])
        yield* accounts.rm("bot")
      }))

    it.effect("glob result URIs are encoded like list's (item 6)", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const name = "a:b@c+d=e&f$g,h;i j.txt"
        yield* storage.mkdir("storage:globenc", { parents: true })
        yield* storage.create(`storage:globenc/${encodeURIComponent(name)}`, Stream.make(new Uint8Array([1])))
        const listed = (yield* collect(storage.list("storage:globenc"))).map((f) => f.uri.href)
        // glob keeps the form of its pattern (neuro-sdk yields `parent / name`); a full URI, then
        const globbed = (yield* collect(storage.glob("storage://default/alice/globenc/*"))).map((u) => u.href)
        assert.deepStrictEqual(globbed, listed)
        assert.include(globbed[0]!, "a:b@c+d=e&f$g,h;i%20j.txt")
        const recursive = (yield* collect(storage.glob("storage://default/alice/globenc/**"))).map((u) => u.href)
        assert.include(recursive, listed[0]!)
      }))

    it.scoped("a blank exec command is sent to the platform, which refuses it (item 7)", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.exec("job-1", ""))
        assert.strictEqual(error._tag, "IllegalArgumentError")
        assert.include(error.message, "Command is required")
        const platform = yield* LocalPlatform.LocalPlatformTag
        const exec = (yield* platform.requests).filter((r) => r.path.endsWith("/exec")).at(-1)
        assert.isDefined(exec)
        assert.include(exec!.query, "cmd=&")
      }))

    it.effect("Parser.uriToPath takes neuro-sdk's documented clusterName", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        assert.strictEqual(yield* parser.uriToPath("file:///data/x%20y", { clusterName: "default" }), "/data/x y")
        const error = yield* Effect.flip(parser.uriToPath("storage://default/alice/x", { clusterName: "default" }))
        assert.strictEqual(error._tag, "InvalidInputError")
      }))
  })
})
