// Setup (not measured): start a job running COMMAND with the process runner of LocalPlatform,
// wait until it has finished, print its id.   node start-job.mjs CONFIG_DIR COMMAND
import { Jobs } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { args } from "./common.mjs"
import { openClient } from "./sdk.mjs"

const [configDir, command] = args(["CONFIG_DIR", "COMMAND"])
const runtime = await openClient(configDir)
const job = await runtime.runPromise(
  Effect.gen(function*() {
    const jobs = yield* Jobs.Jobs
    const started = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command })
    return yield* jobs.status(started.id).pipe(
      Effect.filterOrFail((j) => Jobs.JobStatus.isFinished(j.status), () => "running"),
      Effect.retry({ schedule: Schedule.spaced("200 millis"), while: (e) => e === "running" })
    )
  })
)
await runtime.dispose()
process.stdout.write(`${job.id} ${job.status}\n`)
