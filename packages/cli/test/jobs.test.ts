import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { join } from "node:path"
import type { Harness } from "./helpers.js"
import { BIN, start } from "./helpers.js"

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

const JOB_ID = /job-[0-9a-f-]{36}/

describe("neuro job commands (process runner: the command runs on this machine)", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["user"] })
    await h.login()
  })
  afterAll(() => h.close())

  it("`neuro run ubuntu -- echo hi` prints hi and exits 0", async () => {
    const r = await h.neuro(["run", "ubuntu", "--", "echo", "hi"])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(r.stdout, "hi\n")
    assert.match(r.stderr, /^Job ID: job-/)
  })

  it("a failing job: its output, and its exit code", async () => {
    const r = await h.neuro(["run", "ubuntu", "--", "sh", "-c", "echo out; echo bad >&2; exit 3"])
    assert.strictEqual(r.code, 3)
    assert.include(r.stdout, "out\n")
    assert.include(r.stdout + r.stderr, "bad\n")
    assert.include(r.stderr, "exit code 3")
  })

  it("the command after IMAGE is the job's even without `--`; -e, --env-file, --name, --tag, -q", async () => {
    const fs = await import("node:fs")
    fs.writeFileSync(`${h.work}/vars.env`, "FROM_FILE=yes\n")
    const r = await h.neuro(["-q", "run", "-e", "A=1", "--env-file", "vars.env", "--name", "envy", "--tag", "t1", "ubuntu", "sh", "-c", "echo $A $FROM_FILE"])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(r.stdout, "1 yes\n")
    assert.strictEqual(r.stderr, "")
    const ps = await h.neuro(["ps", "-a", "-t", "t1", "--format", "name status command"])
    assert.match(ps.stdout, /^NAME\s+STATUS\s+COMMAND\nenvy\s+succeeded\s+sh -c 'echo \$A \$FROM_FILE'\n$/)
  })

  it("--detach, ps (filters, --format, --json, -q), status, logs, exec, bump-life-span, save, kill", async () => {
    const run = await h.neuro([
      "run", "--detach", "--name", "sleeper", "--life-span", "1h", "--restart", "never", "--schedule-timeout", "1m", "ubuntu", "--",
      "sh", "-c", "echo started; sleep 60"
    ])
    assert.strictEqual(run.code, 0, run.stderr)
    const id = JOB_ID.exec(run.stdout)![0]
    assert.include(run.stdout, `Job ID: ${id}\nName: sleeper\n`)
    assert.include(run.stdout, `neuro logs ${id}`)

    const ps = await h.neuro(["ps"])
    assert.strictEqual(ps.code, 0, ps.stderr)
    assert.match(ps.stdout, /^ID\/NAME\s+STATUS\/WHEN\s+IMAGE\s+ORG\/OWNER\s+COMMAND\n/)
    assert.include(ps.stdout, id)
    assert.match(ps.stdout, /sleeper\s+today at/)
    const quiet = await h.neuro(["-q", "ps", "-n", "sleeper"])
    assert.strictEqual(quiet.stdout, `${id}\n`)
    const json = await h.neuro(["ps", "--json", "-s", "running"])
    const parsed = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: string; name: string })
    assert.deepStrictEqual(parsed.map((j) => [j.id, j.status, j.name]), [[id, "running", "sleeper"]])
    const badFormat = await h.neuro(["ps", "--format", "id nonsense"])
    assert.strictEqual(badFormat.code, 127)
    assert.strictEqual(badFormat.stderr, "ERROR: Unknown column 'nonsense' in format 'id nonsense'\n")

    const status = await h.neuro(["status", "sleeper"])
    assert.strictEqual(status.code, 0, status.stderr)
    assert.match(status.stdout, new RegExp(`^Job\\s+${id}\\nName\\s+sleeper\\n`))
    assert.match(status.stdout, /^Status\s+running\n/m)
    assert.match(status.stdout, /^Life span\s+1h\n/m)
    // neuro-cli prints prices with four decimals (f"{price:.4f}")
    assert.match(status.stdout, /^Price \(credits \/ hour\)\s+\d+\.\d{4}\n/m)
    assert.match(status.stdout, /^Current cost\s+\d+\.\d{4}\n/m)

    const logs = await h.neuro(["logs", id], { timeoutMs: 8000 })
    assert.include(logs.stdout, "started\n", "logs follow a running job: what it printed so far comes first")

    const exec = await h.neuro(["exec", "sleeper", "--", "sh", "-c", "echo inside; exit 4"])
    assert.strictEqual(exec.stdout, "inside\n")
    assert.strictEqual(exec.code, 4)

    const bump = await h.neuro(["job", "bump-life-span", id, "2h"])
    assert.strictEqual(bump.code, 0, bump.stderr)
    assert.match((await h.neuro(["status", id])).stdout, /^Life span\s+3h\n/m)

    // LocalPlatform cannot commit a container (it answers the platform's in-stream error): one line, non-zero
    const save = await h.neuro(["save", id, "image:saved:v1"])
    assert.notStrictEqual(save.code, 0)
    assert.match(save.stderr, /^ERROR: .*not supported by LocalPlatform.*\n$/)

    const kill = await h.neuro(["kill", "sleeper"])
    assert.strictEqual(kill.code, 0, kill.stderr)
    assert.strictEqual(kill.stdout, `${id}\n`)
    const after = await h.neuro(["job", "ls", "-a", "-n", "sleeper", "--format", "status"])
    assert.match(after.stdout, /^STATUS\n(cancelled|failed)\n$/)
    const missing = await h.neuro(["status", "job-00000000-0000-0000-0000-000000000000"])
    assert.include([65, 72], missing.code, "the platform's 400 or 404, as Illegal argument (65) or not found (72)")
    assert.match(missing.stderr, /^ERROR: /)
    assert.strictEqual(missing.stderr.split("\n").length, 2)
  })
  it("port-forward, top, attach", async () => {
    const jobPort = await freePort()
    const server = `require('http').createServer((q, s) => s.end('pong')).listen(${jobPort})`
    const run = await h.neuro(["-q", "run", "--detach", "--name", "web", "ubuntu", "--", process.execPath, "-e", server])
    assert.strictEqual(run.code, 0, run.stderr)
    const id = run.stdout.trim()
    const child = spawn(process.execPath, [BIN, "port-forward", "web", `0:${jobPort}`], {
      cwd: h.work,
      env: { ...process.env, HOME: join(h.root, "home"), NEUROMATION_CONFIG: h.configDir }
    })
    try {
      const localPort = await new Promise<number>((resolve, reject) => {
        let out = ""
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString()
          const m = /Port localhost:(\d+) will be forwarded to port (\d+)/.exec(out)
          if (m !== null) resolve(Number(m[1]))
        })
        child.on("exit", () => reject(new Error(`port-forward ended: ${out}`)))
      })
      // the job's server may take a moment to listen
      let body = ""
      for (let i = 0; i < 50 && body !== "pong"; i++) {
        body = await fetch(`http://127.0.0.1:${localPort}/`).then((r) => r.text(), () => "")
        if (body !== "pong") await new Promise((r) => setTimeout(r, 200))
      }
      assert.strictEqual(body, "pong")
    } finally {
      child.kill("SIGINT")
    }

    const top = await h.neuro(["top", id], { timeoutMs: 10_000 })
    const lines = top.stdout.trim().split("\n")
    assert.strictEqual(lines[0], "ID\tCPU\tMEMORY (MB)\tGPU (%)\tGPU_MEMORY (MB)")
    assert.match(lines[1] ?? "", new RegExp(`^${id}\\t[\\d.]+\\t[\\d.]+\\t`))
    assert.strictEqual((await h.neuro(["kill", id])).code, 0)

    const late = await h.neuro(["-q", "run", "--detach", "ubuntu", "--", "sh", "-c", "sleep 6; echo attached-out; exit 5"])
    const attach = await h.neuro(["attach", late.stdout.trim()])
    assert.include(attach.stdout, "attached-out\n")
    assert.strictEqual(attach.code, 5)
  })
})
