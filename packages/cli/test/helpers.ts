/**
 * Test harness: a LocalPlatform on a real loopback socket in this process, and the BUILT `neuro`
 * binary run as a child process against it, with its config directory in a temporary folder.
 */
import { LocalPlatform } from "@neuro-sdk/testing"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..")
export const BIN = join(PACKAGE, "dist", "bin.js")

/** The binary is built by `npm run build`; build the cli project when that was not done. */
export const ensureBuilt = (): void => {
  if (fs.existsSync(BIN)) return
  execFileSync(process.execPath, [join(PACKAGE, "..", "..", "node_modules", "typescript", "bin", "tsc"), "-b", join(PACKAGE, "tsconfig.build.json")], {
    stdio: "inherit"
  })
}

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** The raw bytes of stdout, with `encoding: "buffer"`. */
  readonly stdoutBytes?: Uint8Array | undefined
}

export interface RunOptions {
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly input?: string | undefined
  readonly timeoutMs?: number | undefined
  /** `buffer`: keep stdout's bytes as they are (`stdoutBytes`). */
  readonly encoding?: "utf8" | "buffer" | undefined
}

export interface Harness {
  readonly platform: LocalPlatform.LocalPlatform
  /** A private folder: `home` (HOME), `home/.neuro-test` (the config directory), `work` (cwd). */
  readonly root: string
  readonly configDir: string
  readonly work: string
  readonly token: (user?: string) => string
  /** Run `neuro ARGS...` (never throws; the exit code is in the result). */
  readonly neuro: (args: ReadonlyArray<string>, options?: RunOptions) => Promise<Result>
  /** `config login-with-token` as `user` (default the first user); throws unless it exits 0. */
  readonly login: (user?: string) => Promise<void>
  readonly close: () => Promise<void>
}

export const start = async (options: LocalPlatform.ServeOptions = {}): Promise<Harness> => {
  ensureBuilt()
  const scope = Effect.runSync(Scope.make())
  const platform = await Effect.runPromise(Scope.extend(LocalPlatform.serve(options), scope))
  const root = fs.mkdtempSync(join(tmpdir(), "neuro-cli-test-"))
  const configDir = join(root, "home", ".neuro-test")
  const work = join(root, "work")
  fs.mkdirSync(work, { recursive: true })
  const baseEnv = (): Record<string, string> => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("NEURO")) env[k] = v
    delete env.NO_COLOR
    delete env.COLUMNS
    return { ...env, HOME: join(root, "home"), NEUROMATION_CONFIG: configDir }
  }
  const neuro = (args: ReadonlyArray<string>, o: RunOptions = {}) =>
    new Promise<Result>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: o.cwd ?? work, env: { ...baseEnv(), ...o.env }, encoding: "buffer", timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 2 ** 20 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
          resolve({
            code,
            stdout: stdout.toString("utf8"),
            stderr: stderr.toString("utf8"),
            stdoutBytes: o.encoding === "buffer" ? new Uint8Array(stdout) : undefined
          })
        }
      )
      if (o.input !== undefined) child.stdin?.end(o.input)
      else child.stdin?.end()
    })
  const token = (user?: string) => Redacted.value(platform.token(user))
  const login = async (user?: string) => {
    const r = await neuro(["config", "login-with-token", token(user), platform.apiUrl.toString()])
    if (r.code !== 0) throw new Error(`login failed (${r.code}): ${r.stderr}`)
  }
  const close = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    fs.rmSync(root, { recursive: true, force: true })
  }
  return { platform, root, configDir, work, token, neuro, login, close }
}

/** Runs `script -qec CMD /dev/null` so CMD sees a terminal of the given size on stdout. */
export const underTerminal = (
  harness: Harness,
  args: ReadonlyArray<string>,
  options: { readonly columns?: number; readonly env?: Readonly<Record<string, string>> } = {}
) =>
  new Promise<Result>((resolve) => {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")
    const columns = options.columns ?? 100
    const command = `stty cols ${columns} rows 30 2>/dev/null; ${quoted}`
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("NEURO")) env[k] = v
    delete env.NO_COLOR
    execFile(
      "script",
      ["-qec", command, "/dev/null"],
      { cwd: harness.work, env: { ...env, HOME: join(harness.root, "home"), NEUROMATION_CONFIG: harness.configDir, TERM: "xterm", ...options.env }, encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })
