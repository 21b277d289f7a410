/**
 * `neuro-local-platform`: serve a LocalPlatform on a loopback port until killed.
 *
 * ```
 * neuro-local-platform [--port N] [--data-dir DIR] [--user NAME]...
 * ```
 * Prints `url=<API URL>` and one `token.<NAME>=<token>` line per user, then serves.
 *
 * @since 1.0.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
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
}

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
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
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
      case "--user":
        if (!/^[a-z][a-z0-9_-]*$/i.test(value)) return `invalid user name ${value}`
        users.push(value)
        break
      default:
        return `unknown option ${name}`
    }
  }
  return { port, dataDir, users: users.length === 0 ? ["user"] : users }
}

const main = Effect.gen(function*() {
  const args = parseArgs(process.argv.slice(2))
  if (typeof args === "string") {
    process.stderr.write(`neuro-local-platform: ${args}\nusage: neuro-local-platform [--port N] [--data-dir DIR] [--user NAME]...\n`)
    process.exitCode = 2
    return
  }
  const platform = yield* LocalPlatform.serve({ port: args.port, dataDir: args.dataDir, users: args.users })
  const lines = [`url=${platform.apiUrl.toString()}`]
  for (const user of args.users) lines.push(`token.${user}=${Redacted.value(platform.token(user))}`)
  process.stdout.write(lines.join("\n") + "\n")
  return yield* Effect.never
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && /neuro-local-platform|bin\.(ts|js)$/.test(process.argv[1])) {
  NodeRuntime.runMain(main)
}
