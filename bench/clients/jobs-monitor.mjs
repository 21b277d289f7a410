// jobs.monitor(JOB_ID) of a finished job, read to the end; reports the bytes received.
//   node jobs-monitor.mjs CONFIG_DIR JOB_ID
import { Jobs } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, id] = args(["CONFIG_DIR", "JOB_ID"])
const runtime = await openClient(configDir)
await measure(
  runtime,
  Effect.flatMap(Jobs.Jobs, (jobs) => jobs.monitor(id).pipe(Stream.runFold(0, (n, chunk) => n + chunk.length))),
  (bytes) => ({ bytes })
)
