/**
 * The bundled job runners: local child processes, and scripted simulated containers.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { constants as osConstants } from "node:os"
import { dirname, join } from "node:path"
import type * as JobRunner from "../JobRunner.js"
import { JobRunnerError } from "./jobsRunnerModels.js"
import { shlexSplit } from "./jobsShell.js"

const signalNumber = (signal: string | null): number => {
  if (signal === null) return 0
  const n = (osConstants.signals as Record<string, number | undefined>)[signal]
  return n ?? 9
}

/** Kubernetes' terminated reason for an exit code. */
/** @internal */
export const reasonOf = (status: JobRunner.ExitStatus): string => status.reason ?? (status.exitCode === 0 ? "Completed" : "Error")

// ---------------------------------------------------------------------------- output plumbing

interface Pipe {
  readonly queue: Queue.Queue<JobRunner.OutputChunk | null>
  readonly push: (chunk: JobRunner.OutputChunk) => void
  readonly end: () => void
  readonly stream: Stream.Stream<JobRunner.OutputChunk>
}

const makePipe = (): Pipe => {
  const queue = Effect.runSync(Queue.unbounded<JobRunner.OutputChunk | null>())
  let ended = false
  return {
    queue,
    push: (chunk) => {
      if (!ended && chunk.data.length > 0) Queue.unsafeOffer(queue, chunk)
    },
    end: () => {
      if (ended) return
      ended = true
      Queue.unsafeOffer(queue, null)
    },
    stream: Stream.fromQueue(queue).pipe(
      Stream.takeWhile((c): c is JobRunner.OutputChunk => c !== null),
      Stream.map((c) => c as JobRunner.OutputChunk)
    )
  }
}

const toBytes = (data: Buffer | string): Uint8Array =>
  typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)

// ---------------------------------------------------------------------------- the container's root folder

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

// ---------------------------------------------------------------------------- telemetry from /proc

interface GroupSample {
  readonly ticks: number
  readonly rss: number
  readonly processes: number
}

const CLOCK_TICKS = 100

/** CPU ticks and resident memory of every process of a process group (Linux `/proc`). */
const sampleGroup = (pgid: number): GroupSample | undefined => {
  let names: Array<string>
  try {
    names = fs.readdirSync("/proc")
  } catch {
    return undefined
  }
  let ticks = 0
  let rss = 0
  let processes = 0
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, "utf8")
    } catch {
      continue
    }
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (Number(rest[2]) !== pgid) continue
    processes++
    ticks += Number(rest[11]) + Number(rest[12])
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, "utf8")
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
      if (m) rss += Number(m[1]) * 1024
    } catch {
      // the process ended meanwhile
    }
  }
  return processes === 0 ? undefined : { ticks, rss, processes }
}

// ---------------------------------------------------------------------------- process runner

const killGroup = (pid: number | undefined, signal: JobRunner.Signal | NodeJS.Signals) => {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

const spawnExec = (
  argv: ReadonlyArray<string>,
  cwd: string,
  env: Record<string, string>
): Effect.Effect<JobRunner.ExecSession> =>
  Effect.sync(() => {
    const pipe = makePipe()
    const exit = Effect.runSync(Deferred.make<number>())
    let child: ChildProcess | undefined
    const finish = (code: number) => {
      pipe.end()
      Deferred.unsafeDone(exit, Effect.succeed(code))
    }
    try {
      child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] })
    } catch (e) {
      pipe.push({ fd: 2, data: toBytes(`exec failed: ${String(e)}\n`) })
      finish(126)
    }
    if (child !== undefined) {
      const c = child
      c.stdout?.on("data", (d: Buffer) => pipe.push({ fd: 1, data: toBytes(d) }))
      c.stderr?.on("data", (d: Buffer) => pipe.push({ fd: 2, data: toBytes(d) }))
      c.stdin?.on("error", () => {})
      c.on("error", (e: NodeJS.ErrnoException) => {
        const notFound = e.code === "ENOENT"
        pipe.push({
          fd: 2,
          data: toBytes(
            notFound
              ? `exec failed: unable to start container process: exec: "${argv[0]}": executable file not found in $PATH\n`
              : `exec failed: ${e.message}\n`
          )
        })
        finish(notFound ? 127 : 126)
      })
      c.on("close", (code, signal) => finish(code ?? 128 + signalNumber(signal)))
    }
    return {
      output: pipe.stream,
      writeStdin: (data) => Effect.sync(() => void child?.stdin?.write(data)),
      exit: Deferred.await(exit),
      kill: Effect.sync(() => killGroup(child?.pid, "SIGKILL"))
    }
  })

/** @internal */
export const makeProcess = (options: JobRunner.ProcessOptions = {}): JobRunner.JobRunner.Service => {
  const shell = options.shell ?? "/bin/sh"
  const inherit = options.inheritEnv ?? ["PATH", "LANG", "TZ"]
  const enforceMemory = options.enforceMemoryLimit ?? true
  return {
    start: (spec) =>
      Effect.gen(function*() {
        const cwd = yield* Effect.try({
          try: () => prepareRoot(spec),
          catch: (cause) => new JobRunnerError({ description: `cannot prepare the container: ${String(cause)}`, cause })
        })
        const env: Record<string, string> = {}
        for (const name of inherit) {
          const v = process.env[name]
          if (v !== undefined) env[name] = v
        }
        env["HOME"] = spec.rootDir
        env["NEURO_JOB_ROOT"] = spec.rootDir
        Object.assign(env, spec.env)
        // as Kubernetes: entrypoint and command are split like a shell would, then run without a shell
        const argv = [...(shlexSplit(spec.entrypoint ?? "") ?? []), ...(shlexSplit(spec.command ?? "") ?? [])]
        const [file = shell, ...args] = argv.length === 0 ? [shell, "-c", ""] : argv
        const child = yield* Effect.try({
          try: () => spawn(file, args, { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] }),
          catch: (cause) => new JobRunnerError({ description: `cannot start the container: ${String(cause)}`, cause })
        })
        let cannotRun: string | undefined
        child.on("error", (e: NodeJS.ErrnoException) => {
          cannotRun = e.code === "ENOENT"
            ? `failed to create containerd task: exec: "${file}": executable file not found in $PATH: unknown`
            : `failed to create containerd task: ${e.message}`
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
        let oomKilled = false
        let prev = { ticks: 0, at: Date.now() }
        child.stdout?.on("data", (d: Buffer) => pipe.push({ fd: 1, data: toBytes(d) }))
        child.stderr?.on("data", (d: Buffer) => pipe.push({ fd: 2, data: toBytes(d) }))
        child.stdin?.on("error", () => {})
        const memoryWatch = enforceMemory
          ? setInterval(() => {
            const s = sampleGroup(pid)
            if (s !== undefined && s.rss > spec.memoryBytes) {
              oomKilled = true
              killGroup(pid, "SIGKILL")
            }
          }, 500)
          : undefined
        memoryWatch?.unref()
        // the main process ending ends the container: what it left running dies with it
        child.on("exit", () => killGroup(pid, "SIGKILL"))
        child.on("close", (code, signal) => {
          if (memoryWatch !== undefined) clearInterval(memoryWatch)
          pipe.end()
          const exitCode = code ?? 128 + signalNumber(signal)
          Deferred.unsafeDone(
            exit,
            Effect.succeed(
              cannotRun !== undefined
                ? { exitCode: 128, reason: "ContainerCannotRun", message: cannotRun }
                : oomKilled
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
          telemetry: Effect.sync(() => {
            const s = sampleGroup(pid)
            if (s === undefined) return Option.none()
            const now = Date.now()
            const seconds = Math.max((now - prev.at) / 1000, 0.001)
            const cpu = Math.max(0, (s.ticks - prev.ticks) / CLOCK_TICKS / seconds)
            prev = { ticks: s.ticks, at: now }
            return Option.some({ cpu: Math.round(cpu * 1000) / 1000, memoryBytes: s.rss })
          }),
          exec: (argv) =>
            argv.length === 0
              ? Effect.fail(new JobRunnerError({ description: "empty command" }))
              : spawnExec(argv, cwd, { ...env }),
          address: (port) => ({ host: "127.0.0.1", port })
        }
        return jobProcess
      })
  }
}

// ---------------------------------------------------------------------------- simulated runner

const enc = new TextEncoder()

/** Statements of a script: split on new lines, `;` and `&&` outside quotes. */
const statements = (script: string): Array<{ readonly text: string; readonly andThen: boolean }> => {
  const out: Array<{ text: string; andThen: boolean }> = []
  let cur = ""
  let quote: string | undefined
  let andThen = false
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
      cur += c
      continue
    }
    if (c === "'" || c === "\"") {
      quote = c
      cur += c
      continue
    }
    if (c === "\n" || c === ";" || (c === "&" && script[i + 1] === "&")) {
      if (cur.trim() !== "") out.push({ text: cur.trim(), andThen })
      andThen = c === "&"
      if (c === "&") i++
      cur = ""
      continue
    }
    cur += c
  }
  if (cur.trim() !== "") out.push({ text: cur.trim(), andThen })
  return out
}

const expand = (word: string, env: Readonly<Record<string, string>>) =>
  word.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? "")

interface ScriptIo {
  readonly out: (fd: 1 | 2, text: string | Uint8Array) => void
  readonly stdin: Queue.Queue<Uint8Array>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
}

class OomKill {
  readonly _tag = "OomKill"
}

const runScript = (script: string, io: ScriptIo): Effect.Effect<number, OomKill> =>
  Effect.gen(function*() {
    let code = 0
    for (const st of statements(script)) {
      if (st.andThen && code !== 0) continue
      const rawWords = shlexSplit(st.text.replace(/\s*>&2\s*$/, "")) ?? [st.text]
      const toStderr = /\s*>&2\s*$/.test(st.text)
      const words = rawWords.map((w) => expand(w, io.env))
      const [cmd, ...args] = words
      switch (cmd) {
        case undefined:
          break
        case "echo":
          io.out(toStderr ? 2 : 1, args.join(" ") + "\n")
          code = 0
          break
        case "sleep":
          yield* Effect.sleep(Math.round(Number(args[0] ?? "0") * 1000))
          code = 0
          break
        case "exit":
          return Number(args[0] ?? code)
        case "true":
          code = 0
          break
        case "false":
          code = 1
          break
        case "pwd":
          io.out(1, io.cwd + "\n")
          code = 0
          break
        case "env":
          io.out(1, (args[0] === undefined ? Object.entries(io.env).map(([k, v]) => `${k}=${v}`).join("\n") : io.env[args[0]] ?? "") + "\n")
          code = 0
          break
        case "cat":
          while (true) {
            const data = yield* Queue.take(io.stdin)
            io.out(1, data)
          }
        case "oom":
          return yield* Effect.fail(new OomKill())
        default:
          io.out(2, `sh: 1: ${cmd}: not found\n`)
          code = 127
      }
    }
    return code
  })

/** @internal */
export const makeSimulated = (options: JobRunner.SimulatedOptions = {}): JobRunner.JobRunner.Service => {
  const telemetry = options.telemetry ?? { cpu: 0.5, memoryBytes: 64 * 2 ** 20 }
  const run = (script: string, env: Readonly<Record<string, string>>, cwd: string) =>
    Effect.gen(function*() {
      const pipe = makePipe()
      const stdin = yield* Queue.unbounded<Uint8Array>()
      const io: ScriptIo = {
        out: (fd, text) => pipe.push({ fd, data: typeof text === "string" ? enc.encode(text) : text }),
        stdin,
        env,
        cwd
      }
      const exit = yield* Deferred.make<JobRunner.ExitStatus>()
      let killedBy: JobRunner.Signal | undefined
      const fiber = Effect.runFork(
        runScript(script, io).pipe(
          Effect.map((exitCode): JobRunner.ExitStatus => ({ exitCode })),
          Effect.catchAll(() => Effect.succeed<JobRunner.ExitStatus>({ exitCode: 137, reason: "OOMKilled" })),
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              pipe.end()
              Deferred.unsafeDone(exit, Effect.succeed({ exitCode: 128 + signalNumber(killedBy ?? "SIGKILL") }))
            })
          ),
          Effect.tap((status) =>
            Effect.sync(() => {
              pipe.end()
              Deferred.unsafeDone(exit, Effect.succeed(status))
            })
          )
        )
      )
      return {
        pipe,
        stdin,
        exit,
        kill: (signal: JobRunner.Signal) =>
          Effect.sync(() => {
            killedBy = signal
            Effect.runFork(Fiber.interrupt(fiber))
          })
      }
    })
  return {
    start: (spec) =>
      Effect.gen(function*() {
        const script = options.script?.(spec) ?? [spec.entrypoint, spec.command].filter((s) => s !== undefined && s !== "").join(" ")
        const cwd = spec.workingDir ?? "/"
        const env = { HOME: "/root", ...spec.env }
        const proc = yield* run(script, env, cwd)
        const jobProcess: JobRunner.JobProcess = {
          output: proc.pipe.stream,
          exit: Deferred.await(proc.exit),
          writeStdin: (data) => Queue.offer(proc.stdin, data).pipe(Effect.asVoid),
          signal: (signal) => proc.kill(signal),
          telemetry: Effect.map(Deferred.isDone(proc.exit), (done) => (done ? Option.none() : Option.some(telemetry))),
          exec: (argv) =>
            Effect.map(run(argv.map((a) => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(" "), env, cwd), (p) => ({
              output: p.pipe.stream,
              writeStdin: (data: Uint8Array) => Queue.offer(p.stdin, data).pipe(Effect.asVoid),
              exit: Effect.map(Deferred.await(p.exit), (s) => s.exitCode),
              kill: p.kill("SIGKILL")
            })),
          address: (port) => ({ host: "127.0.0.1", port })
        }
        return jobProcess
      })
  }
}
