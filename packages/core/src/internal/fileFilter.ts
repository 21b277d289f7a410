/**
 * gitignore-style patterns of neuro-sdk 23.2 (`_file_filter.py`) and shell patterns (`fnmatch`).
 * A pattern is read once into tokens; the tokens give both the regular-expression source neuro-sdk
 * would build (`translate`, for display) and a matcher that simulates the equivalent automaton
 * over the candidate, in time proportional to its length times the pattern's: no backtracking,
 * whatever the pattern (`a***…*b`, repeated `**\/`) or the name.
 *
 * @internal
 */
import * as Either from "effect/Either"

const SYNTAX = new Set("^$\\.*+?()[]{}|")

/** A literal character in `u`-mode regex syntax. */
const literal = (c: string): string => (SYNTAX.has(c) ? "\\" + c : c)

/**
 * The body of a bracket expression `pat[start..end)` (after `[`, before the closing `]`) as
 * Python's translators write it, then rewritten in JS `u`-mode class syntax. `removeEmptyRanges`
 * is `fnmatch`'s extra pass over `--` chunks.
 */
const classBody = (pat: ReadonlyArray<string>, start: number, end: number, fnmatchStyle: boolean): string | undefined => {
  const slice = (a: number, b: number) => pat.slice(a, b).join("")
  let i = start
  let stuff: string
  const hasDash = fnmatchStyle ? slice(start, end).includes("-") : slice(start, end).includes("--")
  if (!hasDash) {
    stuff = slice(start, end).replace(/\\/g, "\\\\")
  } else {
    const chunks: Array<string> = []
    let k = pat[i] === "!" ? i + 2 : i + 1
    for (;;) {
      k = pat.indexOf("-", k)
      if (k < 0 || k >= end) break
      chunks.push(slice(i, k))
      i = k + 1
      k = k + 3
    }
    const last = slice(i, end)
    if (!fnmatchStyle || last !== "") chunks.push(last)
    else chunks[chunks.length - 1] += "-"
    if (fnmatchStyle) {
      for (let c = chunks.length - 1; c > 0; c--) {
        const prev = chunks[c - 1]!
        const cur = chunks[c]!
        if (prev.slice(-1) > cur.slice(0, 1)) {
          chunks[c - 1] = prev.slice(0, -1) + cur.slice(1)
          chunks.splice(c, 1)
        }
      }
    }
    stuff = chunks.map((s) => s.replace(/\\/g, "\\\\").replace(/-/g, "\\-")).join("-")
  }
  stuff = stuff.replace(/([&~|])/g, "\\$1")
  if (fnmatchStyle) {
    if (stuff === "") return undefined
    if (stuff === "!") return "."
  }
  if (stuff.startsWith("!")) stuff = "^" + stuff.slice(1)
  else if (stuff.startsWith("^") || stuff.startsWith("[")) stuff = "\\" + stuff
  // Python class syntax → JS `u` class syntax
  let out = ""
  let k = 0
  if (stuff.startsWith("^")) {
    out = "^"
    k = 1
  }
  const chars = Array.from(stuff)
  if (chars[k] === "]") {
    out += "\\]"
    k++
  }
  while (k < chars.length) {
    const c = chars[k]!
    if (c === "\\") {
      const next = chars[k + 1]!
      out += next === "&" || next === "~" ? next : "\\" + next
      k += 2
    } else {
      out += c
      k++
    }
  }
  return `[${out}]`
}

/**
 * For each index of `pat`, the index of the first `]` at or after it (-1: none), so that every
 * bracket expression finds its end in constant time (a line of `[[[[…` stays linear).
 */
const closers = (pat: ReadonlyArray<string>): Int32Array => {
  const out = new Int32Array(pat.length + 1)
  let next = -1
  out[pat.length] = -1
  for (let k = pat.length - 1; k >= 0; k--) {
    if (pat[k] === "]") next = k
    out[k] = next
  }
  return out
}

/** The closing `]` of a bracket expression opened before `i`, or -1. */
const closing = (pat: ReadonlyArray<string>, closer: Int32Array, i: number): number => {
  let j = i
  if (j < pat.length && pat[j] === "!") j++
  if (j < pat.length && pat[j] === "]") j++
  return closer[j]
}

// ---------------------------------------------------------------------------------------------
// tokens
// ---------------------------------------------------------------------------------------------

/**
 * One element of a pattern. `slash` says whether it may match `/`: shell patterns (`fnmatch`)
 * may, gitignore patterns stay inside one path segment.
 *
 * @internal
 */
export type Token =
  /** One literal code point. */
  | { readonly _tag: "Char"; readonly char: string }
  /** `?`: any one code point. */
  | { readonly _tag: "One"; readonly slash: boolean }
  /** `*` (or a final `**`): any run of code points. */
  | { readonly _tag: "Run"; readonly slash: boolean }
  /** `[…]`: one code point of a class, `source` in JS `u`-mode syntax (`(?!)`: none). */
  | { readonly _tag: "Class"; readonly source: string; readonly slash: boolean }
  /** `**\/`: zero or more whole directories, `(?:.+/)?`. */
  | { readonly _tag: "Dirs" }
  /** `/?` at the end of a gitignore pattern that does not end in `/`. */
  | { readonly _tag: "OptionalSlash" }

const char = (c: string): Token => ({ _tag: "Char", char: c })
const ONE_IN_NAME: Token = { _tag: "One", slash: false }
const RUN_IN_NAME: Token = { _tag: "Run", slash: false }
const ONE: Token = { _tag: "One", slash: true }
const RUN: Token = { _tag: "Run", slash: true }
const DIRS: Token = { _tag: "Dirs" }
const OPTIONAL_SLASH: Token = { _tag: "OptionalSlash" }

/** neuro-sdk `_file_filter.translate`, as tokens. */
/** @internal */
export const gitignoreTokens = (pattern: string): Array<Token> => {
  const pat = Array.from(pattern)
  const closer = closers(pat)
  const n = pat.length
  const out: Array<Token> = []
  const atSegmentStart = () => {
    const last = out[out.length - 1]
    return last === undefined || (last._tag === "Char" && last.char === "/")
  }
  let i = 0
  while (i < n) {
    const c = pat[i]!
    i++
    if (c === "*" && atSegmentStart() && pat[i] === "*" && (i + 1 === n || pat[i + 1] === "/")) {
      if (i + 1 === n) {
        out.push(RUN)
        return out
      }
      out.push(DIRS)
      i += 2
    } else if (c === "*") {
      out.push(RUN_IN_NAME)
    } else if (c === "?") {
      out.push(ONE_IN_NAME)
    } else if (c === "[" && closing(pat, closer, i) >= 0) {
      const j = closing(pat, closer, i)
      out.push({ _tag: "Class", source: classBody(pat, i, j, false) ?? "(?!)", slash: false })
      i = j + 1
    } else if (c === "\\" && i < n) {
      out.push(char(pat[i]!))
      i++
    } else {
      out.push(char(c))
    }
  }
  if (!pattern.endsWith("/")) out.push(OPTIONAL_SLASH)
  return out
}

/** Python `fnmatch.translate` (case-sensitive, whole name), as tokens. */
/** @internal */
export const fnmatchTokens = (pattern: string): Array<Token> => {
  const pat = Array.from(pattern)
  const closer = closers(pat)
  const n = pat.length
  const out: Array<Token> = []
  let i = 0
  while (i < n) {
    const c = pat[i]!
    i++
    if (c === "*") {
      out.push(RUN)
      while (i < n && pat[i] === "*") i++
    } else if (c === "?") {
      out.push(ONE)
    } else if (c === "[" && closing(pat, closer, i) >= 0) {
      const j = closing(pat, closer, i)
      out.push({ _tag: "Class", source: classBody(pat, i, j, true) ?? "(?!)", slash: true })
      i = j + 1
    } else {
      out.push(char(c))
    }
  }
  return out
}

const renderToken = (t: Token): string => {
  switch (t._tag) {
    case "Char":
      return literal(t.char)
    case "One":
      return t.slash ? "." : "[^/]"
    case "Run":
      return t.slash ? ".*" : "[^/]*"
    case "Class":
      return t.slash ? t.source : t.source + "(?<!/)"
    case "Dirs":
      return "(?:.+/)?"
    case "OptionalSlash":
      return "/?"
  }
}

/** The regular-expression source of tokens (JS syntax, for the `s` and `u` flags, unanchored). */
/** @internal */
export const render = (tokens: ReadonlyArray<Token>): string => tokens.map(renderToken).join("")

/** neuro-sdk `_file_filter.translate`: a gitignore pattern as a regex source (JS syntax). */
/** @internal */
export const translate = (pattern: string): string => render(gitignoreTokens(pattern))

// ---------------------------------------------------------------------------------------------
// matching: a Thompson automaton, simulated one code point at a time
// ---------------------------------------------------------------------------------------------

/** Tests a string against a whole pattern (a `RegExp` is one too). */
/** @internal */
export interface Matcher {
  readonly test: (candidate: string) => boolean
}

/** Counts the automaton's work, for tests that bound it. */
/** @internal */
export interface Meter {
  steps: number
}

/** @internal */
export interface MeteredMatcher extends Matcher {
  /** `test`, adding the states it visited to `meter.steps`. */
  readonly testMetered: (candidate: string, meter: Meter) => boolean
}

type CharTest = (c: string) => boolean

const anyChar: CharTest = () => true
const isSlash: CharTest = (c) => c === "/"
const notSlash: CharTest = (c) => c !== "/"

/**
 * Node `k` either consumes one code point passing `tests[k]` and goes on to `next[k]`, or (no
 * test) forks to `next[k]` and `alt[k]`; the last node accepts.
 */
interface Automaton {
  readonly tests: ReadonlyArray<CharTest | undefined>
  readonly next: Int32Array
  readonly alt: Int32Array
}

/** A node of a token's fragment: targets relative to the fragment, `EXIT` = the next fragment. */
type Spec = readonly [test: CharTest | undefined, next: number, alt: number]

const EXIT = -1

/** `(?:.+/)?`: skip, or one code point, then any, until a `/`. */
const DIRS_FRAGMENT: ReadonlyArray<Spec> = [
  [undefined, 1, EXIT],
  [anyChar, 2, EXIT],
  [undefined, 3, 4],
  [anyChar, 2, EXIT],
  [isSlash, EXIT, EXIT]
]

const OPTIONAL_SLASH_FRAGMENT: ReadonlyArray<Spec> = [[undefined, 1, EXIT], [isSlash, EXIT, EXIT]]

const classTest = (source: string, slash: boolean): Either.Either<CharTest, string> => {
  let re: RegExp
  try {
    re = new RegExp(`^(?:${source})$`, "su")
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
  return Either.right(slash ? (c) => re.test(c) : (c) => c !== "/" && re.test(c))
}

const fragment = (t: Token): Either.Either<ReadonlyArray<Spec>, string> => {
  switch (t._tag) {
    case "Char": {
      const ch = t.char
      return Either.right([[(c) => c === ch, EXIT, EXIT]])
    }
    case "One":
      return Either.right([[t.slash ? anyChar : notSlash, EXIT, EXIT]])
    case "Class":
      return Either.map(classTest(t.source, t.slash), (test): ReadonlyArray<Spec> => [[test, EXIT, EXIT]])
    case "Run":
      return Either.right([[undefined, 1, EXIT], [t.slash ? anyChar : notSlash, 0, EXIT]])
    case "Dirs":
      return Either.right(DIRS_FRAGMENT)
    case "OptionalSlash":
      return Either.right(OPTIONAL_SLASH_FRAGMENT)
  }
}

/** The automaton of tokens, one fragment after another; fails on a class JS cannot compile. */
const automaton = (tokens: ReadonlyArray<Token>): Either.Either<Automaton, string> => {
  const tests: Array<CharTest | undefined> = []
  const next: Array<number> = []
  const alt: Array<number> = []
  let previous: Token | undefined
  for (const t of tokens) {
    // a run of stars is one star (`[^/]*[^/]*` is `[^/]*`)
    if (t._tag === "Run" && previous?._tag === "Run" && previous.slash === t.slash) continue
    previous = t
    const specs = fragment(t)
    if (Either.isLeft(specs)) return Either.left(specs.left)
    const start = tests.length
    const end = start + specs.right.length
    for (const [test, to, other] of specs.right) {
      tests.push(test)
      next.push(to === EXIT ? end : start + to)
      alt.push(other === EXIT ? end : start + other)
    }
  }
  tests.push(undefined) // accept
  next.push(EXIT)
  alt.push(EXIT)
  return Either.right({ tests, next: Int32Array.from(next), alt: Int32Array.from(alt) })
}

/** Buffers of one matcher, reused by every call (matching is synchronous and not re-entered). */
interface Scratch {
  readonly current: Int32Array
  readonly following: Int32Array
  /** The generation in which each node was last added to a list. */
  readonly seen: Int32Array
  readonly stack: Int32Array
  generation: number
}

/**
 * Whether the automaton accepts `input`: the set of live nodes is advanced one code point at a
 * time, each node at most once per step, so the work is at most (code points + 1) × nodes.
 */
const simulate = (a: Automaton, scratch: Scratch, input: string, meter: Meter | undefined): boolean => {
  const { alt, next, tests } = a
  const { seen, stack } = scratch
  const accept = tests.length - 1
  if (scratch.generation > 0x3fffffff) {
    seen.fill(-1)
    scratch.generation = 0
  }
  let generation = scratch.generation
  let steps = 0
  const push = (s: number, top: number): number => {
    if (seen[s] === generation) return top
    seen[s] = generation
    stack[top] = s
    return top + 1
  }
  /** Adds `from` and the nodes it reaches without consuming to `list`; returns the new length. */
  const close = (from: number, list: Int32Array, length: number): number => {
    let top = push(from, 0)
    let n = length
    while (top > 0) {
      const s = stack[--top]
      steps++
      if (tests[s] !== undefined || s === accept) list[n++] = s
      else top = push(next[s], push(alt[s], top))
    }
    return n
  }
  let current = scratch.current
  let following = scratch.following
  generation++
  let count = close(0, current, 0)
  for (const c of input) {
    if (count === 0) break
    generation++
    let n = 0
    for (let i = 0; i < count; i++) {
      const s = current[i]
      const test = tests[s]
      steps++
      if (test !== undefined && test(c)) n = close(next[s], following, n)
    }
    const swap = current
    current = following
    following = swap
    count = n
  }
  scratch.generation = generation
  if (meter !== undefined) meter.steps += steps
  return count > 0 && seen[accept] === generation
}

/** The matcher of tokens: the whole candidate must match (`^(?:…)$` of their `render`). */
/** @internal */
export const matcherOf = (tokens: ReadonlyArray<Token>): Either.Either<MeteredMatcher, string> =>
  Either.map(automaton(tokens), (a) => {
    const size = a.tests.length
    const scratch: Scratch = {
      current: new Int32Array(size),
      following: new Int32Array(size),
      seen: new Int32Array(size).fill(-1),
      stack: new Int32Array(size),
      generation: 0
    }
    return {
      test: (candidate) => simulate(a, scratch, candidate, undefined),
      testMetered: (candidate, meter) => simulate(a, scratch, candidate, meter)
    }
  })

/** Where the trailing run of `/` of `s` starts (`s.length` when there is none). */
const endWithoutSlashes = (s: string): number => {
  let end = s.length
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--
  return end
}

/** Where `s` starts after its leading run of `/`. */
const startWithoutSlashes = (s: string): number => {
  let start = 0
  while (start < s.length && s.charCodeAt(start) === 0x2f) start++
  return start
}

/**
 * A compiled rule: the pattern made floating (`**\/` in front) when it has no `/` but trailing
 * ones, otherwise anchored (leading `/` dropped).
 */
/** @internal */
export const compile = (pattern: string): Either.Either<MeteredMatcher, string> => {
  const end = endWithoutSlashes(pattern)
  const anchored = end > 0 && pattern.lastIndexOf("/", end - 1) >= 0
  const p = anchored ? pattern.slice(startWithoutSlashes(pattern)) : "**/" + pattern
  return Either.mapLeft(matcherOf(gitignoreTokens(p)), (d) => `bad pattern ${JSON.stringify(pattern)}: ${d}`)
}

/** neuro-sdk `_strip_trailing_spaces`: trailing spaces go unless escaped with `\`. */
/** @internal */
export const stripTrailingSpaces = (s: string): string => {
  let lastSpace: number | undefined
  let escaped = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (escaped) {
      escaped = false
    } else {
      escaped = c === "\\"
      if (c !== " ") lastSpace = undefined
      else if (lastSpace === undefined) lastSpace = i
    }
  }
  return lastSpace === undefined ? s : s.slice(0, lastSpace)
}

/** @internal */
export interface IgnoreLine {
  readonly exclude: boolean
  readonly pattern: string
}

/** neuro-sdk `read_from_buffer` (after decoding): the rules of an ignore file, in order. */
/** @internal */
export const ignoreLines = (text: string): Array<IgnoreLine> => {
  const out: Array<IgnoreLine> = []
  for (let line of text.split("\n")) {
    if (line.endsWith("\r")) line = line.slice(0, -1)
    if (line === "" || line.startsWith("#")) continue
    line = stripTrailingSpaces(line)
    // a line of spaces is blank, as in gitignore (neuro-sdk turns it into an empty exclude
    // pattern that skips every directory)
    if (line === "") continue
    if (line.startsWith("!")) out.push({ exclude: false, pattern: line.slice(1) })
    else out.push({ exclude: true, pattern: line })
  }
  return out
}

/** Python `fnmatch.fnmatchcase` of one name against `pattern`, as a matcher. */
/** @internal */
export const fnmatch = (pattern: string): MeteredMatcher =>
  Either.getOrElse(matcherOf(fnmatchTokens(pattern)), (): MeteredMatcher => {
    // a class JS cannot compile (Python's translate never writes one): the pattern matches only
    // itself, as it did when this was a regular expression
    const itself = (candidate: string) => candidate === pattern
    return { test: itself, testMetered: itself }
  })

/** `fnmatch` under the name `internal/storage.ts` imports (a matcher now, not a `RegExp`). */
/** @internal */
export const fnmatchRegex: (pattern: string) => Matcher = fnmatch

/** Whether a glob segment has wildcard characters. */
/** @internal */
export const hasMagic = (s: string): boolean => /[*?[]/.test(s)
