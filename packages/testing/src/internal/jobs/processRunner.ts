/**
 * The process runner: each job's command runs as a child process of this machine, in its own
 * process group, under the job's root folder.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import type * as JobRunner from "../../JobRunner.js"
import { JobRunnerError } from "../jobsRunnerModels.js"
import { shlexSplit } from "../jobsShell.js"
import { inGroup, killGroup, makePipe, pipeOutput, signalNumber, spawnExec, watchUsage } from "./childProcess.js"

const prepareRoot = (spec: JobRunner.JobSpec): string => {
  fs.mkdirSync(spec.rootDir, { recursive: true })
  const inRoot = (p: string) => join(spec.rootDir, ...p.split("/").filter((s) => s !== "" && s !== "." && s !== ".."))
  for (const m of spec.mounts) {
    const target = inRoot(m.containerPath)
    fs.mkdirSync(m.hostPath, { recursive: true })
    fs.mkdirSync(dirname(target), { recursive: true })
    fs.rmSync(target, { recursive: true, force: true })
    fs.symlinkSync(m.hostPath, target, "dir")
  }
  for (const s of spec.secretFiles) {
    const target = inRoot(s.containerPath)
    fs.mkdirSync(dirname(target), { recursive: true })
    fs.rmSync(target, { force: true })
    fs.writeFileSync(target, Redacted.value(s.value), { mode: 0o600 })
  }
  const cwd = spec.workingDir === undefined ? spec.rootDir : inRoot(spec.workingDir)
  fs.mkdirSync(cwd, { recursive: true })
  return cwd
}

/** The variables of this machine in `inherit`, then the container's. */
const environment = (spec: JobRunner.JobSpec, inherit: ReadonlyArray<string>): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const name of inherit) {
    const v = process.env[name]
    if (v !== undefined) env[name] = v
  }
  env["HOME"] = spec.rootDir
  env["NEURO_JOB_ROOT"] = spec.rootDir
  return Object.assign(env, spec.env)
}

/** The message of a container whose command does not exist, as containerd words it. */
/** @internal */
export const commandNotFound = (file: string) =>
  `failed to create containerd task: exec: "${file}": executable file not found in $PATH: unknown`

/** @internal */
export const makeProcess = (options: JobRunner.ProcessOptions = {}): JobRunner.JobRunner.Service => {
  const shell = options.shell ?? "/bin/sh"
  const inherit = options.inheritEnv ?? ["PATH", "LANG", "TZ"]
  const enforceMemory = options.enforceMemoryLimit ?? true
  return {
    start: (spec) =>
      Effect.gen(function*() {
        // an image of the registry needs its own root file system, which only a sandbox gives:
        // running its command on this machine instead would be a different program
        if (spec.imageRoot !== undefined) {
          return yield* Effect.fail(
            new JobRunnerError({
              description: `the process runner cannot run an image of LocalPlatform's registry (${spec.image}): ` +
                "it needs the sandbox runner (bubblewrap)"
            })
          )
        }
        const cwd = yield* Effect.try({
          try: () => prepareRoot(spec),
          catch: (cause) => new JobRunnerError({ description: `cannot prepare the container: ${String(cause)}`, cause })
        })
        const env = environment(spec, inherit)
        // as Kubernetes: entrypoint and command are split like a shell would, then run without a shell
        const argv = [...(shlexSplit(spec.entrypoint ?? "") ?? []), ...(shlexSplit(spec.command ?? "") ?? [])]
        const [file = shell, ...args] = argv.length === 0 ? [shell, "-c", ""] : argv
        const child = yield* Effect.try({
          try: () => spawn(file, args, { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] }),
          catch: (cause) => new JobRunnerError({ description: `cannot start the container: ${String(cause)}`, cause })
        })
        let cannotRun: string | undefined
        child.on("error", (e: NodeJS.ErrnoException) => {
          cannotRun = e.code === "ENOENT" ? commandNotFound(file) : `failed to create containerd task: ${e.message}`
        })
        const pid = child.pid
        if (pid === undefined) {
          const message = yield* Effect.async<string>((resume) => {
            if (cannotRun !== undefined) resume(Effect.succeed(cannotRun))
            else child.once("error", () => resume(Effect.succeed(cannotRun ?? `cannot start ${file}`)))
          })
          return yield* Effect.fail(new JobRunnerError({ description: message }))
        }
        const pipe = makePipe()
        const exit = yield* Deferred.make<JobRunner.ExitStatus>()
        pipeOutput(child, pipe)
        const usage = watchUsage(inGroup(pid), {
          limitBytes: spec.memoryBytes,
          enforce: enforceMemory,
          kill: () => killGroup(pid, "SIGKILL")
        })
        // the main process ending ends the container: what it left running dies with it
        child.on("exit", () => killGroup(pid, "SIGKILL"))
        child.on("close", (code, signal) => {
          usage.stop()
          pipe.end()
          const exitCode = code ?? 128 + signalNumber(signal)
          Deferred.unsafeDone(
            exit,
            Effect.succeed(
              cannotRun !== undefined
                ? { exitCode: 128, reason: "ContainerCannotRun", message: cannotRun }
                : usage.oomKilled()
                ? { exitCode: 137, reason: "OOMKilled" }
                : { exitCode }
            )
          )
        })
        const jobProcess: JobRunner.JobProcess = {
          output: pipe.stream,
          exit: Deferred.await(exit),
          writeStdin: (data) => Effect.sync(() => void child.stdin?.write(data)),
          signal: (signal) => Effect.sync(() => killGroup(pid, signal)),
          telemetry: usage.telemetry,
          exec: (argv) =>
            argv.length === 0
              ? Effect.fail(new JobRunnerError({ description: "empty command" }))
              : spawnExec(argv[0]!, argv.slice(1), { cwd, env: { ...env }, name: argv[0]! }),
          address: (port) => ({ host: "127.0.0.1", port })
        }
        return jobProcess
      })
  }
}
