/**
 * The error of `JobRunner.ts`. It is declared here and re-exported by `JobRunner.ts`, whose public
 * API it is (so it carries no internal tag). `internal/jobsRunner.ts` uses it from here: this
 * module imports nothing from `JobRunner.ts`, which imports the implementation, so there is no
 * import cycle.
 */
import * as Data from "effect/Data"

/**
 * The runner could not start a container or a command in it.
 *
 * @since 1.0.0
 * @category errors
 */
export class JobRunnerError extends Data.TaggedError("JobRunnerError")<{ readonly description: string; readonly cause?: unknown }> {
  override get message(): string {
    return this.description
  }
}
