/**
 * `neuro-local-platform`: serve a LocalPlatform on a loopback port until killed.
 *
 * ```
 * neuro-local-platform [--port N] [--data-dir DIR] [--user NAME]... [--test-hooks] [--cors-origin ORIGIN]... [--runner sandbox|process|simulated]
 * ```
 * Prints `url=<API URL>`, `runner=<name>` and one `token.<NAME>=<token>` line per user, then serves.
 * `--runner` chooses how jobs run (see `JobRunner`); default: `sandbox` where bubblewrap works, else `process`.
 * `--test-hooks` turns on the `/_local/*` test hooks (off by default; see `Options.testHooks`).
 * `--cors-origin` lets pages of that origin (or `*`) call it (CORS; off by default; see `Options.cors`).
 *
 * @since 1.0.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as JobRunner from "./JobRunner.js"
import * as LocalPlatform from "./LocalPlatform.js"

/**
 * Parsed command line.
 *
 * @since 1.0.0
 * @category models
 */
export interface Args {
  readonly port: number
  readonly dataDir: string | undefined
  readonly users: ReadonlyArray<string>
  /** Serve the `/_local/*` test hooks. */
  readonly testHooks: boolean
  /** `--cors-origin`: origins whose pages may call the platform (none: no CORS). */
  readonly corsOrigins?: ReadonlyArray<string> | undefined
  /** `--runner`: how jobs run (default: `sandbox` where bubblewrap works, else `process`). */
  readonly runner?: "sandbox" | "process" | "simulated" | undefined
  /** `--help`: print the usage and exit. */
  readonly help: boolean
}

/**
 * The usage line.
 *
 * @since 1.0.0
 * @category parsing
 */
export const usage =
  "usage: neuro-local-platform [--port N] [--data-dir DIR] [--user NAME]... [--test-hooks] [--cors-origin ORIGIN]... [--runner sandbox|process|simulated]"

/**
 * Parse the command line (`--name value` or `--name=value`).
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseArgs = (argv: ReadonlyArray<string>): Args | string => {
  let port = 0
  let dataDir: string | undefined
  const users: Array<string> = []
  const corsOrigins: Array<string> = []
  let testHooks = false
  let runner: Args["runner"]
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--help" || arg === "-h") return { port, dataDir, users, testHooks, help: true }
    if (arg === "--test-hooks") {
      testHooks = true
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined) return `missing value for ${name}`
    switch (name) {
      case "--port": {
        const n = Number(value)
        if (!Number.isInteger(n) || n < 0 || n > 65535) return `invalid port ${value}`
        port = n
        break
      }
      case "--data-dir":
        dataDir = value
        break
      case "--cors-origin":
        if (value !== "*" && !/^https?:\/\/[^/\s]+$/.test(value)) return `invalid origin ${value} (scheme://host[:port], or *)`
        corsOrigins.push(value)
        break
      case "--runner":
        if (value !== "sandbox" && value !== "process" && value !== "simulated") {
          return `invalid runner ${value} (sandbox, process or simulated)`
        }
        runner = value
        break
      case "--user":
        if (!/^[a-z][a-z0-9_-]*$/i.test(value)) return `invalid user name ${value}`
        users.push(value)
        break
      default:
        return `unknown option ${name}`
    }
  }
  return {
    port,
    dataDir,
    users: users.length === 0 ? ["user"] : users,
    testHooks,
    ...(corsOrigins.length === 0 ? {} : { corsOrigins }),
    ...(runner === undefined ? {} : { runner }),
    help: false
  }
}

const main = Effect.gen(function*() {
  const args = parseArgs(process.argv.slice(2))
  if (typeof args === "string") {
    process.stderr.write(`neuro-local-platform: ${args}\n${usage}\n`)
    process.exitCode = 2
    return
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const sandbox = JobRunner.sandboxAvailable()
  if (args.runner === "sandbox" && !sandbox.available) {
    process.stderr.write(`neuro-local-platform: --runner sandbox: ${sandbox.reason}\n`)
    process.exitCode = 1
    return
  }
  const runnerName = args.runner ?? (sandbox.available ? "sandbox" : "process")
  const runner = runnerName === "sandbox"
    ? JobRunner.makeSandbox()
    : runnerName === "process"
    ? JobRunner.makeProcess()
    : JobRunner.makeSimulated()
  const platform = yield* LocalPlatform.serve({
    port: args.port,
    dataDir: args.dataDir,
    users: args.users,
    testHooks: args.testHooks,
    cors: { origins: args.corsOrigins ?? [] },
    jobs: { runner }
  })
  const lines = [`url=${platform.apiUrl.toString()}`, `runner=${runnerName}`]
  for (const user of args.users) lines.push(`token.${user}=${Redacted.value(platform.token(user))}`)
  process.stdout.write(lines.join("\n") + "\n")
  return yield* Effect.never
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && /neuro-local-platform|bin\.(ts|js)$/.test(process.argv[1])) {
  NodeRuntime.runMain(main)
}
