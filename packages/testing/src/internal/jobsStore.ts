/**
 * The jobs of LocalPlatform: records as platform-api keeps them (status history, materialized,
 * life span...), a scheduler/poller that starts pending jobs when quota and capacity allow and
 * enforces life spans and schedule timeouts, one lifecycle fiber per started job that drives its
 * container through the `JobRunner`, and the job logs (kept in the data dir, followed live).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { join } from "node:path"
import type * as JobRunner from "../JobRunner.js"
import { jobImage } from "./jobs/jobImage.js"
import { makeProcess, reasonOf } from "./jobsRunner.js"
import type { DiskRecord, PlatformState, PresetSpec } from "./state.js"

// ---------------------------------------------------------------------------- time

let lastMicros = 0

/** Microseconds since the epoch, strictly increasing (creation order = time order). */
/** @internal */
export const nowMicros = (): number => {
  const t = Date.now() * 1000
  lastMicros = t > lastMicros ? t : lastMicros + 1
  return lastMicros
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

let isoSecond = Number.NaN
let isoBase = ""

/** `YYYY-MM-DDTHH:MM:SS` of a whole second (in milliseconds), remembered for the last second asked. */
const isoSecondText = (millis: number): string => {
  if (millis !== isoSecond) {
    isoSecond = millis
    isoBase = new Date(millis).toISOString().slice(0, 19)
  }
  return isoBase
}

/** Python's `datetime.isoformat()` of an aware UTC datetime. */
/** @internal */
export const isoformat = (micros: number): string => {
  // the common case (a whole number of microseconds in years 1000-9999) from the native formatter
  if (Number.isSafeInteger(micros) && micros >= -30610224000000000 && micros < 253402300800000000) {
    const us = micros % 1_000_000
    if (us >= 0) {
      const base = isoSecondText((micros - us) / 1000)
      return `${base}${us === 0 ? "" : "." + String(us).padStart(6, "0")}+00:00`
    }
  }
  const d = new Date(Math.floor(micros / 1000))
  const us = micros % 1_000_000
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${
    pad(d.getUTCMinutes())
  }:${pad(d.getUTCSeconds())}`
  return `${base}${us === 0 ? "" : "." + pad(us, 6)}+00:00`
}

/** Kubernetes' RFC 3339 timestamp with nanoseconds (trailing zeros trimmed). */
/** @internal */
export const rfc3339Nano = (micros: number): string => {
  const d = new Date(Math.floor(micros / 1000))
  const frac = pad(micros % 1_000_000, 6).concat("000").replace(/0+$/, "")
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${
    pad(d.getUTCMinutes())
  }:${pad(d.getUTCSeconds())}`
  return `${base}${frac === "" ? "" : "." + frac}Z`
}

// ---------------------------------------------------------------------------- model

/** @internal */
export type Status = "pending" | "suspended" | "running" | "succeeded" | "cancelled" | "failed"

/** @internal */
export const STATUSES: ReadonlyArray<Status> = ["pending", "suspended", "running", "succeeded", "cancelled", "failed"]

/** @internal */
export const isFinished = (s: Status) => s === "succeeded" || s === "cancelled" || s === "failed"

/** @internal */
export interface StatusItem {
  readonly status: Status
  readonly at: number
  readonly reason: string | null
  readonly description: string | null
  readonly exitCode?: number | undefined
}

/** @internal */
export interface ResourcesSpec {
  readonly cpu: number
  readonly memory: number
  readonly gpu?: number | undefined
  readonly gpuModel?: string | undefined
  readonly shm?: boolean | undefined
  readonly tpu?: { readonly type: string; readonly softwareVersion: string } | undefined
}

/** @internal */
export interface ContainerSpec {
  readonly image: string
  readonly entrypoint?: string | undefined
  readonly command?: string | undefined
  readonly workingDir?: string | undefined
  readonly env: Readonly<Record<string, string>>
  readonly resources: ResourcesSpec
  readonly http?: { readonly port: number; readonly healthCheckPath: string; readonly requiresAuth: boolean } | undefined
  readonly volumes: ReadonlyArray<{ readonly uri: string; readonly dstPath: string; readonly readOnly: boolean }>
  readonly secretVolumes: ReadonlyArray<{ readonly uri: string; readonly dstPath: string }>
  readonly diskVolumes: ReadonlyArray<{ readonly uri: string; readonly dstPath: string; readonly readOnly: boolean }>
  readonly secretEnv: Readonly<Record<string, string>>
  readonly tty: boolean
}

/** @internal */
export type RestartPolicy = "never" | "on-failure" | "always"

/** @internal */
export type Priority = "low" | "normal" | "high"

/** @internal */
export interface JobRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly org: string | null
  readonly name: string | undefined
  readonly presetName: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly description: string | undefined
  readonly schedulerEnabled: boolean
  readonly preemptibleNode: boolean
  readonly passConfig: boolean
  readonly privileged: boolean
  readonly priority: Priority
  maxRunTimeMinutes: number | undefined
  readonly scheduleTimeout: number | undefined
  readonly restartPolicy: RestartPolicy
  readonly energyScheduleName: string | undefined
  readonly internalHostname: string
  readonly internalHostnameNamed: string | undefined
  readonly container: ContainerSpec
  /** The `host[:port]` the job was submitted to: images starting with it are of LocalPlatform's registry. */
  readonly registryHost?: string | undefined
  readonly statuses: Array<StatusItem>
  materialized: boolean
  readonly pricePerHour: string
  /** Driven by the scheduler and a runner (false for jobs seeded directly into the store). */
  readonly managed: boolean
  readonly logs: LogBook
  process: JobRunner.JobProcess | undefined
  /** The job's JSON line as last rendered (by `jobLine`, which keeps it up to date); `undefined` at first. */
  rendered: RenderedJob | undefined
}

/** Where a job's rendered JSON line is (bytes `start..end` of `slab`) and what it showed. */
/** @internal */
export interface RenderedJob {
  readonly statuses: number
  readonly materialized: boolean
  readonly maxRunTimeMinutes: number | undefined
  readonly slab: Buffer
  readonly start: number
  readonly end: number
}

/** @internal */
export const current = (job: JobRecord): StatusItem => job.statuses[job.statuses.length - 1]!

/** @internal */
export const baseOwner = (owner: string) => owner.split("/")[0]!

/** @internal */
export const jobUri = (job: Pick<JobRecord, "cluster" | "org" | "owner" | "id">) =>
  `job://${job.cluster}/${job.org === null ? "" : job.org + "/"}${job.owner}/${job.id}`

/** Seconds the job has been running (all running periods). */
/** @internal */
export const runTimeMicros = (job: JobRecord, now: number): number => {
  let total = 0
  let since: number | undefined
  for (const item of job.statuses) {
    if (since !== undefined) total += item.at - since
    since = item.status === "running" ? item.at : undefined
  }
  if (since !== undefined) total += now - since
  return total
}

/** @internal */
export const restarts = (job: JobRecord) =>
  job.statuses.filter((s) => s.reason === "Restarting" || s.status === "suspended").length

// ---------------------------------------------------------------------------- logs

/** @internal */
export interface LogEntry {
  /** When it was read (microseconds since the epoch). */
  readonly at: number
  readonly fd: 1 | 2
  /** What one read of the job's output gave: whole lines, the last one possibly without its newline. */
  readonly data: Uint8Array
}

/** What following a log yields: its lines (`live` once written after the follow began) and container exits. */
/** @internal */
export type LogEvent =
  | { readonly _tag: "Line"; readonly live: boolean; readonly entry: LogEntry }
  | { readonly _tag: "Exit"; readonly exitCode: number }

/**
 * A job's log: every line it wrote, with its time (in memory for following, and appended to
 * `<dataDir>/jobs/<id>/log` in the CRI log format of Kubernetes nodes).
 */
/** @internal */
export class LogBook {
  readonly entries: Array<LogEntry> = []
  ended = false
  /** Index of the first entry of the container running now (none running: undefined). */
  private containerStart: number | undefined
  private readonly listeners = new Set<(event: LogEvent | null) => void>()

  constructor(private readonly file: string | undefined) {}

  /**
   * What the job wrote in one read: one entry (its lines share the time they were read at), and
   * one append to the log file, where each line gets its CRI prefix (`F` for a full line, `P`
   * for a last line without its newline, as the runtime writes a line split across reads).
   */
  append(fd: 1 | 2, data: Uint8Array): void {
    if (this.ended || data.length === 0) return
    const entry: LogEntry = { at: nowMicros(), fd, data }
    this.entries.push(entry)
    if (this.file !== undefined) {
      try {
        fs.appendFileSync(this.file, criLines(entry))
      } catch {
        // the data dir went away (platform closing)
      }
    }
    const event: LogEvent = { _tag: "Line", live: true, entry }
    for (const l of this.listeners) l(event)
  }

  /** A container of the job started: what it writes is the "live" log. */
  started(): void {
    this.containerStart = this.entries.length
  }

  /** A container of the job exited (after all its output was appended). */
  exited(exitCode: number): void {
    this.containerStart = undefined
    const event: LogEvent = { _tag: "Exit", exitCode }
    for (const l of this.listeners) l(event)
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    for (const l of this.listeners) l(null)
    this.listeners.clear()
  }

  /**
   * The log as the monitoring service reads it, until the book ends. `all`: the lines of earlier
   * containers (`live: false`, the "archive"), then those of the running container and every
   * later line (`live: true`, read "from the container"); `new`: only lines written from now on.
   */
  follow(mode: "all" | "new" = "all"): Stream.Stream<LogEvent> {
    return Stream.suspend(() => {
      const split = this.containerStart ?? this.entries.length
      const head = Stream.fromIterable(
        mode === "new" ? [] : this.entries.map((entry, i): LogEvent => ({ _tag: "Line", live: i >= split, entry }))
      )
      if (this.ended) return head
      const live = Stream.async<LogEvent>((emit) => {
        const listener = (event: LogEvent | null) => {
          if (event === null) void emit.end()
          else void emit.single(event)
        }
        this.listeners.add(listener)
        return Effect.sync(() => this.listeners.delete(listener))
      })
      return Stream.concat(head, live)
    })
  }

  /** The end of the log as Kubernetes keeps it as a termination message (last 80 lines, at most 2 KiB). */
  tail(): string | null {
    const parts: Array<Uint8Array> = []
    let newlines = 0
    let bytes = 0
    for (let i = this.entries.length - 1; i >= 0 && newlines <= 80 && bytes <= 2048 * 4; i--) {
      const data = this.entries[i]!.data
      parts.unshift(data)
      bytes += data.length
      for (const b of data) if (b === 10) newlines++
    }
    const lines = splitLines(Buffer.concat(parts)).slice(-80)
    let text = Buffer.concat(lines)
    if (text.length > 2048) text = text.subarray(-2048)
    return text.length === 0 ? null : text.toString("utf8")
  }
}

/** The lines of `data`, each with its newline (the last one may have none). */
/** @internal */
export const splitLines = (data: Uint8Array): Array<Uint8Array> => {
  const lines: Array<Uint8Array> = []
  let start = 0
  for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
    lines.push(data.subarray(start, nl + 1))
    start = nl + 1
  }
  if (start < data.length) lines.push(data.subarray(start))
  return lines
}

/** An entry's lines in the CRI log format of Kubernetes nodes. */
const criLines = (entry: LogEntry): Buffer => {
  const stamp = `${rfc3339Nano(entry.at)} ${entry.fd === 1 ? "stdout" : "stderr"} `
  const full = Buffer.from(stamp + "F ", "latin1")
  const parts: Array<Uint8Array> = []
  for (const line of splitLines(entry.data)) {
    if (line[line.length - 1] === 10) parts.push(full, line)
    else parts.push(Buffer.from(stamp + "P ", "latin1"), line, NEWLINE)
  }
  return Buffer.concat(parts)
}

const NEWLINE = Buffer.from("\n")

// ---------------------------------------------------------------------------- options

/** @internal */
export interface JobsOptions {
  readonly runner?: JobRunner.JobRunner.Service | undefined
  readonly capacity?: { readonly cpu?: number; readonly memory?: number; readonly gpu?: number } | undefined
  readonly runningJobsQuota?: number | Readonly<Record<string, number>> | undefined
  readonly lifeSpanMinute?: Duration.DurationInput | undefined
  readonly scheduleTimeout?: Duration.DurationInput | undefined
  readonly killGracePeriod?: Duration.DurationInput | undefined
  readonly restartDelay?: Duration.DurationInput | undefined
  readonly allowPrivileged?: boolean | undefined
  readonly allowJobPriority?: boolean | undefined
}

// ---------------------------------------------------------------------------- the store

/** @internal */
export class JobsStore {
  readonly jobs = new Map<string, JobRecord>()
  /** Jobs in creation order. */
  readonly ordered: Array<JobRecord> = []
  private readonly active = new Set<JobRecord>()
  private readonly fibers = new Set<Fiber.RuntimeFiber<void>>()
  private timer: ReturnType<typeof setInterval> | undefined
  private closed = false
  readonly runner: JobRunner.JobRunner.Service
  readonly capacity: { readonly cpu: number; readonly memory: number; readonly gpu: number }
  readonly minuteMicros: number
  readonly scheduleTimeoutMicros: number
  readonly graceMillis: number
  readonly restartDelayMillis: number
  readonly allowPrivileged: boolean
  readonly allowJobPriority: boolean

  constructor(readonly state: PlatformState, readonly options: JobsOptions = {}) {
    this.runner = options.runner ?? makeProcess()
    this.capacity = {
      cpu: options.capacity?.cpu ?? 16,
      memory: options.capacity?.memory ?? 64 * 2 ** 30,
      gpu: options.capacity?.gpu ?? 0
    }
    this.minuteMicros = Duration.toMillis(Duration.decode(options.lifeSpanMinute ?? "1 minute")) * 1000
    this.scheduleTimeoutMicros = Duration.toMillis(Duration.decode(options.scheduleTimeout ?? "3 minutes")) * 1000
    this.graceMillis = Duration.toMillis(Duration.decode(options.killGracePeriod ?? "5 seconds"))
    this.restartDelayMillis = Duration.toMillis(Duration.decode(options.restartDelay ?? "200 millis"))
    this.allowPrivileged = options.allowPrivileged ?? false
    this.allowJobPriority = options.allowJobPriority ?? false
  }

  get jobsDir() {
    return join(this.state.dataDir, "jobs")
  }

  quotaOf(owner: string): number | undefined {
    const q = this.options.runningJobsQuota
    if (q === undefined || typeof q === "number") return q
    return q[baseOwner(owner)]
  }

  newId(): string {
    return `job-${randomUUID()}`
  }

  /** Adds a job record (its first status item must be there). */
  add(job: JobRecord): void {
    this.jobs.set(job.id, job)
    const last = this.ordered[this.ordered.length - 1]
    if (last === undefined || job.statuses[0]!.at >= last.statuses[0]!.at) this.ordered.push(job)
    else {
      const at = job.statuses[0]!.at
      let i = this.ordered.findIndex((j) => j.statuses[0]!.at > at)
      if (i < 0) i = this.ordered.length
      this.ordered.splice(i, 0, job)
    }
    if (job.managed && !isFinished(current(job).status)) {
      this.active.add(job)
      this.ensureTimer()
      this.tick()
    }
  }

  makeLogBook(id: string, persist: boolean): LogBook {
    if (!persist) return new LogBook(undefined)
    const dir = join(this.jobsDir, id)
    try {
      fs.mkdirSync(dir, { recursive: true })
      return new LogBook(join(dir, "log"))
    } catch {
      return new LogBook(undefined)
    }
  }

  /** Appends a status item unless it equals the current one; finished jobs never change. */
  setStatus(job: JobRecord, item: Omit<StatusItem, "at">): boolean {
    const last = current(job)
    if (isFinished(last.status)) return false
    if (
      last.status === item.status && last.reason === item.reason && last.description === item.description &&
      last.exitCode === item.exitCode
    ) return false
    job.statuses.push({ ...item, at: nowMicros() })
    if (job.materialized) this.markDisksUsed(job)
    return true
  }

  /**
   * The disks service's usage watcher: every event of a pod that mounts a disk (created, status
   * changed, deleted) sets the disk's `last_usage` to now.
   */
  private markDisksUsed(job: JobRecord): void {
    if (job.container.diskVolumes.length === 0) return
    const now = new Date()
    for (const v of job.container.diskVolumes) {
      const disk = this.diskOf(v.uri)
      if (disk !== undefined) disk.lastUsage = now
    }
  }

  /** Whether an active (not finished) job mounts the disk `id`. */
  mountsDisk(id: string): boolean {
    for (const j of this.jobs.values()) {
      if (isFinished(current(j).status)) continue
      if (j.container.diskVolumes.some((v) => this.diskOf(v.uri)?.id === id)) return true
    }
    return false
  }

  /** Active (pending, suspended, running) jobs of an owner on a cluster. */
  activeCount(owner: string, cluster: string): number {
    let n = 0
    for (const j of this.jobs.values()) {
      if (baseOwner(j.owner) === owner && j.cluster === cluster && !isFinished(current(j).status)) n++
    }
    return n
  }

  usedResources() {
    let cpu = 0
    let memory = 0
    let gpu = 0
    for (const j of this.active) {
      if (!j.materialized) continue
      cpu += j.container.resources.cpu
      memory += j.container.resources.memory
      gpu += j.container.resources.gpu ?? 0
    }
    return { cpu, memory, gpu }
  }

  /** How many more jobs of each preset would fit now. */
  capacityFor(presets: ReadonlyArray<PresetSpec>): Record<string, number> {
    const used = this.usedResources()
    const out: Record<string, number> = {}
    for (const p of presets) {
      const counts = [
        Math.floor((this.capacity.cpu - used.cpu + 1e-9) / p.cpu),
        Math.floor((this.capacity.memory - used.memory) / p.memory)
      ]
      if ((p.gpu ?? 0) > 0) counts.push(Math.floor((this.capacity.gpu - used.gpu) / p.gpu!))
      out[p.name] = Math.max(0, Math.min(...counts))
    }
    return out
  }

  private fits(job: JobRecord): boolean {
    const used = this.usedResources()
    const r = job.container.resources
    return used.cpu + r.cpu <= this.capacity.cpu + 1e-9 && used.memory + r.memory <= this.capacity.memory &&
      used.gpu + (r.gpu ?? 0) <= this.capacity.gpu
  }

  private ensureTimer() {
    if (this.timer !== undefined || this.closed) return
    this.timer = setInterval(() => this.tick(), 100)
    this.timer.unref()
  }

  /** One round of the poller: start what may start, fail what waited too long, end expired life spans. */
  tick(): void {
    if (this.closed) return
    const now = nowMicros()
    const materializedBy = new Map<string, number>()
    for (const j of this.active) {
      if (j.materialized) materializedBy.set(j.owner, (materializedBy.get(j.owner) ?? 0) + 1)
    }
    const pending = [...this.active].filter((j) => !j.materialized && current(j).status === "pending")
    pending.sort((a, b) => a.statuses[0]!.at - b.statuses[0]!.at)
    for (const job of pending) {
      const quota = this.quotaOf(job.owner)
      if (quota !== undefined && (materializedBy.get(job.owner) ?? 0) >= quota) continue
      if (this.fits(job)) {
        job.materialized = true
        materializedBy.set(job.owner, (materializedBy.get(job.owner) ?? 0) + 1)
        this.launch(job)
        continue
      }
      const timeout = job.scheduleTimeout !== undefined ? job.scheduleTimeout * 1_000_000 : this.scheduleTimeoutMicros
      if (!job.schedulerEnabled && now - job.statuses[0]!.at >= timeout) {
        this.setStatus(job, {
          status: "failed",
          reason: "ClusterScaleUpFailed",
          description: "Failed to scale up the cluster to get more resources"
        })
        this.finish(job)
      } else {
        this.setStatus(job, { status: "pending", reason: "Scheduling", description: null })
      }
    }
    for (const job of this.active) {
      if (job.maxRunTimeMinutes === undefined || current(job).status !== "running") continue
      if (runTimeMicros(job, now) / this.minuteMicros > job.maxRunTimeMinutes) this.cancel(job, "LifeSpanEnded")
    }
  }

  /** The job is done: release its place and stop following its log. */
  finish(job: JobRecord): void {
    if (job.materialized) this.markDisksUsed(job)
    job.materialized = false
    job.process = undefined
    job.logs.end()
    this.active.delete(job)
    if (!this.closed) queueMicrotask(() => this.tick())
  }

  /** `DELETE /jobs/{id}` and the life span: the job becomes cancelled and its container is stopped. */
  cancel(job: JobRecord, reason: string): void {
    if (!this.setStatus(job, { status: "cancelled", reason, description: null })) return
    const proc = job.process
    if (proc === undefined) {
      if (!job.materialized) this.finish(job)
      return
    }
    this.run(
      Effect.gen(this, function*() {
        yield* proc.signal("SIGTERM")
        yield* Effect.sleep(this.graceMillis)
        yield* proc.signal("SIGKILL")
      }).pipe(Effect.race(proc.exit), Effect.asVoid)
    )
  }

  private run(effect: Effect.Effect<void>): void {
    if (this.closed) return
    const fiber = Effect.runFork(effect)
    this.fibers.add(fiber)
    fiber.addObserver(() => this.fibers.delete(fiber))
  }

  private launch(job: JobRecord): void {
    this.markDisksUsed(job)
    this.run(this.lifecycle(job))
  }

  private missing(job: JobRecord): string | undefined {
    const secrets = new Set<string>()
    for (const uri of [...Object.values(job.container.secretEnv), ...job.container.secretVolumes.map((v) => v.uri)]) {
      if (!this.state.secrets.has(uri)) secrets.add(uri.slice(uri.lastIndexOf("/") + 1))
    }
    if (secrets.size > 0) return `Missing secrets: ${[...secrets].sort().map((s) => `'${s}'`).join(", ")}`
    const disks: Array<string> = []
    for (const d of job.container.diskVolumes) {
      if (this.diskPath(d.uri) === undefined) disks.push(`'${d.uri.slice(d.uri.lastIndexOf("/") + 1)}'`)
    }
    if (disks.length > 0) return `Missing disks: ${disks.join(", ")}`
    return undefined
  }

  /**
   * The disk a `disk://{cluster}/[{org}/]{owner}/{disk_id}` URI names. As platform-api's
   * `get_missing_disks`: by id only (the disk's volume claim is named by it), and the path before
   * the id must be the disk's own (org and) owner.
   */
  diskOf(uri: string): DiskRecord | undefined {
    const m = /^disk:\/\/([^/]+)\/(.+)\/([^/]+)$/.exec(uri)
    if (m === null) return undefined
    const d = this.state.disks.get(m[3]!)
    if (d === undefined || d.cluster !== m[1] || `${d.org === null ? "" : d.org + "/"}${d.owner}` !== m[2]) return undefined
    return d
  }

  diskPath(uri: string): string | undefined {
    return this.diskOf(uri)?.path
  }

  /** The host folder of a storage volume (its URI was checked when the job was created). */
  storagePath(uri: string): string {
    const m = /^storage:\/\/([^/]+)(\/.*)?$/.exec(uri)!
    let path = m[2] ?? ""
    try {
      // decoded as a whole before it is split, so an encoded `..%2F` is seen as `..`
      path = decodeURIComponent(path)
    } catch {
      // kept as written: the request validator accepted it
    }
    const parts = path.split("/").filter((p) => p !== "" && p !== "." && p !== ".." && !p.includes("\0"))
    return join(this.state.dataDir, "storage", m[1]!, ...parts)
  }

  spec(job: JobRecord, attempt: number): JobRunner.JobSpec {
    const c = job.container
    const env: Record<string, string> = {
      NEURO_JOB_ID: job.id,
      NEURO_JOB_NAME: job.name ?? "",
      NEURO_JOB_OWNER: job.owner,
      NEURO_JOB_CLUSTER: job.cluster,
      NEURO_JOB_INTERNAL_HOSTNAME: job.internalHostname,
      NEURO_JOB_INTERNAL_HOSTNAME_NAMED: job.internalHostnameNamed ?? "",
      NEURO_JOB_HTTP_PORT: c.http === undefined || c.http.port === 0 ? "" : String(c.http.port),
      NEURO_JOB_HTTP_AUTH: c.http?.requiresAuth === true ? "True" : "",
      ...(job.presetName !== undefined ? { NEURO_JOB_PRESET: job.presetName } : {}),
      ...c.env
    }
    for (const [k, uri] of Object.entries(c.secretEnv)) {
      env[k] = Buffer.from(this.state.secrets.get(uri) ?? new Uint8Array(0)).toString("utf8")
    }
    return {
      id: job.id,
      owner: job.owner,
      cluster: job.cluster,
      org: job.org,
      name: job.name,
      image: c.image,
      entrypoint: c.entrypoint,
      command: c.command,
      workingDir: c.workingDir,
      env,
      mounts: [
        ...c.volumes.map((v) => ({ containerPath: v.dstPath, hostPath: this.storagePath(v.uri), readOnly: v.readOnly })),
        ...c.diskVolumes.map((v) => ({ containerPath: v.dstPath, hostPath: this.diskPath(v.uri)!, readOnly: v.readOnly }))
      ],
      secretFiles: c.secretVolumes.map((v) => ({
        containerPath: v.dstPath,
        value: Redacted.make(this.state.secrets.get(v.uri) ?? new Uint8Array(0))
      })),
      tty: c.tty,
      memoryBytes: c.resources.memory,
      rootDir: join(this.jobsDir, job.id, "root"),
      attempt
    }
  }

  private lifecycle(job: JobRecord): Effect.Effect<void> {
    const store = this
    return Effect.gen(function*() {
      const missing = store.missing(job)
      if (missing !== undefined) {
        store.setStatus(job, { status: "failed", reason: missing, description: "The job could not be started." })
        return
      }
      const image = yield* jobImage(store.state.dataDir, job.container.image, job.registryHost)
      if (image._tag === "Failed") {
        for (const item of image.statuses) store.setStatus(job, item)
        return
      }
      const imageRoot = image._tag === "Registry" ? { imageRoot: image.root } : {}
      let attempt = 0
      while (!isFinished(current(job).status)) {
        const started = yield* Effect.either(store.runner.start({ ...store.spec(job, attempt), ...imageRoot }))
        if (Either.isLeft(started)) {
          store.setStatus(job, {
            status: "failed",
            reason: "ContainerCannotRun",
            description: started.left.description,
            exitCode: 128
          })
          return
        }
        const proc = started.right
        job.process = proc
        job.logs.started()
        if (isFinished(current(job).status)) {
          yield* proc.signal("SIGKILL")
        } else {
          store.setStatus(job, { status: "running", reason: null, description: image._tag === "Host" ? image.note : null })
        }
        const pump = yield* Effect.fork(Stream.runForEach(proc.output, (chunk) => Effect.sync(() => job.logs.append(chunk.fd, chunk.data))))
        const exit = yield* proc.exit
        yield* Fiber.join(pump)
        job.process = undefined
        job.logs.exited(exit.exitCode)
        if (isFinished(current(job).status)) return
        const restart = job.restartPolicy === "always" || (job.restartPolicy === "on-failure" && exit.exitCode !== 0)
        if (restart) {
          store.setStatus(job, { status: "running", reason: "Restarting", description: null })
          attempt++
          yield* Effect.sleep(store.restartDelayMillis)
          continue
        }
        if (exit.exitCode === 0) {
          store.setStatus(job, { status: "succeeded", reason: null, description: null, exitCode: 0 })
        } else {
          store.setStatus(job, {
            status: "failed",
            reason: reasonOf(exit),
            description: exit.message ?? job.logs.tail(),
            exitCode: exit.exitCode
          })
        }
      }
    }).pipe(Effect.ensuring(Effect.sync(() => store.finish(job))))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    for (const job of this.active) {
      const proc = job.process
      if (proc !== undefined) Effect.runSync(proc.signal("SIGKILL"))
      job.logs.end()
    }
    for (const fiber of this.fibers) Effect.runFork(Fiber.interrupt(fiber))
  }
}

const stores = new WeakMap<PlatformState, JobsStore>()

/** Sets up the jobs of a platform (once, before it serves). */
/** @internal */
export const configureJobs = (state: PlatformState, options: JobsOptions): JobsStore => {
  const store = new JobsStore(state, options)
  stores.set(state, store)
  return store
}

/** @internal */
export const jobsStoreOf = (state: PlatformState): JobsStore => {
  let store = stores.get(state)
  if (store === undefined) {
    store = new JobsStore(state)
    stores.set(state, store)
  }
  return store
}
