/**
 * URI helpers of the Storage service, over the `Uri` module's rules.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { InvalidInputError } from "../Errors.js"
import * as UriModule from "../Uri.js"
import { build, quotePath, render, unquote, withoutLeadingSlashes } from "./uri.js"

/** @internal */
export interface Who {
  readonly user: string
  readonly cluster: string
  readonly org: string | null
}

const invalid = (input: string, description: string) => new InvalidInputError({ kind: "uri", input, description })

/** A WHATWG URL of the input (no normalization). */
/** @internal */
export const parseUrl = (input: URL | string): Effect.Effect<URL, InvalidInputError> =>
  input instanceof URL ? Effect.succeed(new URL(input.href)) : Effect.try({
    try: () => new URL(input),
    catch: () => invalid(input, "not a URI")
  })

/** neuro-sdk `normalize_storage_path_uri` for the logged-in user. */
/** @internal */
export const normalizeStorage = (input: URL | string, who: Who): Effect.Effect<URL, InvalidInputError> =>
  UriModule.normalizeStorageUri(input, { username: who.user, clusterName: who.cluster, orgName: who.org })

const toUrl = (cluster: string, decodedPath: string): URL => {
  const built = build("storage", cluster, decodedPath)
  const text = Either.isRight(built) ? render(built.right) : `storage://${cluster}${quotePath(decodedPath)}`
  return new URL(text)
}

/** `storage://cluster/` + the decoded segments, each percent-encoded. */
/** @internal */
export const storageUrl = (cluster: string, segments: ReadonlyArray<string>): URL =>
  toUrl(cluster, "/" + segments.join("/"))

/** Decoded path segments of a normalized storage URI (after the cluster). */
/** @internal */
export const segmentsOf = (url: URL): Array<string> => {
  const s = url.pathname.split("/").map(unquote).slice(1)
  return s.length === 1 && s[0] === "" ? [] : s
}

/** The decoded path from the storage root, with a leading `/` and no trailing `/`. */
/** @internal */
export const rootPath = (url: URL): string => "/" + segmentsOf(url).filter((s, i, a) => s !== "" || i < a.length - 1).join("/")

/** One path segment percent-encoded as yarl's `url / name` does (`:@+=&$,;` kept, `/` as `%2F`). */
/** @internal */
export const encodeSegment = (name: string): string => quotePath(name).replace(/\//g, "%2F")

/** `url` + `/name` (no doubled `/`; `name` is one segment). */
/** @internal */
export const child = (url: URL, name: string): URL => {
  const out = new URL(url.href)
  const base = out.pathname.endsWith("/") ? out.pathname : out.pathname + "/"
  out.pathname = base + encodeSegment(name)
  return out
}

/** The URI of a server path (`/alice/x`) on a cluster. */
/** @internal */
export const fromRootPath = (cluster: string, path: string): URL => toUrl(cluster, "/" + withoutLeadingSlashes(path))

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
