/**
 * Quickstart: boot an embedded LocalPlatform on a loopback port, log in with a token, and read
 * the server configuration through the SDK.
 *
 *   npm ci && npm run quickstart
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { ApiClient, AuthToken, Endpoints, ServerConfig, Storage } from "@neuro-sdk/core"
import { NodeHttp } from "@neuro-sdk/node"
import { LocalPlatform, NeuroTest } from "@neuro-sdk/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

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


// ---------------------------------------------------------------------------------------------
// Storage: upload a small folder, list it, download it back and check it is identical.
// (A logged-in client over a socket from NeuroTest; its own LocalPlatform.)
// ---------------------------------------------------------------------------------------------
const storageDemo = Effect.gen(function*() {
  const storage = yield* Storage.Storage
  const work = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "neuro-quickstart-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const src = join(work, "project")
  mkdirSync(join(src, "data"), { recursive: true })
  writeFileSync(join(src, "README.md"), "# my project\n")
  writeFileSync(join(src, "data", "numbers.csv"), Array.from({ length: 1000 }, (_, i) => `${i},${i * i}`).join("\n"))
  yield* storage.uploadDir(src, "storage:quickstart")
  for (const entry of yield* Stream.runCollect(storage.list("storage:quickstart"))) {
    yield* Console.log(`storage: ${entry.uri.href} ${entry.type} ${entry.size} B`)
  }
  const back = join(work, "downloaded")
  yield* storage.downloadDir("storage:quickstart", back)
  const same = ["README.md", "data/numbers.csv"].every((f) => readFileSync(join(src, f)).equals(readFileSync(join(back, f))))
  yield* Console.log(same ? "download identical to the upload" : "download differs from the upload!")
  if (!same) return yield* Effect.dieMessage("storage round trip differs")
}).pipe(Effect.scoped, Effect.provide(NeuroTest.layer({ transport: "socket", users: ["alice"] })))

NodeRuntime.runMain(Effect.zipRight(program, storageDemo))
