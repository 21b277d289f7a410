#!/usr/bin/env node
// Runs the built CLI when the package was built, else the TypeScript source through tsx.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const built = join(root, "build", "esm", "bin.js")
const args = existsSync(built)
  ? [built]
  : ["--conditions=source", "--import", "tsx", join(root, "src", "bin.ts")]
const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env },
  argv0: "neuro-local-platform"
})
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(signal ? 1 : code ?? 0))
