/**
 * Quickstart: boot an embedded LocalPlatform on a loopback port, log in with a token, and read
 * the server configuration through the SDK.
 *
 *   npm ci && npm run quickstart
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { ApiClient, AuthToken, Endpoints, ServerConfig } from "@neuro-sdk/core"
import { NodeHttp } from "@neuro-sdk/node"
import { LocalPlatform } from "@neuro-sdk/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const program = Effect.gen(function*() {
  const platform = yield* LocalPlatform.serve({ users: ["alice"] })
  yield* Console.log(`LocalPlatform listening at ${platform.apiUrl}`)

  const token = platform.token("alice")
  const config = yield* ServerConfig.fetch(platform.apiUrl, { token })
  const layer = ApiClient.layer().pipe(
    Layer.provide(AuthToken.layerStatic(token)),
    Layer.provide(Endpoints.layer({ apiUrl: platform.apiUrl, clusters: config.clusters }))
  )

  yield* Effect.gen(function*() {
    const api = yield* ApiClient.ApiClient
    const me = yield* api.json(HttpClientRequest.get(api.api("config")), Schema.Struct({ authorized: Schema.Boolean }))
    yield* Console.log(`authorized: ${me.authorized}`)
  }).pipe(Effect.provide(layer))

  for (const cluster of config.clusters) {
    yield* Console.log(`cluster ${cluster.name} (orgs: ${cluster.orgs.map((o) => o ?? "<no org>").join(", ")})`)
    yield* Console.log(`  storage:    ${cluster.storageUrl}`)
    yield* Console.log(`  monitoring: ${cluster.monitoringUrl}`)
    for (const preset of cluster.presets) {
      const gpu = preset.gpu === undefined ? "" : `, ${preset.gpu} x ${preset.gpuModel ?? "gpu"}`
      yield* Console.log(
        `  preset ${preset.name.padEnd(12)} cpu ${preset.cpu}, memory ${preset.memoryMb} MiB${gpu}, ${preset.creditsPerHour} credits/h`
      )
    }
  }
}).pipe(Effect.scoped, Effect.provide(NodeHttp.layer))

NodeRuntime.runMain(program)
