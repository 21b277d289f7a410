/**
 * The models of `Jobs.ts`: statuses, restart policies, priorities, the classes of a job, the
 * `LocalTcpServer` tag. They are declared here and re-exported by `Jobs.ts`, whose public API they
 * are (so they carry no internal tag). `internal/jobs.ts`, `internal/jobsWire.ts` and
 * `internal/jobsStdStream.ts` use them from here: this module imports nothing from `Jobs.ts`,
 * which imports the implementation, so there is no import cycle.
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { RemoteImage } from "../Image.js"
import { DiskVolume, SecretFile, Volume } from "../Volume.js"

const Url = Schema.instanceOf(URL)

// ---------------------------------------------------------------------------------------------
// enums
// ---------------------------------------------------------------------------------------------

/**
 * Status of a job; the values are the wire values.
 *
 * - `PENDING`: being created and scheduled (waiting for resources, pulling the image, ...).
 * - `SUSPENDED`: a preemptible job paused to let other jobs run.
 * - `RUNNING`, `SUCCEEDED` (exit code 0), `CANCELLED` (killed), `FAILED` (non-zero exit code).
 * - `UNKNOWN`: the server sent a status this SDK does not know (or none).
 *
 * @since 1.0.0
 * @category models
 */
export type JobStatus = "pending" | "suspended" | "running" | "succeeded" | "failed" | "cancelled" | "unknown"

const ALL_STATUSES: ReadonlyArray<JobStatus> = ["pending", "suspended", "running", "succeeded", "failed", "cancelled"]
const isFinishedStatus = (s: JobStatus): boolean => s === "succeeded" || s === "failed" || s === "cancelled"

/**
 * Members of `JobStatus` (Python names) and its predicates.
 *
 * @since 1.0.0
 * @category models
 */
export const JobStatus = {
  PENDING: "pending",
  SUSPENDED: "suspended",
  RUNNING: "running",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  CANCELLED: "cancelled",
  UNKNOWN: "unknown",
  /** `PENDING` or `SUSPENDED`. */
  isPending: (s: JobStatus): boolean => s === "pending" || s === "suspended",
  isRunning: (s: JobStatus): boolean => s === "running",
  /** `SUCCEEDED`, `FAILED` or `CANCELLED`. */
  isFinished: isFinishedStatus,
  /** Every status but `UNKNOWN`. */
  items: (): ReadonlySet<JobStatus> => new Set(ALL_STATUSES),
  /** `PENDING`, `SUSPENDED`, `RUNNING`. */
  activeItems: (): ReadonlySet<JobStatus> => new Set(ALL_STATUSES.filter((s) => !isFinishedStatus(s))),
  /** `SUCCEEDED`, `FAILED`, `CANCELLED`. */
  finishedItems: (): ReadonlySet<JobStatus> => new Set(ALL_STATUSES.filter(isFinishedStatus))
} as const

/**
 * Schema of a `JobStatus` value.
 *
 * @since 1.0.0
 * @category schemas
 */
export const JobStatusSchema: Schema.Schema<JobStatus> = Schema.Literal(
  "pending",
  "suspended",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "unknown"
)

/**
 * Restart policy of a job; the values are the wire values.
 *
 * @since 1.0.0
 * @category models
 */
export type JobRestartPolicy = "never" | "on-failure" | "always"

/**
 * @since 1.0.0
 * @category models
 */
export const JobRestartPolicy = {
  NEVER: "never",
  ON_FAILURE: "on-failure",
  ALWAYS: "always"
} as const

/**
 * Priority of a job, ordered like Python's `IntEnum` (`LOW` < `NORMAL` < `HIGH`); the wire value
 * is the lower-cased name.
 *
 * @since 1.0.0
 * @category models
 */
export type JobPriority = 1 | 2 | 3

/**
 * @since 1.0.0
 * @category models
 */
export const JobPriority = {
  LOW: 1,
  NORMAL: 2,
  HIGH: 3,
  /** The Python member name of a priority. */
  nameOf: (p: JobPriority): "LOW" | "NORMAL" | "HIGH" => (p === 1 ? "LOW" : p === 3 ? "HIGH" : "NORMAL")
} as const

const Priority = Schema.Literal(1, 2, 3)
const RestartPolicy = Schema.Literal("never", "on-failure", "always")

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * Resources of a job's container.
 *
 * @since 1.0.0
 * @category models
 */
export class Resources extends Schema.Class<Resources>("@neuro-sdk/core/Resources")({
  /** Memory in bytes. */
  memory: Schema.Number,
  cpu: Schema.Number,
  gpu: Schema.optional(Schema.Number),
  gpuModel: Schema.optional(Schema.String),
  /** Extended `/dev/shm` (default true). */
  shm: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  tpuType: Schema.optional(Schema.String),
  tpuSoftwareVersion: Schema.optional(Schema.String)
}) {
  /** Memory in MiB, rounded down. */
  get memoryMb(): number {
    return Math.floor(this.memory / 2 ** 20)
  }
}

/**
 * The HTTP port a job exposes.
 *
 * @since 1.0.0
 * @category models
 */
export class HTTPPort extends Schema.Class<HTTPPort>("@neuro-sdk/core/HTTPPort")({
  port: Schema.Number,
  requiresAuth: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {}

/**
 * A job's container.
 *
 * @since 1.0.0
 * @category models
 */
export class Container extends Schema.Class<Container>("@neuro-sdk/core/Container")({
  /**
   * The image. In a decoded job, the server's reference parsed like `Parser.remoteImage` in the
   * job's cluster; an external image named `INVALID-IMAGE-NAME` when it does not parse.
   */
  image: RemoteImage,
  resources: Resources,
  entrypoint: Schema.optional(Schema.String),
  command: Schema.optional(Schema.String),
  workingDir: Schema.optional(Schema.String),
  http: Schema.optional(HTTPPort),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  volumes: Schema.optionalWith(Schema.Array(Volume), { default: () => [] }),
  secretEnv: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Url }), { default: () => ({}) }),
  secretFiles: Schema.optionalWith(Schema.Array(SecretFile), { default: () => [] }),
  diskVolumes: Schema.optionalWith(Schema.Array(DiskVolume), { default: () => [] }),
  tty: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {
  /** The image as a docker reference (what the jobs API receives). */
  get imageRef(): string {
    return this.image.asDockerUrl()
  }
}

/**
 * One transition in a job's status history.
 *
 * @since 1.0.0
 * @category models
 */
export class JobStatusItem extends Schema.Class<JobStatusItem>("@neuro-sdk/core/JobStatusItem")({
  status: JobStatusSchema,
  transitionTime: Schema.DateFromSelf,
  reason: Schema.optionalWith(Schema.String, { default: () => "" }),
  description: Schema.optionalWith(Schema.String, { default: () => "" }),
  exitCode: Schema.optional(Schema.Number)
}) {}

/**
 * A job's current status with its history.
 *
 * @since 1.0.0
 * @category models
 */
export class JobStatusHistory extends Schema.Class<JobStatusHistory>("@neuro-sdk/core/JobStatusHistory")({
  status: JobStatusSchema,
  reason: Schema.String,
  description: Schema.String,
  restarts: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  createdAt: Schema.optional(Schema.DateFromSelf),
  startedAt: Schema.optional(Schema.DateFromSelf),
  finishedAt: Schema.optional(Schema.DateFromSelf),
  runTimeSeconds: Schema.optional(Schema.Number),
  exitCode: Schema.optional(Schema.Number),
  transitions: Schema.optionalWith(Schema.Array(JobStatusItem), { default: () => [] })
}) {
  /**
   * When the current status began (created, started or finished time, else the last transition's
   * time); `undefined` when the server did not send it.
   */
  get changedAt(): Date | undefined {
    if (this.status === "pending") return this.createdAt
    if (this.status === "running" || this.status === "suspended") return this.startedAt
    if (isFinishedStatus(this.status)) return this.finishedAt
    return this.transitions[this.transitions.length - 1]?.transitionTime
  }
}

/**
 * Internal flags of a job (neuro-sdk's `_internal`).
 *
 * @since 1.0.0
 * @category models
 */
export class JobDescriptionInternal extends Schema.Class<JobDescriptionInternal>("@neuro-sdk/core/JobDescriptionInternal")({
  materialized: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  beingDropped: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  logsRemoved: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * A job as the jobs API describes it.
 *
 * @since 1.0.0
 * @category models
 */
export class JobDescription extends Schema.Class<JobDescription>("@neuro-sdk/core/JobDescription")({
  id: Schema.String,
  owner: Schema.String,
  clusterName: Schema.String,
  status: JobStatusSchema,
  history: JobStatusHistory,
  container: Container,
  schedulerEnabled: Schema.Boolean,
  passConfig: Schema.Boolean,
  /** `job://cluster/owner/id`, as the server sent it. */
  uri: Url,
  /** Credits spent so far: a decimal (neuro-sdk `Decimal`), exactly as the server wrote it. */
  totalPriceCredits: Schema.BigDecimalFromSelf,
  /** Credits per hour: a decimal (neuro-sdk `Decimal`), exactly as the server wrote it. */
  priceCreditsPerHour: Schema.BigDecimalFromSelf,
  name: Schema.optional(Schema.String),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  description: Schema.optional(Schema.String),
  /** `http_url_named` when the server sent one, else `http_url`; absent when neither. */
  httpUrl: Schema.optional(Url),
  /**
   * The job's internal SSH server (`ssh_server`), when the API sends one (the 2023 platform does
   * not). Internal: reach a running job with `exec` and `portForward`.
   */
  sshServer: Schema.optional(Url),
  internalHostname: Schema.optional(Schema.String),
  internalHostnameNamed: Schema.optional(Schema.String),
  restartPolicy: Schema.optionalWith(RestartPolicy, { default: () => "never" as const }),
  /** Seconds (the server's `max_run_time_minutes` × 60). */
  lifeSpan: Schema.optional(Schema.Number),
  /** Seconds. */
  scheduleTimeout: Schema.optional(Schema.Number),
  presetName: Schema.optional(Schema.String),
  /** `null`: the job belongs to no org. */
  orgName: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  preemptibleNode: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  privileged: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  priority: Schema.optionalWith(Priority, { default: () => 2 as const }),
  energyScheduleName: Schema.optional(Schema.String),
  internal: Schema.optionalWith(JobDescriptionInternal, { default: () => new JobDescriptionInternal({}) })
}) {}

/**
 * One sample of a running job's resource usage.
 *
 * @since 1.0.0
 * @category models
 */
export class JobTelemetry extends Schema.Class<JobTelemetry>("@neuro-sdk/core/JobTelemetry")({
  cpu: Schema.Number,
  memoryBytes: Schema.Number,
  /** Seconds since the epoch. */
  timestamp: Schema.Number,
  gpuDutyCycle: Schema.optional(Schema.Number),
  gpuMemoryBytes: Schema.optional(Schema.Number)
}) {
  /** Memory in MiB. */
  get memory(): number {
    return this.memoryBytes / 2 ** 20
  }
  /** GPU memory in MiB. */
  get gpuMemory(): number | undefined {
    return this.gpuMemoryBytes === undefined ? undefined : this.gpuMemoryBytes / 2 ** 20
  }
}

/**
 * A chunk of a job's output read from an attach/exec stream: `fileno` 1 is stdout, 2 stderr.
 *
 * @since 1.0.0
 * @category models
 */
export class Message extends Schema.Class<Message>("@neuro-sdk/core/Message")({
  fileno: Schema.Number,
  data: Schema.Uint8ArrayFromSelf
}) {}

// ---------------------------------------------------------------------------------------------
// images
// ---------------------------------------------------------------------------------------------

/**
 * The name neuro-sdk gives a job's image when the server's reference does not parse.
 *
 * @since 1.0.0
 * @category constants
 */
export const INVALID_IMAGE_NAME = "INVALID-IMAGE-NAME"

// ---------------------------------------------------------------------------------------------
// port forwarding
// ---------------------------------------------------------------------------------------------

/**
 * Local TCP listeners for `portForward` (implemented by `@neuro-sdk/node`'s `NodePortForward`;
 * core stays free of `node:net`).
 *
 * @since 1.0.0
 * @category tags
 */
export class LocalTcpServer extends Context.Tag("@neuro-sdk/core/LocalTcpServer")<LocalTcpServer, LocalTcpServer.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace LocalTcpServer {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Listen on `host:port` (port 0: any free port) until the scope closes. */
    readonly listen: (options: { readonly host: string; readonly port: number }) => Effect.Effect<
      SocketServer.SocketServer["Type"],
      SocketServer.SocketServerError,
      Scope.Scope
    >
  }
}
