/** Waiting for jobs, shared by the jobs tests. */
import { Jobs } from "@neuro-sdk/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** Whether the job has ended (succeeded, failed or cancelled). */
export const finished = (job: Jobs.JobDescription): boolean => ["succeeded", "failed", "cancelled"].includes(job.status)

/** Polls the job's status every `every` (100 ms) until `done(job)`, at most `times` (200) times. */
export const waitFor = (
  id: string,
  done: (job: Jobs.JobDescription) => boolean,
  options: { readonly every?: Duration.DurationInput; readonly times?: number } = {}
) =>
  Effect.flatMap(Jobs.Jobs, (jobs) =>
    jobs.status(id).pipe(
      Effect.flatMap((job) => (done(job) ? Effect.succeed(job) : Effect.fail("not yet" as const))),
      Effect.retry({ schedule: Schedule.spaced(options.every ?? "100 millis"), times: options.times ?? 200, while: (e) => e === "not yet" })
    ))

/** Polls the job until it has ended (at most ~30 s). */
export const waitFinished = (id: string) => waitFor(id, finished, { times: 300 })
