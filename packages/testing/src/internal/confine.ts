/**
 * Mapping URL paths to files without leaving the folder they belong to.
 *
 * A path is percent-decoded once, as a whole, before it is split; then every segment is checked
 * (no `.`, `..`, empty inner segment, NUL, `/` or `\`), and finally the real path of the deepest
 * existing ancestor must be exactly the lexical one under the root (no symlink redirects it). An
 * encoded `..%2F` or `%2e%2e` therefore never reaches `path.join`, and a double-encoded
 * `%252e%252e` stays the literal name `%2e%2e`.
 */
import { mkdirSync, realpathSync } from "node:fs"
import { join, sep } from "node:path"

const isBadSegment = (s: string): boolean =>
  s === "" || s === "." || s === ".." || s.includes("\0") || s.includes("/") || s.includes("\\")

/**
 * The decoded segments of an URL path (`/alice/data/a.csv` → `["alice", "data", "a.csv"]`), or
 * `undefined` when the path is not a plain descent: a bad percent-escape, a `.`/`..`/empty inner
 * segment, or a segment with NUL, `\` or an encoded `/`. One leading and one trailing `/` are allowed.
 */
/** @internal */
export const decodeSegments = (rawPath: string): ReadonlyArray<string> | undefined => {
  let body = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath
  if (body.endsWith("/")) body = body.slice(0, -1)
  if (body === "") return []
  const out: Array<string> = []
  for (const raw of body.split("/")) {
    let s: string
    try {
      s = decodeURIComponent(raw)
    } catch {
      return undefined
    }
    if (isBadSegment(s)) return undefined
    out.push(s)
  }
  return out
}

/** Whether already-decoded segments (from a JSON body, a stored URI) are a plain descent. */
/** @internal */
export const safeSegments = (segments: ReadonlyArray<string>): boolean => segments.every((s) => !isBadSegment(s))

const realRoots = new Map<string, string>()

const realRoot = (root: string): string => {
  const cached = realRoots.get(root)
  if (cached !== undefined) return cached
  mkdirSync(root, { recursive: true })
  const real = realpathSync.native(root)
  realRoots.set(root, real)
  return real
}

/**
 * `root` joined with `segments`, when the existing part of that path is what it says: the real
 * path of its deepest existing ancestor (the leaf itself is not followed) equals the lexical path
 * under the root's real path. `undefined` when a segment is unsafe or a symlink (or `..` planted
 * some other way) would lead elsewhere. One `realpath` call when the parent exists, made on every
 * call (nothing is cached: a job may plant a symlink in its storage folder at any time), and
 * synchronous: a few microseconds on a local disk, where a threadpool round trip costs tens.
 */
/** @internal */
export const confinedPath = (root: string, segments: ReadonlyArray<string>): string | undefined => {
  if (!safeSegments(segments)) return undefined
  const base = realRoot(root)
  for (let n = segments.length - 1; n >= 0; n--) {
    const lexical = join(base, ...segments.slice(0, n))
    let real: string
    try {
      real = realpathSync.native(lexical)
    } catch (e) {
      if (isMissing(e)) continue
      return undefined
    }
    if (real !== lexical) return undefined
    return join(root, ...segments)
  }
  return join(root, ...segments)
}

const isMissing = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && (e.code === "ENOENT" || e.code === "ENOTDIR")

/** Whether `path` is `dir` or inside it (lexically; both absolute). */
/** @internal */
export const isInside = (dir: string, path: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
