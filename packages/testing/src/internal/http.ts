import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { Identity, PlatformState } from "./state.js"

/** @internal */
export const jsonResponse = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status })

/** @internal */
export const errorResponse = (status: number, error: string, extra: Record<string, unknown> = {}) =>
  HttpServerResponse.unsafeJson({ error, ...extra }, { status })

/** What aiohttp-based platform servers answer when they raise a bare HTTP exception. */
/** @internal */
export const plainError = (status: number, reason: string) => HttpServerResponse.text(`${status}: ${reason}`, { status })

/** @internal */
export const unauthorized = plainError(401, "Unauthorized")

/** A response short-circuiting a handler. */
/** @internal */
export class Reply {
  readonly _tag = "Reply"
  constructor(readonly response: HttpServerResponse.HttpServerResponse) {}
}

/** @internal */
export const reply = (response: HttpServerResponse.HttpServerResponse) => Effect.fail(new Reply(response))

/** Runs a handler whose failures are ready responses. */
/** @internal */
export const handle = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Reply, R>) =>
  Effect.catchTag(effect, "Reply", (r) => Effect.succeed(r.response))

const parsedUrls = new WeakMap<object, { readonly raw: string; readonly url: URL }>()

/**
 * The request's URL (path and query as `new URL` normalises them), parsed once per request
 * however many handlers ask. Read only: the same object is handed to every caller.
 */
/** @internal */
export const requestUrl = (req: HttpServerRequest.HttpServerRequest): URL => {
  const key = typeof req.source === "object" && req.source !== null ? req.source : req
  const cached = parsedUrls.get(key)
  if (cached !== undefined && cached.raw === req.url) return cached.url
  const url = new URL(req.url, "http://local")
  parsedUrls.set(key, { raw: req.url, url })
  return url
}

/** The base URL of the platform as the client reached it (scheme + Host header). */
/** @internal */
export const baseUrl = Effect.map(HttpServerRequest.HttpServerRequest, (req) => {
  const host = req.headers["host"] ?? "127.0.0.1"
  return `http://${host}`
})

/** @internal */
export const authenticate = (state: PlatformState): Effect.Effect<Identity, Reply, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const identity = state.authenticate(req.headers["authorization"])
    return identity === undefined ? reply(unauthorized) : Effect.succeed(identity)
  })

/** @internal */
export const optionalIdentity = (state: PlatformState) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (req) => state.authenticate(req.headers["authorization"]))

/**
 * Guards a `/_local/*` test hook: 404 (as an unknown path) unless the platform was started with
 * test hooks, then the caller's identity.
 */
/** @internal */
export const testHook = (state: PlatformState): Effect.Effect<Identity, Reply, HttpServerRequest.HttpServerRequest> =>
  state.testHooks ? authenticate(state) : reply(plainError(404, "Not Found"))

/**
 * Whether a storage-like path (`/owner/...` or `/org/owner/...`) lies in `user`'s own folder on
 * `cluster`.
 */
/** @internal */
export const ownsPath = (state: PlatformState, cluster: string, user: string, path: string): boolean => {
  const parts = path.split("/").filter((p) => p !== "")
  if (parts.includes("..") || parts.includes(".")) return false
  const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? []
  return parts[0] === user || (parts[0] !== undefined && orgs.includes(parts[0]) && parts[1] === user)
}
