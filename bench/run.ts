/**
 * Benchmark runner: `npm run bench -- <name> [args...]` runs `bench/<name>.ts` with the arguments
 * after the name; without a name it lists them. Benchmarks print figures; they are never timed
 * unit tests.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here).filter((f) => f.endsWith(".ts") && f !== "run.ts").map((f) => f.slice(0, -3))
const [name, ...args] = process.argv.slice(2)
if (name === undefined) {
  console.log(`benchmarks: ${available.join(", ")}\nrun one with: npm run bench -- <name> [args...]`)
  process.exit(0)
}
if (!available.includes(name)) {
  console.error(`unknown benchmark ${name}; available: ${available.join(", ")}`)
  process.exit(2)
}
const result = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", join(here, `${name}.ts`), ...args], { stdio: "inherit" })
process.exit(result.status ?? 1)
