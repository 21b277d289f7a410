/**
 * The file-filter matching this package had before issue 10, kept verbatim as a reference for the
 * property tests: patterns translated to JavaScript regular expressions, run by V8's backtracking
 * engine. Same results as the automata of `src/internal/fileFilter.ts`, but exponential in runs of
 * `*` (`a**…*b`) and repeated `**\/`, and quadratic in `[[[…` and in runs of `/` before a name:
 * use it on small inputs only.
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

/** The closing `]` of a bracket expression opened before `i`, or -1. */
const closing = (pat: ReadonlyArray<string>, i: number): number => {
  let j = i
  if (j < pat.length && pat[j] === "!") j++
  if (j < pat.length && pat[j] === "]") j++
  while (j < pat.length && pat[j] !== "]") j++
  return j >= pat.length ? -1 : j
}

/** neuro-sdk `_file_filter.translate`: a gitignore pattern as a regex source (JS syntax). */
export const translate = (pattern: string): string => {
  const pat = Array.from(pattern)
  const n = pat.length
  let res = ""
  let i = 0
  while (i < n) {
    const c = pat[i]!
    i++
    if (c === "*") {
      if ((res === "" || res.endsWith("/")) && i < n && pat[i] === "*" && (i + 1 === n || pat[i + 1] === "/")) {
        if (i + 1 === n) return res + ".*"
        res += "(?:.+/)?"
        i += 2
      } else {
        res += "[^/]*"
      }
    } else if (c === "?") {
      res += "[^/]"
    } else if (c === "/") {
      res += "/"
    } else if (c === "[") {
      const j = closing(pat, i)
      if (j < 0) {
        res += "\\["
      } else {
        res += classBody(pat, i, j, false)! + "(?<!/)"
        i = j + 1
      }
    } else if (c === "\\" && i < n) {
      res += literal(pat[i]!)
      i++
    } else {
      res += literal(c)
    }
  }
  return pattern.endsWith("/") ? res : res + "/?"
}

/** A compiled rule: the pattern made floating (`**\/` in front) or anchored, then translated. */
export const compile = (pattern: string): Either.Either<RegExp, string> => {
  const p = pattern.replace(/\/+$/, "").includes("/") ? pattern.replace(/^\/+/, "") : "**/" + pattern
  const source = translate(p)
  try {
    return Either.right(new RegExp(`^(?:${source})$`, "su"))
  } catch (e) {
    return Either.left(`bad pattern ${JSON.stringify(pattern)}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** Python `fnmatch.translate` (case-sensitive, whole name) as a regex. */
export const fnmatchRegex = (pattern: string): RegExp => {
  const pat = Array.from(pattern)
  const n = pat.length
  let res = ""
  let i = 0
  while (i < n) {
    const c = pat[i]!
    i++
    if (c === "*") {
      res += ".*"
      while (i < n && pat[i] === "*") i++
    } else if (c === "?") {
      res += "."
    } else if (c === "[") {
      const j = closing(pat, i)
      if (j < 0) {
        res += "\\["
      } else {
        res += classBody(pat, i, j, true) ?? "(?!)"
        i = j + 1
      }
    } else {
      res += literal(c)
    }
  }
  try {
    return new RegExp(`^(?:${res})$`, "su")
  } catch {
    return new RegExp(`^(?:${Array.from(pattern, literal).join("")})$`, "su")
  }
}
