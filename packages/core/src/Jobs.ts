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
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError, MalformedResponse, NetworkError, StdStreamError } from "./Errors.js"
import type { RemoteImage } from "./Image.js"
import type {
  ImageCommitFinished,
  ImageCommitStarted,
  ImageProgressPush,
  ImageProgressSave,
  ImageProgressStep
} from "./internal/imagesModels.js"
import * as internal from "./internal/jobs.js"
import type {
  Container,
  HTTPPort,
  JobDescription,
  JobPriority,
  JobRestartPolicy,
  JobStatus,
  JobTelemetry,
  LocalTcpServer,
  Message
} from "./internal/jobsModels.js"
import type { DiskVolume, SecretFile, Volume } from "./Volume.js"

// The enums, schemas and classes of a job are declared in `internal/jobsModels.ts`, which the
// implementation imports instead of this module (no import cycle).
export {
  Container,
  HTTPPort,
  INVALID_IMAGE_NAME,
  JobDescription,
  JobDescriptionInternal,
  JobPriority,
  JobRestartPolicy,
  JobStatus,
  JobStatusHistory,
  JobStatusItem,
  JobStatusSchema,
  JobTelemetry,
  LocalTcpServer,
  Message,
  Resources
} from "./internal/jobsModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Jobs extends Context.Tag("@neuro-sdk/core/Jobs")<Jobs, Jobs.Service>() {}

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
// save progress
// ---------------------------------------------------------------------------------------------

/**
 * Progress of `save`: the save starts (`ImageProgressSave`), the container is committed
 * (`ImageCommitStarted`, `ImageCommitFinished`), then the image is pushed (`ImageProgressPush`,
 * one `ImageProgressStep` per layer line): the classes `Images` exports, as neuro-sdk's
 * `AbstractDockerImageProgress` callbacks receive them.
 *
 * @since 1.0.0
 * @category models
 */
export type JobSaveProgress =
  | ImageProgressSave
  | ImageCommitStarted
  | ImageCommitFinished
  | ImageProgressPush
  | ImageProgressStep

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
export const make: Effect.Effect<Jobs.Service, never, ApiClient | Config> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Jobs, never, ApiClient | Config> = Layer.effect(Jobs, make)
