/**
 * Quickstart: boot an embedded LocalPlatform on a loopback port, log in with a token into a fresh
 * config directory (the same database the Python CLI uses), then use the SDK over that login:
 * configuration, storage round trip.
 *
 *   npm ci && npm run quickstart
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Factory, Jobs, Storage } from "@neuro-sdk/core"
import { NeuroNode } from "@neuro-sdk/node"
import { LocalPlatform } from "@neuro-sdk/testing"
import * as BigDecimal from "effect/BigDecimal"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Log in to the platform at `apiUrl` with a token, in a fresh config directory — what
 * `neuro login-with-token` does; the Python CLI could use this directory as it is.
 */
const login = (apiUrl: URL, token: Redacted.Redacted<string>, configDir: string) =>
  Effect.flatMap(Factory.Factory, (factory) => factory.loginWithToken(token, { url: apiUrl })).pipe(
    Effect.provide(NeuroNode.layerFactory({ path: configDir }))
  )

/** What a user program looks like: services from the layer, nothing else. */
const showConfig = Effect.gen(function*() {
  const config = yield* Config.Config
  yield* Console.log(`logged in as ${yield* config.username} on cluster ${yield* config.clusterName}`)
  for (const cluster of (yield* config.clusters).values()) {
    yield* Console.log(`cluster ${cluster.name} (orgs: ${cluster.orgs.map((o) => o ?? "<no org>").join(", ")})`)
    yield* Console.log(`  storage:    ${cluster.storageUrl}`)
    yield* Console.log(`  monitoring: ${cluster.monitoringUrl}`)
    for (const preset of cluster.presets.values()) {
      const gpu = preset.gpu === undefined ? "" : `, ${preset.gpu} x ${preset.gpuModel ?? "gpu"}`
      yield* Console.log(
        `  preset ${preset.name.padEnd(12)} cpu ${preset.cpu}, memory ${preset.memoryMb} MiB${gpu}, ${BigDecimal.format(preset.creditsPerHour)} credits/h`
      )
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Storage: upload a small folder, list it, download it back and check it is identical.
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
})

/** Start a job that prints a few lines, follow its log as it comes, then print how it ended. */
const jobsDemo = Effect.gen(function*() {
  const jobs = yield* Jobs.Jobs
  const job = yield* jobs.start({
    image: "ubuntu:22.04",
    presetName: "cpu-small",
    command: `bash -c 'for i in 1 2 3; do echo "hello from the job, line $i"; sleep 0.3; done'`
  })
  yield* Console.log(`job ${job.id}: ${job.status}`)
  yield* jobs.monitor(job.id).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEach((line) => Console.log(`job log: ${line}`))
  )
  const finished = yield* jobs.status(job.id).pipe(
    Effect.filterOrFail((j) => Jobs.JobStatus.isFinished(j.status), () => "still running" as const),
    Effect.retry({ schedule: Schedule.spaced("200 millis"), while: (e) => e === "still running" })
  )
  yield* Console.log(`job ${finished.id}: ${finished.status}, exit code ${finished.history.exitCode}`)
})

const main = Effect.gen(function*() {
  const platform = yield* LocalPlatform.serve({ users: ["alice"] })
  yield* Console.log(`LocalPlatform listening at ${platform.apiUrl}`)
  const configDir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "neuro-quickstart-config-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  yield* login(platform.apiUrl, platform.token("alice"), configDir)
  yield* Effect.all([showConfig, storageDemo, jobsDemo], { discard: true }).pipe(
    Effect.provide(NeuroNode.layer({ path: configDir, cwd: configDir }))
  )
}).pipe(Effect.scoped)

NodeRuntime.runMain(main)
