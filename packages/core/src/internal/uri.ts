/**
 * A model of URI strings as neuro-sdk 23.2 sees them (yarl 1.8.2 over Python 3.11 `urlsplit`):
 * splitting, canonical percent-encoding, host encoding, dot-segment removal and rendering.
 * Everything here is pure; errors are plain message strings that callers wrap.
 *
 * @internal
 */
import * as Either from "effect/Either"

/** A parsed URI (yarl's `URL`): every field is already in canonical, encoded form. */
/** @internal */
export interface Yurl {
  readonly scheme: string
  /** The rebuilt authority (`user:password@host:port`), `""` when there is none. */
  readonly netloc: string
  /** Encoded user name; `undefined` when absent or empty (yarl `user is None`). */
  readonly user: string | undefined
  /** Encoded password; `undefined` when absent (an empty one is present). */
  readonly password: string | undefined
  /** Encoded host (lower-cased, IDNA); `undefined` without authority. */
  readonly host: string | undefined
  /** Explicit port (`0` and an empty port count as none). */
  readonly port: number | undefined
  /** Encoded path. */
  readonly path: string
  readonly query: string
  readonly fragment: string
}

// ---------------------------------------------------------------------------------------------
// character sets
// ---------------------------------------------------------------------------------------------

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const DIGITS = "0123456789"
const UNRESERVED = LETTERS + DIGITS + "-._~"
const SUB_DELIMS = "!$'()*," + "+&=;"

const byteSet = (chars: string): ReadonlySet<number> => new Set(Array.from(chars, (c) => c.charCodeAt(0)))

/** Characters a path keeps literally. */
const PATH_SAFE = byteSet(UNRESERVED + SUB_DELIMS + "@:" + "/")
/** Escapes that stay encoded even though they decode to a safe character. */
const PATH_PROTECTED = "/+"
/** Characters user names and passwords keep literally. */
const USERINFO_SAFE = byteSet(UNRESERVED + SUB_DELIMS)
const QUERY_SAFE = byteSet(UNRESERVED + "!$'()*," + "?/:@" + "=+&;")
const FRAGMENT_SAFE = byteSet(UNRESERVED + SUB_DELIMS + "?/:@")
/** What Python's `urllib.parse.quote` never escapes (plus `/`). */
const QUOTE_SAFE = byteSet(UNRESERVED + "/")

const USES_NETLOC: ReadonlySet<string> = new Set([
  "ftp",
  "http",
  "gopher",
  "nntp",
  "telnet",
  "imap",
  "wais",
  "file",
  "mms",
  "https",
  "shttp",
  "snews",
  "prospero",
  "rtsp",
  "rtsps",
  "rtspu",
  "rsync",
  "svn",
  "svn+ssh",
  "sftp",
  "nfs",
  "git",
  "git+ssh",
  "ws",
  "wss"
])

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443 }

// ---------------------------------------------------------------------------------------------
// percent-encoding
// ---------------------------------------------------------------------------------------------

/** UTF-8 bytes of `s`; lone surrogates are dropped (Python `errors="ignore"`). */
const utf8 = (s: string): Array<number> => {
  const out: Array<number> = []
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    if (cp < 0x80) out.push(cp)
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f))
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f))
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f))
  }
  return out
}

const isHexByte = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66))

const pct = (b: number): string => "%" + b.toString(16).toUpperCase().padStart(2, "0")

/**
 * Percent-encode `value`: bytes in `safe` stay literal, everything else becomes `%XX`. With
 * `requote`, valid escapes already present are kept (hex upper-cased) or decoded when they stand
 * for a safe character that is not `protected`; a `%` without two hex digits becomes `%25`.
 */
const quote = (value: string, safe: ReadonlySet<number>, protectedChars: string, requote: boolean, qs = false): string => {
  const bytes = utf8(value)
  let out = ""
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === 0x25 && requote) {
      if (isHexByte(bytes[i + 1]) && isHexByte(bytes[i + 2])) {
        const code = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16)
        const ch = String.fromCharCode(code)
        if (protectedChars.includes(ch) || !safe.has(code)) out += pct(code)
        else out += ch
        i += 2
      } else {
        out += "%25"
      }
      continue
    }
    out += qs && b === 0x20 ? "+" : safe.has(b) ? String.fromCharCode(b) : pct(b)
  }
  return out
}

/** Canonical form of an already-encoded path. */
/** @internal */
export const requotePath = (path: string): string => quote(path, PATH_SAFE, PATH_PROTECTED, true)

/** Encode a decoded path (a literal `%` becomes `%25`). */
/** @internal */
export const quotePath = (path: string): string => quote(path, PATH_SAFE, PATH_PROTECTED, false)

/** Python `urllib.parse.quote(s, safe="/")` over UTF-8. */
/** @internal */
export const quoteFromBytes = (s: string): string => quote(s, QUOTE_SAFE, "", false)

/** Length of a UTF-8 sequence started by `lead`, or 0 when `lead` cannot start one. */
const seqLength = (lead: number): number =>
  lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0

const validSecond = (lead: number, b: number): boolean => {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f
  return b >= 0x80 && b <= 0xbf
}

/**
 * Decode `%XX` escapes as UTF-8; escapes that do not form valid UTF-8 are kept as written
 * (yarl's `_Unquoter`). `+` stays `+`.
 */
/** @internal */
export const unquote = (value: string): string => {
  let out = ""
  let pending: Array<number> = []
  let pendingText = ""
  const flush = () => {
    out += pendingText
    pending = []
    pendingText = ""
  }
  const feed = (b: number, text: string) => {
    if (pending.length > 0) {
      const lead = pending[0]!
      const ok = pending.length === 1 ? validSecond(lead, b) : b >= 0x80 && b <= 0xbf
      if (ok) {
        pending.push(b)
        pendingText += text
        if (pending.length === seqLength(lead)) {
          out += new TextDecoder().decode(new Uint8Array(pending))
          pending = []
          pendingText = ""
        }
        return
      }
      flush()
    }
    if (b < 0x80) out += String.fromCharCode(b)
    else if (seqLength(b) > 0) {
      pending = [b]
      pendingText = text
    } else out += text
  }
  let i = 0
  while (i < value.length) {
    const c = value[i]!
    if (c === "%" && i + 2 < value.length && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      feed(parseInt(value.slice(i + 1, i + 3), 16), value.slice(i, i + 3))
      i += 3
      continue
    }
    if (pending.length > 0) flush()
    out += c
    i++
  }
  flush()
  return out
}

// ---------------------------------------------------------------------------------------------
// hosts
// ---------------------------------------------------------------------------------------------

const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s)

const isIPv4 = (s: string): boolean => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (m === null) return false
  return m.slice(1).every((o) => (o === "0" || !o.startsWith("0")) && Number(o) <= 255)
}

/** The compressed form of an IPv6 address (lower-case, with brackets), or undefined. */
const ipv6 = (s: string): string | undefined => {
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined
  try {
    const h = new URL(`http://[${s}]/`).hostname
    return h.startsWith("[") ? h : undefined
  } catch {
    return undefined
  }
}

/** yarl's `_encode_host`: IP addresses compressed, names lower-cased and IDNA-encoded. */
/** @internal */
export const encodeHost = (host: string): Either.Either<string, string> => {
  const at = host.indexOf("%")
  const ip = at < 0 ? host : host.slice(0, at)
  const zone = at < 0 ? "" : host.slice(at)
  if (isIPv4(ip)) return Either.right(ip + zone)
  const v6 = ipv6(ip)
  if (v6 !== undefined) return Either.right(zone === "" ? v6 : `${v6.slice(0, -1)}${zone}]`)
  // percent-escapes in a (non-IP) host are kept upper-case, the form a WHATWG URL renders them
  // in, so that normalising twice gives the same host (yarl lower-cases them)
  const lower = host.toLowerCase().replace(/%[0-9a-f]{2}/g, (escape) => escape.toUpperCase())
  if (isAscii(lower)) return Either.right(lower)
  try {
    return Either.right(new URL(`http://${lower}/`).hostname)
  } catch {
    // not a valid domain name: kept as is; a WHATWG URL will refuse it later
    return Either.right(lower)
  }
}

// ---------------------------------------------------------------------------------------------
// parsing
// ---------------------------------------------------------------------------------------------

interface Split {
  readonly scheme: string
  readonly netloc: string
  readonly path: string
  readonly query: string
  readonly fragment: string
}

const partition = (s: string, sep: string): [string, boolean, string] => {
  const i = s.indexOf(sep)
  return i < 0 ? [s, false, ""] : [s.slice(0, i), true, s.slice(i + sep.length)]
}

const rpartition = (s: string, sep: string): [string, boolean, string] => {
  const i = s.lastIndexOf(sep)
  return i < 0 ? ["", false, s] : [s.slice(0, i), true, s.slice(i + sep.length)]
}

/** Python 3.11 `urllib.parse.urlsplit`. */
const urlsplit = (text: string): Either.Either<Split, string> => {
  let url = text.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "")
  let scheme = ""
  let netloc = ""
  let query = ""
  let fragment = ""
  const colon = url.indexOf(":")
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase()
    url = url.slice(colon + 1)
  }
  if (url.startsWith("//")) {
    let delim = url.length
    for (const c of "/?#") {
      const w = url.indexOf(c, 2)
      if (w >= 0) delim = Math.min(delim, w)
    }
    netloc = url.slice(2, delim)
    url = url.slice(delim)
    const open = netloc.includes("[")
    const close = netloc.includes("]")
    if (open !== close) return Either.left("Invalid IPv6 URL")
    if (open) {
      const bracketed = partition(partition(netloc, "[")[2], "]")[0]
      if (ipv6(bracketed.split("%")[0]!) === undefined) return Either.left("Invalid IPv6 URL")
    }
  }
  if (url.includes("#")) [url, , fragment] = partition(url, "#")
  if (url.includes("?")) [url, , query] = partition(url, "?")
  if (netloc !== "" && !isAscii(netloc)) {
    const n = netloc.replace(/[@:#?]/g, "")
    const n2 = n.normalize("NFKC")
    if (n !== n2 && /[/?#@:]/.test(n2)) {
      return Either.left(`netloc '${netloc}' contains invalid characters under NFKC normalization`)
    }
  }
  return Either.right({ scheme, netloc, path: url, query, fragment })
}

/** yarl's `_normalize_path`: drop `.` and `..` segments (never above the root). */
const normalizePath = (path: string): string => {
  const segments = path.split("/")
  const out: Array<string> = []
  for (const seg of segments) {
    if (seg === "..") out.pop()
    else if (seg !== ".") out.push(seg)
  }
  const last = segments[segments.length - 1]
  if (last === "." || last === "..") out.push("")
  return out.join("/")
}

const AUTHORITY_PATH = "Path in a URL with authority should start with a slash ('/') if set"

const makeNetloc = (
  user: string | undefined,
  password: string | undefined,
  host: string,
  port: number | undefined,
  requote: boolean
): Either.Either<{ readonly netloc: string; readonly host: string }, string> =>
  Either.map(encodeHost(host), (encoded) => {
    let ret = encoded
    if (port !== undefined && port !== 0) ret += `:${port}`
    let info = user
    if (password !== undefined) {
      info = (user === undefined || user === "" ? "" : quote(user, USERINFO_SAFE, "", requote)) + ":" +
        quote(password, USERINFO_SAFE, "", requote)
    } else if (user !== undefined && user !== "") info = quote(user, USERINFO_SAFE, "", requote)
    if (info !== undefined && info !== "") ret = `${info}@${ret}`
    return { netloc: ret, host: encoded }
  })

/** The parts of a rebuilt authority, as Python's `SplitResult` reports them. */
const netlocParts = (netloc: string) => {
  const [userinfo, hasInfo, hostinfo] = rpartition(netloc, "@")
  let user: string | undefined
  let password: string | undefined
  if (hasInfo) {
    const [u, hasPassword, p] = partition(userinfo, ":")
    user = u === "" ? undefined : u
    password = hasPassword ? p : undefined
  }
  let port: number | undefined
  const [h, hasBracket, bracketed] = partition(hostinfo, "[")
  const portText = hasBracket ? partition(partition(bracketed, "]")[2], ":")[2] : partition(h, ":")[2]
  if (portText !== "") port = Number(portText) || undefined
  return { user, password, port }
}

/** yarl `URL(text)`. */
/** @internal */
export const parse = (text: string): Either.Either<Yurl, string> =>
  Either.flatMap(urlsplit(text), (sp) => {
    let netloc = ""
    let host: string | undefined
    let hostname = ""
    if (sp.netloc !== "") {
      const [userinfo, hasInfo, hostinfo] = rpartition(sp.netloc, "@")
      const [h, hasBracket, bracketed] = partition(hostinfo, "[")
      let portText: string
      if (hasBracket) {
        const [inner, , after] = partition(bracketed, "]")
        hostname = inner
        portText = partition(after, ":")[2]
      } else {
        const [name, , p] = partition(h, ":")
        hostname = name
        portText = p
      }
      if (hostname === "") return Either.left("Invalid URL: host is required for absolute urls")
      const [name, hasZone, zone] = partition(hostname, "%")
      hostname = name.toLowerCase() + (hasZone ? "%" + zone : "")
      let port: number | undefined
      if (portText !== "") {
        if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) {
          return Either.left("Invalid URL: port can't be converted to integer")
        }
        port = Number(portText)
      }
      let user: string | undefined
      let password: string | undefined
      if (hasInfo) {
        const [u, hasPassword, p] = partition(userinfo, ":")
        user = u
        password = hasPassword ? p : undefined
      }
      const made = makeNetloc(user, password, hostname, port, true)
      if (Either.isLeft(made)) return Either.left(made.left)
      netloc = made.right.netloc
      host = made.right.host
    }
    let path = requotePath(sp.path)
    if (netloc !== "") path = normalizePath(path)
    if (hostname !== "" && path !== "" && !path.startsWith("/")) return Either.left(AUTHORITY_PATH)
    const parts = netlocParts(netloc)
    return Either.right({
      scheme: sp.scheme,
      netloc,
      user: parts.user,
      password: parts.password,
      host,
      port: parts.port,
      path,
      query: quote(sp.query, QUERY_SAFE, "=+&;", true, true),
      fragment: quote(sp.fragment, FRAGMENT_SAFE, "", true)
    })
  })

/** yarl `URL.build(scheme=..., host=..., path=...)` from a decoded path. */
/** @internal */
export const build = (scheme: string, host: string, decodedPath: string): Either.Either<Yurl, string> => {
  let netloc = ""
  let encodedHost: string | undefined
  if (host !== "") {
    const made = makeNetloc(undefined, undefined, host, undefined, false)
    if (Either.isLeft(made)) return Either.left(made.left)
    netloc = made.right.netloc
    encodedHost = made.right.host
  }
  let path = quotePath(decodedPath)
  if (netloc !== "") path = normalizePath(path)
  if (host !== "" && path !== "" && !path.startsWith("/")) return Either.left(AUTHORITY_PATH)
  return Either.right({
    scheme,
    netloc,
    user: undefined,
    password: undefined,
    host: encodedHost,
    port: undefined,
    path,
    query: "",
    fragment: ""
  })
}

// ---------------------------------------------------------------------------------------------
// accessors and rendering
// ---------------------------------------------------------------------------------------------

/** yarl `is_absolute()`: the URI has a host. */
/** @internal */
export const isAbsolute = (u: Yurl): boolean => u.host !== undefined

/** yarl `raw_path`: `/` for a URI with a host and an empty path. */
const rawPath = (u: Yurl): string => (u.path === "" && isAbsolute(u) ? "/" : u.path)

/** yarl `.path`: the decoded path. */
/** @internal */
export const decodedPath = (u: Yurl): string => unquote(rawPath(u))

/** yarl `.parts`: decoded path segments, `"/"` first for an absolute path. */
/** @internal */
export const parts = (u: Yurl): Array<string> => {
  const path = u.path
  let raw: Array<string>
  if (isAbsolute(u)) raw = path === "" ? ["/"] : ["/", ...path.slice(1).split("/")]
  else if (path.startsWith("/")) raw = ["/", ...path.slice(1).split("/")]
  else raw = path.split("/")
  return raw.map(unquote)
}

/** yarl `.port`: the explicit port, else the scheme's default one. */
/** @internal */
export const port = (u: Yurl): number | undefined => u.port ?? DEFAULT_PORTS[u.scheme]

/** A query counts when it holds at least one `name[=value]` item. */
/** @internal */
export const hasQuery = (u: Yurl): boolean => u.query.split("&").some((p) => p !== "")

/**
 * `text` (a rendered yarl URL) as a WHATWG URL, or `undefined` when it cannot be one. The WHATWG
 * parser silently drops leading and trailing spaces and control characters and every tab or new
 * line, which yarl keeps (`storage:// ` has the host " " there): such a text would become another
 * URL, so it is refused rather than changed.
 */
/** @internal */
export const toWhatwg = (text: string): URL | undefined => {
  if (/^[\u0000-\u0020]|[\u0000-\u0020]$|[\t\n\r]/.test(text)) return undefined
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

/** yarl `str(url)`. */
/** @internal */
export const render = (u: Yurl): string => {
  let url = u.path
  if (url === "" && isAbsolute(u) && (u.query !== "" || u.fragment !== "")) url = "/"
  if (u.netloc !== "" || (u.scheme !== "" && USES_NETLOC.has(u.scheme) && url.slice(0, 2) !== "//")) {
    if (url !== "" && !url.startsWith("/")) url = "/" + url
    url = "//" + u.netloc + url
  }
  if (u.scheme !== "") url = u.scheme + ":" + url
  if (u.query !== "") url += "?" + u.query
  if (u.fragment !== "") url += "#" + u.fragment
  return url
}

/** The same URI with another decoded path (yarl `URL.build` with the same scheme and host). */
/** @internal */
export const withDecodedPath = (u: Yurl, decoded: string): Either.Either<Yurl, string> => build(u.scheme, u.host ?? "", decoded)

// ---------------------------------------------------------------------------------------------
// slashes (index scans: `s.replace(/\/+$/, "")` is quadratic in V8 on a long run of `/` that is
// not at the end, and dropping one `/` at a time is quadratic too)
// ---------------------------------------------------------------------------------------------

/** `s` without its trailing run of `/`. */
/** @internal */
export const withoutTrailingSlashes = (s: string): string => {
  let end = s.length
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--
  return s.slice(0, end)
}

/** `s` without its leading run of `/`. */
/** @internal */
export const withoutLeadingSlashes = (s: string): string => {
  let start = 0
  while (start < s.length && s.charCodeAt(start) === 0x2f) start++
  return s.slice(start)
}

// ---------------------------------------------------------------------------------------------
// POSIX paths (Python `PurePosixPath`)
// ---------------------------------------------------------------------------------------------

/** A POSIX path as Python's `PurePosixPath` reads it. */
/** @internal */
export interface PosixPath {
  /** `""` (relative), `"/"` or `"//"` (exactly two leading slashes are kept). */
  readonly root: string
  readonly segments: ReadonlyArray<string>
}

/** @internal */
export const posixPath = (s: string): PosixPath => {
  const root = s.startsWith("/") ? (s.startsWith("//") && !s.startsWith("///") ? "//" : "/") : ""
  return { root, segments: s.split("/").filter((x) => x !== "" && x !== ".") }
}

/** `str(PurePosixPath(...))`. */
/** @internal */
export const posixString = (p: PosixPath): string => p.root + p.segments.join("/") || "."
