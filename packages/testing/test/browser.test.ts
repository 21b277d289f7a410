/**
 * @neuro-sdk/core in a web browser: a page bundled with esbuild (browser platform, core's
 * sources) runs in headless Chromium (Debian's `chromium`, driven by playwright-core) from an
 * origin other than the LocalPlatform's, which allows it through CORS. And CORS itself: off by
 * default, limited to the configured origins, preflights answered.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { LocalPlatform } from "../src/index.js"

const CHROMIUM = "/usr/bin/chromium"
const HERE = dirname(fileURLToPath(import.meta.url))

/** A static server for the page: the page's origin, not the platform's. */
const servePage = (bundle: string) =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer((req, res) => {
      if (req.url === "/page.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(bundle)
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><script type="module" src="/page.js"></script>`)
      }
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

describe("browser", () => {
  const scope = Effect.runSync(Scope.make())
  let platform: LocalPlatform.LocalPlatform
  let pageServer: http.Server
  let origin: string
  beforeAll(async () => {
    const built = await esbuild.build({
      entryPoints: [join(HERE, "browser/page.ts")],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["source"],
      logLevel: "silent"
    })
    pageServer = await servePage(built.outputFiles[0]!.text)
    origin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`
    platform = await Effect.runPromise(Scope.extend(LocalPlatform.serve({ users: ["alice"], cors: { origins: [origin] } }), scope))
  })
  afterAll(async () => {
    pageServer?.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("CORS: preflight and exposed headers for the configured origin only; without Origin, no CORS header", async () => {
    const configUrl = `${platform.apiUrl}/config`
    const preflight = await fetch(configUrl, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization,b3" }
    })
    assert.strictEqual(preflight.status, 204)
    assert.strictEqual(preflight.headers.get("access-control-allow-origin"), origin)
    assert.strictEqual(preflight.headers.get("access-control-allow-headers"), "authorization,b3")
    assert.include(preflight.headers.get("access-control-allow-methods")!, "PUT")

    const auth = { authorization: `Bearer ${Redacted.value(platform.token("alice"))}` }
    const allowed = await fetch(configUrl, { headers: { ...auth, origin } })
    assert.strictEqual(allowed.status, 200)
    assert.strictEqual(allowed.headers.get("access-control-allow-origin"), origin)
    assert.include(allowed.headers.get("access-control-expose-headers")!, "x-error")
    await allowed.arrayBuffer()

    for (const headers of [{ ...auth, origin: "http://elsewhere.example" }, auth]) {
      const other = await fetch(configUrl, { headers })
      assert.strictEqual(other.status, 200)
      assert.isNull(other.headers.get("access-control-allow-origin"))
      await other.arrayBuffer()
    }
    // an OPTIONS of another origin is the platform's usual answer to OPTIONS (no route)
    const refused = await fetch(configUrl, {
      method: "OPTIONS",
      headers: { origin: "http://elsewhere.example", "access-control-request-method": "GET" }
    })
    assert.isNull(refused.headers.get("access-control-allow-origin"))
    assert.notStrictEqual(refused.status, 204)
  })

  it("neuro-local-platform --cors-origin allows that origin", { timeout: 60_000 }, async () => {
    const root = join(HERE, "../../..")
    const child = spawn(process.execPath, [
      join(root, "node_modules/tsx/dist/cli.mjs"),
      "--conditions=source",
      join(HERE, "../src/bin.ts"),
      "--user",
      "alice",
      "--cors-origin",
      "http://app.example:8080"
    ])
    try {
      const apiUrl = await new Promise<string>((resolve, reject) => {
        let out = ""
        child.stdout.on("data", (data: Buffer) => {
          out += data.toString()
          const m = /^url=(\S+)$/m.exec(out)
          if (m !== null) resolve(m[1]!)
        })
        child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
      })
      const preflight = (origin: string) =>
        fetch(`${apiUrl}/config`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } })
      const allowed = await preflight("http://app.example:8080")
      assert.strictEqual(allowed.status, 204)
      assert.strictEqual(allowed.headers.get("access-control-allow-origin"), "http://app.example:8080")
      const other = await preflight("http://other.example")
      assert.isNull(other.headers.get("access-control-allow-origin"))
    } finally {
      child.kill()
    }
  })

  it("a page in headless Chromium logs in with a token, lists jobs, starts one and follows its log, uploads and downloads a file", {
    timeout: 120_000
  }, async () => {
    assert.isTrue(fs.existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium) is required`)
    const profile = fs.mkdtempSync(join(tmpdir(), "neuro-chromium-"))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
    try {
      const page = await context.newPage()
      const consoleLines: Array<string> = []
      page.on("console", (message) => consoleLines.push(message.text()))
      page.on("pageerror", (error) => consoleLines.push(String(error)))
      const token = Redacted.value(platform.token("alice"))
      await page.goto(`${origin}/#url=${encodeURIComponent(platform.apiUrl.toString())}&token=${encodeURIComponent(token)}`)
      await page.waitForFunction(() => (globalThis as { neuroResult?: unknown }).neuroResult !== undefined, undefined, {
        timeout: 90_000
      })
      const result = await page.evaluate(() => (globalThis as { neuroResult?: unknown }).neuroResult) as Record<string, unknown>
      assert.isTrue(result["ok"], `${JSON.stringify(result)}\n${consoleLines.join("\n")}`)
      assert.strictEqual(result["jobsBefore"], 0)
      assert.include(result["listedIds"] as Array<string>, result["jobId"])
      assert.strictEqual(result["log"], "hello from a job\n")
      assert.strictEqual(result["status"], "succeeded")
      assert.isTrue(result["roundTrip"])
      assert.strictEqual(result["downloaded"], 21_000)
      assert.isTrue(result["storedLogin"])
      assert.include(result["websocketRefusal"] as string, "a browser cannot send")
      // the file is on the platform, as uploaded
      const stored = fs.readFileSync(join(platform.dataDir, "storage", "default", "alice", "browser", "file.txt"), "utf8")
      assert.strictEqual(stored, "uploaded from a page\n".repeat(1000))
    } finally {
      await context.close()
      fs.rmSync(profile, { recursive: true, force: true })
    }
  })
})
