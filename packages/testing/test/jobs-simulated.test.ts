import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import { Jobs } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { shlexSplit } from "../src/internal/jobsShell.js"
import { JobRunner, LocalPlatform, NeuroTest } from "../src/index.js"
import { finished, waitFor as waitForJob } from "./jobWait.js"

const dec = new TextDecoder()

const raw = (user: string, request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const platform = yield* LocalPlatform.LocalPlatformTag
    const http = yield* HttpClient.HttpClient
    return yield* http.execute(
      request.pipe(HttpClientRequest.prependUrl(platform.url), HttpClientRequest.bearerToken(Redacted.value(platform.token(user))))
    )
  })

type Json = Record<string, unknown>

/** `POST /jobs?from_preset` as neuro-sdk's `start` sends it; returns the status and the JSON answer. */
const post = (body: Json, user = "alice", query = "?from_preset") =>
  Effect.gen(function*() {
    const r = yield* raw(user, HttpClientRequest.post(`/api/v1/jobs${query}`).pipe(HttpClientRequest.bodyUnsafeJson(body)))
    return { status: r.status, json: (yield* r.json) as Json }
  })

const startBody = (command: string, extra: Json = {}): Json => ({
  pass_config: false,
  preset_name: "cpu-small",
  cluster_name: "default",
  image: "ubuntu",
  command,
  ...extra
})

const status = (id: string) => Effect.flatMap(Jobs.Jobs, (jobs) => jobs.status(id))

const waitFor = (id: string, done: (job: Jobs.JobDescription) => boolean) => waitForJob(id, done, { every: "50 millis" })

const logOf = (id: string) =>
  Effect.flatMap(Jobs.Jobs, (jobs) =>
    jobs.monitor(id).pipe(Stream.runCollect, Effect.map((c) => Chunk.toReadonlyArray(c).map((b) => dec.decode(b)).join(""))))

const simulated = (options: LocalPlatform.JobsOptions = {}) =>
  Layer.provideMerge(Jobs.layer, NeuroTest.layer({ users: ["alice", "bob"], jobs: { runner: JobRunner.makeSimulated(), ...options } }))

describe("jobs with the simulated runner", () => {
  layer(simulated(), { excludeTestServices: true, timeout: 30_000 })((it) => {
    it.scoped("a scripted job: output, exit code, reason, and the status history", () =>
      Effect.gen(function*() {
        const created = yield* post(startBody("echo one; echo two >&2; sleep 0.2; exit 2"))
        assert.strictEqual(created.status, 202)
        const id = created.json["id"] as string
        const done = yield* waitFor(id, finished)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.exitCode, 2)
        assert.strictEqual(done.history.reason, "Error")
        assert.strictEqual(done.history.description, "one\ntwo\n")
        assert.deepStrictEqual(done.history.transitions.map((t) => t.status), ["pending", "running", "failed"])
        assert.strictEqual(yield* logOf(id), "one\ntwo\n")
      }))

    it.scoped("OOM: exit 137 with reason OOMKilled", () =>
      Effect.gen(function*() {
        const created = yield* post(startBody("echo allocating; oom"))
        const done = yield* waitFor(created.json["id"] as string, finished)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.reason, "OOMKilled")
        assert.strictEqual(done.history.exitCode, 137)
      }))

    it.scoped("environment: env, secret env (resolved from the secrets store), NEURO_JOB_* and pass_config", () =>
      Effect.gen(function*() {
        const added = yield* raw(
          "alice",
          HttpClientRequest.post("/api/v1/clusters/default/secrets").pipe(
            HttpClientRequest.bodyUnsafeJson({ key: "token", value: Buffer.from("s3cret").toString("base64") })
          )
        )
        assert.strictEqual(added.status, 201)
        const created = yield* post(startBody("echo $PLAIN $SECRET $NEURO_JOB_ID $NEURO_JOB_NAME", {
          name: "envy",
          env: { PLAIN: "plain" },
          secret_env: { SECRET: "secret://default/alice/token" },
          pass_config: true
        }))
        assert.strictEqual(created.status, 202)
        const id = created.json["id"] as string
        const container = created.json["container"] as Json
        assert.deepStrictEqual(container["secret_env"], { SECRET: "secret://default/alice/token" })
        const passed = JSON.parse(Buffer.from((container["env"] as Record<string, string>)["NEURO_PASSED_CONFIG"]!, "base64").toString())
        assert.deepStrictEqual(Object.keys(passed), ["token", "cluster", "org_name", "url"])
        assert.strictEqual(passed.cluster, "default")
        yield* waitFor(id, finished)
        assert.strictEqual(yield* logOf(id), `plain s3cret ${id} envy\n`)
        // a missing secret fails the job as the platform does
        const missing = yield* post(startBody("true", { secret_env: { X: "secret://default/alice/nope" } }))
        const failed = yield* waitFor(missing.json["id"] as string, finished)
        assert.strictEqual(failed.status, "failed")
        assert.strictEqual(failed.history.reason, "Missing secrets: 'nope'")
        assert.strictEqual(failed.history.description, "The job could not be started.")
      }))

    it.scoped("restart policy always restarts even a successful container", () =>
      Effect.gen(function*() {
        const created = yield* post(startBody("echo run; sleep 0.1", { restart_policy: "always" }))
        const id = created.json["id"] as string
        const restarted = yield* waitFor(id, (j) => j.history.restarts >= 2)
        assert.strictEqual(restarted.status, "running")
        yield* Effect.flatMap(Jobs.Jobs, (jobs) => jobs.kill(id))
        const done = yield* status(id)
        assert.strictEqual(done.status, "cancelled")
        assert.strictEqual(done.history.reason, "UserRequested")
        assert.isUndefined(done.history.exitCode)
      }))

    it.scoped("requests the platform refuses (400 with an error, 403 with the missing permissions)", () =>
      Effect.gen(function*() {
        const running = yield* post(startBody("sleep 30", { name: "taken" }))
        assert.strictEqual(running.status, 202)
        const cases: ReadonlyArray<readonly [Json, number, string]> = [
          [startBody("true", { name: "job-abc" }), 400, "job name cannot start with 'job-' prefix"],
          [startBody("true", { name: "taken" }), 400, "job with name 'taken' and owner 'alice' already exists"],
          [startBody("true", { name: "Bad" }), 400, "name: does not match pattern"],
          [startBody("true", { resources: { cpu: 1, memory: 2 ** 30 } }), 400, "Both preset and resources are not allowed"],
          [startBody("true", { preset_name: "nope" }), 400, "Preset was not found"],
          [startBody("true", { unknown_key: 1 }), 400, "unknown_key is not allowed key"],
          [startBody("true", { privileged: true }), 400, "does not allow privileged jobs"],
          [startBody("true", { priority: "high" }), 400, "does not allow specifying job priority"],
          [startBody("true", { schedule_timeout: 10, preset_name: "gpu-small" }), 400, "schedule_timeout is not allowed for scheduled jobs"],
          [startBody("echo 'unbalanced"), 400, "invalid command format"],
          [
            startBody("true", { volumes: [{ src_storage_uri: "storage://other/alice/x", dst_path: "/data", read_only: true }] }),
            400,
            "Invalid URI cluster: 'other' != 'default'"
          ],
          [startBody("true", { volumes: [{ src_storage_uri: "storage://default/alice/x", dst_path: "data" }] }), 400, "Mount path must be absolute"],
          [startBody("true", { cluster_name: "elsewhere" }), 403, "not allowed to submit jobs to the specified cluster"],
          [startBody("true", { volumes: [{ src_storage_uri: "storage://default/bob/x", dst_path: "/data", read_only: false }] }), 403, "storage://default/bob/x"]
        ]
        for (const [body, code, message] of cases) {
          const r = yield* post(body)
          assert.strictEqual(r.status, code, message)
          assert.include(JSON.stringify(r.json), message)
        }
        const missing = yield* post(startBody("true", { volumes: [{ src_storage_uri: "storage://default/bob/x", dst_path: "/data" }] }))
        assert.deepStrictEqual(missing.json, { missing: [{ uri: "storage://default/bob/x", action: "read" }] })
        const unknown = yield* raw("alice", HttpClientRequest.get("/api/v1/jobs/job-00000000-0000-0000-0000-000000000000"))
        assert.strictEqual(unknown.status, 400)
        assert.deepStrictEqual(yield* unknown.json, { error: "no such job job-00000000-0000-0000-0000-000000000000" })
        // a job is found by its name too (the caller's newest)
        const byName = yield* raw("alice", HttpClientRequest.get("/api/v1/jobs/taken"))
        assert.strictEqual(((yield* byName.json) as Json)["id"], running.json["id"])
        // the nested `container` form of the deprecated `run`
        const run = yield* post({
          container: { image: "ubuntu", command: "echo hi", resources: { cpu: 0.5, memory: 2 ** 28, shm: true } },
          scheduler_enabled: false,
          pass_config: false,
          cluster_name: "default"
        }, "alice", "")
        assert.strictEqual(run.status, 202)
        assert.deepStrictEqual((run.json["container"] as Json)["resources"], { cpu: 0.5, memory: 2 ** 28, memory_mb: 256, shm: true })
        assert.strictEqual(run.json["price_credits_per_hour"], "1", "the cheapest preset it fits in")
        yield* Effect.flatMap(Jobs.Jobs, (jobs) => jobs.kill(running.json["id"] as string))
      }))
  })

  layer(simulated({ runningJobsQuota: 1 }), { excludeTestServices: true, timeout: 30_000 })((it) => {
    it.scoped("the running jobs quota: refused without wait_for_jobs_quota, queued with it", () =>
      Effect.gen(function*() {
        const first = yield* post(startBody("sleep 0.6"))
        assert.strictEqual(first.status, 202)
        const refused = yield* post(startBody("true"))
        assert.strictEqual(refused.status, 400)
        assert.deepStrictEqual(refused.json, { error: "Jobs limit quota exceeded for user 'alice'" })
        const queued = yield* post(startBody("echo queued", { wait_for_jobs_quota: true }))
        assert.strictEqual(queued.status, 202)
        const id = queued.json["id"] as string
        yield* Effect.sleep("200 millis")
        assert.strictEqual((yield* status(id)).status, "pending", "waits while the quota is used")
        const done = yield* waitFor(id, finished)
        assert.strictEqual(done.status, "succeeded")
        const firstDone = yield* status(first.json["id"] as string)
        assert.isTrue(done.history.startedAt! >= firstDone.history.finishedAt!, "started after the first one finished")
      }))
  })

  layer(simulated({ capacity: { cpu: 2 } }), { excludeTestServices: true, timeout: 30_000 })((it) => {
    it.scoped("a job that does not fit waits (Scheduling), then fails after its schedule timeout", () =>
      Effect.gen(function*() {
        const created = yield* post(startBody("true", { preset_name: "cpu-large", schedule_timeout: 1 }))
        const id = created.json["id"] as string
        yield* waitFor(id, (j) => j.history.reason === "Scheduling")
        const done = yield* waitFor(id, finished)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.reason, "ClusterScaleUpFailed")
        const capacity = yield* Effect.flatMap(Jobs.Jobs, (jobs) => jobs.getCapacity())
        assert.deepStrictEqual(capacity, { "cpu-small": 2, "cpu-medium": 1, "cpu-large": 0, "gpu-small": 0 })
      }))
  })
})

describe("shlex splitting (platform-api's command check)", () => {
  const table: ReadonlyArray<readonly [string, ReadonlyArray<string> | undefined]> = [
    ["echo hi", ["echo", "hi"]],
    [`bash -c 'echo $HOME; ls'`, ["bash", "-c", "echo $HOME; ls"]],
    [`a "b c" d\\ e`, ["a", "b c", "d e"]],
    [`"x\\"y"`, [`x"y`]],
    ["  ", []],
    ["echo 'open", undefined],
    [`echo "open`, undefined],
    ["trailing\\", undefined]
  ]
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)}`, () => {
      assert.deepStrictEqual(shlexSplit(input), expected)
    })
  }
})
