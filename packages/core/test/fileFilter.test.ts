/**
 * protocol/uris.md §4 (tables F1–F4) row by row. F4 #1 and #2 also run end to end against
 * LocalPlatform in packages/testing/test/storage.test.ts; here they run over an in-memory tree with
 * the walk of §4.5. Then issue 10: matching in linear time, with the results of the regular
 * expressions it replaced (test/fileFilterReference.ts); the same over a socket is in
 * packages/testing/test/fileFilterUpload.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import * as FileFilter from "../src/FileFilter.js"
import * as internal from "../src/internal/fileFilter.js"
import * as reference from "./fileFilterReference.js"

describe("F1 translate", () => {
  // pattern, regex (JS syntax); rows marked JS differ from the Python text only in class syntax
  const rows: ReadonlyArray<readonly [string, string, string?]> = [
    ["", "/?"],
    ["abc", "abc/?"],
    ["/abc", "/abc/?"],
    ["abc/", "abc/"],
    ["abc/de", "abc/de/?"],
    ["a?c", "a[^/]c/?"],
    ["a*c", "a[^/]*c/?"],
    ["a[bc]d", "a[bc](?<!/)d/?"],
    ["a[b-d]e", "a[b-d](?<!/)e/?"],
    ["a[!b-d]e", "a[^b-d](?<!/)e/?"],
    ["[a-zA-Z_]", "[a-zA-Z_](?<!/)/?"],
    ["\\?", "\\?/?"],
    ["**", ".*"],
    ["**/", "(?:.+/)?"],
    ["**/abc", "(?:.+/)?abc/?"],
    ["/**", "/.*"],
    ["abc/**", "abc/.*"],
    ["/**/", "/(?:.+/)?"],
    ["abc/**/def", "abc/(?:.+/)?def/?"],
    ["a[", "a\\[/?"],
    ["a[]b]", "a[\\]b](?<!/)/?", "Python: a[]b](?<!/)/?"],
    ["a[!]b]", "a[^\\]b](?<!/)/?", "Python: a[^]b](?<!/)/?"],
    ["a.b", "a\\.b/?"],
    ["a**b", "a[^/]*[^/]*b/?"],
    ["**b", "[^/]*[^/]*b/?"],
    ["a/**b", "a/[^/]*[^/]*b/?"],
    ["a[^x]", "a[\\^x](?<!/)/?"],
    ["a[x&&y]", "a[x&&y](?<!/)/?", "Python: a[x\\&\\&y](?<!/)/? (JS u-mode needs no escape)"],
    ["a[--z]", "a[\\--z](?<!/)/?"],
    ["x\\", "x\\\\/?"],
    ["a\\*", "a\\*/?"]
  ]
  rows.forEach(([pattern, regex, note], i) =>
    it(`#${i + 1} ${JSON.stringify(pattern)}${note !== undefined ? " (JS)" : ""}`, () => {
      assert.strictEqual(FileFilter.translate(pattern), regex, note)
      assert.doesNotThrow(() => new RegExp(`^(?:${regex})$`, "su"))
    }))
})

type Rule = readonly [exclude: boolean, pattern: string, prefix?: string | undefined, prefix2?: string | undefined]

const build = (rules: ReadonlyArray<Rule>) =>
  rules.reduce(
    (f, [exclude, pattern, prefix, prefix2]) =>
      Either.flatMap(f, (ff) => FileFilter.append(ff, exclude, pattern, { prefix, prefix2 })),
    Either.right(FileFilter.make()) as Either.Either<FileFilter.FileFilter, unknown>
  )

describe("F2 match", () => {
  const ex = (pattern: string, prefix?: string, prefix2?: string): Rule => [true, pattern, prefix, prefix2]
  const inc = (pattern: string, prefix?: string, prefix2?: string): Rule => [false, pattern, prefix, prefix2]
  const rows: ReadonlyArray<readonly [ReadonlyArray<Rule>, Record<string, boolean>]> = [
    [[], { spam: true, ".spam": true, "spam/ham": true }],
    [[ex("*")], { spam: false, ".spam": false }],
    [[ex("*.txt")], { spam: true, "spam.txt": false, ".txt": false, "dir/spam.txt": false, "dir/.txt": false, "dir.txt/spam": true, "dir/child.txt/spam": true }],
    [[ex("*.txt"), inc("s*")], {
      spam: true,
      "spam.txt": true,
      ham: true,
      "ham.txt": false,
      ".txt": false,
      "dir/spam.txt": true,
      "dir/ham.txt": false,
      "dir.txt/spam": true,
      "dir/.txt": false
    }],
    [[ex("dir/*.txt")], { "spam.txt": true, "dir/spam.txt": false, "dir/spam.txt/": false, "dir/.txt": false, "parent/dir/spam.txt": true }],
    [[ex("/spam")], { spam: false, "spam/": false, ham: true, "dir/spam": true }],
    [[ex("spam/")], { spam: true, "spam/": false }],
    [[ex("a?b")], { "a-b": false, "a/b": true }],
    [[ex("a*b")], { ab: false, "a-b": false, arab: false, "a/b": true, "alice/bob": true }],
    [[ex("a[!0-9]b")], { a0b: true, "a-b": false, "a/b": true }],
    [[ex("**/dir/*.txt")], { "spam.txt": true, "dir/spam.txt": false, "dir/spam": true, "parent/dir/spam.txt": false, "parent/dir/spam": true }],
    [[ex("dir/**/*.txt")], { "spam.txt": true, "dir/spam.txt": false, "dir/spam": true, "dir/child/spam.txt": false, "dir/child/spam": true }],
    [[ex("dir/**")], { spam: true, "dir/": false, dir: true, "dir/child": false, "dir/child/": false, "dir/child/spam": false }],
    [[ex("dir/**/")], { spam: true, "dir/": false, dir: true, "dir/child/": false, "dir/child": true, "dir/child/spam/": false, "dir/child/spam": true }],
    [[ex("*.txt", "parent/"), inc("s*", "parent/child/")], {
      "spam.txt": true,
      "ham.txt": true,
      "parent/spam.txt": false,
      "parent/ham.txt": false,
      "other/spam.txt": true,
      "other/ham.txt": true,
      "parent/child/spam.txt": true,
      "parent/child/ham.txt": false
    }],
    [[ex("dir/s*", "", "dir/"), ex("/*.txt", "", "dir/")], { "spam.txt": false, "ham.txt": true, spam: false }],
    [[ex("*")], { "a/b": false, "dir/": false }],
    [[ex("*.txt")], { "dir.txt/": false }],
    [[ex("spam/")], { "dir/spam/": false, "dir/spam": true }],
    [[ex("**/x")], { x: false, "x/": false, "a/x": false, "a/b/x/": false, ax: true }],
    [[ex("foo/bar/")], { "foo/bar": true, "foo/bar/": false, "a/foo/bar/": true }],
    [[ex("*.txt"), inc("keep.txt"), ex("keep.txt")], { "keep.txt": false, "a.txt": false }],
    [[ex("a\\*b")], { "a*b": false, axb: true }],
    [[ex("[ab]")], { a: false, b: false, c: true, "a/": false }],
    [[ex("*", "sub/")], { x: true, "sub/x": false, "sub/": false, sub: true }],
    [[ex("*"), inc("")], { a: false, "a/": true, "a/b": false, "a/b/": true }]
  ]
  rows.forEach(([rules, expected], i) =>
    it.effect(`#${i + 1} ${JSON.stringify(rules.map(([e, p, x, y]) => `${e ? "-" : "+"}${p}${x ?? ""}${y ? `|${y}` : ""}`))}`, () =>
      Effect.gen(function*() {
        const filter = Either.getOrThrow(build(rules))
        for (const [path, keep] of Object.entries(expected)) assert.strictEqual(yield* FileFilter.match(filter, path), keep, path)
      })))

  it("#27 a bad range fails when the rule is added", () => {
    const r = FileFilter.exclude(FileFilter.make(), "[z-a]")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) {
      assert.strictEqual(r.left._tag, "InvalidInputError")
      assert.strictEqual(r.left.kind, "file filter")
    }
  })

  it("prefixes must be empty or end with /", () => {
    assert.isTrue(Either.isLeft(FileFilter.exclude(FileFilter.make(), "x", { prefix: "sub" })))
    assert.isTrue(Either.isLeft(FileFilter.exclude(FileFilter.make(), "x", { prefix2: "sub" })))
  })

  it.effect("a filter on top of another has priority; the fallback decides otherwise", () =>
    Effect.gen(function*() {
      const base = Either.getOrThrow(FileFilter.exclude(FileFilter.make((p) => Effect.succeed(!p.startsWith("z"))), "*.log"))
      const top = Either.getOrThrow(FileFilter.include(FileFilter.on(base), "keep.log"))
      assert.isTrue(yield* FileFilter.match(top, "keep.log"))
      assert.isFalse(yield* FileFilter.match(top, "x.log"))
      assert.isFalse(yield* FileFilter.match(top, "zed"))
      assert.isTrue(yield* FileFilter.match(top, "a"))
    }))
})

describe("F3 read_from_buffer", () => {
  it.effect("#1 BOM, CRLF, blank, comment, include", () =>
    Effect.gen(function*() {
      const data = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("*.txt  \r\n\n# comment\n!s*")])
      const f = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.make(), data, { prefix: "base/" }))
      assert.strictEqual(f.rules.length, 2)
      assert.isTrue(yield* FileFilter.match(f, "base/spam.txt"))
      assert.isFalse(yield* FileFilter.match(f, "base/ham.txt"))
      assert.isTrue(yield* FileFilter.match(f, "ham.txt"))
    }))

  it.effect("#2 escapes and spaces", () =>
    Effect.gen(function*() {
      const f = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.make(), ["a\\ ", "b\\  ", "  c", "\\#x", "\\!y", "#z", "!"].join("\n")))
      assert.deepStrictEqual(f.rules.map((r) => [r.exclude, r.pattern]), [[true, "a\\ "], [true, "b\\ "], [true, "  c"], [true, "\\#x"], [true, "\\!y"], [false, ""]])
      const expected: Record<string, boolean> = { "a ": false, "b ": false, "  c": false, c: true, "#x": false, "!y": false, x: true }
      for (const [path, keep] of Object.entries(expected)) assert.strictEqual(yield* FileFilter.match(f, path), keep, path)
    }))

  it.effect("a line of spaces is blank (FIXED: neuro-sdk makes it an empty exclude that skips every directory)", () =>
    Effect.gen(function*() {
      const f = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.make(), "   \n*.log\n  \n"))
      assert.deepStrictEqual(f.rules.map((r) => [r.exclude, r.pattern]), [[true, "*.log"]])
      assert.isTrue(yield* FileFilter.match(f, "src/"))
      assert.isFalse(yield* FileFilter.match(f, "a.log"))
    }))

  it("invalid UTF-8 is a typed error", () => {
    const r = FileFilter.readFromBuffer(FileFilter.make(), new Uint8Array([0x2a, 0xff, 0x0a]))
    assert.isTrue(Either.isLeft(r))
  })
})

// -------------------------------------------------------------------------------------------
// F4: the directory walk of §4.5 over an in-memory tree
// -------------------------------------------------------------------------------------------

/** A tree: a file is its content (string), a directory an object. */
interface Tree {
  readonly [name: string]: string | Tree
}

const at = (tree: Tree, path: ReadonlyArray<string>): Tree => path.reduce((t, n) => t[n] as Tree, tree)

/** Upload `root/srcPath` as neuro-sdk's `upload_dir` with `ignoreNames` (sorted) and returns what is copied. */
const upload = (root: Tree, srcPath: ReadonlyArray<string>, ignoreNames: ReadonlyArray<string>, filter: FileFilter.FilterFunc = () => Effect.succeed(true)) =>
  Effect.gen(function*() {
    const names = [...ignoreNames].sort()
    let ff = FileFilter.make(filter)
    for (let depth = 0; depth < srcPath.length; depth++) {
      const dir = at(root, srcPath.slice(0, depth))
      const prefix2 = srcPath.slice(depth).join("/") + "/"
      for (const name of names) {
        const content = dir[name]
        if (typeof content === "string") ff = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.on(ff), content, { prefix2 }))
      }
    }
    const walk = (dir: Tree, rel: string, inherited: FileFilter.FileFilter): Effect.Effect<Tree> =>
      Effect.gen(function*() {
        let here = inherited
        for (const name of Object.keys(dir).sort()) {
          const content = dir[name]
          if (names.includes(name) && typeof content === "string") {
            here = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.on(here), content, { prefix: rel }))
          }
        }
        const out: Record<string, string | Tree> = {}
        for (const name of Object.keys(dir).sort()) {
          const content = dir[name]!
          const isDir = typeof content !== "string"
          if (!(yield* FileFilter.match(here, rel + name + (isDir ? "/" : "")))) continue
          out[name] = isDir ? yield* walk(content, rel + name + "/", here) : content
        }
        return out
      })
    return yield* walk(at(root, srcPath), "", ff)
  })

describe("F4 directory transfers with ignore files", () => {
  it.effect("#1 nested ignore files", () =>
    Effect.gen(function*() {
      const tree: Tree = {
        folder: { one: "1", two: "2", three: "3", ".neuroignore": "one", nested: { one: "1", two: "2", three: "3", ".gitignore": "two" } }
      }
      const out = yield* upload(tree, ["folder"], [".neuroignore", ".gitignore"])
      assert.deepStrictEqual(Object.keys(out).sort(), [".neuroignore", "nested", "three", "two"])
      assert.deepStrictEqual(Object.keys(out.nested as Tree).sort(), [".gitignore", "three"])
    }))

  it.effect("#2 ignore files in ancestors", () =>
    Effect.gen(function*() {
      const tree: Tree = {
        ".neuroignore": "one",
        parent: { ".gitignore": "*/two", folder: { one: "1", two: "2", three: "3", nested: { one: "1", two: "2", three: "3" } } }
      }
      const out = yield* upload(tree, ["parent", "folder"], [".neuroignore", ".gitignore"])
      assert.deepStrictEqual(Object.keys(out).sort(), ["nested", "three"])
      assert.deepStrictEqual(Object.keys(out.nested as Tree).sort(), ["three", "two"])
    }))

  const randomTree = fc.letrec((tie) => ({
    tree: fc.dictionary(fc.constantFrom("a", "b", "c", "d", "e", "f"), fc.oneof({ depthSize: "small" }, fc.constant("x"), tie("tree")), { maxKeys: 4 })
  })).tree as fc.Arbitrary<Tree>

  const dirsOf = (t: Tree): Array<string> => Object.entries(t).flatMap(([n, c]) => (typeof c === "string" ? [] : [n, ...dirsOf(c)]))
  const without = (t: Tree, names: ReadonlySet<string>): Tree =>
    Object.fromEntries(Object.entries(t).filter(([n, c]) => typeof c === "string" || !names.has(n)).map(([n, c]) => [n, typeof c === "string" ? c : without(c, names)]))

  it.effect("#3 ancestor and own .cp_ignore listing directory names", () =>
    Effect.gen(function*() {
      for (const [tree, pick] of fc.sample(fc.tuple(randomTree, fc.array(fc.nat(), { minLength: 4, maxLength: 4 })), 40)) {
        const dirs = [...new Set(dirsOf(tree))]
        const chosen = pick.map((k) => dirs[k % Math.max(1, dirs.length)]).filter((d): d is string => d !== undefined)
        const outer = chosen.slice(0, 2)
        const inner = chosen.slice(2)
        const src: Tree = { src_dir: { ".cp_ignore": outer.map((d) => d + "/").join("\n"), sub_dir: { ...tree, ".cp_ignore": inner.map((d) => d + "/").join("\n") } } }
        const out = yield* upload(src, ["src_dir", "sub_dir"], [".cp_ignore"])
        assert.deepStrictEqual(out, { ...without(tree, new Set(chosen)), ".cp_ignore": inner.map((d) => d + "/").join("\n") })
      }
    }))

  it.effect("#4 a filter function rejecting three directory names", () =>
    Effect.gen(function*() {
      for (const [tree, pick] of fc.sample(fc.tuple(randomTree, fc.array(fc.nat(), { minLength: 3, maxLength: 3 })), 40)) {
        const dirs = [...new Set(dirsOf(tree))]
        const chosen = new Set(pick.map((k) => dirs[k % Math.max(1, dirs.length)]).filter((d): d is string => d !== undefined))
        const filter: FileFilter.FilterFunc = (p) => Effect.succeed(!(p.endsWith("/") && p.split("/").some((part) => chosen.has(part))))
        const out = yield* upload({ root: tree }, ["root"], [], filter)
        assert.deepStrictEqual(out, without(tree, chosen))
      }
    }))
})

// -------------------------------------------------------------------------------------------
// issue 10: automata instead of backtracking regular expressions, with the same results
// -------------------------------------------------------------------------------------------

describe("matching agrees with the regular expressions it replaced", () => {
  // small on purpose: the reference backtracks (exponential in runs of `*`)
  const PATTERN_UNITS = ["a", "b", "z", "*", "**", "**/", "?", "/", "[", "]", "!", "-", "--", "\\", ".", "^", "&", "😀", "\n"]
  const NAME_UNITS = ["a", "b", "z", "/", ".", "-", "[", "]", "!", "\\", "*", "^", "&", "😀", "\n"]
  const patternArb = fc.array(fc.constantFrom(...PATTERN_UNITS), { maxLength: 6 }).map((u) => u.join(""))
  const nameArb = fc.array(fc.constantFrom(...NAME_UNITS), { maxLength: 8 }).map((u) => u.join(""))
  /** Names made from `pattern` by filling its wildcards, so that many of them match. */
  const instanceArb = (pattern: string) =>
    fc.tuple(fc.array(fc.array(fc.constantFrom(...NAME_UNITS), { maxLength: 2 }).map((u) => u.join("")), { minLength: 1, maxLength: 3 }), fc.constantFrom("", "a/", "z/a/"), fc.constantFrom("", "/"))
      .map(([fillers, before, after]) => {
        let k = 0
        return before + Array.from(pattern, (c) => ("*?[]".includes(c) ? fillers[k++ % fillers.length]! : c)).join("") + after
      })
  const casesArb = patternArb.chain((p) => fc.tuple(fc.constant(p), fc.array(fc.oneof(nameArb, instanceArb(p)), { minLength: 1, maxLength: 6 })))
  const show = (pattern: string, name: string) => `${JSON.stringify(pattern)} ~ ${JSON.stringify(name)}`

  it("translate writes the same source", () => {
    fc.assert(fc.property(patternArb, (p) => assert.strictEqual(FileFilter.translate(p), reference.translate(p))), { numRuns: 3000 })
  })

  it("a rule matches what the old rule regex matched, and fails where it failed", () => {
    let matched = 0
    fc.assert(
      fc.property(casesArb, ([pattern, names]) => {
        const now = internal.compile(pattern)
        const before = reference.compile(pattern)
        assert.strictEqual(Either.isRight(now), Either.isRight(before), pattern)
        if (Either.isLeft(now) || Either.isLeft(before)) return
        for (const name of names) {
          const result = now.right.test(name)
          assert.strictEqual(result, before.right.test(name), show(pattern, name))
          if (result) matched++
        }
      }),
      { numRuns: 3000 }
    )
    assert.isAbove(matched, 1000, "the cases exercise matches, not only misses")
  })

  it("FileFilter.matcher matches what ^(?:translate(pattern))$ matched", () => {
    fc.assert(
      fc.property(casesArb, ([pattern, names]) => {
        const now = FileFilter.matcher(pattern)
        let before: RegExp | undefined
        try {
          before = new RegExp(`^(?:${reference.translate(pattern)})$`, "su")
        } catch {
          before = undefined
        }
        assert.strictEqual(Either.isRight(now), before !== undefined, pattern)
        if (Either.isRight(now) && before !== undefined) {
          for (const name of names) assert.strictEqual(now.right.test(name), before.test(name), show(pattern, name))
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("rules with prefixes decide as the old rules did", () => {
    const ruleArb = fc.record({
      exclude: fc.boolean(),
      pattern: patternArb,
      prefix: fc.constantFrom("", "a/", "a/b/"),
      prefix2: fc.constantFrom("", "b/", "a/z/")
    })
    const pathArb = fc.tuple(fc.constantFrom("", "a/", "a/b/", "b/"), nameArb).map(([d, n]) => d + n)
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 3 }), fc.array(pathArb, { minLength: 1, maxLength: 6 }), (rules, paths) => {
        const compiled = rules.map((r) => ({ ...r, regex: reference.compile(r.pattern) }))
        if (compiled.some((r) => Either.isLeft(r.regex))) return
        const filter = rules.reduce((f, r) => Either.getOrThrow(FileFilter.append(f, r.exclude, r.pattern, r)), FileFilter.make())
        for (const path of paths) {
          const rule = [...compiled].reverse().find((r) => path.startsWith(r.prefix) && Either.getOrThrow(r.regex).test(r.prefix2 + path.slice(r.prefix.length)))
          assert.strictEqual(FileFilter.matchRules(filter, path), rule === undefined ? undefined : !rule.exclude, path)
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("fnmatch (Storage.glob) matches what the old fnmatch regex matched", () => {
    const UNITS = ["a", "b", "*", "**", "?", "[", "]", "!", "-", "/", ".", "^", "\\", "😀", "\n"]
    const fnPatternArb = fc.array(fc.constantFrom(...UNITS), { maxLength: 7 }).map((u) => u.join(""))
    const cases = fnPatternArb.chain((p) => fc.tuple(fc.constant(p), fc.array(fc.oneof(nameArb, instanceArb(p)), { minLength: 1, maxLength: 6 })))
    fc.assert(
      fc.property(cases, ([pattern, names]) => {
        const now = internal.fnmatch(pattern)
        const before = reference.fnmatchRegex(pattern)
        for (const name of names) assert.strictEqual(now.test(name), before.test(name), show(pattern, name))
      }),
      { numRuns: 3000 }
    )
  })

  it("the work is at most 2 × nodes × (code points + 1), nodes ≤ 2 × pattern length + 9", () => {
    const longName = fc.array(fc.constantFrom(...NAME_UNITS), { maxLength: 200 }).map((u) => u.join(""))
    const longPattern = fc.array(fc.constantFrom(...PATTERN_UNITS), { maxLength: 60 }).map((u) => u.join(""))
    fc.assert(
      fc.property(longPattern, fc.array(longName, { minLength: 1, maxLength: 4 }), (pattern, names) => {
        const m = internal.compile(pattern)
        if (Either.isLeft(m)) return
        // "**\/" in front of a floating pattern: 5 nodes; at most 2 per other code point; "/?" and accept: 3
        const nodes = 2 * Array.from(pattern).length + 9
        for (const name of names) {
          const meter = { steps: 0 }
          m.right.testMetered(name, meter)
          assert.isAtMost(meter.steps, 2 * nodes * (Array.from(name).length + 1), show(pattern, name))
        }
      }),
      { numRuns: 500 }
    )
  })
})

describe("patterns that made the regular expressions backtrack for minutes (issue 10)", () => {
  const steps = (pattern: string, name: string): number => {
    const meter = { steps: 0 }
    Either.getOrThrow(internal.compile(pattern)).testMetered(name, meter)
    return meter.steps
  }

  it("a run of stars is one star: 40 stars against 60 characters, 1,000 against 100,000", () => {
    // the floating `a*…*b` is 12 nodes whatever the number of stars
    assert.isAtMost(steps("a" + "*".repeat(40) + "b", "a".repeat(60)), 2 * 12 * 61)
    assert.isAtMost(steps("a" + "*".repeat(1000) + "b", "a".repeat(100_000)), 2 * 12 * 100_001)
  })

  it("14 stars against 21-character names (the old regex: tens of seconds)", () => {
    const f = Either.getOrThrow(FileFilter.exclude(FileFilter.make(), "a" + "*".repeat(14) + "b"))
    assert.isUndefined(FileFilter.matchRules(f, "a".repeat(21)))
    assert.isUndefined(FileFilter.matchRules(f, "dir/" + "a".repeat(21) + "/"))
    assert.isFalse(FileFilter.matchRules(f, "a".repeat(20) + "b"))
    assert.isFalse(FileFilter.matchRules(f, "dir/" + "a".repeat(20) + "b/"))
  }, 3_000)

  it("repeated **/: ten of them against 40 directories (the old regex: tens of seconds)", () => {
    const f = Either.getOrThrow(FileFilter.exclude(FileFilter.make(), "**/a/".repeat(10) + "b"))
    assert.isUndefined(FileFilter.matchRules(f, "a/".repeat(40) + "c"))
    assert.isFalse(FileFilter.matchRules(f, "a/".repeat(40) + "b"))
    assert.isFalse(FileFilter.matchRules(f, "x/a/".repeat(10) + "b/"))
    assert.isUndefined(FileFilter.matchRules(f, "a/".repeat(9) + "b"))
  }, 3_000)

  it("a line of 200,000 `[` compiles and matches itself", () => {
    const line = "[".repeat(200_000)
    const f = Either.getOrThrow(FileFilter.readFromBuffer(FileFilter.make(), line))
    assert.isFalse(FileFilter.matchRules(f, line))
    assert.isFalse(FileFilter.matchRules(f, "dir/" + line))
    assert.isUndefined(FileFilter.matchRules(f, line + "x"))
  }, 3_000)

  it("a pattern with 200,000 `/` inside compiles and is anchored", () => {
    const pattern = "a" + "/".repeat(200_000) + "b"
    const f = Either.getOrThrow(FileFilter.exclude(FileFilter.make(), pattern))
    assert.isFalse(FileFilter.matchRules(f, pattern))
    assert.isUndefined(FileFilter.matchRules(f, "x/" + pattern))
    assert.isUndefined(FileFilter.matchRules(f, "a/b"))
  }, 3_000)

  it("fnmatch (Storage.glob): *a*a…*b against 40 a's", () => {
    const m = internal.fnmatchRegex("*a".repeat(9) + "*b")
    assert.isFalse(m.test("a".repeat(40)))
    assert.isTrue(m.test("a".repeat(40) + "b"))
    assert.isTrue(m.test("xa".repeat(9) + "/b"))
  }, 3_000)
})
