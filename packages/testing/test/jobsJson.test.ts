/**
 * The job JSON LocalPlatform writes as text (`jobText`, cached per job in `jobLine`) is byte for
 * byte `JSON.stringify` of the object platform-api's `convert_job_to_job_response` builds: the
 * object builder below is the reference (the one LocalPlatform used before it wrote text).
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { LocalPlatform } from "../src/index.js"
import { jobDocument, jobLine, jobText, jsonListing, ndjsonChunks, renderedLine } from "../src/internal/jobsJson.js"
import {
  baseOwner,
  current,
  isFinished,
  isoformat,
  type JobRecord,
  jobUri,
  LogBook,
  restarts,
  runTimeMicros,
  type StatusItem
} from "../src/internal/jobsStore.js"

// ---------------------------------------------------------------------------- the reference

const containerJson = (job: JobRecord) => {
  const c = job.container
  const out: Record<string, unknown> = { image: c.image, env: c.env, volumes: [] as Array<unknown> }
  if (c.entrypoint !== undefined) out["entrypoint"] = c.entrypoint
  if (c.command !== undefined) out["command"] = c.command
  const r = c.resources
  out["resources"] = {
    cpu: r.cpu,
    memory: r.memory,
    memory_mb: Math.floor(r.memory / 2 ** 20),
    ...(r.gpu !== undefined ? { gpu: r.gpu } : {}),
    ...(r.gpuModel !== undefined ? { gpu_model: r.gpuModel } : {}),
    ...(r.shm !== undefined ? { shm: r.shm } : {}),
    ...(r.tpu !== undefined ? { tpu: { type: r.tpu.type, software_version: r.tpu.softwareVersion } } : {})
  }
  if (c.http !== undefined) {
    out["http"] = { port: c.http.port, health_check_path: c.http.healthCheckPath, requires_auth: c.http.requiresAuth }
  }
  out["volumes"] = c.volumes.map((v) => ({ src_storage_uri: v.uri, dst_path: v.dstPath, read_only: v.readOnly }))
  if (c.secretVolumes.length > 0) out["secret_volumes"] = c.secretVolumes.map((v) => ({ src_secret_uri: v.uri, dst_path: v.dstPath }))
  if (c.diskVolumes.length > 0) {
    out["disk_volumes"] = c.diskVolumes.map((v) => ({ src_disk_uri: v.uri, dst_path: v.dstPath, read_only: v.readOnly }))
  }
  if (Object.keys(c.secretEnv).length > 0) out["secret_env"] = c.secretEnv
  if (c.tty) out["tty"] = true
  if (c.workingDir !== undefined) out["working_dir"] = c.workingDir
  return out
}

const decimal = (n: number): string => (n === 0 ? "0" : n.toFixed(8).replace(/0+$/, "").replace(/\.$/, ""))

const host = (job: JobRecord, named: boolean) =>
  named ? `${job.name}--${baseOwner(job.owner)}.jobs.${job.cluster}.localhost` : `${job.id}.jobs.${job.cluster}.localhost`

const jobJson = (job: JobRecord, now: number): Record<string, unknown> => {
  const last = current(job)
  const runTime = runTimeMicros(job, now) / 1_000_000
  const history: Record<string, unknown> = {
    status: last.status,
    reason: last.reason,
    description: last.description,
    created_at: isoformat(job.statuses[0]!.at),
    run_time_seconds: runTime,
    restarts: restarts(job)
  }
  const out: Record<string, unknown> = {
    id: job.id,
    owner: job.owner,
    cluster_name: job.cluster,
    status: last.status,
    statuses: job.statuses.map((s) => ({
      status: s.status,
      transition_time: isoformat(s.at),
      reason: s.reason,
      description: s.description,
      ...(s.exitCode !== undefined ? { exit_code: s.exitCode } : {})
    })),
    history,
    container: containerJson(job),
    scheduler_enabled: job.schedulerEnabled,
    preemptible_node: job.preemptibleNode,
    is_preemptible: job.schedulerEnabled,
    is_preemptible_node_required: job.preemptibleNode,
    pass_config: job.passConfig,
    uri: jobUri(job),
    restart_policy: job.restartPolicy,
    privileged: job.privileged,
    materialized: job.materialized,
    being_dropped: false,
    logs_removed: false,
    total_price_credits: decimal(Number(job.pricePerHour) * runTime / 3600),
    price_credits_per_hour: job.pricePerHour,
    priority: job.priority
  }
  if (job.name !== undefined) out["name"] = job.name
  if (job.presetName !== undefined) out["preset_name"] = job.presetName
  if (job.description !== undefined && job.description !== "") out["description"] = job.description
  if (job.tags.length > 0) out["tags"] = job.tags
  if (job.container.http !== undefined) {
    out["http_url"] = `http://${host(job, false)}`
    if (job.name !== undefined) out["http_url_named"] = `http://${host(job, true)}`
  }
  out["internal_hostname"] = job.internalHostname
  if (job.internalHostnameNamed !== undefined) out["internal_hostname_named"] = job.internalHostnameNamed
  if (job.scheduleTimeout !== undefined) out["schedule_timeout"] = job.scheduleTimeout
  if (job.maxRunTimeMinutes !== undefined) out["max_run_time_minutes"] = job.maxRunTimeMinutes
  const started = job.statuses.find((s) => s.status === "running") ?? job.statuses.find((s) => isFinished(s.status))
  if (started !== undefined) history["started_at"] = isoformat(started.at)
  if (isFinished(last.status)) history["finished_at"] = isoformat(last.at)
  if (last.exitCode !== undefined) history["exit_code"] = last.exitCode
  if (job.org !== null) out["org_name"] = job.org
  if (job.energyScheduleName !== undefined && job.schedulerEnabled) out["energy_schedule_name"] = job.energyScheduleName
  return out
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** Python's `datetime.isoformat()` of an aware UTC datetime, field by field (the reference). */
const isoformatReference = (micros: number): string => {
  const d = new Date(Math.floor(micros / 1000))
  const us = micros % 1_000_000
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${
    pad(d.getUTCMinutes())
  }:${pad(d.getUTCSeconds())}`
  return `${base}${us === 0 ? "" : "." + pad(us, 6)}+00:00`
}

// ---------------------------------------------------------------------------- job records

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5) * 1000

let counter = 0

const record = (over: Partial<JobRecord> = {}): JobRecord => {
  const id = `job-00000000-0000-4000-8000-${String(++counter).padStart(12, "0")}`
  return {
    id,
    owner: "alice",
    cluster: "default",
    org: null,
    name: undefined,
    presetName: undefined,
    tags: [],
    description: undefined,
    schedulerEnabled: false,
    preemptibleNode: false,
    passConfig: false,
    privileged: false,
    priority: "normal",
    maxRunTimeMinutes: undefined,
    scheduleTimeout: undefined,
    restartPolicy: "never",
    energyScheduleName: undefined,
    internalHostname: `${id}.platform-jobs`,
    internalHostnameNamed: undefined,
    container: {
      image: "ubuntu:latest",
      env: {},
      resources: { cpu: 1, memory: 2 ** 31 },
      volumes: [],
      secretVolumes: [],
      diskVolumes: [],
      secretEnv: {},
      tty: false
    },
    statuses: [{ status: "pending", at: T0, reason: "Creating", description: null }],
    materialized: false,
    pricePerHour: "1",
    managed: false,
    logs: new LogBook(undefined),
    process: undefined,
    rendered: undefined,
    ...over
  }
}

const history = (...items: ReadonlyArray<Omit<StatusItem, "at">>): Array<StatusItem> =>
  items.map((item, i) => ({ ...item, at: T0 + i * 1_500_000 + (i === 2 ? 0 : 123) }))

const pending = { status: "pending", reason: "Creating", description: null } as const
const running = { status: "running", reason: null, description: null } as const

const variants: ReadonlyArray<JobRecord> = [
  record(),
  record({ statuses: history(pending, running) }),
  record({ statuses: history(pending, running, { status: "succeeded", reason: null, description: null, exitCode: 0 }) }),
  record({
    statuses: history(pending, running, { status: "failed", reason: "Error", description: "boom \"quoted\"\n\u00e9\u{1F600}", exitCode: 137 })
  }),
  record({ statuses: history(pending, { status: "cancelled", reason: "UserRequested", description: null }) }),
  record({
    statuses: history(pending, running, { status: "running", reason: "Restarting", description: null }, { status: "suspended", reason: null, description: null }, running)
  }),
  record({
    name: "my-job",
    presetName: "gpu-small",
    description: "d\u00e9j\u00e0 \\ vu </script>",
    tags: ["a", "b c", "\u00fc"],
    org: "acme",
    owner: "alice/service-accounts/ci",
    schedulerEnabled: true,
    preemptibleNode: true,
    passConfig: true,
    privileged: true,
    priority: "high",
    maxRunTimeMinutes: 90,
    scheduleTimeout: 12.5,
    restartPolicy: "on-failure",
    energyScheduleName: "green",
    internalHostnameNamed: "my-job--alice.platform-jobs",
    materialized: true,
    pricePerHour: "0.5",
    container: {
      image: "registry.local/alice/img:1",
      entrypoint: "sh -c",
      command: "echo \"hi\" && sleep 1",
      workingDir: "/w",
      env: { A: "1", "\u00e9": "\u{1F600}", EMPTY: "" },
      resources: { cpu: 0.25, memory: 3 * 2 ** 30 + 12345, gpu: 2, gpuModel: "nvidia-tesla-t4", shm: true, tpu: { type: "v2-8", softwareVersion: "1.14" } },
      http: { port: 8080, healthCheckPath: "/health", requiresAuth: true },
      volumes: [{ uri: "storage://default/alice/data", dstPath: "/data", readOnly: true }, { uri: "storage://default/alice/out%20x", dstPath: "/out", readOnly: false }],
      secretVolumes: [{ uri: "secret://default/alice/key", dstPath: "/key" }],
      diskVolumes: [{ uri: "disk://default/alice/disk-1", dstPath: "/disk", readOnly: false }],
      secretEnv: { TOKEN: "secret://default/alice/token" },
      tty: true
    },
    statuses: history(pending, running)
  }),
  record({ energyScheduleName: "green", schedulerEnabled: false, description: "", container: { ...record().container, resources: { cpu: 1, memory: 1, shm: false } } }),
  record({ name: "named", container: { ...record().container, http: { port: 80, healthCheckPath: "/", requiresAuth: false } } })
]

describe("job JSON as text", () => {
  it("isoformat: as Python writes it, for any time and in any order", () => {
    const times = [0, 1, 999_999, 1_000_000, T0, T0 + 1, -1, -1_000_000, -123_456_789, 1.5, 2 ** 53, 253402300799999999, 253402300800000000]
    times.push(-30610224000000000, -30610224000000001, Date.UTC(2000, 1, 29) * 1000 + 7)
    let x = 12345
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      times.push(T0 + x * 1000 + (x % 7), T0 + x * 1000 + (x % 7) + 1, (x - 1e9) * 1e8)
    }
    for (const t of times) assert.strictEqual(isoformat(t), isoformatReference(t), String(t))
  })

  it("is JSON.stringify of the reference object, for every shape of job", () => {
    for (const now of [T0 + 10_000_000, T0 + 7_654_321_987]) {
      for (const job of variants) assert.strictEqual(jobText(job, now), JSON.stringify(jobJson(job, now)), job.id)
    }
  })

  it("a remembered line changes when what it shows changes; a running job's run time follows the clock", () => {
    const job = record()
    const first = renderedLine(job, T0 + 1)
    assert.strictEqual(renderedLine(job, T0 + 2), first, "remembered")
    assert.strictEqual(job.rendered, first)
    assert.strictEqual(jobLine(job).toString("utf8"), jobText(job, T0 + 1) + "\n")
    job.statuses.push({ status: "running", at: T0 + 10, reason: null, description: null })
    renderedLine(job, T0 + 20)
    assert.isUndefined(job.rendered, "a running job is not remembered")
    const a = jobDocument(job, T0 + 1_000_010).toString("utf8")
    const b = jobDocument(job, T0 + 3_000_010).toString("utf8")
    assert.strictEqual(a, JSON.stringify(jobJson(job, T0 + 1_000_010)))
    assert.strictEqual(b, JSON.stringify(jobJson(job, T0 + 3_000_010)))
    assert.notStrictEqual(a, b)
    job.statuses.push({ status: "cancelled", at: T0 + 4_000_000, reason: "UserRequested", description: null })
    assert.strictEqual(jobDocument(job, T0 + 9_000_000).toString("utf8"), JSON.stringify(jobJson(job, T0 + 9_000_000)))
    job.maxRunTimeMinutes = 5
    assert.include(jobDocument(job).toString("utf8"), `"max_run_time_minutes":5`)
    job.materialized = true
    assert.include(jobDocument(job).toString("utf8"), `"materialized":true`)
  })

  it("listings: NDJSON in chunks of 200 jobs made as they are pulled, JSON as one document", () => {
    const jobs = Array.from({ length: 450 }, () => record({ statuses: history(pending, { status: "succeeded", reason: null, description: null, exitCode: 0 }) }))
    let pulled = 0
    const source = function*() {
      for (const job of jobs) {
        pulled++
        yield job
      }
    }
    const chunks = ndjsonChunks(source(), T0)
    const first = chunks.next()
    assert.isFalse(first.done)
    assert.strictEqual(pulled, 200, "the first chunk reads only its own jobs")
    const rest = [...chunks]
    const all = [first.value as Uint8Array, ...rest].map((c) => Buffer.from(c).toString("utf8"))
    assert.deepStrictEqual(all.map((c) => c.split("\n").length - 1), [200, 200, 50])
    assert.strictEqual(all.join(""), jobs.map((job) => JSON.stringify(jobJson(job, T0)) + "\n").join(""))
    assert.strictEqual(jsonListing(jobs, T0).toString("utf8"), JSON.stringify({ jobs: jobs.map((job) => jobJson(job, T0)) }))
    assert.strictEqual(jsonListing([], T0).toString("utf8"), JSON.stringify({ jobs: [] }))
  })
})

describe("GET /jobs as NDJSON", () => {
  it.scoped("streams 200 jobs per chunk, each line the job's JSON", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.make({ users: ["alice"], testHooks: true })
      const auth = HttpClientRequest.bearerToken(Redacted.value(platform.token("alice")))
      const seeded = yield* platform.inProcessClient.execute(
        HttpClientRequest.post(`${platform.url}/_local/jobs/seed`).pipe(auth, HttpClientRequest.bodyUnsafeJson({ count: 1001 }))
      )
      assert.strictEqual(seeded.status, 201)
      const response = yield* platform.inProcessClient.execute(
        HttpClientRequest.get(`${platform.url}/api/v1/jobs`).pipe(auth, HttpClientRequest.setHeader("Accept", "application/x-ndjson"))
      )
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(HttpClientResponse.stream(Effect.succeed(response))))
      const lines = chunks.filter((c) => c.length > 0).map((c) => Buffer.from(c).toString("utf8").split("\n").length - 1)
      assert.deepStrictEqual(lines, [200, 200, 200, 200, 200, 1])
      const one = yield* platform.inProcessClient.execute(HttpClientRequest.get(`${platform.url}/api/v1/jobs?limit=1`).pipe(auth))
      assert.strictEqual(((yield* one.json) as { readonly jobs: ReadonlyArray<unknown> }).jobs.length, 1)
    }))
})
