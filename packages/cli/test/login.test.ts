import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { TestBrowser } from "@neuro-sdk/testing"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { join } from "node:path"
import type { Harness } from "./helpers.js"
import { BIN, start } from "./helpers.js"

describe("neuro login (OAuth flows of the emulated provider)", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["erin"] })
  })
  afterAll(() => h.close())

  it("login-headless: prints the URL, reads the code from stdin", { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [BIN, "config", "login-headless", h.platform.apiUrl.toString()], {
      cwd: h.work,
      env: { ...process.env, HOME: join(h.root, "home"), NEUROMATION_CONFIG: h.configDir }
    })
    let stdout = ""
    let answered = false
    let stderr = ""
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()))
    const done = new Promise<number>((resolve) => {
      child.on("exit", (code) => resolve(code ?? 1))
      setTimeout(() => child.kill(), 20_000)
    })
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString()
      const m = /Open (\S+) in a browser/.exec(stdout)
      if (m !== null && !answered) {
        answered = true
        Effect.runPromise(TestBrowser.headlessCode(new URL(m[1]!))).then(
          (code) => child.stdin.write(`${code}\n`),
          (error) => {
            stdout += `\nheadlessCode failed: ${error}`
            child.stdin.end()
          }
        )
      }
    })
    const code = await done
    assert.strictEqual(code, 0, `${stdout}\n${stderr}`)
    assert.include(stdout, "Put the code displayed in a browser after successful login")
    assert.include(stdout, `Logged into ${h.platform.apiUrl} as erin`)
    assert.strictEqual((await h.neuro(["logout"])).stdout, "Logged out\n")
  })

  it("login: the browser (a stand-in xdg-open that follows the redirects) completes it", async () => {
    const bin = join(h.root, "bin")
    fs.mkdirSync(bin, { recursive: true })
    // a "browser": fetch follows the provider's redirects to the CLI's local callback server
    fs.writeFileSync(
      join(bin, "xdg-open"),
      `#!${process.execPath}\nfetch(process.argv[2]).then((r) => r.text()).then(() => process.exit(0), () => process.exit(1))\n`,
      { mode: 0o755 }
    )
    const r = await h.neuro(["login", h.platform.apiUrl.toString()], { env: { PATH: `${bin}:${process.env.PATH}` } })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.include(r.stdout, `Logged into ${h.platform.apiUrl} as erin, current cluster is default, org is NO_ORG`)
    assert.strictEqual((await h.neuro(["ls"])).code, 0)
  })
})
