import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { join, relative } from "node:path"
import type { Harness } from "./helpers.js"
import { start } from "./helpers.js"

/** Relative path → sha256 of every file under `dir`. */
const digestTree = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.set(relative(dir, p), createHash("sha256").update(fs.readFileSync(p)).digest("hex"))
    }
  }
  walk(dir)
  return out
}

describe("neuro storage commands", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["user"] })
    await h.login()
  })
  afterAll(() => h.close())

  it("mkdir -p, ls (-l, -h, -a, -d, --sort), glob, tree, df", async () => {
    assert.strictEqual((await h.neuro(["mkdir", "storage:a/b"])).code, 72, "no parents without -p")
    const mk = await h.neuro(["mkdir", "-p", "storage:a/b/c", "storage:a/d"])
    assert.strictEqual(mk.code, 0, mk.stderr)
    fs.writeFileSync(join(h.work, "small.txt"), "hello\n")
    fs.writeFileSync(join(h.work, "big.bin"), randomBytes(3000))
    fs.writeFileSync(join(h.work, ".hidden"), "x")
    for (const f of ["small.txt", "big.bin", ".hidden"]) {
      const r = await h.neuro(["cp", f, "storage:a/"])
      assert.strictEqual(r.code, 0, r.stderr)
    }
    assert.strictEqual((await h.neuro(["ls", "storage:a"])).stdout, "b\nbig.bin\nd\nsmall.txt\n")
    assert.strictEqual((await h.neuro(["ls", "-a", "storage:a"])).stdout, ".hidden\nb\nbig.bin\nd\nsmall.txt\n")
    assert.strictEqual((await h.neuro(["ls", "--sort", "size", "storage:a"])).stdout.split("\n")[3], "big.bin")
    const long = await h.neuro(["ls", "-l", "storage:a"])
    assert.match(long.stdout, /^-m\s+3000\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+big\.bin$/m)
    assert.match(long.stdout, /^dm\s+0\s+\S+ \S+\s+b$/m)
    const human = await h.neuro(["ls", "-lh", "storage:a"])
    assert.match(human.stdout, /^-m\s+3\.0 k\s+\S+ \S+\s+big\.bin$/m)
    assert.match(human.stdout, /^-m\s+6\s+\S+ \S+\s+small\.txt$/m)
    const dir = await h.neuro(["ls", "-d", "-l", "storage:a"])
    assert.match(dir.stdout, /^dm\s+\d+\s+\S+ \S+\s+a\n$/)
    const glob = await h.neuro(["storage", "glob", "storage:a/*.txt"])
    assert.strictEqual(glob.stdout, "storage://default/user/a/small.txt\n")
    const tree = await h.neuro(["storage", "tree", "storage:a"])
    assert.strictEqual(
      tree.stdout,
      ["storage:a", "├── b", "│   └── c", "├── big.bin", "├── d", "└── small.txt", "", "3 directories, 2 files", ""].join("\n")
    )
    const df = await h.neuro(["storage", "df"])
    assert.strictEqual(df.code, 0, df.stderr)
    assert.match(df.stdout, /^Disk usage for cluster default:\nTotal: .+\nUsed:  .+\nFree:  .+\n$/)
    const missing = await h.neuro(["ls", "storage:nope"])
    assert.strictEqual(missing.code, 72)
    assert.match(missing.stderr, /^ERROR: cannot access storage:nope: Not found/)
    const option = await h.neuro(["ls", "--bogus"])
    assert.strictEqual(option.code, 2)
    assert.strictEqual(option.stderr, "ERROR: Usage error: No such option: --bogus\n")
  })

  it("cp of files: local -> storage -> local, -T, -t, -u, --continue, stdout", async () => {
    const data = randomBytes(200_000)
    fs.writeFileSync(join(h.work, "data.bin"), data)
    assert.strictEqual((await h.neuro(["mkdir", "-p", "storage:files"])).code, 0)
    const up = await h.neuro(["cp", "data.bin", "storage:files/renamed.bin"])
    assert.strictEqual(up.code, 0, up.stderr)
    assert.strictEqual(up.stdout, "", "no progress lines when stdout is not a terminal")
    const into = await h.neuro(["cp", "data.bin", "-t", "storage:files"])
    assert.strictEqual(into.code, 0, into.stderr)
    assert.strictEqual((await h.neuro(["ls", "storage:files"])).stdout, "data.bin\nrenamed.bin\n")
    fs.mkdirSync(join(h.work, "down"))
    const down = await h.neuro(["cp", "storage:files/renamed.bin", "down/"])
    assert.strictEqual(down.code, 0, down.stderr)
    assert.isTrue(fs.readFileSync(join(h.work, "down", "renamed.bin")).equals(data))
    const asFile = await h.neuro(["cp", "-T", "storage:files/data.bin", "down/other.bin"])
    assert.strictEqual(asFile.code, 0, asFile.stderr)
    assert.isTrue(fs.readFileSync(join(h.work, "down", "other.bin")).equals(data))
    // -u: an older local file is not copied over the newer storage file
    fs.writeFileSync(join(h.work, "down", "other.bin"), "stale")
    fs.utimesSync(join(h.work, "down", "other.bin"), new Date(1_000_000_000), new Date(1_000_000_000))
    const upd = await h.neuro(["cp", "-u", "down/other.bin", "storage:files/data.bin"])
    assert.strictEqual(upd.code, 0, upd.stderr)
    const back = await h.neuro(["cp", "storage:files/data.bin", "down/check.bin"])
    assert.strictEqual(back.code, 0)
    assert.isTrue(fs.readFileSync(join(h.work, "down", "check.bin")).equals(data), "-u kept the newer file")
    // verbose: a plain line per file
    const verbose = await h.neuro(["-v", "cp", "data.bin", "storage:files/v.bin"])
    assert.include(verbose.stdout, `${join(h.work, "data.bin")} -> storage://default/user/files/v.bin`)
    const wrong = await h.neuro(["cp", "-t", "storage:files", "-T", "data.bin"])
    assert.strictEqual(wrong.code, 2)
    assert.include(wrong.stderr, "Cannot combine --target-directory (-t) and --no-target-directory (-T)")
    // standard streams are streamed, never replaced by a downloaded file
    const toStdout = await h.neuro(["cp", "storage:files/renamed.bin", "/dev/stdout"], { encoding: "buffer" })
    assert.strictEqual(toStdout.code, 0)
    assert.isTrue(Buffer.from(toStdout.stdoutBytes!).equals(data))
    const fromStdin = await h.neuro(["cp", "/dev/stdin", "storage:files/from-stdin.txt"], { input: "typed in\n" })
    assert.strictEqual(fromStdin.code, 0, fromStdin.stderr)
    assert.strictEqual((await h.neuro(["cp", "storage:files/from-stdin.txt", "/dev/stdout"])).stdout, "typed in\n")
    const absent = await h.neuro(["cp", "storage:files/absent", "down/"])
    assert.strictEqual(absent.code, 72)
    assert.match(absent.stderr, /^ERROR: cannot copy storage:\/\/default\/user\/files\/absent/)
  })

  it("cp -r of a 1,000-file tree up and down is byte-identical; --exclude/--include in order", async () => {
    const src = join(h.work, "tree")
    for (let i = 0; i < 1000; i++) {
      const d = join(src, `d${i % 10}`, `e${i % 7}`)
      fs.mkdirSync(d, { recursive: true })
      fs.writeFileSync(join(d, `f${i}.${i % 5 === 0 ? "log" : "dat"}`), randomBytes(i % 3 === 0 ? 0 : 1 + (i * 97) % 5000))
    }
    const up = await h.neuro(["cp", "-r", "tree", "storage:tree"], { timeoutMs: 120_000 })
    assert.strictEqual(up.code, 0, up.stderr)
    const down = await h.neuro(["cp", "-r", "storage:tree", "tree-back"], { timeoutMs: 120_000 })
    assert.strictEqual(down.code, 0, down.stderr)
    const expected = digestTree(src)
    assert.strictEqual(expected.size, 1000)
    assert.deepStrictEqual(digestTree(join(h.work, "tree-back")), expected)

    const filtered = await h.neuro(["cp", "-r", "--exclude", "*.log", "--include", "f5.log", "tree", "storage:filtered"])
    assert.strictEqual(filtered.code, 0, filtered.stderr)
    const logs = await h.neuro(["storage", "glob", "storage:filtered/**/*.log"])
    assert.strictEqual(logs.stdout, "storage://default/user/filtered/d5/e5/f5.log\n")
    const dats = await h.neuro(["storage", "glob", "storage:filtered/**/*.dat"])
    assert.strictEqual(dats.stdout.trim().split("\n").length, 800)
  })

  it("mv, rm, rm -r (directories need -r)", async () => {
    assert.strictEqual((await h.neuro(["mkdir", "-p", "storage:m/x"])).code, 0)
    fs.writeFileSync(join(h.work, "m.txt"), "m")
    assert.strictEqual((await h.neuro(["cp", "m.txt", "storage:m/"])).code, 0)
    const mv = await h.neuro(["mv", "storage:m/m.txt", "storage:m/x"])
    assert.strictEqual(mv.code, 0, mv.stderr)
    assert.strictEqual((await h.neuro(["ls", "storage:m/x"])).stdout, "m.txt\n")
    const rename = await h.neuro(["mv", "storage:m/x/m.txt", "storage:m/n.txt"])
    assert.strictEqual(rename.code, 0, rename.stderr)
    assert.strictEqual((await h.neuro(["ls", "storage:m"])).stdout, "n.txt\nx\n")
    const notRecursive = await h.neuro(["rm", "storage:m"])
    assert.strictEqual(notRecursive.code, 72)
    assert.match(notRecursive.stderr, /^ERROR: cannot remove storage:\/\/default\/user\/m: /)
    const rm = await h.neuro(["rm", "storage:m/n.txt"])
    assert.strictEqual(rm.code, 0, rm.stderr)
    const rmr = await h.neuro(["rm", "-r", "storage:m"])
    assert.strictEqual(rmr.code, 0, rmr.stderr)
    assert.notInclude((await h.neuro(["ls"])).stdout, "m\n")
  })
})
