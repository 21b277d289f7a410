/**
 * The `Jobs` subsystem: start, list, inspect, kill jobs; follow their logs and telemetry; attach to
 * them, run commands in them and forward ports to them. The counterpart of neuro-sdk's
 * `client.jobs`.
 *
 * API summary (stable; the wire protocol is neuro-sdk 23.2's):
 *
 * ```ts
 * const jobs = yield* Jobs.Jobs
 * jobs.start({ image, presetName, clusterName?, orgName?, entrypoint?, command?, workingDir?, http?,
 *   env?, volumes?, secretEnv?, secretFiles?, diskVolumes?, tty?, shm?, name?, tags?, description?,
 *   passConfig?, waitForJobsQuota?, scheduleTimeout?, restartPolicy?, lifeSpan?, privileged?,
 *   priority?, energyScheduleName? })                           // Effect<JobDescription>
 * jobs.run(container, { name?, tags?, description?, schedulerEnabled?, passConfig?,
 *   waitForJobsQuota?, scheduleTimeout?, restartPolicy?, lifeSpan?, orgName?, priority? })  // deprecated
 * jobs.list({ statuses?, name?, tags?, owners?, since?, until?, reverse?, limit?, clusterName?,
 *   orgName? })                                                // Stream<JobDescription>
 * jobs.status(id)                                              // Effect<JobDescription>
 * jobs.kill(id)                                                // Effect<void>
 * jobs.bumpLifeSpan(id, additionalSeconds)                     // Effect<void>
 * jobs.sendSignal(id, { clusterName? })                        // Effect<void>
 * jobs.getCapacity({ clusterName? })                           // Effect<Record<preset, count>>
 * jobs.monitor(id, { clusterName?, since?, timestamps?, separator?, debug? })  // Stream<Uint8Array>
 * jobs.top(id, { clusterName? })                               // Stream<JobTelemetry>
 * jobs.attach(id, { tty?, stdin?, stdout?, stderr?, clusterName? })   // Effect<StdStream, _, Scope>
 * jobs.exec(id, cmd, { tty?, stdin?, stdout?, stderr?, clusterName? }) // Effect<StdStream, _, Scope>
 * jobs.portForward(id, localPort, jobPort, { clusterName?, host? })
 *   // Effect<{ host, port }, _, Scope | LocalTcpServer>; @neuro-sdk/node NodePortForward.layer
 * jobs.save(id, image, { progress?, clusterName? })            // Effect<void>
 *
 * StdStream: readOut: Effect<Option<Message>>  (none once the socket closed; an exit frame fails
 *            with StdStreamError(exitCode)), writeIn(bytes), resize(h, w), close
 * ```
 *
 * Images: `image` options take a `RemoteImage` or a reference string (parsed like
 * `Parser.remoteImage`); `Container.image` is a `RemoteImage`.
 *
 * @since 1.0.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError, MalformedResponse, NetworkError, StdStreamError } from "./Errors.js"
import type { LocalImage } from "./Image.js"
import { RemoteImage } from "./Image.js"
import * as internal from "./internal/jobs.js"
import { DiskVolume, SecretFile, Volume } from "./Volume.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Jobs extends Context.Tag("@neuro-sdk/core/Jobs")<Jobs, Jobs.Service>() {}

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
  /** Decimal text (e.g. `"10.01"`), exactly as the server sent it. */
  totalPriceCredits: Schema.String,
  /** Decimal text, exactly as the server sent it. */
  priceCreditsPerHour: Schema.String,
  name: Schema.optional(Schema.String),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  description: Schema.optional(Schema.String),
  /** `http_url_named` when the server sent one, else `http_url`; absent when neither. */
  httpUrl: Schema.optional(Url),
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
 * An image argument: a `RemoteImage`, or a reference parsed like `Parser.remoteImage` (neuro-sdk
 * `client.parse.remote_image`) in the job's cluster: `ubuntu:22.04`, `image:my-image:v1`,
 * `image://cluster/owner/name`, `registry-host/owner/name:tag`.
 *
 * @since 1.0.0
 * @category models
 */
export type ImageInput = RemoteImage | string

/**
 * The name neuro-sdk gives a job's image when the server's reference does not parse.
 *
 * @since 1.0.0
 * @category constants
 */
export const INVALID_IMAGE_NAME = "INVALID-IMAGE-NAME"

// ---------------------------------------------------------------------------------------------
// std streams
// ---------------------------------------------------------------------------------------------

/**
 * What reading or writing an attach/exec stream can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type StdStreamFailure = StdStreamError | NetworkError | MalformedResponse

/**
 * The standard streams of a process in a job, over one websocket (attach, exec).
 *
 * @since 1.0.0
 * @category models
 */
export interface StdStream {
  /**
   * The next chunk of output; `None` once the connection is closed (by either side). A frame
   * carrying the process's exit code fails with `StdStreamError(exitCode)` (exit code 1 when the
   * frame is unreadable), after which reads return `None`.
   */
  readonly readOut: Effect.Effect<Option.Option<Message>, StdStreamFailure>
  /** Send bytes to the process's stdin (ignored once closed). */
  readonly writeIn: (data: Uint8Array) => Effect.Effect<void, NetworkError>
  /** Resize the terminal (ignored once closed). */
  readonly resize: (height: number, width: number) => Effect.Effect<void, NetworkError>
  /** Close the connection; later reads return `None`. */
  readonly close: Effect.Effect<void>
}

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

// ---------------------------------------------------------------------------------------------
// save progress
// ---------------------------------------------------------------------------------------------

/**
 * Progress of `save`: the save starts, the container is committed, then the image is pushed.
 *
 * @since 1.0.0
 * @category models
 */
export type JobSaveProgress =
  | { readonly _tag: "Save"; readonly jobId: string; readonly image: RemoteImage }
  | { readonly _tag: "CommitStarted"; readonly jobId: string; readonly image: RemoteImage }
  | { readonly _tag: "CommitFinished"; readonly jobId: string }
  | { readonly _tag: "Push"; readonly src: LocalImage; readonly dst: RemoteImage }
  | {
    readonly _tag: "Step"
    readonly message: string
    readonly layerId: string
    readonly status: string
    readonly current: number | undefined
    readonly total: number | undefined
  }

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

/**
 * Options shared by `start` and `run`.
 *
 * @since 1.0.0
 * @category models
 */
export interface SubmitOptions {
  readonly name?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly description?: string | undefined
  /** Pass the user's config (token) into the job. Default false. */
  readonly passConfig?: boolean | undefined
  /** Wait in the queue when the jobs quota is exhausted. Default false. */
  readonly waitForJobsQuota?: boolean | undefined
  /** Seconds the job may wait to be scheduled (0 or unset: the cluster default). */
  readonly scheduleTimeout?: number | undefined
  readonly restartPolicy?: JobRestartPolicy | undefined
  /** Seconds the job may run (sent in whole minutes, rounded down); unset: the default. */
  readonly lifeSpan?: number | undefined
  /** Org of the job: unset = the current org, `null` = no org. */
  readonly orgName?: string | null | undefined
  readonly priority?: JobPriority | undefined
}

/**
 * Options of `start`.
 *
 * @since 1.0.0
 * @category models
 */
export interface StartOptions extends SubmitOptions {
  readonly image: ImageInput
  readonly presetName: string
  /** Cluster to run in (default: the current one). */
  readonly clusterName?: string | undefined
  readonly entrypoint?: string | undefined
  readonly command?: string | undefined
  readonly workingDir?: string | undefined
  readonly http?: HTTPPort | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly volumes?: ReadonlyArray<Volume> | undefined
  /** Env var name → `secret:` URI. */
  readonly secretEnv?: Readonly<Record<string, URL>> | undefined
  readonly secretFiles?: ReadonlyArray<SecretFile> | undefined
  readonly diskVolumes?: ReadonlyArray<DiskVolume> | undefined
  readonly tty?: boolean | undefined
  /** Extended `/dev/shm`. Default false. */
  readonly shm?: boolean | undefined
  readonly privileged?: boolean | undefined
  readonly energyScheduleName?: string | undefined
}

/**
 * Options of the deprecated `run`.
 *
 * @since 1.0.0
 * @category models
 */
export interface RunOptions extends SubmitOptions {
  /** Default false. */
  readonly schedulerEnabled?: boolean | undefined
}

/**
 * Filters of `list` (all optional; the server applies them).
 *
 * @since 1.0.0
 * @category models
 */
export interface ListOptions {
  readonly statuses?: Iterable<JobStatus> | undefined
  readonly name?: string | undefined
  readonly tags?: Iterable<string> | undefined
  readonly owners?: Iterable<string> | undefined
  /** Jobs created at or after this time. */
  readonly since?: Date | undefined
  /** Jobs created at or before this time. */
  readonly until?: Date | undefined
  /** Newest first. */
  readonly reverse?: boolean | undefined
  readonly limit?: number | undefined
  /** Default: the current cluster. */
  readonly clusterName?: string | undefined
  /** Only jobs of this org (`org_name`; not sent unless given). */
  readonly orgName?: string | undefined
  /** Internal filter (`materialized`), not sent unless given. */
  readonly materialized?: boolean | undefined
  /** Internal filter (`being_dropped`); neuro-sdk always sends `False` by default. `null`: not sent. */
  readonly beingDropped?: boolean | null | undefined
  /** Internal filter (`logs_removed`); neuro-sdk always sends `False` by default. `null`: not sent. */
  readonly logsRemoved?: boolean | null | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface ClusterOption {
  /** Default: the current cluster. */
  readonly clusterName?: string | undefined
}

/**
 * Options of `monitor`.
 *
 * @since 1.0.0
 * @category models
 */
export interface MonitorOptions extends ClusterOption {
  /** Only log lines written at or after this time. */
  readonly since?: Date | undefined
  /** Prefix each line with its timestamp. */
  readonly timestamps?: boolean | undefined
  /** Separator the server prints between the logs of successive container runs. */
  readonly separator?: string | undefined
  readonly debug?: boolean | undefined
}

/**
 * Options of `attach` and `exec`.
 *
 * @since 1.0.0
 * @category models
 */
export interface StdStreamOptions extends ClusterOption {
  readonly tty?: boolean | undefined
  readonly stdin?: boolean | undefined
  readonly stdout?: boolean | undefined
  readonly stderr?: boolean | undefined
}

/**
 * Options of `portForward`.
 *
 * @since 1.0.0
 * @category models
 */
export interface PortForwardOptions extends ClusterOption {
  /** Local address to listen on (default `localhost`, like neuro-sdk). */
  readonly host?: string | undefined
  /** Accepted for compatibility; unused (as in neuro-sdk 23.2). */
  readonly noKeyCheck?: boolean | undefined
}

/**
 * Options of `save`.
 *
 * @since 1.0.0
 * @category models
 */
export interface SaveOptions extends ClusterOption {
  readonly progress?: ((event: JobSaveProgress) => Effect.Effect<void>) | undefined
}

/**
 * What the jobs calls can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type JobsError = ApiError | ConfigError | InvalidInputError

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/**
 * @since 1.0.0
 */
export declare namespace Jobs {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Start a job from a preset (`POST {api}/jobs?from_preset`). */
    readonly start: (options: StartOptions) => Effect.Effect<JobDescription, JobsError>
    /**
     * Start a job from a full container description (`POST {api}/jobs`).
     *
     * @deprecated use `start` with a preset
     */
    readonly run: (container: Container, options?: RunOptions) => Effect.Effect<JobDescription, JobsError>
    /** Jobs matching the filters, streamed. */
    readonly list: (options?: ListOptions) => Stream.Stream<JobDescription, JobsError>
    readonly status: (id: string) => Effect.Effect<JobDescription, JobsError>
    readonly kill: (id: string) => Effect.Effect<void, JobsError>
    /** Extend the job's life span by `additionalLifeSpan` seconds (whole minutes, rounded down). */
    readonly bumpLifeSpan: (id: string, additionalLifeSpan: number) => Effect.Effect<void, JobsError>
    /** Send SIGKILL to the job's process (monitoring `kill`). */
    readonly sendSignal: (id: string, options?: ClusterOption) => Effect.Effect<void, JobsError>
    /** How many jobs of each preset the cluster can run now. */
    readonly getCapacity: (options?: ClusterOption) => Effect.Effect<Readonly<Record<string, number>>, JobsError>
    /** The job's logs, as bytes (empty chunks skipped). */
    readonly monitor: (id: string, options?: MonitorOptions) => Stream.Stream<Uint8Array, JobsError>
    /**
     * Telemetry samples of a running job. No sample at all fails with `IllegalArgumentError`
     * ("Job is not running").
     */
    readonly top: (id: string, options?: ClusterOption) => Stream.Stream<JobTelemetry, JobsError>
    /** Attach to the job's main process. */
    readonly attach: (id: string, options?: StdStreamOptions) => Effect.Effect<StdStream, JobsError, Scope.Scope>
    /** Run `cmd` in the job. */
    readonly exec: (id: string, cmd: string, options?: StdStreamOptions) => Effect.Effect<StdStream, JobsError, Scope.Scope>
    /**
     * Listen on `localPort` (0: any free port) and forward every connection to `jobPort` of the job,
     * each over its own websocket, until the scope closes. Returns the bound address. Failures of
     * one connection are logged and close that connection only.
     */
    readonly portForward: (
      id: string,
      localPort: number,
      jobPort: number,
      options?: PortForwardOptions
    ) => Effect.Effect<{ readonly host: string; readonly port: number }, JobsError, Scope.Scope | LocalTcpServer>
    /** Commit the job's container to an image of the platform registry and push it. */
    readonly save: (id: string, image: ImageInput, options?: SaveOptions) => Effect.Effect<void, JobsError>
  }
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Jobs.Service, never, ApiClient | Config> = Effect.suspend(() => internal.make)

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Jobs, never, ApiClient | Config> = Layer.effect(Jobs, make)
