/**
 * Importing `@neuro-sdk/node` loads only what every program needs: SQLite, the Docker stream
 * adapter, the socket server (with `ws`) and the HTTP client module (with undici) are imported by
 * the layer that first uses them, and not before; building the layers does not load them either.
 *
 * The check runs in a fresh Node process with native ES modules (through `tsx`, as
 * moduleGraph.test.ts in core does): vitest's own module runner has loaded all of them already.
 * See fixtures/lazyLoadChild.ts for the steps and how loaded modules are seen.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Marker, Step } from "./fixtures/lazyLoadChild.js"

const testDir = path.dirname(fileURLToPath(import.meta.url))
const repoDir = path.resolve(testDir, "../../..")
const child = path.join(testDir, "fixtures", "lazyLoadChild.ts")

const runChild = (): Promise<ReadonlyArray<Step>> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", child],
      { cwd: repoDir, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`))
        else resolve(stdout.trim().split("\n").map((line) => JSON.parse(line) as Step))
      }
    )
  })

/** The markers loaded at a step: everything used so far, and nothing else. */
const only = (...used: ReadonlyArray<Marker>): Record<Marker, boolean> => ({
  sdk: true,
  sqlite: used.includes("sqlite"),
  docker: used.includes("docker"),
  socketServer: used.includes("socketServer"),
  ws: used.includes("ws"),
  httpClient: used.includes("httpClient")
})

describe("@neuro-sdk/node loads heavy modules on first use", () => {
  it("none at import or layer construction; each once the layer using it is used", async () => {
    const steps = await runChild()
    expect(steps).toEqual([
      { step: "imported", loaded: only() },
      { step: "layer built", loaded: only() },
      { step: "config store used", loaded: only("sqlite") },
      { step: "docker called", loaded: only("sqlite", "docker") },
      // the websocket client is our own (internal/wsClient.ts): dialing loads no `ws`
      { step: "websocket dialed", loaded: only("sqlite", "docker") },
      // @effect/platform-node's socket server loads ws itself
      { step: "port forward listened", loaded: only("sqlite", "docker", "ws", "socketServer") },
      { step: "http request sent", loaded: only("sqlite", "docker", "ws", "socketServer", "httpClient") }
    ])
  }, 150_000)
})
