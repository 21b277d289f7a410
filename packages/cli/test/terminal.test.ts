import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { join } from "node:path"
import type { Harness } from "./helpers.js"
import { start, underTerminal } from "./helpers.js"

const REDRAW = "\r\x1b[2K"
const count = (text: string, part: string) => text.split(part).length - 1

describe("neuro under a pseudo-terminal (script -qec)", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["user"] })
    await h.login()
    const tree = join(h.work, "tree")
    for (let i = 0; i < 400; i++) {
      fs.mkdirSync(join(tree, `d${i % 8}`), { recursive: true })
      fs.writeFileSync(join(tree, `d${i % 8}`, `f${i}.bin`), randomBytes(2000 + i))
    }
    fs.writeFileSync(join(tree, "big.bin"), randomBytes(8 * 2 ** 20))
  })
  afterAll(() => h.close())

  it("cp -r draws one status line (bar, bytes, rate, ETA, files) at most ~10 times a second", async () => {
    const started = Date.now()
    const r = await underTerminal(h, ["cp", "-r", "tree", "storage:tree"], { columns: 120 })
    const elapsed = Date.now() - started
    assert.strictEqual(r.code, 0, r.stdout)
    const out = r.stdout
    assert.match(out, /^Copying \S+\/tree => storage:\/\/default\/user\/tree\r?\n/)
    const redraws = count(out, REDRAW)
    assert.isAtLeast(redraws, 2)
    // throttled to 100 ms, plus the final draw: 400 files done well under a second would otherwise
    // have drawn hundreds of times
    assert.isAtMost(redraws, Math.ceil(elapsed / 100) + 2, `${redraws} redraws in ${elapsed} ms`)
    const last = out.slice(out.lastIndexOf(REDRAW) + REDRAW.length)
    assert.match(last, /100%\s+([\d.]+ MB)\/\1\s+[\d.]+ \S+\/s\s+ETA \d+:\d\d\s+401\/401 files/)
    assert.include(out, "\x1b[32m", "the bar is coloured on a terminal")
    for (const line of out.split(REDRAW).slice(1)) {
      assert.isAtMost(line.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r?\n$/, "").length, 119, "a status line never wraps")
    }
    const down = await underTerminal(h, ["cp", "storage:tree/big.bin", "big-back.bin"], { columns: 120 })
    assert.strictEqual(down.code, 0, down.stdout)
    const lastDown = down.stdout.slice(down.stdout.lastIndexOf(REDRAW) + REDRAW.length)
    assert.match(lastDown, /100%\s+8\.4 MB\/8\.4 MB\s+[\d.]+ \S+\/s\s+ETA \d+:\d\d\s+1\/1 files/, "a single download knows its total")
    assert.isTrue(fs.readFileSync(join(h.work, "big-back.bin")).equals(fs.readFileSync(join(h.work, "tree", "big.bin"))))
    const downTree = await underTerminal(h, ["cp", "-r", "storage:tree", "tree-back"], { columns: 120 })
    assert.strictEqual(downTree.code, 0, downTree.stdout)
    const lastTree = downTree.stdout.slice(downTree.stdout.lastIndexOf(REDRAW) + REDRAW.length)
    assert.match(lastTree, /100%\s+([\d.]+ MB)\/\1\s+[\d.]+ \S+\/s\s+ETA \d+:\d\d\s+401\/401 files/, "a folder download knows its total")
    const listing = await h.neuro(["ls", "storage:tree"])
    assert.strictEqual(listing.stdout, "big.bin\nd0\nd1\nd2\nd3\nd4\nd5\nd6\nd7\n")
  })

  it("--verbose prints each file above the status line; -P turns the bar off", async () => {
    const verbose = await underTerminal(h, ["-v", "cp", "-r", "tree/d0", "storage:d0-verbose"])
    assert.strictEqual(verbose.code, 0, verbose.stdout)
    assert.strictEqual(count(verbose.stdout, ` -> storage://default/user/d0-verbose/f`), 50)
    const plain = await underTerminal(h, ["cp", "-P", "-r", "tree/d1", "storage:d1-plain"])
    assert.strictEqual(plain.code, 0, plain.stdout)
    assert.strictEqual(plain.stdout, "")
  })

  it("ls: columns and colours on a terminal; none with NO_COLOR, --color never, or a pipe", async () => {
    const tty = await underTerminal(h, ["ls", "storage:tree"], { columns: 40 })
    assert.strictEqual(tty.code, 0, tty.stdout)
    assert.include(tty.stdout, "\x1b[34md0\x1b[0m", "directories are blue")
    assert.isBelow(tty.stdout.trim().split("\n").length, 9, "several names per line")
    const noColor = await underTerminal(h, ["ls", "storage:tree"], { columns: 40, env: { NO_COLOR: "1" } })
    assert.notInclude(noColor.stdout, "\x1b[")
    const never = await underTerminal(h, ["--color", "never", "ls", "storage:tree"], { columns: 40 })
    assert.notInclude(never.stdout, "\x1b[")
    const piped = await h.neuro(["ls", "storage:tree"])
    assert.notInclude(piped.stdout, "\x1b[")
  })

  it("tables fit the terminal width", async () => {
    const r = await underTerminal(h, ["config", "show"], { columns: 60 })
    assert.strictEqual(r.code, 0, r.stdout)
    for (const line of r.stdout.split(/\r?\n/)) {
      assert.isAtMost(line.replace(/\x1b\[[0-9;]*m/g, "").length, 60, line)
    }
    assert.include(r.stdout, "Resource Presets:")
    assert.match(r.stdout, /^cpu-/m)
  })
})
