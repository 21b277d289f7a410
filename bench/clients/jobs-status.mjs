// CALLS sequential jobs.status(JOB_ID).   node jobs-status.mjs CONFIG_DIR JOB_ID CALLS
import { Jobs } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, id, calls] = args(["CONFIG_DIR", "JOB_ID", "CALLS"])
const n = Number(calls)
const runtime = await openClient(configDir)
await measure(
  runtime,
  Effect.gen(function*() {
    const jobs = yield* Jobs.Jobs
    for (let i = 0; i < n; i++) yield* jobs.status(id)
  }),
  () => ({ count: n })
)
