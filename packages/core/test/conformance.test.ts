/**
 * Issue 15 (conformance residue): items of the neuro-sdk 23.2 API and its documentation checked
 * on the wire with fake transports. The same items over LocalPlatform are in
 * packages/testing/test/conformance.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Decimal, Image, Jobs, Secrets, ServerConfig, ServiceAccounts } from "@neuro-sdk/core"
import * as BigDecimal from "effect/BigDecimal"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ConfigData } from "../src/ConfigData.js"
import { formatDecimal, parseDecimal } from "../src/internal/decimal.js"
import { compareCodePoints, switchCluster, switchOrg } from "../src/internal/configState.js"
import { decodeJob } from "../src/internal/jobsDecode.js"
import { AuthConfig, Cluster } from "../src/ServerConfig.js"
import { fullJob, layer, makeHarness, minimalJob } from "./jobsFixtures.js"
import { clusters as fixtureClusters, fakePlatform, json } from "./usersFixtures.js"

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("RemoteImage.withTag", () => {
  it("a new reference with that tag; the original is unchanged", () => {
    const image = Image.RemoteImage.newNeuroImage("ubuntu", "registry.example.org", {
      owner: "bob",
      clusterName: "c1",
      orgName: "acme",
      tag: "v1"
    })
    const tagged = image.withTag("v2")
    assert.strictEqual(tagged.toString(), "image://c1/acme/bob/ubuntu:v2")
    assert.strictEqual(tagged.asDockerUrl(), "registry.example.org/acme/bob/ubuntu:v2")
    assert.strictEqual(image.tag, "v1")
    assert.instanceOf(tagged, Image.RemoteImage)
    const external = Image.RemoteImage.newExternalImage("library/alpine").withTag("3.18")
    assert.strictEqual(external.toString(), "library/alpine:3.18")
    assert.isUndefined(external.owner)
  })
})

const account = {
  id: "service-account-1",
  owner: "alice",
  name: "ci",
  role: "alice/service-accounts/ci",
  default_cluster: "c1",
  created_at: "2023-02-14T09:31:07.412938+00:00"
}

describe("ServiceAccount.roleDeleted", () => {
  it.effect("read from role_deleted; absent or null reads false", () => {
    const answers = [json([{ ...account, role_deleted: true }, { ...account, role_deleted: false }, account, { ...account, role_deleted: null }])]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const accounts = yield* ServiceAccounts.ServiceAccounts
      const listed = yield* collect(accounts.list())
      assert.deepStrictEqual(listed.map((a) => a.roleDeleted), [true, false, false, false])
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a role_deleted that is not a boolean is a MalformedResponse", () => {
    const p = fakePlatform(() => json({ ...account, role_deleted: "yes" }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* ServiceAccounts.ServiceAccounts).get("ci"))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "role_deleted")
    }).pipe(Effect.provide(p.layer))
  })
})

describe("JobDescription.sshServer", () => {
  it.effect("read from ssh_server when the API sends it", () =>
    Effect.gen(function*() {
      const job = yield* decodeJob({ ...minimalJob(), ssh_server: "ssh://nobody@ssh-auth.example.org:22" })
      assert.strictEqual(job.sshServer?.href, "ssh://nobody@ssh-auth.example.org:22")
      assert.strictEqual((yield* decodeJob(fullJob())).sshServer?.href, "ssh://nobody@ssh-auth.example.org:22")
    }))

  it.effect("absent, null or empty: no URL; not a URL: MalformedResponse", () =>
    Effect.gen(function*() {
      for (const value of [undefined, null, ""]) {
        const job = yield* decodeJob({ ...minimalJob(), ssh_server: value })
        assert.isUndefined(job.sshServer)
      }
      const error = yield* Effect.flip(decodeJob({ ...minimalJob(), ssh_server: "::" }))
      assert.include(error.message, "ssh_server")
    }))
})

describe("Secrets.list({ orgName })", () => {
  const secrets = [
    { key: "a", owner: "alice", org_name: null },
    { key: "b", owner: "alice", org_name: "acme" },
    { key: "c", owner: "alice" }
  ]

  it.effect("sends org_name (NO_ORG for none) and keeps only that org's secrets", () => {
    const p = fakePlatform(() => json(secrets))
    return Effect.gen(function*() {
      const service = yield* Secrets.Secrets
      const all = yield* collect(service.list())
      const acme = yield* collect(service.list({ orgName: "acme" }))
      const none = yield* collect(service.list({ orgName: null }))
      assert.deepStrictEqual(all.map((s) => s.key), ["a", "b", "c"])
      assert.deepStrictEqual(acme.map((s) => s.key), ["b"])
      assert.deepStrictEqual(none.map((s) => s.key), ["a", "c"])
      assert.strictEqual(p.requests[0]!.url.search, "")
      assert.strictEqual(p.requests[1]!.url.searchParams.get("org_name"), "acme")
      assert.strictEqual(p.requests[2]!.url.searchParams.get("org_name"), "NO_ORG")
    }).pipe(Effect.provide(p.layer))
  })
})

describe("Jobs", () => {
  it.scoped("exec sends a blank command to the server, as neuro-sdk does", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      yield* jobs.exec("job-id", "  ")
      assert.strictEqual(harness.dialed.length, 1)
      assert.strictEqual(harness.dialed[0]!.url.searchParams.get("cmd"), "  ")
    }).pipe(Effect.provide(layer(harness)))
  })
})

describe("switching cluster and org (neuro-sdk's rules)", () => {
  const auth = new AuthConfig({
    authUrl: "https://auth.example.org/authorize",
    tokenUrl: "https://auth.example.org/token",
    logoutUrl: "https://auth.example.org/logout",
    clientId: "client",
    audience: "https://api.example.org",
    headlessCallbackUrl: "https://api.example.org/oauth/show-code",
    callbackUrls: []
  })
  const [c1, c2] = fixtureClusters
  const data = (orgs: Record<string, ReadonlyArray<string | null>>, orgName: string | null) =>
    new ConfigData({
      authConfig: auth,
      token: Redacted.make("t"),
      expirationTime: 0,
      refreshToken: Redacted.make(""),
      url: "https://api.example.org/api/v1",
      version: "23.2.0",
      clusterName: "c1",
      orgName,
      clusters: [c1!, c2!].map((c) => new Cluster({ ...c, orgs: orgs[c.name] ?? [null] }))
    })

  it("the fallback org is the first in Python's sort (code points), not the locale's", () => {
    const switched = switchCluster(data({ c1: [null], c2: ["b", "a", "B", "Z"] }, null), "c2")
    assert.strictEqual(Either.getOrThrow(switched).orgName, "B")
    // a character above the surrogates sorts after an astral one in UTF-16 units, before it in code points
    assert.isBelow(compareCodePoints("\uff5e", "\u{1f600}"), 0)
    assert.isAbove(compareCodePoints("ab", "a"), 0)
    assert.strictEqual(compareCodePoints("a\u{1f600}", "a\u{1f600}"), 0)
    assert.deepStrictEqual(["\u{1f600}", "\uff5e", "Z", "a", ""].sort(compareCodePoints), ["", "Z", "a", "\uff5e", "\u{1f600}"])
  })

  it("the org kept on a cluster switch is the given current one (the .neuro.toml pin)", () => {
    const state = data({ c1: [null, "acme"], c2: [null, "acme"] }, null)
    assert.strictEqual(Either.getOrThrow(switchCluster(state, "c2", "acme")).orgName, "acme")
    assert.isNull(Either.getOrThrow(switchCluster(state, "c2")).orgName)
  })

  it("an org switch checks the orgs of the given current cluster (the .neuro.toml pin)", () => {
    const state = data({ c1: [null], c2: [null, "acme"] }, null)
    assert.isTrue(Either.isLeft(switchOrg(state, "acme")))
    assert.strictEqual(Either.getOrThrow(switchOrg(state, "acme", "c2")).orgName, "acme")
  })
})

describe("prices are decimals (item 4)", () => {
  it("BigDecimal keeps every digit; written back as Python's str(Decimal)", () => {
    for (const text of ["1.50", "105000.00000000000123", "0", "1E+2", "1.23E+7", "-1.2E+3", "0.000001", "1E-7", "0E-7", "100"]) {
      const d = parseDecimal(text)
      assert.isDefined(d, text)
      assert.strictEqual(formatDecimal(d!), text)
    }
    assert.strictEqual(formatDecimal(parseDecimal(" 1.5 ")!), "1.5")
    assert.strictEqual(formatDecimal(parseDecimal(0.1)!), "0.1")
    for (const bad of ["NaN", "Infinity", "1,5", "", "0x10", "1_000"]) assert.isUndefined(parseDecimal(bad), bad)
    assert.isUndefined(parseDecimal(Number.NaN))
  })

  it("Decimal.parse, format and toFixed print as Python does", () => {
    const d = (text: string) => Option.getOrThrow(Decimal.parse(text))
    assert.strictEqual(Decimal.format(d("1.50")), "1.50")
    assert.strictEqual(Decimal.format(d("123e5")), "1.23E+7")
    assert.isTrue(Option.isNone(Decimal.parse("NaN")))
    // Python: format(Decimal(text), f".{places}f")
    const fixed: ReadonlyArray<readonly [string, number, string]> = [
      ["2.00005", 4, "2.0000"],
      ["2.00015", 4, "2.0002"],
      ["10.01", 4, "10.0100"],
      ["1E+2", 4, "100.0000"],
      ["0.5", 0, "0"],
      ["1.5", 0, "2"],
      ["2.5", 0, "2"],
      ["-1.23456", 2, "-1.23"],
      ["123456789.123456789", 4, "123456789.1235"],
      ["0", 4, "0.0000"]
    ]
    for (const [text, places, expected] of fixed) assert.strictEqual(Decimal.toFixed(d(text), places), expected, `${text} ${places}`)
  })

  it.effect("Preset.creditsPerHour from /config (text or number) and the config database", () =>
    Effect.gen(function*() {
      const wire = { name: "p", cpu: 1, memory: 2 ** 30, credits_per_hour: "1.50" }
      const preset = yield* Schema.decodeUnknown(ServerConfig.PresetFromServer)(wire)
      assert.isTrue(BigDecimal.equals(preset.creditsPerHour, BigDecimal.unsafeFromString("1.5")))
      assert.strictEqual(formatDecimal(preset.creditsPerHour), "1.50")
      const fromNumber = yield* Schema.decodeUnknown(ServerConfig.PresetFromServer)({ ...wire, credits_per_hour: 2 })
      assert.strictEqual(BigDecimal.format(fromNumber.creditsPerHour), "2")
      const absent = yield* Schema.decodeUnknown(ServerConfig.PresetFromServer)({ name: "p", cpu: 1, memory: 1 })
      assert.isTrue(BigDecimal.isZero(absent.creditsPerHour))
      // the database keeps Python's text
      const stored = Schema.encodeSync(ServerConfig.PresetFromStore)(preset)
      assert.strictEqual(stored.credits_per_hour, "1.50")
      const bad = yield* Effect.flip(Schema.decodeUnknown(ServerConfig.PresetFromServer)({ ...wire, credits_per_hour: "lots" }))
      assert.include(String(bad), "credits_per_hour")
    }))

  it.effect("JobDescription prices", () =>
    Effect.gen(function*() {
      const job = yield* decodeJob({ ...minimalJob(), total_price_credits: "10.010", price_credits_per_hour: 0.5 })
      assert.strictEqual(formatDecimal(job.totalPriceCredits), "10.010")
      assert.isTrue(BigDecimal.equals(job.priceCreditsPerHour, BigDecimal.unsafeFromString("0.5")))
      assert.strictEqual((yield* Effect.flip(decodeJob({ ...minimalJob(), total_price_credits: "NaN" })))._tag, "MalformedResponse")
    }))
})

describe("Cluster.presets is a map by name (item 3)", () => {
  it.effect("in server order, keyed by name, through /config and the config database", () =>
    Effect.gen(function*() {
      const preset = (name: string) => ({ name, cpu: 1, memory: 2 ** 30, credits_per_hour: "1" })
      const wire = {
        name: "c",
        registry_url: "https://registry.example.org",
        storage_url: "https://api.example.org/storage",
        users_url: "https://api.example.org/users",
        monitoring_url: "https://api.example.org/jobs",
        secrets_url: "https://api.example.org/secrets",
        disks_url: "https://api.example.org/disk",
        buckets_url: "https://api.example.org/buckets",
        resource_presets: [preset("z-last-name"), preset("a-first-name")]
      }
      const cluster = yield* Schema.decodeUnknown(ServerConfig.ClusterFromServer)(wire)
      assert.deepStrictEqual([...cluster.presets.keys()], ["z-last-name", "a-first-name"])
      assert.strictEqual(cluster.presets.get("a-first-name")?.name, "a-first-name")
      const stored = Schema.encodeSync(ServerConfig.ClusterFromStore)(cluster)
      assert.deepStrictEqual(stored.presets?.map((p) => p.name), ["z-last-name", "a-first-name"])
      const back = Schema.decodeSync(ServerConfig.ClusterFromStore)(stored)
      assert.deepStrictEqual([...back.presets.keys()], ["z-last-name", "a-first-name"])
      // URL fields keep the server's text (a WHATWG URL would add a "/")
      assert.strictEqual(back.registryUrl, "https://registry.example.org")
    }))
})
