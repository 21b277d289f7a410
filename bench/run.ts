/**
 * Benchmark runner: `npm run bench -- <name>` runs `bench/<name>.ts`; without a name it lists them.
 * Benchmarks print figures; they are never timed unit tests.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here).filter((f) => f.endsWith(".ts") && f !== "run.ts").map((f) => f.slice(0, -3))
const wanted = process.argv.slice(2)
if (wanted.length === 0) {
  console.log(`benchmarks: ${available.join(", ")}\nrun one with: npm run bench -- <name>`)
  process.exit(0)
}
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark ${name}; available: ${available.join(", ")}`)
    process.exit(2)
  }
  const result = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", join(here, `${name}.ts`)], { stdio: "inherit" })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
