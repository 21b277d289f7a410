/**
 * Jobs listing benchmark: 100,000 jobs streamed as NDJSON from a LocalPlatform on loopback through
 * `Jobs.list`, decoded one by one. Prints jobs/s and how much the heap grew while streaming (the
 * client holds one job at a time; the server's store of 100,000 jobs is there before we start).
 *
 *   npm run bench -- jobs
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Jobs } from "@neuro-sdk/core"
import { LocalPlatform, NeuroTest } from "@neuro-sdk/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

const TOTAL = 100_000
const BATCH = 10_000
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

const program = Effect.gen(function*() {
  const platform = yield* LocalPlatform.LocalPlatformTag
  const http = yield* HttpClient.HttpClient
  for (let done = 0; done < TOTAL; done += BATCH) {
    const response = yield* http.execute(
      HttpClientRequest.post(`${platform.url}/_local/jobs/seed`).pipe(
        HttpClientRequest.bearerToken(Redacted.value(platform.token("alice"))),
        HttpClientRequest.bodyUnsafeJson({ count: BATCH, status: "succeeded", tags: ["bench"] })
      )
    )
    yield* response.text
  }
  const jobs = yield* Jobs.Jobs
  global.gc?.()
  const baseline = process.memoryUsage().heapUsed
  let peak = baseline
  const start = performance.now()
  const count = yield* jobs.list().pipe(
    Stream.tap(() =>
      Effect.sync(() => {
        const used = process.memoryUsage().heapUsed
        if (used > peak) peak = used
      })
    ),
    Stream.runCount
  )
  const seconds = (performance.now() - start) / 1000
  yield* Console.log(`jobs listed           ${count} in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)} jobs/s`)
  yield* Console.log(`heap growth while streaming  ${mib(peak - baseline)} MiB (baseline ${mib(baseline)} MiB, server store included)`)
  yield* Console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
}).pipe(Effect.provide(NeuroTest.layer({ users: ["alice"], transport: "socket", testHooks: true })))

NodeRuntime.runMain(program)
