/**
 * The sandbox runner: each job's container is a bubblewrap sandbox with its own mount, PID and
 * UTS namespaces (see `sandboxPlan.ts` for its file system). The job's command is the PID
 * namespace's first process, so when it ends, or is killed, every process of the job ends with
 * it, as in a container. The network is this machine's (ports stay reachable). `exec` enters the
 * sandbox's namespaces with util-linux's `nsenter`.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { delimiter, join } from "node:path"
import type { Readable } from "node:stream"
import type * as JobRunner from "../../JobRunner.js"
import { JobRunnerError } from "../jobsRunnerModels.js"
import {
  execNotFound,
  failedExec,
  inPidNamespace,
  killGroup,
  makePipe,
  pipeOutput,
  signalNumber,
  spawnExec,
  type Usage,
  watchUsage
} from "./childProcess.js"
import { commandNotFound } from "./processRunner.js"
import { findExecutable, planSandbox, resolveIn, type SandboxPlan } from "./sandboxPlan.js"

/** The first executable `name` in this machine's `PATH`. */
const which = (name: string): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "/usr/bin:/bin").split(delimiter)) {
    const file = join(dir, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * The capabilities a container runtime gives a container by default (Docker's and containerd's
 * list): without `CAP_SYS_ADMIN` the job cannot remount its read-only mounts writable.
 */
const CONTAINER_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SYS_CHROOT",
  "MKNOD",
  "AUDIT_WRITE",
  "SETFCAP"
]

interface Tools {
  readonly bwrap: string
  readonly bwrapStat: fs.Stats
  readonly nsenter: string
  /**
   * The job is root of a user namespace of its own (bubblewrap run by another user, or by a root
   * that may not mount); else bubblewrap runs privileged and the job gets a container's capabilities.
   */
  readonly userNamespace: boolean
}

/** bubblewrap's arguments for the user of the job (see `Tools.userNamespace`). */
const userArgs = (userNamespace: boolean): Array<string> =>
  userNamespace
    ? ["--unshare-user", "--uid", "0", "--gid", "0"]
    : ["--cap-drop", "ALL", ...CONTAINER_CAPABILITIES.flatMap((c) => ["--cap-add", `CAP_${c}`])]

let probed: { readonly tools: Tools | undefined; readonly reason: string } | undefined

/** A sandbox like a job's that runs `true`: `undefined` when it works, else why not. */
const tryBwrap = (bwrap: string, userNamespace: boolean): string | undefined => {
  const args = [
    ...userArgs(userNamespace),
    ...["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--as-pid-1", "--unshare-uts"],
    ...["--", "true"]
  ]
  const r = spawnSync(bwrap, args, { timeout: 10_000, encoding: "utf8" })
  return r.status === 0 ? undefined : (r.stderr || String(r.error ?? `exit code ${r.status}`)).trim()
}

/** Whether bubblewrap and nsenter are here and a sandbox starts (probed once). */
/** @internal */
export const probe = (): { readonly tools: Tools | undefined; readonly reason: string } => {
  if (probed !== undefined) return probed
  const bwrap = which("bwrap")
  const nsenter = which("nsenter")
  if (bwrap === undefined) probed = { tools: undefined, reason: "bubblewrap (bwrap) is not installed" }
  else if (nsenter === undefined) probed = { tools: undefined, reason: "util-linux's nsenter is not installed" }
  else {
    const privileged = process.getuid?.() === 0 ? tryBwrap(bwrap, false) : "not root"
    const unprivileged = privileged === undefined ? undefined : tryBwrap(bwrap, true)
    probed = privileged === undefined || unprivileged === undefined
      ? { tools: { bwrap, bwrapStat: fs.statSync(bwrap), nsenter, userNamespace: privileged !== undefined }, reason: "" }
      : { tools: undefined, reason: `bubblewrap cannot make a sandbox here: ${unprivileged}` }
  }
  return probed
}

/** Writes the secret files into a private folder of the job (0700, files 0600). */
const writeSecrets = (spec: JobRunner.JobSpec): Array<string> => {
  const dir = join(spec.rootDir, "secrets")
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  return spec.secretFiles.map((s, i) => {
    const file = join(dir, String(i))
    fs.writeFileSync(file, Redacted.value(s.value), { mode: 0o600 })
    return file
  })
}

const prepare = (spec: JobRunner.JobSpec, options: JobRunner.SandboxOptions): SandboxPlan => {
  fs.mkdirSync(spec.rootDir, { recursive: true, mode: 0o700 })
  for (const m of spec.mounts) fs.mkdirSync(m.hostPath, { recursive: true })
  return planSandbox({
    spec,
    secretHostFiles: writeSecrets(spec),
    shell: options.shell ?? "/bin/sh",
    inheritEnv: options.inheritEnv ?? ["PATH", "LANG", "TZ"]
  })
}

interface Started {
  /** This machine's id of the sandbox's first process. */
  readonly pid: number
  /** Its PID namespace, as `readlink /proc/PID/ns/pid` shows it. */
  readonly pidNamespace: string
}

/** Reads what bubblewrap writes on `--info-fd` (the sandbox's first process), or why it ended before. */
const started = (child: ChildProcess, errors: () => string): Effect.Effect<Started, JobRunnerError> =>
  Effect.async<Started, JobRunnerError>((resume) => {
    let text = ""
    const info = child.stdio[3] as Readable
    info.on("data", (d: Buffer) => {
      text += d.toString("utf8")
      try {
        const json = JSON.parse(text) as { readonly "child-pid"?: number; readonly "pid-namespace"?: number }
        if (typeof json["child-pid"] === "number") {
          resume(Effect.succeed({ pid: json["child-pid"], pidNamespace: `pid:[${json["pid-namespace"]}]` }))
        }
      } catch {
        // not all of it yet
      }
    })
    child.once("close", () =>
      resume(Effect.fail(new JobRunnerError({ description: `cannot start the sandbox: ${errors().trim() || "bwrap ended"}` }))))
  })

/**
 * Waits until the sandbox's first process has left bubblewrap for the job's command (its
 * executable is no longer bubblewrap's): then the sandbox is set up, and `exec` finds its file
 * system. `false` when it ended without being seen in the command.
 */
const commandStarted = (pid: number, bwrap: fs.Stats): Effect.Effect<boolean> => {
  const look = (): boolean | undefined => {
    try {
      const exe = fs.statSync(`/proc/${pid}/exe`)
      return exe.ino !== bwrap.ino || exe.dev !== bwrap.dev ? true : undefined
    } catch {
      return false
    }
  }
  return Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      const seen = look()
      if (seen !== undefined) return seen
      yield* Effect.sleep("5 millis")
    }
    return true
  })
}

/** bubblewrap's own failures (a mount, the command's exec) end it with 1 before the command runs. */
const setupFailure = (code: number, errors: string): string | undefined =>
  code === 1 && errors.startsWith("bwrap: ") ? `failed to create containerd task: ${errors.split("\n")[0]!.slice(7)}` : undefined

/** How the container ended, from bubblewrap's exit (which is its command's). */
const exitStatus = (code: number, errors: string, oomKilled: boolean): JobRunner.ExitStatus => {
  if (oomKilled) return { exitCode: 137, reason: "OOMKilled" }
  const cannotRun = setupFailure(code, errors)
  return cannotRun !== undefined ? { exitCode: 128, reason: "ContainerCannotRun", message: cannotRun } : { exitCode: code }
}

/** bubblewrap's arguments of a job's sandbox. */
const sandboxArgs = (tools: Tools, spec: JobRunner.JobSpec, plan: SandboxPlan): Array<string> => [
  ...plan.args,
  ...userArgs(tools.userNamespace),
  "--unshare-pid",
  "--as-pid-1",
  "--unshare-uts",
  "--hostname",
  spec.id,
  "--die-with-parent",
  "--new-session",
  "--info-fd",
  "3",
  "--",
  ...plan.argv
]

/** `exec`: the command runs in the sandbox's namespaces, root and working directory. */
const execIn = (tools: Tools, sandbox: Started, plan: SandboxPlan, argv: ReadonlyArray<string>) => {
  const root = `/proc/${sandbox.pid}/root`
  const live = (path: string) => {
    const r = resolveIn(root, path)
    return r.kind === undefined ? undefined : join(root, r.path)
  }
  if (findExecutable(live, plan.cwd, argv[0]!, plan.env["PATH"]) === undefined) {
    return Effect.succeed(failedExec(execNotFound(argv[0]!), 127))
  }
  const user = tools.userNamespace ? ["-U", "--preserve-credentials"] : []
  const args = ["-t", String(sandbox.pid), ...user, "-m", "-p", "-u", "--root", `--wd=${root}${plan.cwd}`, "--", ...argv]
  return spawnExec(tools.nsenter, args, { env: { ...plan.env }, name: argv[0]! })
}

const spawnSandbox = (tools: Tools, spec: JobRunner.JobSpec, plan: SandboxPlan) =>
  Effect.try({
    try: () => spawn(tools.bwrap, sandboxArgs(tools, spec, plan), { env: { ...plan.env }, detached: true, stdio: ["pipe", "pipe", "pipe", "pipe"] }),
    catch: (cause) => new JobRunnerError({ description: `cannot start the sandbox: ${String(cause)}`, cause })
  })

/** @internal */
export const makeSandbox = (options: JobRunner.SandboxOptions = {}): JobRunner.JobRunner.Service => ({
  start: (spec) =>
    Effect.gen(function*() {
      const { reason, tools } = probe()
      if (tools === undefined) return yield* Effect.fail(new JobRunnerError({ description: reason }))
      const plan = yield* Effect.try({
        try: () => prepare(spec, options),
        catch: (cause) => new JobRunnerError({ description: `cannot prepare the container: ${String(cause)}`, cause })
      })
      const file = plan.argv[0]!
      if (findExecutable(plan.hostFile, plan.cwd, file, plan.env["PATH"]) === undefined) {
        return yield* Effect.fail(new JobRunnerError({ description: commandNotFound(file) }))
      }
      const child = yield* spawnSandbox(tools, spec, plan)
      const pipe = makePipe()
      const closed = yield* Deferred.make<number>()
      let errors = ""
      let usage: Usage | undefined
      child.stderr?.on("data", (d: Buffer) => {
        if (errors.length < 4096) errors += d.toString("utf8")
      })
      pipeOutput(child, pipe)
      child.on("error", () => {})
      child.on("close", (code, signal) => {
        usage?.stop()
        pipe.end()
        Deferred.unsafeDone(closed, Effect.succeed(code ?? 128 + signalNumber(signal)))
      })
      // a failure or an interruption before the container is handed over stops bubblewrap
      const stop = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.onError(effect, () => Effect.sync(() => killGroup(child.pid, "SIGKILL")))
      const sandbox = yield* stop(started(child, () => errors))
      if (!(yield* stop(commandStarted(sandbox.pid, tools.bwrapStat)))) {
        // ended at once: a failed set-up, or a command quicker than the look
        const code = yield* Deferred.await(closed).pipe(Effect.timeout("5 seconds"), Effect.option)
        const cannotRun = code._tag === "Some" ? setupFailure(code.value, errors) : undefined
        if (cannotRun !== undefined) return yield* Effect.fail(new JobRunnerError({ description: cannotRun }))
      }
      const signal = (sig: JobRunner.Signal) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        try {
          process.kill(sandbox.pid, sig)
        } catch {
          // already gone
        }
      }
      usage = watchUsage(inPidNamespace(sandbox.pidNamespace), {
        limitBytes: spec.memoryBytes,
        enforce: options.enforceMemoryLimit ?? true,
        kill: () => signal("SIGKILL")
      })
      const watched = usage
      const jobProcess: JobRunner.JobProcess = {
        output: pipe.stream,
        exit: Effect.map(Deferred.await(closed), (code) => exitStatus(code, errors, watched.oomKilled())),
        writeStdin: (data) => Effect.sync(() => void child.stdin?.write(data)),
        signal: (sig) => Effect.sync(() => signal(sig)),
        telemetry: usage.telemetry,
        exec: (argv) =>
          argv.length === 0
            ? Effect.fail(new JobRunnerError({ description: "empty command" }))
            : child.exitCode !== null || child.signalCode !== null
            ? Effect.fail(new JobRunnerError({ description: "the container is not running" }))
            : Effect.suspend(() => execIn(tools, sandbox, plan, argv)),
        address: (port) => ({ host: "127.0.0.1", port })
      }
      return jobProcess
    })
})
