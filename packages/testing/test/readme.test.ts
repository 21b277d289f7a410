/**
 * The READMEs run as written: every fenced block of README.md and of the package READMEs is
 * extracted (never copied) and run against a LocalPlatform started here. The fence says how:
 *
 * - `ts` (`ts run=a,b`: once per argument): type-checked, then run with tsx in README order, in
 *   one fresh home directory, as a reader would; exit code 0 expected;
 * - `sh`: bash from the repository root; any failing command (an `ERR` trap) fails the test;
 * - `sh server`: started, its output checked against the block's `# ` lines, then stopped;
 * - `sh ci`: commands `.ci/run` runs;
 * - `text illustration`: not a program.
 *
 * Inline `npm run X` and `npx X` commands must name a script and a bin that exist.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { LocalPlatform, TestBrowser } from "../src/index.js"
import type { Block } from "./readmeBlocks.js"
import { CACHE, parseBlocks, readmes, ROOT } from "./readmeBlocks.js"

const kind = (block: Block): string => [block.lang, ...block.tags].join(" ")
const KINDS = ["ts", "sh", "sh server", "sh ci", "text illustration"]
const blocks = readmes().flatMap(parseBlocks)
const where = (block: Block) => `${block.file}:${block.line}`

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command; `onStdout` may answer on stdin; the whole process group is killed at the end. */
const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env: NodeJS.ProcessEnv
    readonly timeoutMs: number
    readonly onStdout?: (stdout: string, stdin: NodeJS.WritableStream) => void
    readonly until?: (stdout: string) => boolean
  }
) =>
  new Promise<Result>((resolvePromise) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true })
    let stdout = ""
    let stderr = ""
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      stderr += `\n[timed out after ${options.timeoutMs} ms]`
      stop()
    }, options.timeoutMs)
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString()
      options.onStdout?.(stdout, child.stdin)
      if (options.until?.(stdout) === true) stop()
    })
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()))
    child.on("close", (code) => {
      clearTimeout(timer)
      stop()
      resolvePromise({ code, stdout, stderr })
    })
  })

describe("README code blocks", () => {
  const scope = Effect.runSync(Scope.make())
  let platform: LocalPlatform.LocalPlatform
  let home: string
  let work: string
  let bin: string
  beforeAll(async () => {
    const root = fs.mkdtempSync(join(tmpdir(), "neuro-readme-"))
    home = join(root, "home")
    work = join(root, "work")
    bin = join(root, "bin")
    for (const dir of [home, work, bin, CACHE]) fs.mkdirSync(dir, { recursive: true })
    // the reader's browser: xdg-open follows the login page's redirects
    fs.writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\ncurl -sfL "$1" > /dev/null\n`, { mode: 0o755 })
    platform = await Effect.runPromise(
      Scope.extend(LocalPlatform.serve({ users: ["alice"], dataDir: join(root, "data") }), scope)
    )
  })
  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    fs.rmSync(dirname(home), { recursive: true, force: true })
  })

  it("every block says how it runs", () => {
    assert.isAbove(blocks.length, 5)
    for (const block of blocks) assert.include(KINDS, kind(block), `${where(block)}: fence`)
  })

  const tsBlocks = blocks.filter((block) => kind(block) === "ts")
  const tsFile = (block: Block) => join(CACHE, `${block.file.replace(/\W/g, "_")}_${block.line}.ts`)

  it("ts blocks type-check", { timeout: 240_000 }, async () => {
    for (const block of tsBlocks) fs.writeFileSync(tsFile(block), block.code)
    fs.writeFileSync(
      join(CACHE, "tsconfig.json"),
      JSON.stringify({
        extends: join(ROOT, "tsconfig.base.json"),
        compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, incremental: false },
        // the node package's ambient types of better-sqlite3 (its tsconfig includes them; its
        // built .d.ts do not need them)
        files: [...tsBlocks.map(tsFile), join(ROOT, "packages/node/src/internal/betterSqlite3.d.ts")]
      })
    )
    const r = await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(CACHE, "tsconfig.json")], {
      cwd: ROOT,
      env: process.env,
      timeoutMs: 230_000
    })
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
  })

  it("ts blocks run in order against LocalPlatform (token, browser and headless logins, a job, an upload)", {
    timeout: 240_000
  }, async () => {
    const outputs: Array<string> = []
    for (const block of tsBlocks) {
      fs.writeFileSync(tsFile(block), block.code)
      for (const arg of block.runs) {
        let answered = false
        const r = await run(
          process.execPath,
          [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "--conditions=source", tsFile(block), ...(arg === undefined ? [] : [arg])],
          {
            cwd: work,
            env: {
              PATH: `${bin}:${process.env.PATH}`,
              HOME: home,
              NEURO_URL: platform.apiUrl.toString(),
              NEURO_TOKEN: Redacted.value(platform.token("alice"))
            },
            timeoutMs: 60_000,
            // the reader pastes the code the login page shows
            onStdout: (stdout, stdin) => {
              const m = /Open (\S+) in a browser/.exec(stdout)
              if (m === null || answered) return
              answered = true
              Effect.runPromise(TestBrowser.headlessCode(new URL(m[1]!))).then(
                (code) => stdin.write(`${code}\n`),
                () => stdin.end()
              )
            }
          }
        )
        assert.strictEqual(r.code, 0, `${where(block)} ${arg ?? ""}\n${r.stdout}\n${r.stderr}`)
        assert.strictEqual(r.stderr, "", `${where(block)} ${arg ?? ""}`)
        outputs.push(r.stdout)
      }
    }
    const all = outputs.join("")
    // the login example, once per way of logging in
    assert.strictEqual(all.split("logged in as alice on cluster default").length - 1, 3, all)
    // the usage example: the job's log, then the uploaded folder
    assert.include(all, "hello\n")
    const uploaded = (dir: string): boolean =>
      fs.readdirSync(dir, { withFileTypes: true }).some((e) =>
        e.isDirectory()
          ? uploaded(join(dir, e.name))
          : e.name === "hello.txt" && dir.endsWith(join("alice", "data"))
      )
    assert.isTrue(uploaded(platform.dataDir), "storage:data/hello.txt")
  })

  for (const block of blocks.filter((b) => kind(b) === "sh")) {
    it(`sh block at ${where(block)} runs with no failing command`, { timeout: 300_000 }, async () => {
      const script = `trap 'echo "FAILED (exit $?): $BASH_COMMAND" >&2' ERR\n${block.code}`
      const r = await run("bash", ["-c", script], { cwd: ROOT, env: process.env, timeoutMs: 290_000 })
      assert.notInclude(r.stderr, "FAILED (exit", r.stdout + r.stderr)
      assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    })
  }

  for (const block of blocks.filter((b) => kind(b) === "sh server")) {
    it(`sh server block at ${where(block)} prints what it shows`, { timeout: 120_000 }, async () => {
      const commands = block.code.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"))
      const expected = block.code.split("\n").filter((line) => line.startsWith("# "))
        .map((line) => line.slice(2).replace(/\.\.\.$/, ""))
      assert.isNotEmpty(expected)
      const seen = (stdout: string) => expected.every((prefix) => stdout.split("\n").some((l) => l.startsWith(prefix)))
      const r = await run("bash", ["-c", commands.join("\n")], { cwd: ROOT, env: process.env, timeoutMs: 90_000, until: seen })
      assert.isTrue(seen(r.stdout), `expected lines starting with ${JSON.stringify(expected)}\n${r.stdout}\n${r.stderr}`)
    })
  }

  it("sh ci blocks are what .ci/run runs", () => {
    const ci = fs.readFileSync(join(ROOT, ".ci/run"), "utf8").split("\n").map((line) => line.trim())
    const ciBlocks = blocks.filter((b) => kind(b) === "sh ci")
    assert.isNotEmpty(ciBlocks)
    for (const block of ciBlocks) {
      for (const command of block.code.split(/&&|\n/).map((c) => c.trim()).filter((c) => c !== "")) {
        assert.isTrue(ci.some((line) => line === command || line.startsWith(`${command} `)), `${where(block)}: ${command}`)
      }
    }
  })

  it("inline npm run and npx commands name scripts and bins that exist", () => {
    const pkg = (path: string) => JSON.parse(fs.readFileSync(join(ROOT, path), "utf8"))
    const scripts = Object.keys(pkg("package.json").scripts)
    const bins = fs.readdirSync(join(ROOT, "node_modules/.bin"))
    let count = 0
    for (const file of readmes()) {
      for (const m of fs.readFileSync(join(ROOT, file), "utf8").matchAll(/`(npm run|npx) ([\w@/.-]+)[^`]*`/g)) {
        count++
        if (m[1] === "npm run") assert.include(scripts, m[2], `${file}: ${m[0]}`)
        else assert.include(bins, m[2], `${file}: ${m[0]}`)
      }
    }
    assert.isAbove(count, 3)
  })
})
