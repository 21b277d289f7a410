/**
 * Jobs as platform-api's `convert_job_to_job_response` renders them, written straight to JSON text
 * (the keys in platform-api's order, values through `JSON.stringify`), and remembered per job
 * while nothing shown changes: a listing of 100,000 jobs is mostly copying bytes.
 */
import {
  baseOwner,
  current,
  isFinished,
  isoformat,
  type JobRecord,
  type RenderedJob,
  jobUri,
  nowMicros,
  restarts,
  runTimeMicros
} from "./jobsStore.js"

/** A JSON value: strings, numbers, booleans, `null`, arrays and records, as `JSON.stringify` writes them. */
const j = (value: unknown): string => (value === null ? "null" : JSON.stringify(value))

/** A boolean, as `JSON.stringify` writes it. */
const b = (value: boolean): string => (value ? "true" : "false")

const decimal = (n: number): string => {
  if (n === 0) return "0"
  return n.toFixed(8).replace(/0+$/, "").replace(/\.$/, "")
}

/** @internal */
export const httpHost = (job: JobRecord, named: boolean) =>
  named ? `${job.name}--${baseOwner(job.owner)}.jobs.${job.cluster}.localhost` : `${job.id}.jobs.${job.cluster}.localhost`

const resourcesText = (r: JobRecord["container"]["resources"]): string => {
  let s = `{"cpu":${j(r.cpu)},"memory":${j(r.memory)},"memory_mb":${j(Math.floor(r.memory / 2 ** 20))}`
  if (r.gpu !== undefined) s += `,"gpu":${j(r.gpu)}`
  if (r.gpuModel !== undefined) s += `,"gpu_model":${j(r.gpuModel)}`
  if (r.shm !== undefined) s += `,"shm":${j(r.shm)}`
  if (r.tpu !== undefined) s += `,"tpu":{"type":${j(r.tpu.type)},"software_version":${j(r.tpu.softwareVersion)}}`
  return s + "}"
}

const containerText = (job: JobRecord): string => {
  const c = job.container
  const volumes = c.volumes.map((v) => ({ src_storage_uri: v.uri, dst_path: v.dstPath, read_only: v.readOnly }))
  let s = `{"image":${j(c.image)},"env":${j(c.env)},"volumes":${j(volumes)}`
  if (c.entrypoint !== undefined) s += `,"entrypoint":${j(c.entrypoint)}`
  if (c.command !== undefined) s += `,"command":${j(c.command)}`
  s += `,"resources":${resourcesText(c.resources)}`
  if (c.http !== undefined) {
    s += `,"http":{"port":${j(c.http.port)},"health_check_path":${j(c.http.healthCheckPath)},"requires_auth":${
      j(c.http.requiresAuth)
    }}`
  }
  if (c.secretVolumes.length > 0) {
    s += `,"secret_volumes":${j(c.secretVolumes.map((v) => ({ src_secret_uri: v.uri, dst_path: v.dstPath })))}`
  }
  if (c.diskVolumes.length > 0) {
    s += `,"disk_volumes":${j(c.diskVolumes.map((v) => ({ src_disk_uri: v.uri, dst_path: v.dstPath, read_only: v.readOnly })))}`
  }
  if (Object.keys(c.secretEnv).length > 0) s += `,"secret_env":${j(c.secretEnv)}`
  if (c.tty) s += `,"tty":true`
  if (c.workingDir !== undefined) s += `,"working_dir":${j(c.workingDir)}`
  return s + "}"
}

/** The statuses' transition times, formatted once for the `statuses` list and the `history`. */
const transitionTimes = (job: JobRecord): Array<string> => job.statuses.map((item) => isoformat(item.at))

const statusesText = (job: JobRecord, times: ReadonlyArray<string>): string => {
  let s = "["
  for (let i = 0; i < job.statuses.length; i++) {
    const item = job.statuses[i]!
    s += `${i === 0 ? "" : ","}{"status":"${item.status}","transition_time":"${times[i]}","reason":${j(item.reason)},"description":${
      j(item.description)
    }${item.exitCode !== undefined ? `,"exit_code":${j(item.exitCode)}` : ""}}`
  }
  return s + "]"
}

const historyText = (job: JobRecord, times: ReadonlyArray<string>, runTime: number): string => {
  const last = current(job)
  let s = `{"status":"${last.status}","reason":${j(last.reason)},"description":${j(last.description)},"created_at":"${
    times[0]
  }","run_time_seconds":${j(runTime)},"restarts":${j(restarts(job))}`
  let started = job.statuses.findIndex((item) => item.status === "running")
  if (started < 0) started = job.statuses.findIndex((item) => isFinished(item.status))
  if (started >= 0) s += `,"started_at":"${times[started]}"`
  if (isFinished(last.status)) s += `,"finished_at":"${times[times.length - 1]}"`
  if (last.exitCode !== undefined) s += `,"exit_code":${j(last.exitCode)}`
  return s + "}"
}

/** The fields after `history` and `container`, up to `priority`. */
const flagsText = (job: JobRecord, runTime: number): string =>
  `"scheduler_enabled":${b(job.schedulerEnabled)},"preemptible_node":${b(job.preemptibleNode)},"is_preemptible":${
    b(job.schedulerEnabled)
  },"is_preemptible_node_required":${b(job.preemptibleNode)},"pass_config":${b(job.passConfig)},"uri":${j(jobUri(job))},"restart_policy":${
    j(job.restartPolicy)
  },"privileged":${b(job.privileged)},"materialized":${b(job.materialized)},"being_dropped":false,"logs_removed":false,"total_price_credits":${
    j(decimal(Number(job.pricePerHour) * runTime / 3600))
  },"price_credits_per_hour":${j(job.pricePerHour)},"priority":${j(job.priority)}`

/** The optional fields at the end. */
const tailText = (job: JobRecord): string => {
  let s = ""
  if (job.name !== undefined) s += `,"name":${j(job.name)}`
  if (job.presetName !== undefined) s += `,"preset_name":${j(job.presetName)}`
  if (job.description !== undefined && job.description !== "") s += `,"description":${j(job.description)}`
  if (job.tags.length > 0) s += `,"tags":${j(job.tags)}`
  if (job.container.http !== undefined) {
    s += `,"http_url":${j(`http://${httpHost(job, false)}`)}`
    if (job.name !== undefined) s += `,"http_url_named":${j(`http://${httpHost(job, true)}`)}`
  }
  s += `,"internal_hostname":${j(job.internalHostname)}`
  if (job.internalHostnameNamed !== undefined) s += `,"internal_hostname_named":${j(job.internalHostnameNamed)}`
  if (job.scheduleTimeout !== undefined) s += `,"schedule_timeout":${j(job.scheduleTimeout)}`
  if (job.maxRunTimeMinutes !== undefined) s += `,"max_run_time_minutes":${j(job.maxRunTimeMinutes)}`
  if (job.org !== null) s += `,"org_name":${j(job.org)}`
  if (job.energyScheduleName !== undefined && job.schedulerEnabled) s += `,"energy_schedule_name":${j(job.energyScheduleName)}`
  return s
}

/** A job as platform-api's `convert_job_to_job_response` renders it, as compact JSON text. */
/** @internal */
export const jobText = (job: JobRecord, now = nowMicros()): string => {
  const runTime = runTimeMicros(job, now) / 1_000_000
  const times = transitionTimes(job)
  return `{"id":${j(job.id)},"owner":${j(job.owner)},"cluster_name":${j(job.cluster)},"status":"${current(job).status}","statuses":${
    statusesText(job, times)
  },"history":${historyText(job, times, runTime)},"container":${containerText(job)},${flagsText(job, runTime)}${tailText(job)}}`
}

/** Where rendered lines are written: a few large buffers rather than one small one each. */
const SLAB_SIZE = 1024 * 1024
let slab = Buffer.allocUnsafe(0)
let slabUsed = 0

/** What a job's line shows besides `now`. */
const shown = (job: JobRecord, slab: Buffer, start: number, end: number): RenderedJob => ({
  statuses: job.statuses.length,
  materialized: job.materialized,
  maxRunTimeMinutes: job.maxRunTimeMinutes,
  slab,
  start,
  end
})

/** `line` as UTF-8 at the end of the current slab (a line longer than a quarter slab gets a buffer of its own). */
const keep = (job: JobRecord, line: string): RenderedJob => {
  const size = Buffer.byteLength(line, "utf8")
  if (size > SLAB_SIZE / 4) return shown(job, Buffer.from(line, "utf8"), 0, size)
  if (slabUsed + size > slab.length) {
    slab = Buffer.allocUnsafe(SLAB_SIZE)
    slabUsed = 0
  }
  const start = slabUsed
  slab.write(line, start, size, "utf8")
  slabUsed += size
  return shown(job, slab, start, slabUsed)
}

/**
 * The job's line, `jobText(job, now) + "\n"` as UTF-8, rendered once and kept in the record while
 * nothing it shows changes (in large buffers outside the JS heap, one after the other: a large
 * store costs the collector little, and the lines of jobs rendered in a row are sent as one
 * piece). After a record is created only its status history (appended to), `materialized` and
 * `maxRunTimeMinutes` change, and they are compared; a job whose last status is `running` shows a
 * run time (and a price) that grows with `now`, so it is rendered every time, in a buffer of its own.
 */
/** @internal */
export const renderedLine = (job: JobRecord, now = nowMicros()): RenderedJob => {
  if (current(job).status === "running") {
    job.rendered = undefined
    const line = Buffer.from(jobText(job, now) + "\n", "utf8")
    return shown(job, line, 0, line.length)
  }
  const r = job.rendered
  if (
    r !== undefined && r.statuses === job.statuses.length && r.materialized === job.materialized &&
    r.maxRunTimeMinutes === job.maxRunTimeMinutes
  ) return r
  return (job.rendered = keep(job, jobText(job, now) + "\n"))
}

/** The job's line (`jobText(job, now) + "\n"` as UTF-8). */
/** @internal */
export const jobLine = (job: JobRecord, now?: number): Buffer => {
  const r = renderedLine(job, now)
  return r.slab.subarray(r.start, r.end)
}

/** A job's JSON document (`jobLine` without its newline). */
/** @internal */
export const jobDocument = (job: JobRecord, now?: number): Buffer => {
  const r = renderedLine(job, now)
  return r.slab.subarray(r.start, r.end - 1)
}

/** Jobs per chunk of an NDJSON listing. */
/** @internal */
export const LISTING_CHUNK_JOBS = 200

/** The lines as one buffer: a view of their slab when they lie there one after the other, else a copy. */
const joinLines = (lines: ReadonlyArray<RenderedJob>, size: number): Buffer => {
  const first = lines[0]!
  let contiguous = true
  for (let i = 1; i < lines.length && contiguous; i++) {
    contiguous = lines[i]!.slab === first.slab && lines[i]!.start === lines[i - 1]!.end
  }
  if (contiguous) return first.slab.subarray(first.start, first.start + size)
  const chunk = Buffer.allocUnsafe(size)
  let at = 0
  for (const r of lines) at += r.slab.copy(chunk, at, r.start, r.end)
  return chunk
}

/** An NDJSON listing: the lines of `LISTING_CHUNK_JOBS` jobs per chunk, made as the chunks are pulled. */
/** @internal */
export function* ndjsonChunks(jobs: Iterable<JobRecord>, now: number): Generator<Uint8Array> {
  let lines: Array<RenderedJob> = []
  let size = 0
  for (const job of jobs) {
    const r = renderedLine(job, now)
    lines.push(r)
    size += r.end - r.start
    if (lines.length === LISTING_CHUNK_JOBS) {
      yield joinLines(lines, size)
      lines = []
      size = 0
    }
  }
  if (lines.length > 0) yield joinLines(lines, size)
}

/** `{"jobs":[...]}`, byte for byte as `JSON.stringify` writes it. */
/** @internal */
export const jsonListing = (jobs: Iterable<JobRecord>, now: number): Buffer => {
  const lines: Array<RenderedJob> = []
  let size = 0
  for (const job of jobs) {
    const r = renderedLine(job, now)
    lines.push(r)
    size += r.end - r.start
  }
  // each line's newline becomes the comma after it (the last one is dropped)
  const head = "{\"jobs\":["
  const body = Buffer.allocUnsafe(head.length + size + (lines.length === 0 ? 2 : 1))
  let at = body.write(head, 0, "latin1")
  for (const r of lines) {
    at += r.slab.copy(body, at, r.start, r.end - 1)
    body[at++] = 0x2c
  }
  if (lines.length > 0) at--
  body.write("]}", at, "latin1")
  return body
}
