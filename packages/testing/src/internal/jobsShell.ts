/**
 * POSIX shell word splitting as Python's `shlex.split` does it (used by platform-api to validate
 * commands and by the container runtime to run `exec` commands).
 */

/** The words of `s`, or `undefined` when quotes are unbalanced ("No closing quotation") or it ends in an escape. */
/** @internal */
export const shlexSplit = (s: string): Array<string> | undefined => {
  const words: Array<string> = []
  let word = ""
  let inWord = false
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word)
      word = ""
      inWord = false
      i++
      continue
    }
    inWord = true
    if (c === "\\") {
      if (i + 1 >= s.length) return undefined
      word += s[i + 1]
      i += 2
      continue
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1)
      if (end < 0) return undefined
      word += s.slice(i + 1, end)
      i = end + 1
      continue
    }
    if (c === "\"") {
      i++
      let closed = false
      while (i < s.length) {
        const d = s[i]!
        if (d === "\"") {
          closed = true
          i++
          break
        }
        if (d === "\\" && i + 1 < s.length && "\\\"$`\n".includes(s[i + 1]!)) {
          word += s[i + 1]
          i += 2
          continue
        }
        word += d
        i++
      }
      if (!closed) return undefined
      continue
    }
    word += c
    i++
  }
  if (inWord) words.push(word)
  return words
}
