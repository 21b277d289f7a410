/**
 * gitignore-style file filters (neuro-sdk's `FileFilter`), used by directory uploads: an ordered
 * list of exclude/include rules over a fallback filter, read from patterns or ignore files
 * (`.neuroignore`). Paths given to `match` are relative and `/`-separated; directories end in `/`.
 * The last rule that matches decides; when none does, the fallback does.
 *
 * @since 1.0.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Errors from "./Errors.js"
import * as internal from "./internal/fileFilter.js"

/**
 * Decides whether a relative path is kept (`true`) or skipped.
 *
 * @since 1.0.0
 * @category models
 */
export type FilterFunc = (path: string) => Effect.Effect<boolean>

/**
 * One compiled rule.
 *
 * @since 1.0.0
 * @category models
 */
export interface Rule {
  /** `true`: a match skips the path; `false`: a match keeps it. */
  readonly exclude: boolean
  /** The pattern as written. */
  readonly pattern: string
  /** The rule applies only to paths starting with it (`""` or ending in `/`). */
  readonly prefix: string
  /** Put in front of the path (after `prefix` is removed) before matching. */
  readonly prefix2: string
  /** Whether a candidate (`prefix2` + the path after `prefix`) matches the pattern. */
  readonly matcher: Matcher
}

/**
 * Tests whole strings against a pattern in time linear in their length (for a given pattern):
 * patterns run as automata, never as backtracking regular expressions, so no pattern or name
 * (`a*****…*b`, repeated `**\/`) can make matching slow.
 *
 * @since 1.0.0
 * @category models
 */
export interface Matcher {
  readonly test: (candidate: string) => boolean
}

/**
 * An immutable filter: rules (later ones win) over a fallback.
 *
 * @since 1.0.0
 * @category models
 */
export interface FileFilter {
  readonly rules: ReadonlyArray<Rule>
  readonly fallback: FilterFunc
}

/**
 * @since 1.0.0
 * @category models
 */
export interface RuleOptions {
  /** Confine the rules to a subtree (`"sub/"`); patterns are relative to it. Default `""`. */
  readonly prefix?: string | undefined
  /**
   * Prepend to the path before matching (`"parent/folder/"`), for ignore files found in a
   * directory above the transferred one. Default `""`.
   */
  readonly prefix2?: string | undefined
}

const keepAll: FilterFunc = () => Effect.succeed(true)

/**
 * A filter with no rules over `fallback` (default: keep everything).
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (fallback: FilterFunc = keepAll): FileFilter => ({ rules: [], fallback })

/**
 * A filter with no rules whose fallback is `filter`: rules added to it take priority over
 * `filter` (neuro-sdk `FileFilter(previous.match)`).
 *
 * @since 1.0.0
 * @category constructors
 */
export const on = (filter: FileFilter): FileFilter => make(toFilterFunc(filter))

const invalid = (input: string, description: string) => new Errors.InvalidInputError({ kind: "file filter", input, description })

/**
 * neuro-sdk `translate`: the regular-expression source a pattern compiles to (JS syntax, used with
 * the `s` and `u` flags and anchored at both ends). For display: `matcher` matches the same
 * strings without the regular expression's worst cases.
 *
 * @since 1.0.0
 * @category utils
 */
export const translate: (pattern: string) => string = internal.translate

/**
 * The matcher of a pattern as written (neither made floating nor anchored, as rules are): the
 * strings `^(?:translate(pattern))$` matches. Fails on a bracket expression that is not a valid
 * class (`[z-a]`).
 *
 * @since 1.0.0
 * @category constructors
 */
export const matcher = (pattern: string): Either.Either<Matcher, Errors.InvalidInputError> =>
  Either.mapLeft(internal.matcherOf(internal.gitignoreTokens(pattern)), (d) => invalid(pattern, d))

/**
 * Add a rule. A pattern without `/` (trailing ones aside) matches at any depth; otherwise it is
 * anchored (a leading `/` is dropped). A pattern ending in `/` matches directories only.
 *
 * @since 1.0.0
 * @category combinators
 */
export const append = (
  self: FileFilter,
  exclude: boolean,
  pattern: string,
  options: RuleOptions = {}
): Either.Either<FileFilter, Errors.InvalidInputError> => {
  const prefix = options.prefix ?? ""
  const prefix2 = options.prefix2 ?? ""
  if ((prefix !== "" && !prefix.endsWith("/")) || (prefix2 !== "" && !prefix2.endsWith("/"))) {
    return Either.left(invalid(pattern, "a rule prefix must be empty or end with '/'"))
  }
  return Either.match(internal.compile(pattern), {
    onLeft: (d) => Either.left(invalid(pattern, d)),
    onRight: (compiled) => Either.right({ ...self, rules: [...self.rules, { exclude, pattern, prefix, prefix2, matcher: compiled }] })
  })
}

/**
 * Add a rule that skips what `pattern` matches.
 *
 * @since 1.0.0
 * @category combinators
 */
export const exclude = (self: FileFilter, pattern: string, options: RuleOptions = {}) => append(self, true, pattern, options)

/**
 * Add a rule that keeps what `pattern` matches.
 *
 * @since 1.0.0
 * @category combinators
 */
export const include = (self: FileFilter, pattern: string, options: RuleOptions = {}) => append(self, false, pattern, options)

/**
 * Add the rules of an ignore file's content: UTF-8 (a BOM is dropped), one pattern per line,
 * `#` comments, `!` for include rules, trailing spaces dropped unless escaped with `\`.
 *
 * @since 1.0.0
 * @category combinators
 */
export const readFromBuffer = (
  self: FileFilter,
  data: Uint8Array | string,
  options: RuleOptions = {}
): Either.Either<FileFilter, Errors.InvalidInputError> => {
  let text: string
  if (typeof data === "string") {
    text = data.startsWith("\uFEFF") ? data.slice(1) : data
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(data)
    } catch {
      return Either.left(invalid("<ignore file>", "the ignore file is not valid UTF-8"))
    }
  }
  let out = self
  for (const line of internal.ignoreLines(text)) {
    const next = append(out, line.exclude, line.pattern, options)
    if (Either.isLeft(next)) return next
    out = next.right
  }
  return Either.right(out)
}

const fileError = (path: string, e: PlatformError): Errors.FileSystemError => {
  const cause: unknown = e.cause
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  const reason = e._tag === "SystemError" ? e.reason : undefined
  const errno = code !== undefined && code.startsWith("E")
    ? code
    : reason === "NotFound"
    ? "ENOENT"
    : reason === "PermissionDenied"
    ? "EACCES"
    : "EIO"
  return Errors.fromLocalErrno(errno, `Cannot read ${path}: ${e.message}`)
}

/** @internal */
export const platformFileError = fileError

/**
 * Add the rules of an ignore file on the local file system.
 *
 * @since 1.0.0
 * @category combinators
 */
export const readFromFile = (
  self: FileFilter,
  fs: FileSystem.FileSystem,
  path: string,
  options: RuleOptions = {}
): Effect.Effect<FileFilter, Errors.InvalidInputError | Errors.FileSystemError> =>
  Effect.flatMap(
    Effect.mapError(fs.readFile(path), (e) => fileError(path, e)),
    (data) => Either.mapLeft(readFromBuffer(self, data, options), (e) => new Errors.InvalidInputError({ ...e, input: path }))
  )

/**
 * The decision of the rules alone: `true` keep, `false` skip, `undefined` no rule applies.
 *
 * @since 1.0.0
 * @category matching
 */
export const matchRules = (self: FileFilter, path: string): boolean | undefined => {
  for (let k = self.rules.length - 1; k >= 0; k--) {
    const r = self.rules[k]!
    if (path.startsWith(r.prefix) && r.matcher.test(r.prefix2 + path.slice(r.prefix.length))) return !r.exclude
  }
  return undefined
}

/**
 * Whether `path` is kept: the last applicable rule decides, else the fallback.
 *
 * @since 1.0.0
 * @category matching
 */
export const match = (self: FileFilter, path: string): Effect.Effect<boolean> => {
  const decided = matchRules(self, path)
  return decided === undefined ? self.fallback(path) : Effect.succeed(decided)
}

/**
 * The filter as a function (e.g. for `Storage.uploadDir`'s `filter`).
 *
 * @since 1.0.0
 * @category conversions
 */
export const toFilterFunc = (self: FileFilter): FilterFunc => (path) => match(self, path)
