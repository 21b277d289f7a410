// jobs.list() with no filters, consumed job by job; reports the count and the time to the first job.
//   node jobs-list.mjs CONFIG_DIR
import { Jobs } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir] = args(["CONFIG_DIR"])
const runtime = await openClient(configDir)
let count = 0
let firstMs = -1
await measure(
  runtime,
  Effect.flatMap(Jobs.Jobs, (jobs) => {
    const start = performance.now()
    return jobs.list().pipe(
      Stream.runForEach(() =>
        Effect.sync(() => {
          if (count++ === 0) firstMs = performance.now() - start
        })
      )
    )
  }),
  () => ({ count, firstMs })
)
