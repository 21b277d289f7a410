/**
 * How LocalPlatform runs the containers of its jobs.
 *
 * The platform side (statuses, restarts, life span, logs, permissions) lives in LocalPlatform; a
 * `JobRunner` only starts one container and reports what it prints and how it ends. Three runners
 * come with the package:
 *
 * - `layerSandbox` (the default where bubblewrap works, see `sandboxAvailable`): each container
 *   is a bubblewrap sandbox with its own mount, PID and UTS namespaces. Its root file system is
 *   the image's when the image is in LocalPlatform's registry (`JobSpec.imageRoot`), else this
 *   machine's, read-only; `/tmp` and `/root` are its own. Storage and disk volumes are
 *   bind-mounted at their paths (read-only ones really read-only), secret files appear at theirs
 *   with mode 0600, the working directory is honoured. Killing the container ends every process
 *   in it. The network is this machine's: ports are reachable as they are.
 * - `layerProcess` (the fallback): the container command runs as a local child process in its own
 *   process group. The image is recorded but not pulled: the host system is used. Environment,
 *   secret environment and working directory are honoured; storage volumes, disk volumes and
 *   secret files appear under the job's root folder (see `JobSpec.rootDir`).
 * - `layerSimulated`: deterministic scripted jobs for unit tests. The command is a tiny script
 *   (`echo`, `sleep`, `exit`, `cat`, `oom`, ...; see `makeSimulated`), nothing touches the OS.
 *
 * As on Kubernetes, the real runners split `entrypoint` and `command` into words like a shell
 * would (`shlex`) and run them without a shell (`bash -c "..."` works, `a && b` needs one).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/jobsRunner.js"
import type { JobRunnerError } from "./internal/jobsRunnerModels.js"

// The error is declared in `internal/jobsRunnerModels.ts`, which the implementation imports
// instead of this module (no import cycle).
export { JobRunnerError } from "./internal/jobsRunnerModels.js"

/**
 * A folder of the platform (storage, disk) mounted into the container.
 *
 * @since 1.0.0
 * @category models
 */
export interface Mount {
  /** Absolute path inside the container (`dst_path`). */
  readonly containerPath: string
  /** The folder on this machine that holds the data. */
  readonly hostPath: string
  readonly readOnly: boolean
}

/**
 * A secret written as a file into the container.
 *
 * @since 1.0.0
 * @category models
 */
export interface SecretFile {
  readonly containerPath: string
  readonly value: Redacted.Redacted<Uint8Array>
}

/**
 * An image of LocalPlatform's own registry, unpacked as a root file system.
 *
 * The folder is shared by every job of the same image (cached by manifest digest): a runner
 * mounts it read-only or copy-on-write and never writes into it. The runner applies the image's
 * configuration as the platform's containers do: the job's `entrypoint` replaces the image's
 * entrypoint and drops its cmd, the job's `command` replaces the cmd, the job's env is laid
 * over the image's, and the job's working dir wins over the image's.
 *
 * @since 1.0.0
 * @category models
 */
export interface ImageRoot {
  /** The unpacked layers on this machine. */
  readonly dir: string
  /** The manifest digest (`sha256:...`) the folder was unpacked from. */
  readonly digest: string
  readonly entrypoint: ReadonlyArray<string>
  readonly cmd: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly workingDir: string | undefined
}

/**
 * Everything a runner needs to start the container of a job.
 *
 * @since 1.0.0
 * @category models
 */
export interface JobSpec {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly org: string | null
  readonly name: string | undefined
  /** The image as submitted (recorded only by the bundled runners). */
  readonly image: string
  readonly entrypoint: string | undefined
  readonly command: string | undefined
  /** Working directory inside the container (absolute), when given. */
  readonly workingDir: string | undefined
  /** Container environment: the job's `env`, resolved `secret_env` and the platform's `NEURO_JOB_*` variables. */
  readonly env: Readonly<Record<string, string>>
  readonly mounts: ReadonlyArray<Mount>
  readonly secretFiles: ReadonlyArray<SecretFile>
  readonly tty: boolean
  /** Memory limit of the container (from the preset or resources). */
  readonly memoryBytes: number
  /**
   * A private folder for this job on this machine. The process runner uses it as the
   * container's file system root: it links every mount at `rootDir + containerPath`, writes
   * secret files there, and runs the command in `rootDir + workingDir` (or `rootDir`). The
   * sandbox runner keeps there the secret files it binds into the sandbox.
   */
  readonly rootDir: string
  /** 0 for the first run, then 1, 2, ... when the restart policy restarts the container. */
  readonly attempt: number
  /**
   * The image's root file system when the image is in LocalPlatform's own registry; absent for
   * any other image (the job then sees this machine's file system, read-only where sandboxed).
   */
  readonly imageRoot?: ImageRoot | undefined
}

/**
 * Bytes the container wrote: `fd` 1 is stdout, 2 is stderr.
 *
 * @since 1.0.0
 * @category models
 */
export interface OutputChunk {
  readonly fd: 1 | 2
  readonly data: Uint8Array
}

/**
 * How a container ended, as Kubernetes reports it.
 *
 * @since 1.0.0
 * @category models
 */
export interface ExitStatus {
  readonly exitCode: number
  /** Kubernetes' terminated reason: `Completed`, `Error`, `OOMKilled`, ... (default from the exit code). */
  readonly reason?: string | undefined
  /** Kubernetes' terminated message (default: the end of the log when the exit code is not 0). */
  readonly message?: string | undefined
}

/**
 * A sample of the container's resource usage (`cpu` in cores).
 *
 * @since 1.0.0
 * @category models
 */
export interface Telemetry {
  readonly cpu: number
  readonly memoryBytes: number
}

/**
 * Signals the platform sends to containers.
 *
 * @since 1.0.0
 * @category models
 */
export type Signal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP"

/**
 * A command executed inside a running container (`exec`).
 *
 * @since 1.0.0
 * @category models
 */
export interface ExecSession {
  /** What the command writes; ends when it exits. */
  readonly output: Stream.Stream<OutputChunk>
  readonly writeStdin: (data: Uint8Array) => Effect.Effect<void>
  /** Waits for the exit code. */
  readonly exit: Effect.Effect<number>
  /** Kill the command (and what it started). */
  readonly kill: Effect.Effect<void>
}

/**
 * A started container.
 *
 * @since 1.0.0
 * @category models
 */
export interface JobProcess {
  /** Everything the container writes, in order; ends when the container has exited. Read once. */
  readonly output: Stream.Stream<OutputChunk>
  /** Waits until the container has exited. */
  readonly exit: Effect.Effect<ExitStatus>
  /** Write to the container's stdin (it is always open, as the platform creates containers with `stdin: true`). */
  readonly writeStdin: (data: Uint8Array) => Effect.Effect<void>
  /** Send a signal to every process of the container. */
  readonly signal: (signal: Signal) => Effect.Effect<void>
  /** Current resource usage; `None` when it cannot be measured. */
  readonly telemetry: Effect.Effect<Option.Option<Telemetry>>
  /** Run a command (argv) inside the container, with its environment and working directory. */
  readonly exec: (argv: ReadonlyArray<string>) => Effect.Effect<ExecSession, JobRunnerError>
  /** Where a port the container listens on is reachable from this machine. */
  readonly address: (port: number) => { readonly host: string; readonly port: number }
}

/**
 * @since 1.0.0
 * @category tags
 */
export class JobRunner extends Context.Tag("@neuro-sdk/testing/JobRunner")<JobRunner, JobRunner.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace JobRunner {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Start the container of a job. */
    readonly start: (spec: JobSpec) => Effect.Effect<JobProcess, JobRunnerError>
  }
}

/**
 * Options of the process runner.
 *
 * @since 1.0.0
 * @category models
 */
export interface ProcessOptions {
  /** Shell run when a job has neither entrypoint nor command (default `/bin/sh`, which exits at once). */
  readonly shell?: string | undefined
  /** Kill a container whose resident memory exceeds its limit, with reason `OOMKilled` (default true). */
  readonly enforceMemoryLimit?: boolean | undefined
  /** Environment variables of this machine passed to containers (default `["PATH", "LANG", "TZ"]`). */
  readonly inheritEnv?: ReadonlyArray<string> | undefined
}

/**
 * The process runner: each job's command runs as a child process of this machine.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeProcess: (options?: ProcessOptions) => JobRunner.Service = internal.makeProcess

/**
 * Options of the sandbox runner.
 *
 * @since 1.0.0
 * @category models
 */
export interface SandboxOptions {
  /** Shell run when neither the job nor its image has a command (default `/bin/sh`, which exits at once). */
  readonly shell?: string | undefined
  /** Kill a container whose resident memory exceeds its limit, with reason `OOMKilled` (default true). */
  readonly enforceMemoryLimit?: boolean | undefined
  /**
   * Environment variables of this machine passed to containers that run on this machine's file
   * system (default `["PATH", "LANG", "TZ"]`); a container of an image gets the image's instead.
   */
  readonly inheritEnv?: ReadonlyArray<string> | undefined
}

/**
 * The sandbox runner: each job's container is a bubblewrap (`bwrap`) sandbox; `exec` enters it
 * with util-linux's `nsenter`. Starting a container fails with a `JobRunnerError` where they do
 * not work (see `sandboxAvailable`).
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeSandbox: (options?: SandboxOptions) => JobRunner.Service = internal.makeSandbox

/**
 * Whether the sandbox runner works on this machine: `bwrap` and `nsenter` are installed and a
 * sandbox starts (tried once per process). `reason` says why not.
 *
 * @since 1.0.0
 * @category utils
 */
export const sandboxAvailable = (): { readonly available: boolean; readonly reason: string } => {
  const probe = internal.probeSandbox()
  return { available: probe.tools !== undefined, reason: probe.reason }
}

/**
 * The runner LocalPlatform uses when none is given: the sandbox runner where it works, else the
 * process runner.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeDefault: () => JobRunner.Service = internal.makeDefault

/**
 * Options of the simulated runner.
 *
 * @since 1.0.0
 * @category models
 */
export interface SimulatedOptions {
  /** Telemetry reported for running containers (default 0.5 cores, 64 MiB). */
  readonly telemetry?: Telemetry | undefined
  /** A script for a job instead of its command (return `undefined` to use the command). */
  readonly script?: ((spec: JobSpec) => string | undefined) | undefined
}

/**
 * The simulated runner. A job's command (`<entrypoint> <command>`) is read as a script of
 * statements separated by `;`, `&&` or new lines:
 *
 * - `echo WORDS...` prints the words (`$VAR` and `${VAR}` expand from the job environment); a
 *   trailing `>&2` prints to stderr;
 * - `sleep SECONDS` waits (on the Effect clock);
 * - `exit CODE`, `true`, `false`;
 * - `cat` copies stdin to stdout until the container is killed;
 * - `oom` ends the container as the kernel would when it runs out of memory (exit 137, `OOMKilled`);
 * - `pwd` prints the working directory, `env NAME` prints a variable;
 * - anything else prints `sh: 1: NAME: not found` to stderr and exits with 127.
 *
 * The container's exit code is that of the last statement. `exec` runs the same language.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeSimulated: (options?: SimulatedOptions) => JobRunner.Service = internal.makeSimulated

/**
 * @since 1.0.0
 * @category layers
 */
export const layerProcess = (options?: ProcessOptions): Layer.Layer<JobRunner> => Layer.succeed(JobRunner, makeProcess(options))

/**
 * @since 1.0.0
 * @category layers
 */
export const layerSandbox = (options?: SandboxOptions): Layer.Layer<JobRunner> => Layer.succeed(JobRunner, makeSandbox(options))

/**
 * @since 1.0.0
 * @category layers
 */
export const layerSimulated = (options?: SimulatedOptions): Layer.Layer<JobRunner> =>
  Layer.succeed(JobRunner, makeSimulated(options))
