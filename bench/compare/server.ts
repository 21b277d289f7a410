/**
 * The one LocalPlatform process every client of a comparison talks to: the built
 * `neuro-local-platform` (what `packages/testing/bin` runs once the package is built), started
 * directly so that its pid is the server's (its CPU time is read around each run).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { join } from "node:path"

export interface Server {
  readonly pid: number
  /** `http://127.0.0.1:PORT/api/v1` */
  readonly apiUrl: string
  readonly token: string
  readonly user: string
  readonly dataDir: string
  /** Whether `--test-hooks` was passed (the flag exists in this version of the bin). */
  readonly testHooksFlag: boolean
  readonly stop: () => Promise<void>
}

const startOnce = (
  bin: string,
  args: ReadonlyArray<string>,
  logFile: string
): Promise<{ child: ChildProcess; apiUrl: string; tokens: Map<string, string> } | { error: string }> =>
  new Promise((resolve) => {
    const log = fs.openSync(logFile, "a")
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", log] })
    let out = ""
    let done = false
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      if (done) return
      out += chunk
      const url = /^url=(.*)$/m.exec(out)
      const user = args[args.indexOf("--user") + 1]!
      const token = new RegExp(`^token\\.${user}=(.*)$`, "m").exec(out)
      if (url && token) {
        done = true
        fs.closeSync(log)
        resolve({ child, apiUrl: url[1]!.replace(/\/$/, ""), tokens: new Map([[user, token[1]!]]) })
      }
    })
    child.on("exit", (code) => {
      if (done) return
      done = true
      fs.closeSync(log)
      resolve({ error: `exited with ${code}: ${fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n")}` })
    })
  })

/**
 * Start the server with `--test-hooks` when the bin knows that flag (the `/_local/*` hooks are
 * needed to seed jobs), else without it.
 */
export const startServer = async (root: string, work: string, user: string): Promise<Server> => {
  const bin = join(root, "packages", "testing", "build", "esm", "bin.js")
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`)
  const dataDir = join(work, "server-data")
  fs.mkdirSync(dataDir, { recursive: true })
  const logFile = join(work, "server.log")
  const base = ["--port", "0", "--user", user, "--data-dir", dataDir]
  let testHooksFlag = true
  // first, so that a bin without the flag reports it as unknown (not as a flag missing its value)
  let started = await startOnce(bin, ["--test-hooks", ...base], logFile)
  if ("error" in started && /--test-hooks/.test(started.error)) {
    testHooksFlag = false
    started = await startOnce(bin, base, logFile)
  }
  if ("error" in started) throw new Error(`neuro-local-platform ${started.error}`)
  const { child, apiUrl, tokens } = started
  return {
    pid: child.pid!,
    apiUrl,
    token: tokens.get(user)!,
    user,
    dataDir,
    testHooksFlag,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.on("exit", () => resolve())
        child.kill("SIGTERM")
        setTimeout(() => child.kill("SIGKILL"), 5000).unref()
      })
  }
}
