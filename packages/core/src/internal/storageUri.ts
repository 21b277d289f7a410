import * as Effect from "effect/Effect"
import { InvalidInputError } from "../Errors.js"

/** @internal */
export interface Who {
  readonly user: string
  readonly cluster: string
  readonly org: string | null
}

const invalid = (input: string, description: string) => new InvalidInputError({ kind: "uri", input, description })

/** @internal */
export const parseUrl = (input: URL | string): Effect.Effect<URL, InvalidInputError> =>
  input instanceof URL ? Effect.succeed(new URL(input.href)) : Effect.try({
    try: () => new URL(input),
    catch: () => invalid(input, "not a URI")
  })

const decodeSegments = (pathname: string): Array<string> =>
  pathname.split("/").map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  })

// keep RFC 3986 pchar characters unescaped like yarl does
const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(/%(2[146789ABC]|3[ABD]|40|24|26)/gi, (m) => decodeURIComponent(m))

/** Remove `.` and `..` segments (never above the root); a trailing `/` is kept. */
const removeDots = (segments: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  segments.forEach((s, i) => {
    const last = i === segments.length - 1
    if (s === ".") {
      if (last) out.push("")
    } else if (s === "..") {
      out.pop()
      if (last) out.push("")
    } else out.push(s)
  })
  return out
}

/** `storage://cluster/` + the decoded segments, each percent-encoded. */
/** @internal */
export const storageUrl = (cluster: string, segments: ReadonlyArray<string>): URL =>
  new URL(`storage://${cluster}/${segments.map(encodeSegment).join("/")}`)

/**
 * neuro-sdk's `normalize_storage_path_uri`: `storage:path` is under the user's home,
 * `storage:/path` under the cluster root, a URI with a host is kept; the org is prefixed.
 */
/** @internal */
export const normalizeStorage = (input: URL | string, who: Who): Effect.Effect<URL, InvalidInputError> =>
  Effect.flatMap(parseUrl(input), (url) => {
    const text = String(input)
    if (url.protocol !== "storage:") {
      return Effect.fail(invalid(text, `Invalid storage scheme '${url.protocol}' (only 'storage:' is allowed)`))
    }
    if (url.host !== "") {
      if (url.host.startsWith("~")) return Effect.fail(invalid(text, `Cannot expand user for ${text}`))
      return Effect.succeed(storageUrl(url.host, removeDots(decodeSegments(url.pathname).slice(1))))
    }
    const decoded = decodeSegments(url.pathname)
    const path = decoded.join("/")
    if (path.replace(/^\/+/, "").startsWith("~")) return Effect.fail(invalid(text, `Cannot expand user for ${text}`))
    let segments: Array<string>
    if (path.startsWith("/")) {
      segments = path.replace(/^\/+/, "").split("/")
      if (segments.length === 1 && segments[0] === "") segments = []
    } else {
      segments = path === "" ? [who.user] : [who.user, ...path.split("/")]
    }
    if (who.org !== null) segments = [who.org, ...segments]
    return Effect.succeed(storageUrl(who.cluster, removeDots(segments)))
  })

/** Decoded path segments of a normalized storage URI (after the cluster). */
/** @internal */
export const segmentsOf = (url: URL): Array<string> => {
  const s = decodeSegments(url.pathname).slice(1)
  return s.length === 1 && s[0] === "" ? [] : s
}

/** The decoded path from the storage root, with a leading `/` and no trailing `/`. */
/** @internal */
export const rootPath = (url: URL): string => "/" + segmentsOf(url).filter((s, i, a) => s !== "" || i < a.length - 1).join("/")

/** `url` + `/name` (no doubled `/`). */
/** @internal */
export const child = (url: URL, name: string): URL => {
  const out = new URL(url.href)
  const base = out.pathname.endsWith("/") ? out.pathname : out.pathname + "/"
  out.pathname = base + encodeSegment(name)
  return out
}

/** The URI of a server path (`/alice/x`) on a cluster. */
/** @internal */
export const fromRootPath = (cluster: string, path: string): URL => storageUrl(cluster, path.replace(/^\/+/, "").split("/"))

/** A name from the server that is safe to use as one local path component. */
/** @internal */
export const isSafeName = (name: string): boolean =>
  name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\\") && !name.includes("\0")

/** `url` with another (already encoded) path; works for opaque-path URIs such as `storage:dir`. */
/** @internal */
export const withPath = (url: URL, pathname: string): URL => {
  const authority = url.href.startsWith(url.protocol + "//") ? "//" + url.host : ""
  const p = authority !== "" && pathname !== "" && !pathname.startsWith("/") ? "/" + pathname : pathname
  return new URL(url.protocol + authority + p)
}
