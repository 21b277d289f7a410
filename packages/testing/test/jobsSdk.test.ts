import { assert, describe, layer } from "@effect/vitest"
import { Jobs, Parser } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { NeuroTest } from "../src/index.js"
import { waitFinished } from "./jobWait.js"

const dec = new TextDecoder()


/** Everything read from a StdStream until it ends, by file number, and the exit code if one came. */
const drain = (stream: Jobs.StdStream) =>
  Effect.gen(function*() {
    const out: Record<number, string> = { 1: "", 2: "" }
    for (;;) {
      const message = yield* stream.readOut.pipe(
        Effect.catchTag("StdStreamError", (e) => Effect.succeed(e.exitCode))
      )
      if (typeof message === "number") return { out, exitCode: message }
      if (Option.isNone(message)) return { out, exitCode: undefined }
      out[message.value.fileno] = (out[message.value.fileno] ?? "") + dec.decode(message.value.data)
    }
  })

describe("Jobs through the SDK client over a real socket", () => {
  layer(NeuroTest.layer({ users: ["alice"] }), { excludeTestServices: true })((it) => {
    it.scoped("start with an image string, follow the logs while it runs, then the final status", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobs.start({
          image: "ubuntu:22.04",
          presetName: "cpu-small",
          command: `bash -c "for i in 1 2 3; do echo line $i; sleep 0.2; done"`,
          name: "sdk-lines",
          tags: ["sdk"],
          env: { GREETING: "hi" }
        })
        assert.strictEqual(job.name, "sdk-lines")
        assert.strictEqual(job.container.image.toString(), "ubuntu:22.04")
        const log = yield* jobs.monitor(job.id).pipe(Stream.decodeText(), Stream.mkString)
        assert.strictEqual(log, "line 1\nline 2\nline 3\n")
        const done = yield* waitFinished(job.id)
        assert.strictEqual(done.status, "succeeded")
        assert.strictEqual(done.history.exitCode, 0)
      }))

    it.scoped("a parsed RemoteImage and a failing command: failed with exit code and reason", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const parser = yield* Parser.Parser
        const image = yield* parser.remoteImage("python:3.11")
        const job = yield* jobs.start({ image, presetName: "cpu-small", command: `bash -c "echo oops >&2; exit 3"` })
        const done = yield* waitFinished(job.id)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.exitCode, 3)
        assert.strictEqual(done.history.reason, "Error")
      }))

    it.scoped("exec returns the command's output and exit code", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "sleep 30" })
        yield* jobs.status(job.id).pipe(
          Effect.flatMap((j) => (j.status === "running" ? Effect.void : Effect.fail("pending" as const))),
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 })
        )
        // a blank command is sent as neuro-sdk sends it; the platform refuses it
        const empty = yield* Effect.flip(jobs.exec(job.id, "  "))
        assert.strictEqual(empty._tag, "IllegalArgumentError")
        const stream = yield* jobs.exec(job.id, `bash -c "echo out; echo err >&2; exit 7"`, { stdout: true, stderr: true })
        const result = yield* drain(stream)
        assert.deepStrictEqual(result, { out: { 1: "out\n", 2: "err\n" }, exitCode: 7 })
        yield* jobs.kill(job.id)
        const done = yield* waitFinished(job.id)
        assert.strictEqual(done.status, "cancelled")
      }))

    it.scoped("port forward to a port nobody listens on ends the local connection at once", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "sleep 30" })
        yield* jobs.status(job.id).pipe(
          Effect.flatMap((j) => (j.status === "running" ? Effect.void : Effect.fail("pending" as const))),
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 })
        )
        const outcome = yield* Effect.scoped(Effect.gen(function*() {
          // port 1 on loopback: nothing listens there
          const local = yield* jobs.portForward(job.id, 0, 1)
          return yield* Effect.tryPromise(() => fetch(`http://127.0.0.1:${local.port}/`)).pipe(
            Effect.match({ onFailure: () => "connection ended" as const, onSuccess: () => "answered" as const }),
            Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "hung" as const })
          )
        }))
        assert.strictEqual(outcome, "connection ended")
        yield* jobs.kill(job.id)
      }))

    it.scoped("an unknown preset is a typed error and nothing is started", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const before = yield* Stream.runCount(jobs.list())
        const error = yield* Effect.flip(jobs.start({ image: "ubuntu:22.04", presetName: "no-such-preset", command: "true" }))
        assert.strictEqual(error._tag, "IllegalArgumentError")
        assert.include(error.message, "Preset was not found")
        assert.strictEqual(yield* Stream.runCount(jobs.list()), before)
      }))
  })
})
