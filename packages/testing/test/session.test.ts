import { assert, describe, layer } from "@effect/vitest"
import { Config, ConfigStore } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { NeuroTest } from "../src/index.js"

const clusters = [
  { name: "alpha", orgs: [null, "acme"] },
  { name: "beta", orgs: ["zeta", "omega"] },
  { name: "gamma", orgs: ["acme", null] }
]

describe("session over LocalPlatform with several clusters and orgs", () => {
  layer(NeuroTest.layer({ users: ["dana"], clusters, transport: "in-process" }))((it) => {
    it.effect("knows the user, the clusters and the current cluster and org", () =>
      Effect.gen(function*() {
        const config = yield* Config.Config
        assert.strictEqual(yield* config.username, "dana")
        assert.deepStrictEqual([...(yield* config.clusters).keys()], ["alpha", "beta", "gamma"])
        assert.strictEqual(yield* config.clusterName, "alpha")
        assert.isNull(yield* config.orgName)
        assert.deepStrictEqual(yield* config.clusterOrgs, [null, "acme"])
        assert.match((yield* config.storageUrl).toString(), /\/api\/v1\/clusters\/alpha\/storage$/)
        assert.deepStrictEqual([...(yield* config.presets).keys()], [])
      }))

    it.effect("switchCluster picks the org like neuro-sdk and persists", () =>
      Effect.gen(function*() {
        const config = yield* Config.Config
        const store = yield* ConfigStore.ConfigStore
        yield* config.switchOrg("acme")
        yield* config.switchCluster("gamma")
        assert.strictEqual(yield* config.orgName, "acme", "kept: gamma has acme")
        yield* config.switchCluster("beta")
        assert.strictEqual(yield* config.orgName, "omega", "alphabetically first")
        const saved = yield* store.load
        assert.strictEqual(saved.clusterName, "beta")
        assert.strictEqual(saved.orgName, "omega")
        const unknownOrg = yield* Effect.flip(config.switchOrg(null))
        assert.strictEqual(unknownOrg._tag, "ConfigError")
        assert.include(unknownOrg.message, "NO_ORG")
        const unknown = yield* Effect.flip(config.switchCluster("delta"))
        assert.include(unknown.message, "alpha, beta, gamma")
        yield* config.switchCluster("alpha")
        assert.isNull(yield* config.orgName)
      }))

    it.effect("fetch re-reads the clusters", () =>
      Effect.gen(function*() {
        const config = yield* Config.Config
        yield* config.fetch
        assert.strictEqual((yield* config.clusters).size, 3)
      }))
  })
})
