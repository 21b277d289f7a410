#!/usr/bin/env node
// `neuro`: runs the built CLI (dist/bin.js, made by `npm run build`) in this process, else the
// TypeScript source through tsx. A checked-in launcher, so npm links it executable at install.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const built = join(root, "dist", "bin.js")
if (existsSync(built)) {
  await import(pathToFileURL(built).href)
} else {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(root, "src", "bin.ts"), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env },
    argv0: "neuro"
  })
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal))
  child.on("exit", (code, signal) => process.exit(signal ? 1 : code ?? 0))
}
