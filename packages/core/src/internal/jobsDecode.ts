/**
 * Decoding a job JSON into a `JobDescription`.
 *
 * The definition is the Schema `jobsWire.WireJob` followed by `jobsWire.toJobDescription`
 * (`jobSchema`). Its fast path (see `fastDecode.ts`) checks the JSON field by field as `WireJob`
 * checks it and builds the same `JobDescription` without walking the Schema; anything it does not
 * accept goes through the Schema, which gives the value or the error.
 */
import type * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Errors from "../Errors.js"
import { DiskVolume, SecretFile, Volume } from "../Volume.js"
import { describeParseError } from "./decodeError.js"
import { blank, decoderOf, Reject, withFastPath } from "./fastDecode.js"
import {
  Container,
  HTTPPort,
  JobDescription,
  JobDescriptionInternal,
  type JobStatus,
  JobStatusHistory,
  JobStatusItem,
  Resources
} from "./jobsModels.js"
import { parseDecimal } from "./decimal.js"
import { type ImageDecoder, imageDecoder, toJobDescription, WireJob } from "./jobsWire.js"

/** Thrown (and caught once per job) to leave the walk when a field does not check. */
const REJECTED: { readonly rejected: true } = { rejected: true }
const reject = (): never => {
  throw REJECTED
}

type Obj = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

// required fields: the type itself; optional ones (`Schema.optionalWith(_, { nullable: true })`):
// absent, null or the type, absent and null giving `undefined`

const obj = (u: unknown): Obj => (isObject(u) ? u : reject())
const str = (u: unknown): string => (typeof u === "string" ? u : reject())
const num = (u: unknown): number => (typeof u === "number" ? u : reject())
const bool = (u: unknown): boolean => (typeof u === "boolean" ? u : reject())
const optStr = (u: unknown): string | undefined => (u === undefined || u === null ? undefined : str(u))
const optNum = (u: unknown): number | undefined => (u === undefined || u === null ? undefined : num(u))
const optBool = (u: unknown): boolean | undefined => (u === undefined || u === null ? undefined : bool(u))
const optObj = (u: unknown): Obj | undefined => (u === undefined || u === null ? undefined : obj(u))
const optArray = (u: unknown): ReadonlyArray<unknown> => (u === undefined || u === null ? [] : Array.isArray(u) ? u : reject())

const KNOWN_STATUSES: ReadonlySet<string> = new Set(["pending", "suspended", "running", "succeeded", "failed", "cancelled", "unknown"])

/** `WireStatus`: statuses this SDK does not know are `"unknown"`. */
const knownStatus = (s: string): JobStatus => (KNOWN_STATUSES.has(s) ? (s as JobStatus) : "unknown")

/** An optional `WireStatus`; absent gives `"unknown"` as `toJobDescription` does. */
const status = (u: unknown): JobStatus => (u === undefined || u === null ? "unknown" : knownStatus(str(u)))

/** `WireUrl`. */
const url = (u: unknown): URL => {
  const s = str(u)
  try {
    return new URL(s)
  } catch {
    return reject()
  }
}

/** `UrlText` into `toJobDescription`'s `URL | undefined` (the empty text is no URL). */
const optUrlText = (u: unknown): URL | undefined => {
  const s = optStr(u)
  return s === undefined || s === "" ? undefined : url(s)
}

/**
 * The last texts parsed as dates and their times: a job repeats its times (created = first
 * transition, started and finished = later ones), and parsing ISO text with microseconds costs
 * more than the rest of a date. Each call still gets its own `Date`.
 */
const DATE_MEMO = 4
const memoText: Array<string> = []
const memoTime: Array<number> = []
let memoNext = 0

/** `WireDate`. */
const date = (u: unknown): Date => {
  const s = str(u)
  for (let i = 0; i < memoText.length; i++) if (memoText[i] === s) return new Date(memoTime[i]!)
  const time = new Date(s).getTime()
  if (Number.isNaN(time)) return reject()
  memoText[memoNext] = s
  memoTime[memoNext] = time
  memoNext = (memoNext + 1) % DATE_MEMO
  return new Date(time)
}

const optDate = (u: unknown): Date | undefined => (u === undefined || u === null ? undefined : date(u))

/** `WireDecimal`. */
const decimal = (u: unknown): BigDecimal.BigDecimal => parseDecimal(typeof u === "number" ? u : str(u)) ?? reject()

/** `WirePriority`; absent gives `NORMAL`. */
const priority = (u: unknown): 1 | 2 | 3 => {
  if (u === undefined || u === null) return 2
  switch (str(u).toUpperCase()) {
    case "LOW":
      return 1
    case "NORMAL":
      return 2
    case "HIGH":
      return 3
    default:
      return reject()
  }
}

const restartPolicy = (u: unknown): "never" | "on-failure" | "always" => {
  if (u === undefined || u === null) return "never"
  return u === "never" || u === "on-failure" || u === "always" ? u : reject()
}

/** A `Record<string, V>`: its own keys in order, each value checked. */
const record = <V>(u: unknown, value: (v: unknown) => V): { [key: string]: V } => {
  const out: { [key: string]: V } = {}
  if (u === undefined || u === null) return out
  const o = obj(u)
  for (const key of Object.keys(o)) out[key] = value(o[key])
  return out
}

/**
 * A model instance being filled: fields in `toJobDescription`'s order, optional ones set only when
 * present (see `blank`).
 */
type Fields = Record<string, unknown>

const put = (fields: Fields, key: string, value: unknown): void => {
  if (value !== undefined) fields[key] = value
}

const resources = (u: unknown): Resources => {
  const r = obj(u)
  const out = blank(Resources)
  out.memory = num(r.memory)
  out.cpu = num(r.cpu)
  out.shm = optBool(r.shm) ?? true
  put(out, "gpu", optNum(r.gpu))
  put(out, "gpuModel", optStr(r.gpu_model))
  const tpu = optObj(r.tpu)
  if (tpu !== undefined) {
    out.tpuType = str(tpu.type)
    out.tpuSoftwareVersion = str(tpu.software_version)
  }
  return out as unknown as Resources
}

const httpPort = (u: unknown): HTTPPort | undefined => {
  const h = optObj(u)
  if (h === undefined) return undefined
  const out = blank(HTTPPort)
  out.port = optNum(h.port) ?? -1
  out.requiresAuth = optBool(h.requires_auth) ?? false
  return out as unknown as HTTPPort
}

/** A mount (`Volume`, `DiskVolume`): the source URI under `key`, the container path, read-only unless said otherwise. */
const mount = <A>(Class: { readonly prototype: A }, key: string, src: string) => (u: unknown): A => {
  const v = obj(u)
  const out = blank(Class)
  out[key] = url(v[src])
  out.containerPath = str(v.dst_path)
  out.readOnly = optBool(v.read_only) ?? true
  return out as unknown as A
}

const volume = mount(Volume, "storageUri", "src_storage_uri")
const diskVolume = mount(DiskVolume, "diskUri", "src_disk_uri")

const secretFile = (u: unknown): SecretFile => {
  const v = obj(u)
  const out = blank(SecretFile)
  out.secretUri = url(v.src_secret_uri)
  out.containerPath = str(v.dst_path)
  return out as unknown as SecretFile
}

const container = (u: unknown, clusterName: string, decodeImage: ImageDecoder): Container => {
  const c = obj(u)
  const out = blank(Container)
  const image = str(c.image)
  const res = resources(c.resources)
  out.image = decodeImage(image, clusterName)
  out.resources = res
  put(out, "entrypoint", optStr(c.entrypoint))
  put(out, "command", optStr(c.command))
  put(out, "workingDir", optStr(c.working_dir))
  put(out, "http", httpPort(c.http))
  out.env = record(c.env, str)
  out.volumes = optArray(c.volumes).map(volume)
  out.secretEnv = record(c.secret_env, url)
  out.secretFiles = optArray(c.secret_volumes).map(secretFile)
  out.diskVolumes = optArray(c.disk_volumes).map(diskVolume)
  out.tty = optBool(c.tty) ?? false
  return out as unknown as Container
}

const transition = (u: unknown): JobStatusItem => {
  const s = obj(u)
  const out = blank(JobStatusItem)
  out.status = status(s.status)
  out.transitionTime = date(s.transition_time)
  out.reason = optStr(s.reason) ?? ""
  out.description = optStr(s.description) ?? ""
  put(out, "exitCode", optNum(s.exit_code))
  return out as unknown as JobStatusItem
}

const history = (u: unknown, statuses: unknown): JobStatusHistory => {
  const h = obj(u)
  const out = blank(JobStatusHistory)
  out.status = status(h.status)
  out.reason = optStr(h.reason) ?? ""
  out.description = optStr(h.description) ?? ""
  out.restarts = optNum(h.restarts) ?? 0
  put(out, "createdAt", optDate(h.created_at))
  put(out, "startedAt", optDate(h.started_at))
  put(out, "finishedAt", optDate(h.finished_at))
  put(out, "runTimeSeconds", optNum(h.run_time_seconds))
  put(out, "exitCode", optNum(h.exit_code))
  out.transitions = optArray(statuses).map(transition)
  return out as unknown as JobStatusHistory
}

const internal = (j: Obj): JobDescriptionInternal => {
  const out = blank(JobDescriptionInternal)
  out.materialized = optBool(j.materialized) ?? false
  out.beingDropped = optBool(j.being_dropped) ?? false
  out.logsRemoved = optBool(j.logs_removed) ?? false
  return out as unknown as JobDescriptionInternal
}

const job = (u: unknown, decodeImage: ImageDecoder): JobDescription => {
  const j = obj(u)
  const out = blank(JobDescription)
  out.id = str(j.id)
  out.owner = str(j.owner)
  const clusterName = str(j.cluster_name)
  out.clusterName = clusterName
  out.status = knownStatus(str(j.status))
  out.history = history(j.history, j.statuses)
  out.container = container(j.container, clusterName, decodeImage)
  out.schedulerEnabled = bool(j.scheduler_enabled)
  out.passConfig = bool(j.pass_config)
  out.uri = url(j.uri)
  out.totalPriceCredits = decimal(j.total_price_credits)
  out.priceCreditsPerHour = decimal(j.price_credits_per_hour)
  put(out, "name", optStr(j.name))
  out.tags = optArray(j.tags).map(str)
  put(out, "description", optStr(j.description))
  const httpUrl = optUrlText(j.http_url)
  put(out, "httpUrl", optUrlText(j.http_url_named) ?? httpUrl)
  put(out, "sshServer", optUrlText(j.ssh_server))
  return rest(j, out)
}

/** The fields after `httpUrl`. */
const rest = (j: Obj, out: Fields): JobDescription => {
  put(out, "internalHostname", optStr(j.internal_hostname))
  put(out, "internalHostnameNamed", optStr(j.internal_hostname_named))
  out.restartPolicy = restartPolicy(j.restart_policy)
  const minutes = optNum(j.max_run_time_minutes)
  put(out, "lifeSpan", minutes === undefined ? undefined : minutes * 60)
  put(out, "scheduleTimeout", optNum(j.schedule_timeout))
  put(out, "presetName", optStr(j.preset_name))
  out.orgName = optStr(j.org_name) ?? null
  out.preemptibleNode = optBool(j.preemptible_node) ?? false
  out.privileged = optBool(j.privileged) ?? false
  out.priority = priority(j.priority)
  put(out, "energyScheduleName", optStr(j.energy_schedule_name))
  out.internal = internal(j)
  return out as unknown as JobDescription
}

/**
 * The fast path of a job JSON into a `JobDescription` (images decoded with `decodeImage`), or
 * `Reject` when anything does not check.
 *
 * @internal
 */
export const fastJob = (decodeImage: ImageDecoder) => (u: unknown): JobDescription | Reject => {
  try {
    return job(u, decodeImage)
  } catch (e) {
    if (e === REJECTED) return Reject
    throw e
  }
}

const isJobDescription = (u: unknown): u is JobDescription => u instanceof JobDescription

/**
 * A job JSON ⇄ `JobDescription`, images decoded with `decodeImage`: the Schema `WireJob` then
 * `toJobDescription`. Decoding only.
 *
 * @internal
 */
export const jobSchemaWithoutFastPath = (decodeImage: ImageDecoder): Schema.Schema<JobDescription, typeof WireJob.Encoded> =>
  Schema.transformOrFail(WireJob, Schema.declare(isJobDescription, { identifier: "JobDescription" }), {
    strict: true,
    decode: (w) => ParseResult.succeed(toJobDescription(decodeImage)(w)),
    encode: (job, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, job, "a job is never sent back as received"))
  })

/**
 * `jobSchemaWithoutFastPath` with its fast path: what `ApiClient` decodes jobs with.
 *
 * @internal
 */
export const jobSchema = (decodeImage: ImageDecoder): Schema.Schema<JobDescription, typeof WireJob.Encoded> =>
  withFastPath(jobSchemaWithoutFastPath(decodeImage), fastJob(decodeImage))

const defaultImageDecoder = imageDecoder({ username: "user", orgName: null, registries: [] })

/**
 * Decode a job JSON (as received) into a `JobDescription`; a bad document is a `MalformedResponse`
 * naming the field.
 *
 * @internal
 */
export const decodeJob = (
  u: unknown,
  decodeImage: ImageDecoder = defaultImageDecoder,
  context: Errors.ErrorContext = {}
): Effect.Effect<JobDescription, Errors.MalformedResponse> =>
  decoderOf(jobSchema(decodeImage)).effect(u).pipe(
    Effect.mapError((e) => new Errors.MalformedResponse({ description: describeParseError(e), ...context }))
  )
