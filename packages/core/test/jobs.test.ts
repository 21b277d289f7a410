import { assert, describe, it } from "@effect/vitest"
import { Jobs, Volume } from "@neuro-sdk/core"
import * as Image from "@neuro-sdk/core/Image"
import * as Chunk from "effect/Chunk"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { decodeJob } from "../src/internal/jobsDecode.js"
import { dumps, imageDecoder, isoformat, listParams } from "../src/internal/jobsWire.js"
import { API, fullJob, json, layer, makeHarness, minimalJob, type Recorded } from "./jobsFixtures.js"

type Obj = Record<string, unknown>

const ext = (name: string) => Image.RemoteImage.newExternalImage(name)

const decode = (u: unknown) => decodeJob(u)

describe("job JSON decoding", () => {
  it.effect("decodes every field", () =>
    Effect.gen(function*() {
      const job = yield* decode(fullJob())
      assert.strictEqual(job.id, "job-id")
      assert.strictEqual(job.status, "failed")
      assert.strictEqual(job.owner, "owner")
      assert.strictEqual(job.clusterName, "default")
      assert.strictEqual(job.orgName, "my-org")
      assert.strictEqual(job.uri.href, "job://default/owner/job-id")
      // decimals, with every digit the server wrote (a float would keep 17)
      assert.strictEqual(BigDecimal.format(job.totalPriceCredits), "105000.00000000000123")
      assert.strictEqual(BigDecimal.format(job.priceCreditsPerHour), "0.000123")
      assert.strictEqual(job.description, "This is job description, not a history description")
      assert.strictEqual(job.name, "job-name")
      assert.deepStrictEqual(job.tags, ["t1", "t2"])
      assert.strictEqual(job.httpUrl?.href, "http://named.example.org/")
      assert.strictEqual(job.internalHostname, "job-id.default")
      assert.strictEqual(job.internalHostnameNamed, "job-name--owner.default")
      assert.strictEqual(job.restartPolicy, Jobs.JobRestartPolicy.ON_FAILURE)
      assert.strictEqual(job.lifeSpan, 600)
      assert.strictEqual(job.scheduleTimeout, 5.5)
      assert.strictEqual(job.presetName, "cpu-small")
      assert.isTrue(job.schedulerEnabled)
      assert.isFalse(job.passConfig)
      assert.isTrue(job.preemptibleNode)
      assert.isTrue(job.privileged)
      assert.strictEqual(job.priority, Jobs.JobPriority.HIGH)
      assert.strictEqual(job.energyScheduleName, "green")
      assert.deepStrictEqual(
        [job.internal.materialized, job.internal.beingDropped, job.internal.logsRemoved],
        [true, true, true]
      )
      const h = job.history
      assert.strictEqual(h.status, "failed")
      assert.strictEqual(h.reason, "ContainerCannotRun")
      assert.strictEqual(h.description, "Not enough coffee")
      assert.strictEqual(h.restarts, 2)
      assert.strictEqual(h.createdAt?.toISOString(), "2018-08-29T12:23:13.981Z")
      assert.strictEqual(h.startedAt?.toISOString(), "2018-08-29T12:23:15.988Z")
      assert.strictEqual(h.finishedAt?.toISOString(), "2018-08-29T12:59:31.427Z")
      assert.strictEqual(h.changedAt?.toISOString(), "2018-08-29T12:59:31.427Z")
      assert.strictEqual(h.runTimeSeconds, 100)
      assert.strictEqual(h.exitCode, 137)
      assert.strictEqual(h.transitions.length, 2)
      assert.strictEqual(h.transitions[0]!.status, "pending")
      assert.strictEqual(h.transitions[0]!.reason, "Creating")
      assert.strictEqual(h.transitions[0]!.description, "")
      assert.isUndefined(h.transitions[0]!.exitCode)
      assert.strictEqual(h.transitions[1]!.exitCode, 137)
      const c = job.container
      assert.strictEqual(c.image.name, "submit-image-name")
      assert.strictEqual(c.image.tag, "latest")
      assert.isFalse(c.image.isInNeuroRegistry)
      assert.strictEqual(c.entrypoint, "/bin/sh")
      assert.strictEqual(c.command, "submit-command")
      assert.strictEqual(c.workingDir, "/work")
      assert.strictEqual(c.http?.port, 8181)
      assert.isFalse(c.http?.requiresAuth, "requires_auth defaults to false when decoding")
      assert.deepStrictEqual(c.env, { A: "1" })
      assert.strictEqual(c.secretEnv.S?.href, "secret://default/owner/key")
      assert.strictEqual(c.secretFiles[0]!.secretUri.href, "secret://default/owner/key")
      assert.strictEqual(c.secretFiles[0]!.containerPath, "/secret")
      assert.strictEqual(c.diskVolumes[0]!.diskUri.href, "disk://default/owner/disk-1")
      assert.isTrue(c.diskVolumes[0]!.readOnly, "disk read_only defaults to true when decoding")
      assert.isTrue(c.tty)
      assert.deepStrictEqual(
        c.volumes.map((v) => [v.storageUri.href, v.containerPath, v.readOnly]),
        [
          ["storage://test-user/path_read_only", "/container/read_only", true],
          ["storage://test-user/path_read_write", "/container/path_read_write", false],
          ["storage://test-user/default_ro", "/container/default", true]
        ]
      )
      const r = c.resources
      assert.deepStrictEqual(
        [r.memory, r.memoryMb, r.cpu, r.shm, r.gpu, r.gpuModel, r.tpuType, r.tpuSoftwareVersion],
        [4096 * 2 ** 20, 4096, 7, false, 1, "test-gpu-model", "v3-8", "1.14"]
      )
    }))

  it.effect("every optional field absent gives neuro-sdk's defaults", () =>
    Effect.gen(function*() {
      const job = yield* decode(minimalJob())
      assert.isUndefined(job.name)
      assert.deepStrictEqual(job.tags, [])
      assert.isUndefined(job.description)
      assert.isUndefined(job.httpUrl)
      assert.isUndefined(job.internalHostname)
      assert.isUndefined(job.internalHostnameNamed)
      assert.strictEqual(job.restartPolicy, "never")
      assert.isUndefined(job.lifeSpan)
      assert.isUndefined(job.scheduleTimeout)
      assert.isUndefined(job.presetName)
      assert.isNull(job.orgName)
      assert.isFalse(job.preemptibleNode)
      assert.isFalse(job.privileged)
      assert.strictEqual(job.priority, Jobs.JobPriority.NORMAL)
      assert.isUndefined(job.energyScheduleName)
      assert.deepStrictEqual(
        [job.internal.materialized, job.internal.beingDropped, job.internal.logsRemoved],
        [false, false, false]
      )
      assert.strictEqual(job.history.status, "unknown")
      assert.strictEqual(job.history.reason, "")
      assert.strictEqual(job.history.description, "")
      assert.strictEqual(job.history.restarts, 0)
      assert.isUndefined(job.history.createdAt)
      assert.isUndefined(job.history.exitCode)
      assert.deepStrictEqual(job.history.transitions, [])
      const c = job.container
      assert.isUndefined(c.entrypoint)
      assert.isUndefined(c.command)
      assert.isUndefined(c.workingDir)
      assert.isUndefined(c.http)
      assert.deepStrictEqual(c.env, {})
      assert.deepStrictEqual(c.volumes, [])
      assert.deepStrictEqual(c.secretEnv, {})
      assert.deepStrictEqual(c.secretFiles, [])
      assert.deepStrictEqual(c.diskVolumes, [])
      assert.isFalse(c.tty)
      assert.isTrue(c.resources.shm, "shm defaults to true")
      assert.isUndefined(c.resources.gpu)
      assert.isUndefined(c.resources.gpuModel)
      assert.isUndefined(c.resources.tpuType)
      assert.isUndefined(c.resources.tpuSoftwareVersion)
    }))

  // every optional field of the job JSON, as [path, present value]
  const optionalFields: ReadonlyArray<readonly [ReadonlyArray<string>, unknown]> = [
    [["name"], "n"],
    [["tags"], ["t"]],
    [["description"], "d"],
    [["http_url"], "http://h"],
    [["http_url_named"], "http://n"],
    [["ssh_server"], "ssh://nobody@ssh.example.org:22"],
    [["internal_hostname"], "h"],
    [["internal_hostname_named"], "hn"],
    [["restart_policy"], "always"],
    [["max_run_time_minutes"], 3],
    [["schedule_timeout"], 1],
    [["preset_name"], "p"],
    [["org_name"], "o"],
    [["preemptible_node"], true],
    [["privileged"], true],
    [["priority"], "low"],
    [["energy_schedule_name"], "e"],
    [["materialized"], true],
    [["being_dropped"], true],
    [["logs_removed"], true],
    [["statuses"], [{ status: "running", transition_time: "2020-01-01T00:00:00+00:00" }]],
    [["history", "status"], "running"],
    [["history", "reason"], "r"],
    [["history", "description"], "d"],
    [["history", "restarts"], 1],
    [["history", "created_at"], "2020-01-01T00:00:00+00:00"],
    [["history", "started_at"], "2020-01-01T00:00:00+00:00"],
    [["history", "finished_at"], "2020-01-01T00:00:00+00:00"],
    [["history", "run_time_seconds"], 5],
    [["history", "exit_code"], 0],
    [["container", "entrypoint"], "e"],
    [["container", "command"], "c"],
    [["container", "working_dir"], "/w"],
    [["container", "http"], { port: 80, requires_auth: true }],
    [["container", "env"], { A: "B" }],
    [["container", "volumes"], [{ src_storage_uri: "storage://c/u/x", dst_path: "/x", read_only: false }]],
    [["container", "secret_env"], { A: "secret://c/u/k" }],
    [["container", "secret_volumes"], [{ src_secret_uri: "secret://c/u/k", dst_path: "/k" }]],
    [["container", "disk_volumes"], [{ src_disk_uri: "disk://c/u/d", dst_path: "/d", read_only: false }]],
    [["container", "tty"], true],
    [["container", "resources", "shm"], false],
    [["container", "resources", "gpu"], 2],
    [["container", "resources", "gpu_model"], "m"],
    [["container", "resources", "tpu"], { type: "v2-8", software_version: "2.0" }]
  ]

  const withField = (path: ReadonlyArray<string>, value: unknown): Obj => {
    const job = minimalJob()
    let target = job
    for (const key of path.slice(0, -1)) target = target[key] as Obj
    target[path[path.length - 1]!] = value
    return job
  }

  it.effect("every optional field: absent, present and null", () =>
    Effect.gen(function*() {
      const absent = yield* decode(minimalJob())
      for (const [path, value] of optionalFields) {
        const present = yield* decode(withField(path, value))
        assert.notDeepEqual(present, absent, `${path.join(".")} present changes the job`)
        const nulled = yield* decode(withField(path, null))
        assert.deepStrictEqual(nulled, absent, `${path.join(".")}: null means absent`)
      }
    }))

  it.effect("unknown statuses become UNKNOWN", () =>
    Effect.gen(function*() {
      const json = minimalJob()
      json.status = "hibernating"
      json.history = { status: "teleporting" }
      json.statuses = [{ status: "weird", transition_time: "2020-01-01T00:00:00Z" }, { transition_time: "2020-01-01T00:00:00Z" }]
      const job = yield* decode(json)
      assert.strictEqual(job.status, Jobs.JobStatus.UNKNOWN)
      assert.strictEqual(job.history.status, "unknown")
      assert.deepStrictEqual(job.history.transitions.map((t) => t.status), ["unknown", "unknown"])
      for (const s of ["pending", "suspended", "running", "succeeded", "failed", "cancelled"]) {
        assert.strictEqual((yield* decode({ ...minimalJob(), status: s })).status, s)
      }
    }))

  const requiredFields: ReadonlyArray<ReadonlyArray<string>> = [
    ["id"],
    ["owner"],
    ["cluster_name"],
    ["status"],
    ["history"],
    ["container"],
    ["scheduler_enabled"],
    ["pass_config"],
    ["uri"],
    ["total_price_credits"],
    ["price_credits_per_hour"],
    ["container", "image"],
    ["container", "resources"],
    ["container", "resources", "memory"],
    ["container", "resources", "cpu"]
  ]

  it.effect("a missing required field is a MalformedResponse naming it", () =>
    Effect.gen(function*() {
      for (const path of requiredFields) {
        const json = minimalJob()
        let target = json
        for (const key of path.slice(0, -1)) target = target[key] as Obj
        delete target[path[path.length - 1]!]
        const error = yield* Effect.flip(decode(json))
        assert.strictEqual(error._tag, "MalformedResponse", path.join("."))
        assert.include(error.description, `at ${path.join(".")}: is missing`, path.join("."))
      }
    }))

  it.effect("bad values are MalformedResponses naming the field", () =>
    Effect.gen(function*() {
      const rows: ReadonlyArray<readonly [Obj, string]> = [
        [{ ...minimalJob(), priority: "urgent" }, "priority"],
        [{ ...minimalJob(), restart_policy: "sometimes" }, "restart_policy"],
        [{ ...minimalJob(), uri: "not a uri" }, "uri"],
        [{ ...minimalJob(), http_url: "::" }, "http_url"],
        [{ ...minimalJob(), total_price_credits: "ten" }, "total_price_credits"],
        [{ ...minimalJob(), history: { created_at: "yesterday" } }, "created_at"],
        [{ ...minimalJob(), scheduler_enabled: "yes" }, "scheduler_enabled"],
        [{ ...minimalJob(), tags: "t1" }, "tags"],
        [{ ...minimalJob(), statuses: [{ status: "running" }] }, "transition_time"]
      ]
      for (const [json, field] of rows) {
        const error = yield* Effect.flip(decode(json))
        assert.strictEqual(error._tag, "MalformedResponse", field)
        assert.include(error.description, field)
      }
      assert.strictEqual((yield* Effect.flip(decode("not json object")))._tag, "MalformedResponse")
    }))

  it.effect("priority names in any case; prices as numbers; http_url without a named one", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* decode({ ...minimalJob(), priority: "LOW" })).priority, Jobs.JobPriority.LOW)
      assert.strictEqual((yield* decode({ ...minimalJob(), priority: "Normal" })).priority, Jobs.JobPriority.NORMAL)
      assert.strictEqual((yield* decode({ ...minimalJob(), total_price_credits: 1.5 })).totalPriceCredits.pipe(BigDecimal.format), "1.5")
      const job = yield* decode({ ...minimalJob(), http_url: "http://my_host:8889", http_url_named: "" })
      assert.strictEqual(job.httpUrl?.href, "http://my_host:8889/")
    }))
})

describe("job images (neuro-sdk test_list_incorrect_image)", () => {
  const decoder = imageDecoder({ username: "user", orgName: null, registries: [["default", "registry-dev.neu.ro"]] })
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["submit-image-name", "submit-image-name:latest"],
    ["some.com/path:tag", "some.com/path:tag"],
    ["registry-dev.neu.ro/bob/img:v1", "image://default/bob/img:v1"],
    ["registry-dev.neu.ro/path/:tag", "INVALID-IMAGE-NAME"],
    ["", "INVALID-IMAGE-NAME"],
    [":", "INVALID-IMAGE-NAME"]
  ]
  for (const [reference, expected] of rows) {
    it.effect(JSON.stringify(reference), () =>
      Effect.gen(function*() {
        const job = yield* decodeJob({ ...minimalJob(), container: { image: reference, resources: { memory: 1, cpu: 1 } } }, decoder)
        assert.strictEqual(job.container.image.toString(), expected)
      }))
  }
})

describe("JobStatus", () => {
  it("predicates and item sets", () => {
    const S = Jobs.JobStatus
    assert.deepStrictEqual([...S.activeItems()].sort(), ["pending", "running", "suspended"])
    assert.deepStrictEqual([...S.finishedItems()].sort(), ["cancelled", "failed", "succeeded"])
    assert.strictEqual(S.items().size, 6)
    assert.isFalse(S.items().has(S.UNKNOWN))
    assert.isTrue(S.isPending(S.SUSPENDED))
    assert.isTrue(S.isRunning(S.RUNNING))
    assert.isTrue(S.isFinished(S.CANCELLED))
    assert.isFalse(S.isFinished(S.UNKNOWN))
    assert.strictEqual(Jobs.JobPriority.nameOf(Jobs.JobPriority.HIGH), "HIGH")
    assert.isTrue(Jobs.JobPriority.LOW < Jobs.JobPriority.NORMAL)
  })
})

describe("JobTelemetry", () => {
  it("memory in MiB", () => {
    const t = new Jobs.JobTelemetry({ cpu: 0.5, memoryBytes: 50 * 2 ** 20, timestamp: 1, gpuMemoryBytes: 2 ** 20 })
    assert.strictEqual(t.memory, 50)
    assert.strictEqual(t.gpuMemory, 1)
    assert.isUndefined(new Jobs.JobTelemetry({ cpu: 0, memoryBytes: 0, timestamp: 0 }).gpuMemory)
  })
})

// ---------------------------------------------------------------------------------------------
// request bodies
// ---------------------------------------------------------------------------------------------

const JOB_REPLY = minimalJob()
const res = (memory: number, cpu: number, extra: Partial<ConstructorParameters<typeof Jobs.Resources>[0]> = {}) =>
  new Jobs.Resources({ memory, cpu, ...extra })
const rwVolumes = [
  new Volume.Volume({ storageUri: new URL("storage://test-user/path_read_only"), containerPath: "/container/read_only", readOnly: true }),
  new Volume.Volume({ storageUri: new URL("storage://test-user/path_read_write"), containerPath: "/container/path_read_write", readOnly: false })
]
const rwVolumesJson = [
  { src_storage_uri: "storage://test-user/path_read_only", dst_path: "/container/read_only", read_only: true },
  { src_storage_uri: "storage://test-user/path_read_write", dst_path: "/container/path_read_write", read_only: false }
]
const gpuResources = res(16384 * 2 ** 20, 7, { gpu: 1, gpuModel: "test-gpu-model", shm: true })
const gpuResourcesJson = { memory: 16384 * 2 ** 20, cpu: 7, shm: true, gpu: 1, gpu_model: "test-gpu-model" }

type Submit = (jobs: Jobs.Jobs.Service) => Effect.Effect<Jobs.JobDescription, Jobs.JobsError>

/** [name, call, expected body]: the bodies neuro-sdk's tests/test_jobs.py expect. */
const bodies: ReadonlyArray<readonly [string, Submit, unknown]> = [
  [
    "test_job_start",
    (j) =>
      j.start({
        image: ext("submit-image-name"),
        command: "submit-command",
        volumes: rwVolumes,
        http: new Jobs.HTTPPort({ port: 8181 }),
        shm: true,
        presetName: "cpu-small"
      }),
    {
      image: "submit-image-name",
      command: "submit-command",
      http: { port: 8181, requires_auth: true },
      resources: { shm: true },
      volumes: rwVolumesJson,
      pass_config: false,
      cluster_name: "default",
      preset_name: "cpu-small"
    }
  ],
  [
    "test_job_start_with_privileged_flag",
    (j) => j.start({ image: ext("submit-image-name"), command: "submit-command", presetName: "cpu-small", privileged: true }),
    {
      image: "submit-image-name",
      command: "submit-command",
      pass_config: false,
      cluster_name: "default",
      preset_name: "cpu-small",
      privileged: true
    }
  ],
  [
    "test_job_start_with_priority",
    (j) =>
      j.start({ image: ext("submit-image-name"), command: "submit-command", presetName: "cpu-small", priority: Jobs.JobPriority.HIGH }),
    {
      image: "submit-image-name",
      command: "submit-command",
      pass_config: false,
      cluster_name: "default",
      preset_name: "cpu-small",
      priority: "high"
    }
  ],
  [
    "test_job_start_with_energy_schedule_name",
    (j) =>
      j.start({
        image: ext("submit-image-name"),
        command: "submit-command",
        presetName: "cpu-large-p",
        energyScheduleName: "some-schedule"
      }),
    {
      image: "submit-image-name",
      command: "submit-command",
      cluster_name: "default",
      preset_name: "cpu-large-p",
      energy_schedule_name: "some-schedule",
      pass_config: false
    }
  ],
  [
    "test_job_run",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          volumes: rwVolumes,
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        volumes: rwVolumesJson
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_wait_for_quota",
    (j) =>
      j.run(new Jobs.Container({ image: ext("submit-image-name"), command: "submit-command", resources: gpuResources }), {
        schedulerEnabled: false,
        waitForJobsQuota: true
      }),
    {
      container: { image: "submit-image-name", command: "submit-command", resources: gpuResourcesJson },
      scheduler_enabled: false,
      wait_for_jobs_quota: true,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_name_and_description",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          volumes: rwVolumes,
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false, name: "test-job-name", description: "job description" }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        volumes: rwVolumesJson
      },
      scheduler_enabled: false,
      pass_config: false,
      name: "test-job-name",
      description: "job description",
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_tags",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          volumes: rwVolumes,
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false, tags: ["t1", "t2", "t3"] }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        volumes: rwVolumesJson
      },
      scheduler_enabled: false,
      pass_config: false,
      tags: ["t1", "t2", "t3"],
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_no_volumes",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false, name: "test-job-name", description: "job description" }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson
      },
      scheduler_enabled: false,
      pass_config: false,
      name: "test-job-name",
      description: "job description",
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_relative_volume_uris",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          volumes: [
            new Volume.Volume({ storageUri: new URL("storage:path"), containerPath: "/container/my_path", readOnly: false }),
            new Volume.Volume({ storageUri: new URL("storage:/otheruser/path"), containerPath: "/container/other_user_path", readOnly: true }),
            new Volume.Volume({
              storageUri: new URL("storage://othercluster/otheruser/path"),
              containerPath: "/container/other_cluster_path",
              readOnly: true
            })
          ],
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        volumes: [
          { src_storage_uri: "storage://default/user/path", dst_path: "/container/my_path", read_only: false },
          { src_storage_uri: "storage://default/otheruser/path", dst_path: "/container/other_user_path", read_only: true },
          { src_storage_uri: "storage://othercluster/otheruser/path", dst_path: "/container/other_cluster_path", read_only: true }
        ]
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_secret_uris",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          env: { VAR: "VAL" },
          secretEnv: { SECRET_VAR: new URL("secret:secret") },
          volumes: [new Volume.Volume({ storageUri: new URL("storage:path"), containerPath: "/container/my_path", readOnly: false })],
          secretFiles: [new Volume.SecretFile({ secretUri: new URL("secret:secret"), containerPath: "/secrets/my_path" })],
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        env: { VAR: "VAL" },
        secret_env: { SECRET_VAR: "secret://default/user/secret" },
        volumes: [{ src_storage_uri: "storage://default/user/path", dst_path: "/container/my_path", read_only: false }],
        secret_volumes: [{ src_secret_uri: "secret://default/user/secret", dst_path: "/secrets/my_path" }]
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_disk_volume_uris",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          diskVolumes: [new Volume.DiskVolume({ diskUri: new URL("disk:disk-1"), containerPath: "/container/my_path" })],
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: false }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        disk_volumes: [{ src_disk_uri: "disk://default/user/disk-1", dst_path: "/container/my_path", read_only: false }]
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_preemptible",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: gpuResources,
          volumes: rwVolumes,
          http: new Jobs.HTTPPort({ port: 8181 })
        }),
        { schedulerEnabled: true, name: "test-job-name", description: "job description" }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        http: { port: 8181, requires_auth: true },
        resources: gpuResourcesJson,
        volumes: rwVolumesJson
      },
      scheduler_enabled: true,
      pass_config: false,
      name: "test-job-name",
      description: "job description",
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_schedule_timeout",
    (j) =>
      j.run(new Jobs.Container({ image: ext("submit-image-name"), command: "submit-command", resources: gpuResources }), {
        scheduleTimeout: 5
      }),
    {
      container: { image: "submit-image-name", command: "submit-command", resources: gpuResourcesJson },
      scheduler_enabled: false,
      pass_config: false,
      schedule_timeout: 5,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_tpu",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          resources: res(16384 * 2 ** 20, 7, { gpu: 1, gpuModel: "test-gpu-model", tpuType: "v3-8", tpuSoftwareVersion: "1.14" })
        }),
        { scheduleTimeout: 5 }
      ),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        resources: { ...gpuResourcesJson, tpu: { type: "v3-8", software_version: "1.14" } }
      },
      scheduler_enabled: false,
      pass_config: false,
      schedule_timeout: 5,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_with_tty",
    (j) =>
      j.run(new Jobs.Container({ image: ext("submit-image-name"), command: "submit-command", resources: res(16384 * 2 ** 20, 0.5), tty: true })),
    {
      container: {
        image: "submit-image-name",
        command: "submit-command",
        resources: { memory: 16384 * 2 ** 20, cpu: 0.5, shm: true },
        tty: true
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_life_span",
    (j) =>
      j.run(new Jobs.Container({ image: ext("submit-image-name"), command: "submit-command", resources: res(16 * 2 ** 20, 0.5) }), {
        lifeSpan: 10 * 60
      }),
    {
      container: { image: "submit-image-name", resources: { memory: 16 * 2 ** 20, cpu: 0.5, shm: true }, command: "submit-command" },
      scheduler_enabled: false,
      pass_config: false,
      max_run_time_minutes: 10,
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_restart_policy",
    (j) =>
      j.run(new Jobs.Container({ image: ext("submit-image-name"), command: "submit-command", resources: res(16 * 2 ** 20, 0.5) }), {
        restartPolicy: Jobs.JobRestartPolicy.ALWAYS
      }),
    {
      container: { image: "submit-image-name", resources: { memory: 16 * 2 ** 20, cpu: 0.5, shm: true }, command: "submit-command" },
      scheduler_enabled: false,
      pass_config: false,
      restart_policy: "always",
      cluster_name: "default"
    }
  ],
  [
    "test_job_run_working_dir",
    (j) =>
      j.run(
        new Jobs.Container({
          image: ext("submit-image-name"),
          command: "submit-command",
          workingDir: "/working/dir",
          resources: res(16 * 2 ** 20, 0.5)
        })
      ),
    {
      container: {
        image: "submit-image-name",
        resources: { memory: 16 * 2 ** 20, cpu: 0.5, shm: true },
        command: "submit-command",
        working_dir: "/working/dir"
      },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_price_credits",
    (j) => j.run(new Jobs.Container({ image: ext("submit-image-name"), resources: res(16 * 2 ** 20, 0.5) })),
    {
      container: { image: "submit-image-name", resources: { memory: 16 * 2 ** 20, cpu: 0.5, shm: true } },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "test_job_with_org_name",
    (j) => j.run(new Jobs.Container({ image: ext("submit-image-name"), resources: res(16 * 2 ** 20, 0.5) }), { orgName: "my-awesome-organization" }),
    {
      container: { image: "submit-image-name", resources: { memory: 16 * 2 ** 20, cpu: 0.5, shm: true } },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default",
      org_name: "my-awesome-organization"
    }
  ],
  [
    "gpu without a model sends gpu_model null (as neuro-sdk)",
    (j) => j.run(new Jobs.Container({ image: ext("img"), resources: res(1, 1, { gpu: 2 }) })),
    {
      container: { image: "img", resources: { memory: 1, cpu: 1, shm: true, gpu: 2, gpu_model: null } },
      scheduler_enabled: false,
      pass_config: false,
      cluster_name: "default"
    }
  ],
  [
    "start with every option",
    (j) =>
      j.start({
        image: "image:img:v1",
        presetName: "gpu",
        clusterName: "other",
        orgName: null,
        entrypoint: "/bin/sh",
        command: "-c true",
        workingDir: "/w",
        http: new Jobs.HTTPPort({ port: 80, requiresAuth: false }),
        env: { A: "1" },
        volumes: [new Volume.Volume({ storageUri: new URL("storage:data"), containerPath: "/data" })],
        secretEnv: { S: new URL("secret:/bob/k") },
        secretFiles: [new Volume.SecretFile({ secretUri: new URL("secret://other/user/k"), containerPath: "/k" })],
        diskVolumes: [new Volume.DiskVolume({ diskUri: new URL("disk:d"), containerPath: "/d", readOnly: true })],
        tty: true,
        shm: true,
        name: "n",
        tags: ["a"],
        description: "d",
        passConfig: true,
        waitForJobsQuota: true,
        scheduleTimeout: 30,
        restartPolicy: "on-failure",
        lifeSpan: 3659,
        privileged: true,
        priority: Jobs.JobPriority.LOW,
        energyScheduleName: "e"
      }),
    {
      pass_config: true,
      name: "n",
      preset_name: "gpu",
      tags: ["a"],
      description: "d",
      schedule_timeout: 30,
      restart_policy: "on-failure",
      max_run_time_minutes: 60,
      wait_for_jobs_quota: true,
      privileged: true,
      priority: "low",
      energy_schedule_name: "e",
      cluster_name: "other",
      image: "registry.other.example.org/user/img:v1",
      resources: { shm: true },
      entrypoint: "/bin/sh",
      command: "-c true",
      working_dir: "/w",
      http: { port: 80, requires_auth: false },
      env: { A: "1" },
      volumes: [{ src_storage_uri: "storage://other/user/data", dst_path: "/data", read_only: false }],
      secret_env: { S: "secret://other/bob/k" },
      secret_volumes: [{ src_secret_uri: "secret://other/user/k", dst_path: "/k" }],
      disk_volumes: [{ src_disk_uri: "disk://other/user/d", dst_path: "/d", read_only: true }],
      tty: true
    }
  ]
]

describe("start/run bodies (neuro-sdk tests/test_jobs.py)", () => {
  for (const [name, call, expected] of bodies) {
    it.effect(name, () => {
      const harness = makeHarness()
      return Effect.gen(function*() {
        const job = yield* call(yield* Jobs.Jobs)
        assert.strictEqual(job.id, "job-id")
        const request = harness.requests[0]!
        assert.strictEqual(request.method, "POST")
        assert.strictEqual(request.headers["content-type"], "application/json")
        const body: unknown = JSON.parse(request.body)
        assert.deepStrictEqual(body, expected)
        // same text as Python's json.dumps of the same dict
        assert.strictEqual(request.body, dumps(body as never))
      }).pipe(Effect.provide(layer(harness, () => json(JOB_REPLY))))
    })
  }

  it.effect("start posts to {api}/jobs?from_preset, run to {api}/jobs; key order as neuro-sdk", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      yield* jobs.start({ image: ext("ubuntu"), presetName: "cpu", command: "true", tags: ["x"] })
      yield* jobs.run(new Jobs.Container({ image: ext("ubuntu"), command: "true", resources: res(1024, 0.25) }), { name: "n" })
      const [start, run] = harness.requests
      assert.strictEqual(start!.url.pathname, "/api/v1/jobs")
      assert.isTrue(start!.url.searchParams.has("from_preset"))
      assert.strictEqual(run!.url.href, `${API}/jobs`)
      assert.strictEqual(
        start!.body,
        `{"pass_config": false, "preset_name": "cpu", "tags": ["x"], "cluster_name": "default", "image": "ubuntu", "command": "true"}`
      )
      assert.strictEqual(
        run!.body,
        `{"pass_config": false, "name": "n", "cluster_name": "default", "container": {"image": "ubuntu", "command": "true", "resources": {"memory": 1024, "cpu": 0.25, "shm": true}}, "scheduler_enabled": false}`
      )
    }).pipe(Effect.provide(layer(harness, () => json(JOB_REPLY))))
  })

  it.effect("the current org is sent unless orgName is given; relative URIs get the org", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      const volumes = [new Volume.Volume({ storageUri: new URL("storage:data"), containerPath: "/data" })]
      yield* jobs.start({ image: ext("ubuntu"), presetName: "cpu", volumes })
      yield* jobs.start({ image: ext("ubuntu"), presetName: "cpu", orgName: null, volumes })
      const [withOrg, noOrg] = harness.requests.map((r) => JSON.parse(r.body) as Obj)
      assert.strictEqual(withOrg!.org_name, "acme")
      assert.deepStrictEqual(withOrg!.volumes, [{ src_storage_uri: "storage://default/acme/user/data", dst_path: "/data", read_only: false }])
      assert.notProperty(noOrg, "org_name")
      assert.deepStrictEqual(noOrg!.volumes, [{ src_storage_uri: "storage://default/user/data", dst_path: "/data", read_only: false }])
    }).pipe(Effect.provide(layer(harness, () => json(JOB_REPLY), { orgName: "acme" })))
  })

  it.effect("bad inputs are InvalidInputErrors and nothing is sent", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      const wrongScheme = yield* Effect.flip(
        jobs.start({ image: ext("u"), presetName: "p", secretEnv: { A: new URL("storage:x") } })
      )
      assert.strictEqual(wrongScheme._tag, "InvalidInputError")
      const tpu = yield* Effect.flip(jobs.run(new Jobs.Container({ image: ext("u"), resources: res(1, 1, { tpuType: "v3-8" }) })))
      assert.strictEqual(tpu._tag, "InvalidInputError")
      const lifeSpan = yield* Effect.flip(jobs.start({ image: ext("u"), presetName: "p", lifeSpan: Infinity }))
      assert.strictEqual(lifeSpan._tag, "InvalidInputError")
      const query = yield* Effect.flip(
        jobs.start({ image: ext("u"), presetName: "p", volumes: [new Volume.Volume({ storageUri: new URL("storage:x?y"), containerPath: "/x" })] })
      )
      assert.strictEqual(query._tag, "InvalidInputError")
      assert.strictEqual(harness.requests.length, 0)
    }).pipe(Effect.provide(layer(harness, () => json(JOB_REPLY))))
  })

  it("dumps writes Python's json.dumps text", () => {
    assert.strictEqual(dumps({ a: [1, 2.5, null, true], b: { c: "é\n😀\"\\" } }), `{"a": [1, 2.5, null, true], "b": {"c": "\\u00e9\\n\\ud83d\\ude00\\"\\\\"}}`)
    assert.strictEqual(dumps({}), "{}")
    assert.strictEqual(dumps("\u007f"), `"\\u007f"`)
  })
})

// ---------------------------------------------------------------------------------------------
// list and the other HTTP calls
// ---------------------------------------------------------------------------------------------

describe("list", () => {
  const query = (options: Jobs.ListOptions) => new URLSearchParams(listParams(options, "default").map(([k, v]): [string, string] => [k, v])).toString()

  const rows: ReadonlyArray<readonly [string, Jobs.ListOptions, string]> = [
    ["no filter", {}, "cluster_name=default&being_dropped=False&logs_removed=False"],
    ["name", { name: "job-name-1" }, "name=job-name-1&cluster_name=default&being_dropped=False&logs_removed=False"],
    [
      "statuses",
      { statuses: ["failed", "succeeded", "cancelled"] },
      "status=failed&status=succeeded&status=cancelled&cluster_name=default&being_dropped=False&logs_removed=False"
    ],
    [
      "name, statuses, owners",
      { statuses: ["running"], name: "n", owners: ["owner-1", "owner-2"] },
      "status=running&name=n&owner=owner-1&owner=owner-2&cluster_name=default&being_dropped=False&logs_removed=False"
    ],
    ["tags", { tags: new Set(["t1", "t2"]) }, "tag=t1&tag=t2&cluster_name=default&being_dropped=False&logs_removed=False"],
    [
      "since/until",
      { since: new Date("2018-09-25T12:28:26.698Z"), until: new Date("2018-09-25T12:28:31Z") },
      "since=2018-09-25T12%3A28%3A26.698000%2B00%3A00&until=2018-09-25T12%3A28%3A31%2B00%3A00&cluster_name=default&being_dropped=False&logs_removed=False"
    ],
    ["reverse, limit", { reverse: true, limit: 10 }, "cluster_name=default&reverse=1&limit=10&being_dropped=False&logs_removed=False"],
    ["reverse false", { reverse: false }, "cluster_name=default&being_dropped=False&logs_removed=False"],
    ["org", { orgName: "acme" }, "cluster_name=default&org_name=acme&being_dropped=False&logs_removed=False"],
    [
      "internal flags",
      { materialized: true, beingDropped: true, logsRemoved: null },
      "cluster_name=default&materialized=True&being_dropped=True"
    ]
  ]
  for (const [name, options, expected] of rows) {
    it(`query: ${name}`, () => assert.strictEqual(query(options), expected))
  }

  it("isoformat as Python", () => {
    assert.strictEqual(isoformat(new Date("2021-08-17T00:00:00Z")), "2021-08-17T00:00:00+00:00")
    assert.strictEqual(isoformat(new Date("2021-08-17T00:00:00.5Z")), "2021-08-17T00:00:00.500000+00:00")
  })

  const twoJobs = [{ ...minimalJob(), id: "job-1" }, { ...minimalJob(), id: "job-2", status: "weird" }]

  it.effect("reads the {\"jobs\": [...]} document", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      const all = Chunk.toArray(yield* Stream.runCollect(jobs.list({ clusterName: "other", statuses: ["running"] })))
      assert.deepStrictEqual(all.map((j) => [j.id, j.status]), [["job-1", "running"], ["job-2", "unknown"]])
      const request = harness.requests[0]!
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url.pathname, "/api/v1/jobs")
      assert.strictEqual(request.url.search, "?status=running&cluster_name=other&being_dropped=False&logs_removed=False")
      assert.strictEqual(request.headers["accept"], "application/x-ndjson")
    }).pipe(Effect.provide(layer(harness, () => json({ jobs: twoJobs }))))
  })

  it.effect("streams NDJSON; an error line fails with NDJSONError; a bad job with MalformedResponse", () => {
    const harness = makeHarness()
    let body = ""
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      body = twoJobs.map((j) => JSON.stringify(j)).join("\n") + "\n"
      const all = Chunk.toArray(yield* Stream.runCollect(jobs.list()))
      assert.deepStrictEqual(all.map((j) => j.id), ["job-1", "job-2"])
      body = JSON.stringify(twoJobs[0]) + "\n" + JSON.stringify({ error: "Failed" }) + "\n"
      const error = yield* Effect.flip(Stream.runCollect(jobs.list()))
      assert.strictEqual(error._tag, "NDJSONError")
      assert.strictEqual(error.message.includes("Failed"), true)
      body = JSON.stringify({ ...minimalJob(), owner: undefined }) + "\n"
      const bad = yield* Effect.flip(Stream.runCollect(jobs.list()))
      assert.strictEqual(bad._tag, "MalformedResponse")
      assert.include(bad.message, "owner")
    }).pipe(
      Effect.provide(layer(harness, () => new Response(body, { headers: { "content-type": "application/x-ndjson" } })))
    )
  })
})

describe("status, kill, bumpLifeSpan, sendSignal, getCapacity", () => {
  const route = (r: Recorded): Response => {
    if (r.url.pathname.endsWith("/capacity")) return json({ "cpu-micro": 10 })
    if (r.method === "GET") return r.url.pathname.endsWith("/missing") ? json({ error: "no such job" }, 404) : json(minimalJob())
    return new Response(null, { status: 204 })
  }

  it.effect("paths, methods and bodies", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      assert.strictEqual((yield* jobs.status("job-id")).id, "job-id")
      yield* jobs.kill("job-id")
      yield* jobs.bumpLifeSpan("job-id", 3600 + 59)
      yield* jobs.sendSignal("job-id")
      yield* jobs.sendSignal("job-id", { clusterName: "other" })
      assert.deepStrictEqual(yield* jobs.getCapacity(), { "cpu-micro": 10 })
      const seen = harness.requests.map((r) => `${r.method} ${r.url.href} ${r.body}`.trim())
      assert.deepStrictEqual(seen, [
        `GET ${API}/jobs/job-id`,
        `DELETE ${API}/jobs/job-id`,
        `PUT ${API}/jobs/job-id/max_run_time_minutes {"additional_max_run_time_minutes": 60}`,
        `POST ${API}/jobs/job-id/kill`,
        `POST https://other.example.org/api/v1/jobs/job-id/kill`,
        `GET ${API}/jobs/capacity`
      ])
      const missing = yield* Effect.flip(jobs.status("missing"))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      const unknownCluster = yield* Effect.flip(jobs.sendSignal("job-id", { clusterName: "nope" }))
      assert.strictEqual(unknownCluster._tag, "ConfigError")
    }).pipe(Effect.provide(layer(harness, route)))
  })
})
