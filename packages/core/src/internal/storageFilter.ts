/**
 * gitignore-style rules for directory uploads (`ignoreFileNames`) and fnmatch for `glob`.
 * Follows protocol/uris.md §4 and storage.md §5.1.
 */

/** A bracket expression `[...]` at `i` as a JS class, or undefined when it has no closing `]`. */
const bracket = (pattern: string, i: number): { readonly cls: string; readonly end: number } | undefined => {
  let j = i + 1
  if (pattern[j] === "!") j++
  if (pattern[j] === "]") j++
  while (j < pattern.length && pattern[j] !== "]") j++
  if (j >= pattern.length) return undefined
  let body = pattern.slice(i + 1, j)
  let negate = false
  if (body.startsWith("!")) {
    negate = true
    body = body.slice(1)
  }
  const escaped = body.replace(/[\\^\]\[&~|]/g, (c) => "\\" + c)
  return { cls: `[${negate ? "^" : ""}${escaped}]`, end: j + 1 }
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => "\\" + m)

/** Python fnmatch (whole name, case-sensitive). */
/** @internal */
export const fnmatchRegex = (pattern: string): RegExp => {
  let re = ""
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i]!
    if (c === "*") {
      re += ".*"
      i++
    } else if (c === "?") {
      re += "."
      i++
    } else if (c === "[") {
      const b = bracket(pattern, i)
      if (b === undefined) {
        re += "\\["
        i++
      } else {
        re += b.cls
        i = b.end
      }
    } else {
      re += escapeRe(c)
      i++
    }
  }
  return new RegExp(`^(?:${re})$`, "s")
}

/** Whether a glob segment has wildcard characters. */
/** @internal */
export const hasMagic = (s: string): boolean => /[*?[]/.test(s)

/** uris.md §4.2 `translate`. */
const translate = (pattern: string): string => {
  let re = ""
  let i = 0
  const n = pattern.length
  while (i < n) {
    const c = pattern[i]!
    const atSegmentStart = i === 0 || pattern[i - 1] === "/"
    if (c === "*" && pattern[i + 1] === "*" && atSegmentStart && (i + 2 === n || pattern[i + 2] === "/")) {
      if (i + 2 === n) return re + ".*"
      re += "(?:.+/)?"
      i += 3
      continue
    }
    if (c === "*") {
      re += "[^/]*"
      i++
    } else if (c === "?") {
      re += "[^/]"
      i++
    } else if (c === "[") {
      const b = bracket(pattern, i)
      if (b === undefined) {
        re += "\\["
        i++
      } else {
        re += b.cls + "(?<!/)"
        i = b.end
      }
    } else if (c === "\\") {
      re += i + 1 < n ? escapeRe(pattern[i + 1]!) : "\\\\"
      i += 2
    } else {
      re += escapeRe(c)
      i++
    }
  }
  return pattern.endsWith("/") ? re : re + "/?"
}

interface Rule {
  readonly exclude: boolean
  readonly regex: RegExp
  readonly prefix: string
  readonly prefix2: string
}

/** @internal */
export type Match = (path: string) => boolean

/** A rule list over a fallback, as neuro-sdk's `FileFilter(default)`. */
/** @internal */
export const makeRules = (lines: ReadonlyArray<{ readonly exclude: boolean; readonly pattern: string }>, prefix: string, prefix2: string, fallback: Match): Match => {
  const rules: Array<Rule> = lines.map(({ exclude, pattern }) => {
    let p = pattern
    if (!p.replace(/\/+$/, "").includes("/")) p = "**/" + p
    else p = p.replace(/^\/+/, "")
    return { exclude, regex: new RegExp(`^(?:${translate(p)})$`, "s"), prefix, prefix2 }
  })
  return (path) => {
    for (let k = rules.length - 1; k >= 0; k--) {
      const r = rules[k]!
      if (!path.startsWith(r.prefix)) continue
      if (r.regex.test(r.prefix2 + path.slice(r.prefix.length))) return !r.exclude
    }
    return fallback(path)
  }
}

/** uris.md §4.3: the rules of an ignore file. */
/** @internal */
export const parseIgnoreFile = (text: string): Array<{ readonly exclude: boolean; readonly pattern: string }> => {
  const out: Array<{ readonly exclude: boolean; readonly pattern: string }> = []
  for (let line of text.replace(/^\uFEFF/, "").split("\n")) {
    if (line.endsWith("\r")) line = line.slice(0, -1)
    if (line === "" || line.startsWith("#")) continue
    line = line.replace(/(?<!\\)( +)$/, "")
    if (line === "") continue
    if (line.startsWith("!")) out.push({ exclude: false, pattern: line.slice(1) })
    else out.push({ exclude: true, pattern: line })
  }
  return out
}
