/**
 * The bundled job runners: local child processes (`jobs/processRunner.ts`), bubblewrap sandboxes
 * (`jobs/sandboxRunner.ts`) and scripted simulated containers (here).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as JobRunner from "../JobRunner.js"
import { makePipe, signalNumber } from "./jobs/childProcess.js"
import { shlexSplit } from "./jobsShell.js"

import { makeProcess } from "./jobs/processRunner.js"
import { makeSandbox, probe as probeSandbox } from "./jobs/sandboxRunner.js"

export { makeProcess, makeSandbox, probeSandbox }

/** The sandbox runner where bubblewrap works, else the process runner. */
/** @internal */
export const makeDefault = (): JobRunner.JobRunner.Service =>
  probeSandbox().tools !== undefined ? makeSandbox() : makeProcess()

/** Kubernetes' terminated reason for an exit code. */
/** @internal */
export const reasonOf = (status: JobRunner.ExitStatus): string => status.reason ?? (status.exitCode === 0 ? "Completed" : "Error")

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
