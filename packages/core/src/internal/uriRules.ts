/**
 * neuro-sdk 23.2's URI rules (`_url_utils.py`, `Parser._short`) over the yarl model of
 * `./uri.ts`. Failures are plain messages; the public `Uri` module wraps them in
 * `InvalidInputError`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import {
  build,
  decodedPath,
  hasQuery,
  parse,
  parts,
  port,
  type PosixPath,
  posixPath,
  posixString,
  quoteFromBytes,
  render,
  withoutLeadingSlashes,
  withoutTrailingSlashes,
  type Yurl
} from "./uri.js"

/** @internal */
export interface Identity {
  readonly username: string
  readonly clusterName: string
  readonly orgName: string | null
}

/** @internal */
export interface LocalContext {
  readonly cwd?: string | undefined
  readonly home?: string | undefined
  readonly userHome?: ((name: string) => string | undefined) | undefined
}

/** @internal */
export const CLUSTER_SCHEMES: ReadonlyArray<string> = ["storage", "image", "job", "secret", "disk", "blob", "flow"]

type Result = Either.Either<Yurl, string>

/** `_check_uri`: the message of the first forbidden part, if any. */
/** @internal */
export const checkUri = (u: Yurl): string | undefined => {
  if (u.fragment !== "") return `Fragment part is not allowed in ${u.scheme} URI. Use '%23' to quote '#' in path.`
  if (hasQuery(u)) return `Query part is not allowed in ${u.scheme} URI. Use '%3F' to quote '?' in path.`
  if (u.user !== undefined) return `User is not allowed in ${u.scheme} URI.`
  if (u.password !== undefined) return `Password is not allowed in ${u.scheme} URI`
  if (port(u) !== undefined) return `Port is not allowed in ${u.scheme} URI`
  return undefined
}

/** `_check_uri_str`: `#` and `?` anywhere in the text. */
/** @internal */
export const checkUriStr = (text: string, scheme: string): string | undefined => {
  if (text.includes("#")) return `Fragment part is not allowed in ${scheme} URI. Use '%23' to quote '#' in path.`
  if (text.includes("?")) return `Query part is not allowed in ${scheme} URI. Use '%3F' to quote '?' in path.`
  return undefined
}

/** `_check_scheme`: no restriction when `allowed` is empty. */
/** @internal */
export const checkScheme = (scheme: string, allowed: ReadonlyArray<string>): string | undefined => {
  if (allowed.length === 0 || allowed.includes(scheme)) return undefined
  const list = allowed.map((a) => `'${a}:'`).join(", ")
  return `Invalid scheme '${scheme}:' (only ${list} ${allowed.length > 1 ? "are" : "is"} allowed)`
}

const failIf = (message: string | undefined): Either.Either<void, string> =>
  message === undefined ? Either.void : Either.left(message)

/** `_normalize_uri`: complete a short cluster URI; a URI with a host is returned as it is. */
/** @internal */
export const normalizeClusterUri = (u: Yurl, id: Identity): Result =>
  Either.flatMap(failIf(checkUri(u)), () => {
    const path = decodedPath(u)
    if ((u.host ?? withoutLeadingSlashes(path)).startsWith("~")) return Either.left(`Cannot expand user for ${render(u)}`)
    if (u.host !== undefined) return Either.right(u)
    if (!CLUSTER_SCHEMES.includes(u.scheme)) return Either.left(`Absolute URI is required for scheme ${u.scheme}`)
    let rest = path.startsWith("/") ? withoutLeadingSlashes(path) : path === "" ? id.username : `${id.username}/${path}`
    if (id.orgName !== null) rest = `${id.orgName}/${rest}`
    return build(u.scheme, id.clusterName, "/" + rest)
  })

/** The `normalize_<kind>_uri` wrappers: one scheme only. */
/** @internal */
export const normalizeWithScheme = (u: Yurl, id: Identity, scheme: string, label: string): Result =>
  u.scheme !== scheme
    ? Either.left(`Invalid ${label} scheme '${u.scheme}:' (only '${scheme}:' is allowed)`)
    : normalizeClusterUri(u, id)

const NEEDS_CWD = "A relative local path needs the current directory, which is not known here"

/** `file://` + the encoded absolute path, re-parsed, without a doubled leading `/`. */
const fileUriOf = (p: PosixPath): Result =>
  Either.map(parse("file://" + quoteFromBytes(posixString(p))), (u) =>
    u.path.startsWith("//") ? { ...u, path: "/" + withoutLeadingSlashes(u.path) } : u)

/** `normalize_local_path_uri`: an absolute `file:` URI (relative paths joined to the cwd). */
/** @internal */
export const normalizeLocal = (u: Yurl, local: LocalContext): Result => {
  if (u.scheme !== "file") return Either.left(`Invalid local file scheme '${u.scheme}:' (only 'file:' is allowed)`)
  return Either.flatMap(failIf(checkUri(u)), () => {
    if (u.host !== undefined) return Either.left(`Host part is not allowed in file URI, found '${u.host}'`)
    const path = decodedPath(u)
    if (path.startsWith("~")) return Either.left(`Cannot expand user for ${render(u)}`)
    const p = posixPath(path)
    if (p.root !== "") return fileUriOf({ root: "/", segments: p.segments })
    if (local.cwd === undefined) return Either.left(NEEDS_CWD)
    const cwd = posixPath(local.cwd)
    return fileUriOf({ root: cwd.root === "" ? "/" : cwd.root, segments: [...cwd.segments, ...p.segments] })
  })
}

/** Python `os.path.expanduser`: the text unchanged when the home is unknown. */
const expandUser = (text: string, local: LocalContext): string => {
  let i = text.indexOf("/", 1)
  if (i < 0) i = text.length
  const home = i === 1 ? local.home : local.userHome?.(text.slice(1, i))
  if (home === undefined) return text
  return withoutTrailingSlashes(home) + text.slice(i) || "/"
}

/** `uri_from_cli`: a command-line argument (URI or local path) to a normalized URI. */
/** @internal */
export const fromCli = (input: string, id: Identity, local: LocalContext, allowed: ReadonlyArray<string>): Result => {
  let text = input
  let parsed: Result
  if (allowed.includes("file") && text.startsWith("~")) {
    const expanded = expandUser(text, local)
    if (expanded.startsWith("~")) return Either.left(`Cannot expand user for ${expanded}`)
    const p = posixPath(expanded)
    if (p.root === "") return Either.left(`The home directory ${expanded} is not an absolute path`)
    text = "file://" + quoteFromBytes(posixString(p))
    parsed = parse(text)
  } else {
    parsed = parse(text)
    if (Either.isRight(parsed) && parsed.right.scheme.length <= 1) {
      if (/^[a-zA-Z0-9+\-.]{2,}:[0-9]+$/.test(text)) {
        parsed = parse(text + "#")
      } else if (allowed.includes("file")) {
        const p = posixPath(text)
        if (p.root !== "") parsed = parse("file://" + quoteFromBytes(posixString(p)))
        else if (/^[0-9]+$/.test(text)) parsed = parse(`file:${text}#`)
        else parsed = parse("file:" + quoteFromBytes(posixString(p)))
        if (Either.isRight(parsed)) text = render(parsed.right)
      }
    }
  }
  return Either.flatMap(parsed, (u) => {
    if (u.scheme === "") return Either.left(`URI Scheme not specified. Please specify one of ${allowed.join(", ")}.`)
    const bad = checkScheme(u.scheme, allowed) ?? checkUriStr(text, u.scheme)
    if (bad !== undefined) return Either.left(bad)
    return u.scheme === "file" ? normalizeLocal(u, local) : normalizeClusterUri(u, id)
  })
}

/**
 * `Parser._short`: `scheme://cluster/[org/]user/x` → `scheme:x` for the configured identity,
 * then trailing slashes dropped. Departure (compat.md): a rest that starts with an empty segment
 * (`storage://C/U//x`) or with `~` (`storage://C/U/~x`) stays long, and a rest of slashes only
 * (`storage://C/U//`) is the home (`storage:`), so the short form always reads back as the same
 * resource.
 */
/** @internal */
export const shorten = (u: Yurl, id: Identity): Yurl => {
  let ret = u
  if (u.scheme !== "file" && u.host === id.clusterName) {
    const prefix = id.orgName === null ? ["/", id.username] : ["/", id.orgName, id.username]
    const ps = parts(u)
    if (prefix.every((p, i) => ps[i] === p)) {
      let rest = ps.slice(prefix.length).join("/")
      if (/^\/+$/.test(rest)) rest = ""
      if (!rest.startsWith("/") && !rest.startsWith("~")) {
        const built = build(u.scheme, "", rest)
        if (Either.isRight(built)) ret = built.right
      }
    }
  }
  return dropTrailingSlashes(ret)
}

/**
 * neuro-sdk drops the trailing `/`s of the decoded path one at a time, rebuilding the URI each
 * time: quadratic in their number. The first rebuild is kept as it is (it resolves the `.`/`..`
 * segments that came from `%2F`, and how depends on the slashes left after them); the path it
 * gives is normalized, and from there dropping every `/` at once gives what one at a time would.
 * A path of slashes only becomes `/`.
 */
const dropTrailingSlashes = (u: Yurl): Yurl => {
  let ret = u
  let first = true
  for (;;) {
    const path = decodedPath(ret)
    if (!path.endsWith("/") || path === "/") return ret
    const built = build(ret.scheme, ret.host ?? "", first ? path.slice(0, -1) : withoutTrailingSlashes(path) || "/")
    if (Either.isLeft(built)) return ret
    ret = built.right
    first = false
  }
}

/** `Parser.uri_to_path`: the decoded path of a `file:` URI as a POSIX path (not normalized further). */
/** @internal */
export const toPath = (u: Yurl): Either.Either<string, string> =>
  u.scheme !== "file"
    ? Either.left(`Invalid scheme '${u.scheme}:' (only 'file:' is allowed)`)
    : Either.right(posixString(posixPath(decodedPath(u))))
