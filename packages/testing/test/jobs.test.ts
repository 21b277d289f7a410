import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { Jobs } from "@neuro-sdk/core"
import * as NodePortForward from "@neuro-sdk/node/NodePortForward"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import { JobRunner, LocalPlatform, NeuroTest } from "../src/index.js"
import { finished, waitFor } from "./jobWait.js"

const dec = new TextDecoder()
const enc = new TextEncoder()


interface StartBody {
  readonly name?: string
  readonly tags?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly lifeSpan?: number
  readonly restartPolicy?: "on-failure" | "always"
}

/**
 * Starts a job with the body neuro-sdk 23.2's `Jobs.start` sends (`POST {api}/jobs?from_preset`),
 * then reads it back through the SDK.
 */
const startRaw = (command: string, options: StartBody = {}) =>
  Effect.gen(function*() {
    const body: Record<string, unknown> = { pass_config: false }
    if (options.name !== undefined) body["name"] = options.name
    body["preset_name"] = "cpu-small"
    if (options.tags !== undefined) body["tags"] = options.tags
    if (options.restartPolicy !== undefined) body["restart_policy"] = options.restartPolicy
    if (options.lifeSpan !== undefined) body["max_run_time_minutes"] = Math.floor(options.lifeSpan / 60)
    body["cluster_name"] = "default"
    body["image"] = "ubuntu:22.04"
    body["command"] = command
    if (options.env !== undefined) body["env"] = options.env
    const response = yield* raw("alice", HttpClientRequest.post("/api/v1/jobs?from_preset").pipe(HttpClientRequest.bodyUnsafeJson(body)))
    assert.strictEqual(response.status, 202)
    return (yield* response.json) as { readonly id: string; readonly [key: string]: unknown }
  })

const start = (command: string, options: StartBody = {}) =>
  Effect.flatMap(startRaw(command, options), (created) => Effect.flatMap(Jobs.Jobs, (jobs) => jobs.status(created.id)))

const freePort = Effect.async<number>((resume) => {
  const srv = net.createServer()
  srv.listen(0, "127.0.0.1", () => {
    const port = (srv.address() as net.AddressInfo).port
    srv.close(() => resume(Effect.succeed(port)))
  })
})

/** A raw request as user `user` (for wire-level checks and test controls). */
const raw = (user: string, request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const platform = yield* LocalPlatform.LocalPlatformTag
    const http = yield* HttpClient.HttpClient
    return yield* http.execute(
      request.pipe(
        HttpClientRequest.prependUrl(platform.url),
        HttpClientRequest.bearerToken(Redacted.value(platform.token(user)))
      )
    )
  })

const share = (owner: string, user: string, uri: string, action: string) =>
  raw(owner, HttpClientRequest.post(`/api/v1/users/${user}/permissions`).pipe(HttpClientRequest.bodyUnsafeJson([{ uri, action }])))

const revoke = (owner: string, user: string, uri: string) =>
  raw(owner, HttpClientRequest.del(`/api/v1/users/${user}/permissions`).pipe(HttpClientRequest.setUrlParam("uri", uri)))

const platformLayer = Layer.provideMerge(
  Jobs.layer,
  // the process runner: the restart test keeps a file in the working directory across runs
  NeuroTest.layer({
    users: ["alice", "bob"],
    jobs: { runner: JobRunner.makeProcess(), lifeSpanMinute: "1 second", killGracePeriod: "1 second" }
  })
)

describe("jobs on LocalPlatform (process runner, real socket)", () => {
  layer(Layer.merge(platformLayer, NodePortForward.layer), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.scoped("a job runs: pending → running, logs stream while it runs, succeeded with exit code 0", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const created = yield* startRaw(`bash -c 'for i in 1 2 3; do echo line $i; sleep 0.4; done'`, { name: "counter", tags: ["t1"] })
        assert.strictEqual(created["status"], "pending")
        assert.deepStrictEqual((created["history"] as Record<string, unknown>)["reason"], "Creating")
        const job = yield* jobs.status(created.id)
        assert.strictEqual(job.uri.toString(), `job://default/alice/${job.id}`)
        assert.strictEqual(job.presetName, "cpu-small")
        assert.strictEqual(job.container.resources.cpu, 1)
        const chunks: Array<{ readonly text: string; readonly status: string }> = []
        yield* jobs.monitor(job.id).pipe(
          Stream.runForEach((chunk) =>
            Effect.gen(function*() {
              const now = yield* jobs.status(job.id)
              chunks.push({ text: dec.decode(chunk), status: now.status })
            })
          )
        )
        assert.strictEqual(chunks.map((c) => c.text).join(""), "line 1\nline 2\nline 3\n")
        assert.strictEqual(chunks[0]!.status, "running", "the first line arrives while the job runs")
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "succeeded")
        assert.strictEqual(done.history.exitCode, 0)
        assert.deepStrictEqual(done.history.transitions.map((t) => t.status), ["pending", "running", "succeeded"])
        assert.isDefined(done.history.startedAt)
        assert.isDefined(done.history.finishedAt)
        assert.isAbove(done.history.runTimeSeconds ?? 0, 1)
        // after the end, the whole log is served again (archive only, no separator)
        const again = yield* jobs.monitor(job.id).pipe(Stream.runCollect)
        assert.strictEqual(Chunk.toReadonlyArray(again).map((c) => dec.decode(c)).join(""), "line 1\nline 2\nline 3\n")
        const stamped = yield* jobs.monitor(job.id, { timestamps: true }).pipe(Stream.runCollect)
        const lines = Chunk.toReadonlyArray(stamped).map((c) => dec.decode(c)).join("").split("\n").filter((l) => l !== "")
        assert.strictEqual(lines.length, 3)
        for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line \d$/)
      }))

    it.scoped("lines written in one go each get their timestamp", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(`printf 'one\\ntwo\\nthree\\n'`)
        yield* waitFor(job.id, finished)
        const stamped = yield* jobs.monitor(job.id, { timestamps: true }).pipe(Stream.runCollect)
        const lines = Chunk.toReadonlyArray(stamped).map((c) => dec.decode(c)).join("").split("\n").filter((l) => l !== "")
        assert.deepStrictEqual(lines.map((l) => l.replace(/^\S+Z /, "")), ["one", "two", "three"])
        for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /)
      }))

    it.scoped("restart on failure; the log has the earlier run (archive), the separator, then the running container", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(
          `bash -c 'if [ -e marker ]; then echo second; sleep 2; else touch marker; echo first; exit 1; fi'`,
          { restartPolicy: "on-failure" }
        )
        const restarted = yield* waitFor(job.id, (j) => j.history.restarts === 1 && j.status === "running" && j.history.reason === "")
        assert.strictEqual(restarted.restartPolicy, "on-failure")
        assert.deepStrictEqual(
          restarted.history.transitions.map((t) => [t.status, t.reason]),
          [["pending", "Creating"], ["running", ""], ["running", "Restarting"], ["running", ""]]
        )
        yield* Effect.sleep("300 millis")
        const log = yield* jobs.monitor(job.id, { separator: "=== SEP ===" }).pipe(
          Stream.runCollect,
          Effect.map((c) => Chunk.toReadonlyArray(c).map((b) => dec.decode(b)).join(""))
        )
        assert.strictEqual(log, "first\n=== SEP ===\nsecond\n")
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "succeeded")
        assert.strictEqual(done.history.restarts, 1)
        const after = yield* jobs.monitor(job.id, { separator: "=== SEP ===" }).pipe(
          Stream.runCollect,
          Effect.map((c) => Chunk.toReadonlyArray(c).map((b) => dec.decode(b)).join(""))
        )
        assert.strictEqual(after, "first\nsecond\n", "a finished job's log is all archive")
      }))

    it.scoped("a failing command: failed, with its exit code, reason Error and the end of its log", () =>
      Effect.gen(function*() {
        const job = yield* start(`bash -c 'echo doing; echo broken >&2; exit 3'`)
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.exitCode, 3)
        assert.strictEqual(done.history.reason, "Error")
        assert.strictEqual(done.history.description, "doing\nbroken\n")
        const missing = yield* start("no-such-binary-xyz --flag")
        const failed = yield* waitFor(missing.id, finished)
        assert.strictEqual(failed.status, "failed")
        assert.strictEqual(failed.history.reason, "ContainerCannotRun")
        assert.match(failed.history.description, /executable file not found/)
      }))

    it.scoped("kill: the job is cancelled (UserRequested) and its processes stop", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(`bash -c 'sleep 300 & sleep 300; wait'`)
        yield* waitFor(job.id, (j) => j.status === "running")
        yield* jobs.kill(job.id)
        const done = yield* jobs.status(job.id)
        assert.strictEqual(done.status, "cancelled")
        assert.strictEqual(done.history.reason, "UserRequested")
        // the log ends once the processes are gone
        yield* jobs.monitor(job.id).pipe(Stream.runDrain, Effect.timeout("5 seconds"))
        const err = yield* Effect.flip(jobs.sendSignal(job.id))
        assert.strictEqual(err._tag, "ResourceNotFound", "a stopped job cannot be signalled")
      }))

    it.scoped("send_signal kills the container: failed with exit code 137", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start("sleep 300")
        yield* waitFor(job.id, (j) => j.status === "running")
        yield* jobs.sendSignal(job.id)
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.exitCode, 137)
      }))

    it.scoped("the life span is enforced: cancelled with LifeSpanEnded (1 minute = 1 s here)", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start("sleep 300", { lifeSpan: 60 })
        assert.strictEqual(job.lifeSpan, 60)
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "cancelled")
        assert.strictEqual(done.history.reason, "LifeSpanEnded")
        assert.isAtLeast(done.history.runTimeSeconds ?? 0, 1)
        // bump: a second job gets 2 more minutes, so it outlives the first deadline
        const bumped = yield* start("sleep 300", { lifeSpan: 60 })
        yield* jobs.bumpLifeSpan(bumped.id, 120)
        const later = yield* jobs.status(bumped.id)
        assert.strictEqual(later.lifeSpan, 180)
        yield* Effect.sleep("1500 millis")
        assert.strictEqual((yield* jobs.status(bumped.id)).status, "running")
        yield* jobs.kill(bumped.id)
      }))

    it.scoped("exec runs a command in the job: its stdout, stderr and exit code", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start("sleep 300", { env: { GREETING: "hello" } })
        yield* waitFor(job.id, (j) => j.status === "running")
        const result = yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* jobs.exec(job.id, `sh -c 'echo $GREETING; echo oops >&2; exit 4'`, { stdout: true, stderr: true })
          const out: Array<string> = []
          const exit = yield* Effect.gen(function*() {
            while (true) {
              const msg = yield* stream.readOut
              if (Option.isNone(msg)) return undefined
              out.push(`${msg.value.fileno}:${dec.decode(msg.value.data)}`)
            }
          }).pipe(Effect.catchTag("StdStreamError", (e) => Effect.succeed(e.exitCode)))
          return { out, exit }
        }))
        assert.deepStrictEqual(result.out.sort(), ["1:hello\n", "2:oops\n"])
        assert.strictEqual(result.exit, 4)
        yield* jobs.kill(job.id)
      }))

    it.scoped("attach: stdin reaches the job, its output comes back", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start("cat")
        yield* waitFor(job.id, (j) => j.status === "running")
        const echoed = yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* jobs.attach(job.id, { stdin: true, stdout: true, stderr: true })
          yield* stream.writeIn(enc.encode("ping\n"))
          const msg = yield* stream.readOut
          return Option.map(msg, (m) => `${m.fileno}:${dec.decode(m.data)}`)
        }))
        assert.deepStrictEqual(echoed, Option.some("1:ping\n"))
        yield* jobs.kill(job.id)
      }))

    // What the Python `neuro run` (CLI 23.2) meets when the job ends while it is attached: the
    // attach ends, a new attach is refused, the finished job's log is served whole. Its attach loop
    // then takes another turn and prints that log again: its output shows twice, as it would on the
    // real platform (docs/compat.md, "CLI").
    it.scoped("a job that ends while attached: the attach ends, re-attaching is refused, the log is whole", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(`bash -c 'sleep 1; echo one; sleep 0.3; echo two >&2'`)
        yield* waitFor(job.id, (j) => j.status === "running")
        const attached = yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* jobs.attach(job.id, { stdin: true, stdout: true, stderr: true })
          const out: Array<string> = []
          const end = yield* Effect.gen(function*() {
            while (true) {
              const msg = yield* stream.readOut
              if (Option.isNone(msg)) return "closed"
              out.push(`${msg.value.fileno}:${dec.decode(msg.value.data)}`)
            }
          }).pipe(Effect.catchTag("StdStreamError", (e) => Effect.succeed(`exit ${e.exitCode}`)))
          return { out, end }
        }))
        assert.deepStrictEqual(attached.out, ["1:one\n", "2:two\n"])
        assert.strictEqual(attached.end, "exit 0")
        const done = yield* waitFor(job.id, finished)
        assert.strictEqual(done.status, "succeeded")
        const refused = yield* Effect.flip(Effect.scoped(jobs.attach(job.id, { stdin: true })))
        assert.strictEqual(refused._tag, "ResourceNotFound")
        assert.match(refused.message, /not running/i)
        const log = yield* jobs.monitor(job.id).pipe(Stream.runCollect)
        assert.strictEqual(Chunk.toReadonlyArray(log).map((c) => dec.decode(c)).join(""), "one\ntwo\n")
      }))

    it.scoped("port forward reaches an HTTP server started by the job", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const port = yield* freePort
        const job = yield* start(
          `node -e "require('http').createServer((q, s) => s.end('hi from the job ' + q.url)).listen(${port}, '127.0.0.1')"`
        )
        yield* waitFor(job.id, (j) => j.status === "running")
        const body = yield* Effect.scoped(Effect.gen(function*() {
          const local = yield* jobs.portForward(job.id, 0, port)
          return yield* Effect.tryPromise(() => fetch(`http://127.0.0.1:${local.port}/x`).then((r) => r.text())).pipe(
            Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 25 })
          )
        }))
        assert.strictEqual(body, "hi from the job /x")
        yield* jobs.kill(job.id)
      }))

    it.scoped("top yields telemetry of the running job", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(`node -e "const a = Buffer.alloc(64 * 2 ** 20, 1); while (true) {}"`)
        yield* waitFor(job.id, (j) => j.status === "running")
        yield* Effect.sleep("700 millis")
        const samples = yield* jobs.top(job.id).pipe(Stream.take(2), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
        assert.strictEqual(samples.length, 2)
        const last = samples[1]!
        assert.isAbove(last.cpu, 0.3, "a busy loop uses a CPU")
        assert.isAbove(last.memoryBytes, 64 * 2 ** 20, "the buffer is resident")
        assert.closeTo(last.timestamp, Date.now() / 1000, 5)
        yield* jobs.kill(job.id)
        yield* waitFor(job.id, finished)
        const err = yield* Effect.flip(jobs.top(job.id).pipe(Stream.runDrain))
        assert.match(err.message, /not running/i)
      }))

    it.scoped("capacity: presets that fit in the node's free resources", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const capacity = yield* jobs.getCapacity()
        assert.deepStrictEqual(Object.keys(capacity).sort(), ["cpu-large", "cpu-medium", "cpu-small", "gpu-small"])
        assert.strictEqual(capacity["gpu-small"], 0, "no GPU on this node")
        assert.isAbove(capacity["cpu-small"]!, 0)
      }))

    it.scoped("user B is denied status, logs and kill before a share, allowed after, denied after revoke", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* start(`bash -c 'echo hi; sleep 300'`)
        yield* waitFor(job.id, (j) => j.status === "running")
        const asBob = (path: string, method: "GET" | "DELETE" = "GET") =>
          Effect.map(raw("bob", method === "GET" ? HttpClientRequest.get(path) : HttpClientRequest.del(path)), (r) => r.status)
        const logsAsBob = Effect.gen(function*() {
          const platform = yield* LocalPlatform.LocalPlatformTag
          const http = yield* HttpClient.HttpClient
          return yield* Effect.scoped(Effect.map(
            http.execute(
              HttpClientRequest.get(`${platform.url}/api/v1/jobs/${job.id}/log`).pipe(
                HttpClientRequest.bearerToken(Redacted.value(platform.token("bob")))
              )
            ),
            (r) => r.status
          )).pipe(Effect.timeout("5 seconds"))
        })
        const status = `/api/v1/jobs/${job.id}`
        assert.strictEqual(yield* asBob(status), 403)
        assert.strictEqual(yield* logsAsBob, 403)
        assert.strictEqual(yield* asBob(status, "DELETE"), 403)
        const denied = yield* raw("bob", HttpClientRequest.get(status)).pipe(Effect.flatMap((r) => r.json))
        assert.deepStrictEqual(denied, { missing: [{ uri: `job://default/alice/${job.id}`, action: "read" }] })
        // bob's listing does not show it
        const listed = yield* raw("bob", HttpClientRequest.get("/api/v1/jobs")).pipe(Effect.flatMap((r) => r.json))
        assert.deepStrictEqual(listed, { jobs: [] })

        assert.strictEqual((yield* share("alice", "bob", job.uri.toString(), "read")).status, 201)
        assert.strictEqual(yield* asBob(status), 200)
        assert.strictEqual(yield* logsAsBob, 200)
        assert.strictEqual(yield* asBob(status, "DELETE"), 403, "read does not allow kill")
        const shared = yield* raw("bob", HttpClientRequest.get("/api/v1/jobs")).pipe(Effect.flatMap((r) => r.json))
        assert.deepStrictEqual((shared as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id), [job.id])

        assert.strictEqual((yield* share("alice", "bob", job.uri.toString(), "write")).status, 201)
        assert.strictEqual(yield* asBob(status, "DELETE"), 204)
        assert.strictEqual((yield* jobs.status(job.id)).status, "cancelled")

        assert.strictEqual((yield* revoke("alice", "bob", job.uri.toString())).status, 204)
        assert.strictEqual(yield* asBob(status), 403)
        assert.strictEqual(yield* logsAsBob, 403)
      }))
  })
})
