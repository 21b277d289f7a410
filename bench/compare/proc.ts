/**
 * Running one measured client process: wall time, peak RSS and CPU seconds of the process (through
 * GNU `/usr/bin/time` when installed, else by polling `/proc/<pid>`), the CPU seconds the server
 * process spent meanwhile, and the client's own `RESULT {...}` line.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { join } from "node:path"

/** What one run of a client measured. */
export interface RunResult {
  /** Seconds from spawn to exit, measured here. */
  readonly wall: number
  /** User + system CPU seconds of the client process (and the children it waited for). */
  readonly procCpu: number
  /** Peak resident set size of the client process, in MB (10^6 bytes). */
  readonly rssMb: number
  /** User + system CPU seconds of the server process during the run. */
  readonly serverCpu: number
  /** The fields of the client's `RESULT {...}` line, if it printed one. */
  readonly result: Readonly<Record<string, number>> | undefined
}

export interface RunOptions {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly timeoutMs: number
  /** The server whose CPU time is read before and after. */
  readonly serverPid: number
  /** Scratch folder for the `time` output and the client's stderr. */
  readonly scratch: string
}

const TIME = "/usr/bin/time"
/** Whether GNU time is there (it is the precise way to get a child's peak RSS and CPU). */
export const hasGnuTime: boolean = (() => {
  if (!fs.existsSync(TIME)) return false
  const probe = spawnSync(TIME, ["-f", "%M", "true"], { encoding: "utf8" })
  return probe.status === 0 && /^\d+\s*$/.test(probe.stderr.trim().split("\n").pop() ?? "")
})()

export const commandExists = (name: string): boolean => spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0

const CLK_TCK = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const n = Number(out.stdout?.trim())
  return Number.isFinite(n) && n > 0 ? n : 100
})()

/** User + system CPU seconds of a live process, from `/proc/<pid>/stat` (0 if it is gone). */
export const processCpu = (pid: number): number => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return 0
  }
}

/** Peak RSS (VmHWM) of a live process in MB, 0 if it is gone. */
export const processPeakRssMb = (pid: number): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) * 1024 / 1e6 : 0
  } catch {
    return 0
  }
}

export class ClientFailed extends Error {}

let counter = 0

/** Run `argv` to completion and measure it. Fails with `ClientFailed` on a non-zero exit. */
export const runMeasured = (argv: ReadonlyArray<string>, options: RunOptions): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const n = counter++
    const timeFile = join(options.scratch, `time-${n}.txt`)
    const errFile = join(options.scratch, `stderr-${n}.txt`)
    const err = fs.openSync(errFile, "w")
    const full = hasGnuTime ? [TIME, "-f", "%e %U %S %M", "-o", timeFile, "--", ...argv] : [...argv]
    const serverBefore = processCpu(options.serverPid)
    const start = performance.now()
    const child = spawn(full[0]!, full.slice(1), { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", err] })
    let stdout = ""
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      // keep the tail only: a client may print a lot before its RESULT line
      stdout = (stdout + chunk).slice(-65536)
    })
    // without GNU time: sample the child's counters until it exits (the last sample is kept)
    let polledCpu = 0
    let polledRss = 0
    const poll = hasGnuTime ? undefined : setInterval(() => {
      if (child.pid === undefined) return
      polledCpu = Math.max(polledCpu, processCpu(child.pid))
      polledRss = Math.max(polledRss, processPeakRssMb(child.pid))
    }, 20)
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL")
    }, options.timeoutMs)
    child.on("error", (e) => {
      clearTimeout(timer)
      if (poll) clearInterval(poll)
      fs.closeSync(err)
      reject(e)
    })
    child.on("close", (code, signal) => {
      const wall = (performance.now() - start) / 1000
      const serverCpu = processCpu(options.serverPid) - serverBefore
      clearTimeout(timer)
      if (poll) clearInterval(poll)
      fs.closeSync(err)
      if (code !== 0) {
        const tail = fs.readFileSync(errFile, "utf8").split("\n").slice(-15).join("\n")
        reject(new ClientFailed(`${argv.join(" ")}\nexited with ${code ?? signal}${signal === "SIGKILL" ? " (timeout?)" : ""}\n${tail}`))
        return
      }
      let procCpu = polledCpu
      let rssMb = polledRss
      if (hasGnuTime) {
        const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? ""
        const [, user, sys, maxKib] = last.split(" ").map(Number)
        procCpu = (user ?? 0) + (sys ?? 0)
        rssMb = (maxKib ?? 0) * 1024 / 1e6
      }
      const line = stdout.split("\n").reverse().find((l) => l.startsWith("RESULT "))
      const result = line === undefined ? undefined : JSON.parse(line.slice("RESULT ".length)) as Record<string, number>
      resolve({ wall, procCpu, rssMb, serverCpu, result })
    })
  })
