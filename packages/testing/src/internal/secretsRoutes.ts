/**
 * The secrets service (platform-secrets, 2023) of each cluster, at the cluster's `secrets_url`:
 * same paths, bodies, validation and status codes (protocol/secrets.md §2). Values are kept in
 * `state.secrets` by secret URI so that jobs can resolve them; they are never sent back.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { authenticate, errorResponse, handle, jsonResponse, plainError, reply } from "./http.js"
import type { PlatformState } from "./state.js"

const KEY_PATTERN = /^(?!\.$|\.\.)[a-zA-Z0-9_\-.]+$/
const RESERVED_KEY = "---neuro---"
const MAX_VALUE = 1024 * 1024

const validateKey = (key: unknown): string | undefined => {
  if (typeof key !== "string") return "key: value is not a string"
  if (key.length < 1 || key.length > 253) return "key: string length must be between 1 and 253"
  if (!KEY_PATTERN.test(key)) return `key: does not match pattern ${KEY_PATTERN.source}`
  if (key.toLowerCase() === RESERVED_KEY) return `key: Illegal key '${key}'`
  return undefined
}

const decodeBase64 = (value: string): Uint8Array | undefined => {
  const compact = value.replace(/\s+/g, "")
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined
  return new Uint8Array(Buffer.from(compact, "base64"))
}

/** The parts of a secret URI `secret://{cluster}/[{org}/]{owner...}/{key}` stored in `state.secrets`. */
/** @internal */
export const parseSecretUri = (
  state: PlatformState,
  uri: string
): { readonly cluster: string; readonly org: string | null; readonly owner: string; readonly key: string } | undefined => {
  const m = /^secret:\/\/([^/]+)\/(.+)$/.exec(uri)
  if (m === null) return undefined
  const cluster = m[1]!
  let parts = m[2]!.split("/")
  let org: string | null = null
  const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? [null]
  if (parts.length >= 3 && orgs.includes(parts[0]!)) {
    org = parts[0]!
    parts = parts.slice(1)
  }
  if (parts.length < 2) return undefined
  return { cluster, org, owner: parts.slice(0, -1).join("/"), key: parts[parts.length - 1]! }
}

/** @internal */
export const secretUri = (cluster: string, org: string | null, owner: string, key: string) =>
  `secret://${cluster}/${org === null ? "" : org + "/"}${owner}/${key}`

/** @internal */
export const secretsRoutes = (state: PlatformState) => {
  const clusterOf = (req: HttpServerRequest.HttpServerRequest) => {
    const m = /^\/api\/v1\/clusters\/([^/]+)\/secrets(?:\/([^/]*))?\/?$/.exec(new URL(req.url, "http://local").pathname)
    if (m === null) return reply(plainError(404, "Not Found"))
    const cluster = decodeURIComponent(m[1]!)
    if (!state.clusters.some((c) => c.name === cluster)) return reply(plainError(404, "Not Found"))
    return Effect.succeed({ cluster, key: m[2] === undefined ? undefined : decodeURIComponent(m[2]) })
  }

  /** `write` on the caller's secrets of an org (neuro-auth-client's `check_permissions` answer). */
  const requireWrite = (user: string, cluster: string, org: string | null) => {
    const uri = `secret://${cluster}/${org === null ? "" : org + "/"}${user}`
    return state.acl.can(user, uri, "write")
      ? Effect.void
      : reply(HttpServerResponse.unsafeJson({ missing: [{ uri, action: "write" }] }, { status: 403 }))
  }

  const add = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const body = yield* Effect.catchAll(req.json, () => reply(errorResponse(400, "Expecting value: line 1 column 1 (char 0)")))
    if (typeof body !== "object" || body === null || Array.isArray(body)) return yield* reply(errorResponse(400, "value is not a dict"))
    const { key, value, org_name } = body as { key?: unknown; value?: unknown; org_name?: unknown }
    if (key === undefined) return yield* reply(errorResponse(400, "{'key': 'is required'}"))
    if (value === undefined) return yield* reply(errorResponse(400, "{'value': 'is required'}"))
    const keyError = validateKey(key)
    if (keyError !== undefined) return yield* reply(errorResponse(400, keyError))
    if (typeof value !== "string" || value.length > MAX_VALUE) {
      return yield* reply(errorResponse(400, "value: must be a string of at most 1048576 characters"))
    }
    const bytes = decodeBase64(value)
    if (bytes === undefined) return yield* reply(errorResponse(400, "value: Incorrect padding or not base64"))
    if (org_name !== undefined && org_name !== null && (typeof org_name !== "string" || org_name.length < 1 || org_name.length > 253)) {
      return yield* reply(errorResponse(400, "org_name: must be null or a string of 1 to 253 characters"))
    }
    const org = typeof org_name === "string" ? org_name : null
    yield* requireWrite(identity.user, cluster, org)
    const uri = secretUri(cluster, org, identity.user, key as string)
    state.secrets.set(uri, bytes)
    return jsonResponse({ key, owner: identity.user, org_name: org }, 201)
  }).pipe(handle)

  const list = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const out: Array<{ key: string; owner: string; org_name: string | null }> = []
    for (const uri of state.secrets.keys()) {
      const s = parseSecretUri(state, uri)
      if (s === undefined || s.cluster !== cluster || !state.acl.can(identity.user, uri, "read")) continue
      out.push({ key: s.key, owner: s.owner, org_name: s.org })
    }
    return jsonResponse(out)
  }).pipe(handle)

  const remove = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster, key } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const orgParam = new URL(req.url, "http://local").searchParams.get("org_name")
    const org = orgParam === null || orgParam === "" ? null : orgParam
    yield* requireWrite(identity.user, cluster, org)
    const keyError = validateKey(key ?? "")
    if (keyError !== undefined) return yield* reply(errorResponse(400, keyError))
    const uri = secretUri(cluster, org, identity.user, key!)
    if (!state.secrets.delete(uri)) return yield* reply(errorResponse(404, `Secret '${key}' not found`))
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.post("/api/v1/clusters/:cluster/secrets", add),
    HttpRouter.get("/api/v1/clusters/:cluster/secrets", list),
    HttpRouter.del("/api/v1/clusters/:cluster/secrets/*", remove)
  )
}
