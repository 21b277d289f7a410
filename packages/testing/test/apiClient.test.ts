import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { ApiClient, ServerConfig } from "@neuro-sdk/core"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const RawConfig = Schema.Struct({ authorized: Schema.Boolean, clusters: Schema.Array(Schema.Struct({ name: Schema.String })) })

const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Wait (in real time) until the platform has received `n` requests matching `path`. */
const waitForRequests = (platform: LocalPlatform.LocalPlatform, path: string, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const count = (yield* platform.requests).filter((r) => r.path === path).length
      if (count >= n) return count
      yield* realSleep(5)
    }
    return yield* Effect.dieMessage(`timed out waiting for ${n} requests to ${path}`)
  })

const countRequests = (platform: LocalPlatform.LocalPlatform, path: string) =>
  Effect.map(platform.requests, (rs) => rs.filter((r) => r.path === path).length)

for (const transport of ["socket", "in-process"] as const) {
  describe(`ApiClient over ${transport}`, () => {
    layer(
      NeuroTest.layerApiClient({
        transport,
        users: ["alice", "bob"],
        apiClient: { retry: { times: 3, baseDelay: "1 second", factor: 2, jitter: false } }
      })
    )((it) => {
      it.effect("reads the server config with the token and sends neuro-sdk's headers", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const config = yield* api.json(HttpClientRequest.get(api.api("config")), RawConfig)
          assert.isTrue(config.authorized)
          assert.deepStrictEqual(config.clusters.map((c) => c.name), ["default"])
          const sent = (yield* platform.requests).filter((r) => r.path === "/api/v1/config").at(-1)!
          assert.match(sent.headers["user-agent"]!, /^NeuroCLI\/23\.2\.0 \(linux\)/)
          assert.match(sent.headers["b3"]!, /^[0-9a-f]{32}-[0-9a-f]{16}$/, sent.headers["b3"])
          assert.match(sent.headers["sentry-trace"]!, /^[0-9a-f]{32}-[0-9a-f]{16}-$/)
          assert.strictEqual(sent.headers["authorization"], "Bearer <redacted>", "sent, and not kept by the emulator")
        }))

      it.effect("decodes /config into Cluster and Preset models", () =>
        Effect.gen(function*() {
          const platform = yield* LocalPlatform.LocalPlatformTag
          const config = yield* ServerConfig.fetch(platform.apiUrl, { token: platform.token("bob") })
          const cluster = config.clusters[0]!
          assert.strictEqual(cluster.name, "default")
          assert.deepStrictEqual(cluster.orgs, [null])
          assert.strictEqual(cluster.storageUrl, `${platform.url}/api/v1/clusters/default/storage`)
          const gpu = cluster.presets.get("gpu-small")!
          assert.strictEqual(gpu.gpu, 1)
          assert.strictEqual(gpu.gpuModel, "nvidia-tesla-t4")
          assert.strictEqual(BigDecimal.format(gpu.creditsPerHour), "10")
          assert.strictEqual(cluster.presets.get("cpu-small")!.memoryMb, 2048)
          const anonymous = yield* ServerConfig.fetch(platform.apiUrl)
          assert.isFalse(anonymous.authorized)
          assert.strictEqual(anonymous.clusters.length, 0)
          assert.strictEqual(anonymous.auth.tokenUrl, `${platform.url}/oauth/token`)
        }))

      it.effect("/config with a bad token is an AuthError (the server answers authorized: false)", () =>
        Effect.gen(function*() {
          const platform = yield* LocalPlatform.LocalPlatformTag
          const error = yield* Effect.flip(ServerConfig.fetch(platform.apiUrl, { token: Redacted.make("not-a-jwt") }))
          assert.strictEqual(error._tag, "AuthError")
        }))

      it.effect("retries an idempotent request after two 502s, backing off on the TestClock", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const path = "/api/v1/config"
          const before = yield* countRequests(platform, path)
          yield* platform.faults.failNext(502, { path, times: 2 })
          const fiber = yield* Effect.fork(api.json(HttpClientRequest.get(api.api("config")), RawConfig))
          yield* waitForRequests(platform, path, before + 1)
          yield* TestClock.adjust("999 millis")
          yield* realSleep(50)
          assert.strictEqual(yield* countRequests(platform, path), before + 1, "no retry before the first delay")
          yield* TestClock.adjust("1 millis")
          yield* waitForRequests(platform, path, before + 2)
          yield* TestClock.adjust("1999 millis")
          yield* realSleep(50)
          assert.strictEqual(yield* countRequests(platform, path), before + 2, "second delay doubles")
          yield* TestClock.adjust("1 millis")
          const config = yield* Fiber.join(fiber)
          assert.isTrue(config.authorized)
          assert.strictEqual(yield* countRequests(platform, path), before + 3)
        }))

      it.effect("bounds the attempts and then fails with the mapped error", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const path = "/api/v1/config"
          const before = yield* countRequests(platform, path)
          yield* platform.faults.failNext(503, { path, times: 10 })
          const fiber = yield* Effect.fork(Effect.flip(api.discard(HttpClientRequest.get(api.api("config")))))
          while (Option.isNone(yield* Fiber.poll(fiber))) {
            yield* TestClock.adjust("10 seconds")
            yield* realSleep(5)
          }
          const error = yield* Fiber.join(fiber)
          assert.strictEqual(error._tag, "IllegalArgumentError")
          assert.strictEqual(yield* countRequests(platform, path), before + 4, "1 attempt + 3 retries")
          yield* platform.faults.clear
        }))

      it.effect("honours Retry-After on 429", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const path = "/api/v1/config"
          const before = yield* countRequests(platform, path)
          yield* platform.faults.failNext(429, { path, retryAfter: "7" })
          const fiber = yield* Effect.fork(api.discard(HttpClientRequest.get(api.api("config"))))
          yield* waitForRequests(platform, path, before + 1)
          yield* TestClock.adjust("6 seconds")
          yield* realSleep(50)
          assert.strictEqual(yield* countRequests(platform, path), before + 1, "waits the announced 7 s, not the 1 s backoff")
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(fiber)
          assert.strictEqual(yield* countRequests(platform, path), before + 2)
        }))

      it.effect("retries a dropped connection", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const path = "/api/v1/config"
          const before = yield* countRequests(platform, path)
          yield* platform.faults.dropNext({ path })
          const fiber = yield* Effect.fork(api.json(HttpClientRequest.get(api.api("config")), RawConfig))
          yield* waitForRequests(platform, path, before + 1)
          yield* TestClock.adjust("1 second")
          const config = yield* Fiber.join(fiber)
          assert.isTrue(config.authorized)
        }))

      it.effect("never repeats a POST", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const platform = yield* LocalPlatform.LocalPlatformTag
          const path = "/api/v1/config"
          const before = yield* countRequests(platform, path)
          yield* platform.faults.failNext(502, { path, method: "POST" })
          const error = yield* Effect.flip(api.discard(HttpClientRequest.post(api.api("config"))))
          assert.strictEqual(error._tag, "ServerNotAvailable")
          assert.strictEqual(yield* countRequests(platform, path), before + 1)
          yield* platform.faults.dropNext({ path, method: "POST" })
          const dropped = yield* Effect.flip(api.discard(HttpClientRequest.post(api.api("config"))))
          assert.strictEqual(dropped._tag, "NetworkError")
          assert.strictEqual(yield* countRequests(platform, path), before + 2)
        }))

      it.effect("maps an unknown path to ResourceNotFound and an unauthenticated call to AuthenticationError", () =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const missing = yield* Effect.flip(api.discard(HttpClientRequest.get(api.api("no-such-thing"))))
          assert.strictEqual(missing._tag, "ResourceNotFound")
          assert.strictEqual(missing.message, `Not found: 404: Not Found (404 GET ${api.api("no-such-thing").toString()})`)
        }))
    })
  })
}

describe("LocalPlatform latency injection", () => {
  it.scopedLive("addLatency takes any Duration input", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["alice"] })
      const timed = Effect.promise(async () => {
        const started = performance.now()
        await (await fetch(`${platform.apiUrl}/config`)).text()
        return performance.now() - started
      })
      for (const delay of [Duration.millis(300), "300 millis", 300, "0.3 seconds"] as const) {
        yield* platform.faults.addLatency(delay, { path: "/api/v1/config", times: 1 })
        assert.isAtLeast(yield* timed, 290, String(delay))
      }
      assert.isBelow(yield* timed, 290, "only `times` requests are delayed")
    }))
})
