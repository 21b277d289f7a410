/**
 * What the process and sandbox runners share: output plumbing, signals, resource samples from
 * `/proc`, the memory watcher and `exec` sessions run as child processes.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { constants as osConstants } from "node:os"
import type * as JobRunner from "../../JobRunner.js"

/** @internal */
export const signalNumber = (signal: string | null): number => {
  if (signal === null) return 0
  const n = (osConstants.signals as Record<string, number | undefined>)[signal]
  return n ?? 9
}

// ---------------------------------------------------------------------------- output plumbing

/** @internal */
export interface Pipe {
  readonly push: (chunk: JobRunner.OutputChunk) => void
  readonly end: () => void
  readonly stream: Stream.Stream<JobRunner.OutputChunk>
}

/** @internal */
export const makePipe = (): Pipe => {
  const queue = Effect.runSync(Queue.unbounded<JobRunner.OutputChunk | null>())
  let ended = false
  return {
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

/** @internal */
export const toBytes = (data: Buffer | string): Uint8Array =>
  typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)

/** Sends what the child writes on stdout and stderr into the pipe. */
/** @internal */
export const pipeOutput = (child: ChildProcess, pipe: Pipe): void => {
  child.stdout?.on("data", (d: Buffer) => pipe.push({ fd: 1, data: toBytes(d) }))
  child.stderr?.on("data", (d: Buffer) => pipe.push({ fd: 2, data: toBytes(d) }))
  child.stdin?.on("error", () => {})
}

/** @internal */
export const killGroup = (pid: number | undefined, signal: JobRunner.Signal | NodeJS.Signals) => {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------- resource usage from /proc

interface Sample {
  readonly ticks: number
  readonly rss: number
}

const CLOCK_TICKS = 100

/**
 * CPU ticks and resident memory of the processes `member` selects (Linux `/proc`); `member` gets
 * the process id and the fields of its `stat` after the command name.
 */
const sampleProcesses = (member: (pid: string, stat: ReadonlyArray<string>) => boolean): Sample | undefined => {
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
    if (!member(name, rest)) continue
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
  return processes === 0 ? undefined : { ticks, rss }
}

/** The processes of a process group. */
/** @internal */
export const inGroup = (pgid: number) => (_pid: string, stat: ReadonlyArray<string>) => Number(stat[2]) === pgid

/** The processes of a PID namespace (`link` as `readlink /proc/PID/ns/pid` shows it: `pid:[N]`). */
/** @internal */
export const inPidNamespace = (link: string) => (pid: string) => {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`) === link
  } catch {
    return false
  }
}

/** @internal */
export interface Usage {
  /** CPU (cores, since the previous call) and resident memory of the container's processes. */
  readonly telemetry: Effect.Effect<Option.Option<JobRunner.Telemetry>>
  /** Whether the memory watcher killed the container. */
  readonly oomKilled: () => boolean
  readonly stop: () => void
}

/**
 * Telemetry of a container's processes, and (when `enforce`) a watcher that calls `kill` once
 * their resident memory exceeds `limitBytes`.
 */
/** @internal */
export const watchUsage = (
  member: (pid: string, stat: ReadonlyArray<string>) => boolean,
  options: { readonly limitBytes: number; readonly enforce: boolean; readonly kill: () => void }
): Usage => {
  let oomKilled = false
  let prev = { ticks: 0, at: Date.now() }
  const timer = options.enforce
    ? setInterval(() => {
      const s = sampleProcesses(member)
      if (s !== undefined && s.rss > options.limitBytes) {
        oomKilled = true
        options.kill()
      }
    }, 500)
    : undefined
  timer?.unref()
  return {
    telemetry: Effect.sync(() => {
      const s = sampleProcesses(member)
      if (s === undefined) return Option.none()
      const now = Date.now()
      const seconds = Math.max((now - prev.at) / 1000, 0.001)
      const cpu = Math.max(0, (s.ticks - prev.ticks) / CLOCK_TICKS / seconds)
      prev = { ticks: s.ticks, at: now }
      return Option.some({ cpu: Math.round(cpu * 1000) / 1000, memoryBytes: s.rss })
    }),
    oomKilled: () => oomKilled,
    stop: () => {
      if (timer !== undefined) clearInterval(timer)
    }
  }
}

// ---------------------------------------------------------------------------- exec sessions

/** The message of an `exec` whose command does not exist. */
/** @internal */
export const execNotFound = (name: string) =>
  `exec failed: unable to start container process: exec: "${name}": executable file not found in $PATH\n`

/** An `exec` session that ends at once with `message` on stderr. */
/** @internal */
export const failedExec = (message: string, code: number): JobRunner.ExecSession => {
  const pipe = makePipe()
  pipe.push({ fd: 2, data: toBytes(message) })
  pipe.end()
  return { output: pipe.stream, writeStdin: () => Effect.void, exit: Effect.succeed(code), kill: Effect.void }
}

/**
 * Runs `file args` as an `exec` session in its own process group; `name` is the command as the
 * user gave it (for the message when it does not exist).
 */
/** @internal */
export const spawnExec = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string | undefined; readonly env: Record<string, string>; readonly name: string }
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
      child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["pipe", "pipe", "pipe"] })
    } catch (e) {
      pipe.push({ fd: 2, data: toBytes(`exec failed: ${String(e)}\n`) })
      finish(126)
    }
    if (child !== undefined) {
      const c = child
      pipeOutput(c, pipe)
      c.on("error", (e: NodeJS.ErrnoException) => {
        const notFound = e.code === "ENOENT"
        pipe.push({ fd: 2, data: toBytes(notFound ? execNotFound(options.name) : `exec failed: ${e.message}\n`) })
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
