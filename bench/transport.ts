/**
 * Transport benchmark: authenticated JSON requests per second through `ApiClient` against a
 * LocalPlatform on loopback (sequential and 16 at a time), and peak RSS.
 *
 *   npm run bench -- transport
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { ApiClient } from "@neuro-sdk/core"
import { NeuroTest } from "@neuro-sdk/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Config = Schema.Struct({ authorized: Schema.Boolean })
const N = 3000

const measure = (label: string, concurrency: number) =>
  Effect.gen(function*() {
    const api = yield* ApiClient.ApiClient
    const one = api.json(HttpClientRequest.get(api.api("config")), Config)
    yield* Effect.forEach(Array.from({ length: 200 }), () => one, { concurrency, discard: true })
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: N }), () => one, { concurrency, discard: true })
    const seconds = (performance.now() - start) / 1000
    yield* Console.log(`${label.padEnd(24)} ${(N / seconds).toFixed(0).padStart(7)} req/s  (${N} requests in ${seconds.toFixed(2)} s)`)
  })

const program = Effect.gen(function*() {
  yield* measure("GET /config sequential", 1)
  yield* measure("GET /config 16 at once", 16)
  yield* Console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
}).pipe(Effect.provide(NeuroTest.layerApiClient({ transport: "socket" })))

NodeRuntime.runMain(program)
