/**
 * Wire forms of the jobs API (snake_case JSON as neuro-sdk 23.2 reads and writes it), decoding into
 * the public models and encoding of request bodies and query parameters.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DecimalFromWire } from "./decimal.js"
import { WireDate } from "./wireDate.js"
import * as Errors from "../Errors.js"
import type { ImageParser } from "../Image.js"
import { parseRemoteImage, RemoteImage } from "../Image.js"
import type * as JobsModule from "../Jobs.js"
import * as Uri from "../Uri.js"
import { DiskVolume, SecretFile, Volume } from "../Volume.js"
import {
  Container,
  HTTPPort,
  INVALID_IMAGE_NAME,
  JobDescription,
  JobDescriptionInternal,
  type JobStatus,
  JobStatusHistory,
  JobStatusItem,
  JobStatusSchema,
  JobTelemetry,
  Resources
} from "./jobsModels.js"

const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { nullable: true })

// ---------------------------------------------------------------------------------------------
// scalar wire types
// ---------------------------------------------------------------------------------------------

const isJobStatus = Schema.is(JobStatusSchema)

/** Any string; statuses this SDK does not know become `"unknown"` (forward compatibility). */
/** @internal */
export const WireStatus: Schema.Schema<JobStatus, string> = Schema.transform(Schema.String, JobStatusSchema, {
  strict: true,
  decode: (s) => (isJobStatus(s) ? s : "unknown"),
  encode: (s) => s
})

/** An ISO 8601 timestamp. */
/** @internal */
export { WireDate }

/** An absolute URL. */
/** @internal */
export const WireUrl = Schema.transformOrFail(Schema.String, Schema.instanceOf(URL), {
  strict: true,
  decode: (s, _, ast) => {
    try {
      return ParseResult.succeed(new URL(s))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, s, `not a URL: ${JSON.stringify(s)}`))
    }
  },
  encode: (u) => ParseResult.succeed(u.href)
})

/** A price: a decimal as JSON text or number (Python `Decimal` accepts both) into a `BigDecimal`. */
/** @internal */
export const WireDecimal = DecimalFromWire

/** `low` / `normal` / `high` in any case (neuro-sdk upper-cases it). */
/** @internal */
export const WirePriority = Schema.transformOrFail(Schema.String, Schema.Literal(1, 2, 3), {
  strict: true,
  decode: (s, _, ast) => {
    switch (s.toUpperCase()) {
      case "LOW":
        return ParseResult.succeed(1 as const)
      case "NORMAL":
        return ParseResult.succeed(2 as const)
      case "HIGH":
        return ParseResult.succeed(3 as const)
      default:
        return ParseResult.fail(new ParseResult.Type(ast, s, `unknown job priority ${JSON.stringify(s)}`))
    }
  },
  encode: (p) => ParseResult.succeed(p === 1 ? "low" : p === 3 ? "high" : "normal")
})

// ---------------------------------------------------------------------------------------------
// job JSON
// ---------------------------------------------------------------------------------------------

const isUrlText = (s: string): boolean => {
  if (s === "") return true
  try {
    new URL(s)
    return true
  } catch {
    return false
  }
}

/** A URL or the empty string. */
const UrlText = Schema.String.pipe(Schema.filter((s) => isUrlText(s) || `not a URL: ${JSON.stringify(s)}`))

const WireTpu = Schema.Struct({ type: Schema.String, software_version: Schema.String })

const WireResources = Schema.Struct({
  memory: Schema.Number,
  cpu: Schema.Number,
  shm: opt(Schema.Boolean),
  gpu: opt(Schema.Number),
  gpu_model: opt(Schema.String),
  tpu: opt(WireTpu)
})

const WireHttp = Schema.Struct({
  port: opt(Schema.Number),
  requires_auth: opt(Schema.Boolean)
})

const WireVolume = Schema.Struct({
  src_storage_uri: WireUrl,
  dst_path: Schema.String,
  read_only: opt(Schema.Boolean)
})

const WireSecretFile = Schema.Struct({
  src_secret_uri: WireUrl,
  dst_path: Schema.String
})

const WireDiskVolume = Schema.Struct({
  src_disk_uri: WireUrl,
  dst_path: Schema.String,
  read_only: opt(Schema.Boolean)
})

const WireContainer = Schema.Struct({
  image: Schema.String,
  resources: WireResources,
  entrypoint: opt(Schema.String),
  command: opt(Schema.String),
  working_dir: opt(Schema.String),
  http: opt(WireHttp),
  env: opt(Schema.Record({ key: Schema.String, value: Schema.String })),
  volumes: opt(Schema.Array(WireVolume)),
  secret_env: opt(Schema.Record({ key: Schema.String, value: WireUrl })),
  secret_volumes: opt(Schema.Array(WireSecretFile)),
  disk_volumes: opt(Schema.Array(WireDiskVolume)),
  tty: opt(Schema.Boolean)
})

const WireStatusItem = Schema.Struct({
  status: opt(WireStatus),
  transition_time: WireDate,
  reason: opt(Schema.String),
  description: opt(Schema.String),
  exit_code: opt(Schema.Number)
})

const WireHistory = Schema.Struct({
  status: opt(WireStatus),
  reason: opt(Schema.String),
  description: opt(Schema.String),
  restarts: opt(Schema.Number),
  created_at: opt(WireDate),
  started_at: opt(WireDate),
  finished_at: opt(WireDate),
  run_time_seconds: opt(Schema.Number),
  exit_code: opt(Schema.Number)
})

/**
 * A job as `GET {api}/jobs/{id}` sends it. Required: `id`, `owner`, `cluster_name`, `status`,
 * `history`, `container` (`image`, `resources.memory`, `resources.cpu`), `scheduler_enabled`,
 * `pass_config`, `uri`, `total_price_credits`, `price_credits_per_hour`. Every optional field may
 * also be `null`.
 */
/** @internal */
export const WireJob = Schema.Struct({
  id: Schema.String,
  owner: Schema.String,
  cluster_name: Schema.String,
  status: WireStatus,
  history: WireHistory,
  container: WireContainer,
  scheduler_enabled: Schema.Boolean,
  pass_config: Schema.Boolean,
  uri: WireUrl,
  total_price_credits: WireDecimal,
  price_credits_per_hour: WireDecimal,
  statuses: opt(Schema.Array(WireStatusItem)),
  name: opt(Schema.String),
  tags: opt(Schema.Array(Schema.String)),
  description: opt(Schema.String),
  http_url: opt(UrlText),
  http_url_named: opt(UrlText),
  ssh_server: opt(UrlText),
  internal_hostname: opt(Schema.String),
  internal_hostname_named: opt(Schema.String),
  restart_policy: opt(Schema.Literal("never", "on-failure", "always")),
  max_run_time_minutes: opt(Schema.Number),
  schedule_timeout: opt(Schema.Number),
  preset_name: opt(Schema.String),
  org_name: opt(Schema.String),
  preemptible_node: opt(Schema.Boolean),
  privileged: opt(Schema.Boolean),
  priority: opt(WirePriority),
  energy_schedule_name: opt(Schema.String),
  materialized: opt(Schema.Boolean),
  being_dropped: opt(Schema.Boolean),
  logs_removed: opt(Schema.Boolean)
})

/** @internal */
export type WireJob = typeof WireJob.Type

/** A telemetry sample of `{mon}/{id}/top`. */
/** @internal */
export const WireTelemetry = Schema.Struct({
  cpu: Schema.Number,
  memory_bytes: Schema.Number,
  timestamp: Schema.Number,
  gpu_duty_cycle: opt(Schema.Number),
  gpu_memory_bytes: opt(Schema.Number)
})

const defined = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const toResources = (r: typeof WireResources.Type): Resources =>
  new Resources({
    memory: r.memory,
    cpu: r.cpu,
    shm: r.shm ?? true,
    ...defined("gpu", r.gpu),
    ...defined("gpuModel", r.gpu_model),
    ...defined("tpuType", r.tpu?.type),
    ...defined("tpuSoftwareVersion", r.tpu?.software_version)
  }, true)

/** How a job's image reference becomes a `RemoteImage`: `(reference, job cluster)`. */
/** @internal */
export type ImageDecoder = (reference: string, clusterName: string) => RemoteImage

/**
 * neuro-sdk's `parse.remote_image(image, cluster_name=job cluster)`, falling back to an external
 * image named `INVALID-IMAGE-NAME`. Without a parser (bad registry URL), every image is invalid.
 */
/** @internal */
export const imageDecoder = (parser: Omit<ImageParser, "clusterName"> | undefined): ImageDecoder => {
  // a listing repeats a few images many times: parse each (reference, cluster) once
  const cache = new Map<string, RemoteImage>()
  return (reference, clusterName) => {
    const key = `${clusterName}\u0000${reference}`
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const image = parser === undefined
      ? invalidImage()
      : Either.getOrElse(parseRemoteImage({ ...parser, clusterName }, reference), invalidImage)
    if (cache.size >= IMAGE_CACHE_SIZE) cache.clear()
    cache.set(key, image)
    return image
  }
}

const IMAGE_CACHE_SIZE = 1024

const invalidImage = () => RemoteImage.newExternalImage(INVALID_IMAGE_NAME)

const toContainer = (c: typeof WireContainer.Type, image: RemoteImage): Container =>
  new Container({
    image,
    resources: toResources(c.resources),
    ...defined("entrypoint", c.entrypoint),
    ...defined("command", c.command),
    ...defined("workingDir", c.working_dir),
    ...defined(
      "http",
      c.http === undefined ? undefined : new HTTPPort({ port: c.http.port ?? -1, requiresAuth: c.http.requires_auth ?? false }, true)
    ),
    env: c.env ?? {},
    volumes: (c.volumes ?? []).map((v) =>
      new Volume({ storageUri: v.src_storage_uri, containerPath: v.dst_path, readOnly: v.read_only ?? true }, true)
    ),
    secretEnv: c.secret_env ?? {},
    secretFiles: (c.secret_volumes ?? []).map((v) => new SecretFile({ secretUri: v.src_secret_uri, containerPath: v.dst_path }, true)),
    diskVolumes: (c.disk_volumes ?? []).map((v) =>
      new DiskVolume({ diskUri: v.src_disk_uri, containerPath: v.dst_path, readOnly: v.read_only ?? true }, true)
    ),
    tty: c.tty ?? false
  }, true)

const asStatus = (s: JobStatus | undefined): JobStatus => s ?? "unknown"

const urlOrUndefined = (s: string | undefined): URL | undefined => (s === undefined || s === "" ? undefined : new URL(s))

/** The public model of a decoded wire job. */
/** @internal */
export const toJobDescription = (decodeImage: ImageDecoder) => (w: WireJob): JobDescription => {
  const h = w.history
  const history = new JobStatusHistory({
    status: asStatus(h.status),
    reason: h.reason ?? "",
    description: h.description ?? "",
    restarts: h.restarts ?? 0,
    ...defined("createdAt", h.created_at),
    ...defined("startedAt", h.started_at),
    ...defined("finishedAt", h.finished_at),
    ...defined("runTimeSeconds", h.run_time_seconds),
    ...defined("exitCode", h.exit_code),
    transitions: (w.statuses ?? []).map((s) =>
      new JobStatusItem({
        status: asStatus(s.status),
        transitionTime: s.transition_time,
        reason: s.reason ?? "",
        description: s.description ?? "",
        ...defined("exitCode", s.exit_code)
      }, true)
    )
  }, true)
  return new JobDescription({
      id: w.id,
      owner: w.owner,
      clusterName: w.cluster_name,
      status: asStatus(w.status),
      history,
      container: toContainer(w.container, decodeImage(w.container.image, w.cluster_name)),
      schedulerEnabled: w.scheduler_enabled,
      passConfig: w.pass_config,
      uri: w.uri,
      totalPriceCredits: w.total_price_credits,
      priceCreditsPerHour: w.price_credits_per_hour,
      ...defined("name", w.name),
      tags: w.tags ?? [],
      ...defined("description", w.description),
      ...defined("httpUrl", urlOrUndefined(w.http_url_named) ?? urlOrUndefined(w.http_url)),
      ...defined("sshServer", urlOrUndefined(w.ssh_server)),
      ...defined("internalHostname", w.internal_hostname),
      ...defined("internalHostnameNamed", w.internal_hostname_named),
      restartPolicy: w.restart_policy ?? "never",
      ...defined("lifeSpan", w.max_run_time_minutes === undefined ? undefined : w.max_run_time_minutes * 60),
      ...defined("scheduleTimeout", w.schedule_timeout),
      ...defined("presetName", w.preset_name),
      orgName: w.org_name ?? null,
      preemptibleNode: w.preemptible_node ?? false,
      privileged: w.privileged ?? false,
      priority: w.priority ?? 2,
      ...defined("energyScheduleName", w.energy_schedule_name),
      internal: new JobDescriptionInternal({
        materialized: w.materialized ?? false,
        beingDropped: w.being_dropped ?? false,
        logsRemoved: w.logs_removed ?? false
      }, true)
    }, true)
}

/** @internal */
export const toTelemetry = (w: typeof WireTelemetry.Type): JobTelemetry =>
  new JobTelemetry({
    cpu: w.cpu,
    memoryBytes: w.memory_bytes,
    timestamp: w.timestamp,
    ...defined("gpuDutyCycle", w.gpu_duty_cycle),
    ...defined("gpuMemoryBytes", w.gpu_memory_bytes)
  }, true)

// ---------------------------------------------------------------------------------------------
// request bodies
// ---------------------------------------------------------------------------------------------

/** JSON values as neuro-sdk builds them (key order matters for `dumps`). */
/** @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Normalized URIs for the job's mounts. */
/** @internal */
export interface Who {
  readonly user: string
  readonly cluster: string
  readonly org: string | null
}

const invalid = (kind: string, input: string, description: string) => new Errors.InvalidInputError({ kind, input, description })

/**
 * neuro-sdk's `normalize_{storage_path,secret,disk}_uri` (the `Uri` module's): the scheme must be
 * `scheme`; a URI with a host is kept; `scheme:path` is under the user, `scheme:/path` under the
 * cluster root; the org is prefixed to completed URIs.
 */
/** @internal */
export const normalizeUri = (scheme: "storage" | "secret" | "disk", url: URL, who: Who): Effect.Effect<URL, Errors.InvalidInputError> => {
  const identity = { username: who.user, clusterName: who.cluster, orgName: who.org }
  switch (scheme) {
    case "storage":
      return Uri.normalizeStorageUri(url, identity)
    case "secret":
      return Uri.normalizeSecretUri(url, identity)
    case "disk":
      return Uri.normalizeDiskUri(url, identity)
  }
}

/** `int(x // 60)`: whole minutes, rounded down. */
/** @internal */
export const minutes = (seconds: number): number => Math.floor(seconds / 60)

const resourcesToApi = (r: Resources): Effect.Effect<Record<string, Json>, Errors.InvalidInputError> => {
  const value: Record<string, Json> = { memory: r.memory, cpu: r.cpu, shm: r.shm }
  if (r.gpu) {
    value.gpu = r.gpu
    value.gpu_model = r.gpuModel ?? null
  }
  if (r.tpuType) {
    if (!r.tpuSoftwareVersion) {
      return Effect.fail(invalid("option", r.tpuType, "a TPU type needs a TPU software version"))
    }
    value.tpu = { type: r.tpuType, software_version: r.tpuSoftwareVersion }
  }
  return Effect.succeed(value)
}

/** What `_container_to_api` takes. */
/** @internal */
export interface ContainerParts extends
  Pick<
    JobsModule.StartOptions,
    "entrypoint" | "command" | "workingDir" | "http" | "env" | "volumes" | "secretEnv" | "secretFiles" | "diskVolumes" | "tty" | "shm"
  >
{
  readonly image: string
}

/** neuro-sdk's `_container_to_api`. */
/** @internal */
export const containerToApi = (c: ContainerParts, who: Who): Effect.Effect<Record<string, Json>, Errors.InvalidInputError> =>
  Effect.gen(function*() {
    const out: Record<string, Json> = { image: c.image }
    if (c.shm) out.resources = { shm: true }
    if (c.entrypoint) out.entrypoint = c.entrypoint
    if (c.command) out.command = c.command
    if (c.workingDir) out.working_dir = c.workingDir
    if (c.http) out.http = { port: c.http.port, requires_auth: c.http.requiresAuth }
    if (c.env && Object.keys(c.env).length > 0) out.env = { ...c.env }
    if (c.volumes && c.volumes.length > 0) {
      const volumes: Array<Json> = []
      for (const v of c.volumes) {
        const uri = yield* normalizeUri("storage", v.storageUri, who)
        volumes.push({ src_storage_uri: uri.href, dst_path: v.containerPath, read_only: Boolean(v.readOnly) })
      }
      out.volumes = volumes
    }
    if (c.secretEnv && Object.keys(c.secretEnv).length > 0) {
      const env: Record<string, Json> = {}
      for (const [k, v] of Object.entries(c.secretEnv)) env[k] = (yield* normalizeUri("secret", v, who)).href
      out.secret_env = env
    }
    if (c.secretFiles && c.secretFiles.length > 0) {
      const files: Array<Json> = []
      for (const f of c.secretFiles) {
        files.push({ src_secret_uri: (yield* normalizeUri("secret", f.secretUri, who)).href, dst_path: f.containerPath })
      }
      out.secret_volumes = files
    }
    if (c.diskVolumes && c.diskVolumes.length > 0) {
      const disks: Array<Json> = []
      for (const d of c.diskVolumes) {
        const uri = yield* normalizeUri("disk", d.diskUri, who)
        disks.push({ src_disk_uri: uri.href, dst_path: d.containerPath, read_only: Boolean(d.readOnly) })
      }
      out.disk_volumes = disks
    }
    if (c.tty) out.tty = true
    return out
  })

/** What `_job_to_api` takes. */
/** @internal */
export interface JobParts {
  readonly clusterName: string
  readonly name?: string | undefined
  readonly presetName?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly description?: string | undefined
  readonly passConfig?: boolean | undefined
  readonly waitForJobsQuota?: boolean | undefined
  readonly scheduleTimeout?: number | undefined
  readonly restartPolicy?: JobsModule.JobRestartPolicy | undefined
  readonly lifeSpan?: number | undefined
  readonly privileged?: boolean | undefined
  readonly orgName?: string | null | undefined
  readonly priority?: JobsModule.JobPriority | undefined
  readonly energyScheduleName?: string | undefined
}

const PRIORITY_NAMES = { 1: "low", 2: "normal", 3: "high" } as const

/** neuro-sdk's `_job_to_api`. */
/** @internal */
export const jobToApi = (j: JobParts): Effect.Effect<Record<string, Json>, Errors.InvalidInputError> =>
  Effect.suspend(() => {
    const out: Record<string, Json> = { pass_config: j.passConfig ?? false }
    if (j.name) out.name = j.name
    if (j.presetName) out.preset_name = j.presetName
    if (j.tags && j.tags.length > 0) out.tags = [...j.tags]
    if (j.description) out.description = j.description
    if (j.scheduleTimeout) out.schedule_timeout = j.scheduleTimeout
    if (j.restartPolicy !== undefined && j.restartPolicy !== "never") out.restart_policy = j.restartPolicy
    if (j.lifeSpan !== undefined) {
      if (!Number.isFinite(j.lifeSpan)) {
        return Effect.fail(invalid("option", String(j.lifeSpan), "the life span must be a finite number of seconds"))
      }
      out.max_run_time_minutes = minutes(j.lifeSpan)
    }
    if (j.waitForJobsQuota) out.wait_for_jobs_quota = true
    if (j.privileged) out.privileged = true
    if (j.orgName) out.org_name = j.orgName
    if (j.priority !== undefined) out.priority = PRIORITY_NAMES[j.priority]
    if (j.energyScheduleName) out.energy_schedule_name = j.energyScheduleName
    out.cluster_name = j.clusterName
    return Effect.succeed(out)
  })

/** The body of `start` (`POST {api}/jobs?from_preset`). */
/** @internal */
export const startBody = (
  options: JobsModule.StartOptions,
  resolved: { readonly clusterName: string; readonly orgName: string | null; readonly image: RemoteImage },
  who: Who
): Effect.Effect<Record<string, Json>, Errors.InvalidInputError> =>
  Effect.gen(function*() {
    const container = yield* containerToApi({ ...options, image: resolved.image.asDockerUrl() }, who)
    const job = yield* jobToApi({ ...options, clusterName: resolved.clusterName, orgName: resolved.orgName })
    return { ...job, ...container }
  })

/** The body of the deprecated `run` (`POST {api}/jobs`). */
/** @internal */
export const runBody = (
  container: Container,
  options: JobsModule.RunOptions,
  resolved: { readonly clusterName: string; readonly orgName: string | null },
  who: Who
): Effect.Effect<Record<string, Json>, Errors.InvalidInputError> =>
  Effect.gen(function*() {
    const job = yield* jobToApi({ ...options, clusterName: resolved.clusterName, orgName: resolved.orgName })
    const c = yield* containerToApi({ ...container, image: container.imageRef, shm: false }, who)
    c.resources = yield* resourcesToApi(container.resources)
    job.container = c
    job.scheduler_enabled = options.schedulerEnabled ?? false
    return job
  })

/**
 * Python's `isoformat()` of an aware UTC datetime: `2021-08-17T00:00:00+00:00`, microseconds
 * only when non-zero.
 */
/** @internal */
export const isoformat = (date: Date): string => {
  const iso = date.toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = iso.slice(0, 19)
  const ms = date.getUTCMilliseconds()
  return `${base}${ms === 0 ? "" : "." + String(ms).padStart(3, "0") + "000"}+00:00`
}

/** Query parameters of `list`, in neuro-sdk's order. */
/** @internal */
export const listParams = (options: JobsModule.ListOptions, clusterName: string): Array<readonly [string, string]> => {
  const params: Array<readonly [string, string]> = []
  for (const s of options.statuses ?? []) params.push(["status", s])
  if (options.name) params.push(["name", options.name])
  for (const o of options.owners ?? []) params.push(["owner", o])
  for (const t of options.tags ?? []) params.push(["tag", t])
  if (options.since) params.push(["since", isoformat(options.since)])
  if (options.until) params.push(["until", isoformat(options.until)])
  params.push(["cluster_name", clusterName])
  if (options.orgName !== undefined) params.push(["org_name", options.orgName])
  if (options.reverse) params.push(["reverse", "1"])
  if (options.limit !== undefined) params.push(["limit", String(options.limit)])
  const py = (b: boolean) => (b ? "True" : "False")
  if (options.materialized !== undefined) params.push(["materialized", py(options.materialized)])
  const beingDropped = options.beingDropped === undefined ? false : options.beingDropped
  if (beingDropped !== null) params.push(["being_dropped", py(beingDropped)])
  const logsRemoved = options.logsRemoved === undefined ? false : options.logsRemoved
  if (logsRemoved !== null) params.push(["logs_removed", py(logsRemoved)])
  return params
}

const escapeString = (s: string): string =>
  "\"" + s.replace(/["\\\u0000-\u001f\u007f-\uffff]/g, (c) => {
    switch (c) {
      case "\"":
        return "\\\""
      case "\\":
        return "\\\\"
      case "\n":
        return "\\n"
      case "\r":
        return "\\r"
      case "\t":
        return "\\t"
      case "\b":
        return "\\b"
      case "\f":
        return "\\f"
      default:
        return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")
    }
  }) + "\""

/**
 * JSON text as Python's `json.dumps` (what aiohttp sends for `json=`): `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`.
 */
/** @internal */
export const dumps = (value: Json): string => {
  if (value === null) return "null"
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
    return JSON.stringify(value)
  }
  if (typeof value === "string") return escapeString(value)
  if (Array.isArray(value)) return "[" + (value as ReadonlyArray<Json>).map(dumps).join(", ") + "]"
  const obj = value as { readonly [key: string]: Json }
  return "{" + Object.keys(obj).map((k) => `${escapeString(k)}: ${dumps(obj[k]!)}`).join(", ") + "}"
}

// ---------------------------------------------------------------------------------------------
// save progress (`POST {monitoring}/{id}/save`: one JSON object per line)
// ---------------------------------------------------------------------------------------------

/** One line of the `save` stream: a JSON object, not yet classified. */
/** @internal */
export const SaveLine = Schema.compose(
  Schema.parseJson().annotations({ message: () => "a save progress line is not valid JSON" }),
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
    message: () => "a save progress line is not a JSON object"
  })
)

const ErrorDetail = Schema.Struct({ message: Schema.String })
const isErrorDetail = Schema.is(ErrorDetail)

/**
 * An error line, `{"error": "...", "errorDetail": {"message": "..."}}`, decoded to its message:
 * `errorDetail.message`, else `error` when it is a string, else `Unknown error`. The key `error`
 * marks the line whatever its value, so decode with `{ exact: true }` (a missing key is not
 * `undefined`).
 */
/** @internal */
export const ErrorChunk: Schema.Schema<string, { readonly error: unknown; readonly errorDetail?: unknown }> = Schema.transform(
  Schema.Struct({ error: Schema.Unknown, errorDetail: Schema.optional(Schema.Unknown) }),
  Schema.String,
  {
    strict: true,
    decode: ({ error, errorDetail }) =>
      isErrorDetail(errorDetail) ? errorDetail.message : typeof error === "string" ? error : "Unknown error",
    encode: (message) => ({ error: message, errorDetail: { message } })
  }
)

/** `status` of a commit line: exactly `expected`, with neuro-sdk's messages for a missing or another status. */
const commitStatus = <S extends string>(expected: S) =>
  Schema.propertySignature(
    Schema.Literal(expected).annotations({
      message: (issue) => `Invalid commit status: '${String(issue.actual)}', expecting: '${expected}'`
    })
  ).annotations({ missingMessage: () => "Missing required field: \"status\"" })

const MISSING_IMAGE = "Missing required details: 'image'"

const CommittedImage = Schema.NonEmptyString.annotations({ message: () => ({ message: MISSING_IMAGE, override: true }) })

/**
 * The first line: `{"status": "CommitStarted", "details": {"image": "<committed image>", ...}}`.
 * Decode with `{ exact: true }`; every failure's message is neuro-sdk's.
 */
/** @internal */
export const CommitStartedChunk = Schema.Struct({
  status: commitStatus("CommitStarted"),
  details: Schema.propertySignature(
    Schema.Struct({
      image: Schema.propertySignature(CommittedImage).annotations({ missingMessage: () => MISSING_IMAGE })
    }).annotations({ message: () => MISSING_IMAGE })
  ).annotations({ missingMessage: () => MISSING_IMAGE })
})

/** The second line: `{"status": "CommitFinished"}`. Decode with `{ exact: true }`. */
/** @internal */
export const CommitFinishedChunk = Schema.Struct({
  status: commitStatus("CommitFinished")
})

/**
 * The following lines: the Docker Engine's push progress, `{"status", "id", "progress",
 * "progressDetail": {"current", "total"}}`, every field optional; lines without an `id` (and the
 * line whose `id` is the pushed tag) are not layer steps.
 */
/** @internal */
export const PushChunk = Schema.Struct({
  id: opt(Schema.String),
  status: opt(Schema.String),
  progress: opt(Schema.String),
  progressDetail: opt(Schema.Struct({ current: opt(Schema.Number), total: opt(Schema.Number) }))
})
