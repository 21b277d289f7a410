/**
 * The permissions part of the platform's auth service (platform-auth), on `{api_url}/users`
 * where neuro-sdk 23.2 sends it: ACL listings, shares, revokes, sub-roles and roles
 * (protocol/users-acl.md §2, §4).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { type Action, canonical, covers, isAction, maxAction } from "./acl.js"
import { authenticate, errorResponse, handle, jsonResponse, plainError, reply } from "./http.js"
import type { PlatformState } from "./state.js"

/** Resource schemes a user owns a tree of on every cluster (and org). */
const OWNED_SCHEMES = ["storage", "image", "job", "secret", "disk", "blob"] as const

interface Entry {
  readonly uri: string
  readonly action: Action
}

const PREFIX = "/api/v1/users"

/** The user or role named in the path (`alice:roles:team` → `alice/roles/team`). */
const nameAt = (pathname: string, suffix: string): string | undefined => {
  if (!pathname.startsWith(PREFIX + "/") || !pathname.endsWith(suffix)) return undefined
  const raw = pathname.slice(PREFIX.length + 1, pathname.length - suffix.length)
  if (raw === "" || raw.includes("/")) return undefined
  try {
    return decodeURIComponent(raw).replaceAll(":", "/")
  } catch {
    return undefined
  }
}

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.test(s)

const readJson = Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) =>
  Effect.catchAll(req.json, () => reply(errorResponse(400, "Expecting value: the body is not valid JSON"))))

/** @internal */
export const usersRoutes = (state: PlatformState) => {
  const known = (name: string) => state.users.has(name) || state.roles.has(name)

  const requireKnown = (name: string) => (known(name) ? Effect.void : reply(errorResponse(404, `user "${name}" was not found`)))

  /** Whether `caller` may read the permissions of `name`: itself, its sub-roles, or a role it may read. */
  const requireView = (caller: string, name: string) =>
    caller === name || name.startsWith(caller + "/") || state.acl.can(caller, `role://${name}`, "read")
      ? Effect.void
      : reply(errorResponse(403, `${caller} may not read the permissions of ${name}`))

  const requireManage = (caller: string, uri: string) =>
    state.acl.can(caller, uri, "manage")
      ? Effect.void
      : reply(errorResponse(403, `Permission denied: manage on ${uri}`, { missing: [{ uri, action: "manage" }] }))

  /** Everything `name` may do: its own trees, its grants, and those of the roles it is a member of. */
  const aclOf = (name: string): Array<Entry> => {
    const out = new Map<string, Entry>()
    const add = (uri: string, action: Action) => {
      const key = canonical(uri)
      const prev = out.get(key)
      out.set(key, { uri: prev?.uri ?? uri, action: maxAction(prev?.action, action)! })
    }
    if (!name.includes("/")) {
      for (const cluster of state.clusters) {
        for (const org of cluster.orgs ?? [null]) {
          for (const scheme of OWNED_SCHEMES) add(`${scheme}://${cluster.name}/${org === null ? "" : org + "/"}${name}`, "manage")
        }
      }
      add(`role://${name}`, "manage")
    }
    add(`user://${name}`, "read")
    for (const role of [name, ...state.acl.memberships(name)]) {
      for (const g of state.acl.grants.get(role) ?? []) add(g.uri, g.action)
    }
    return [...out.values()]
  }

  /** Entries matching a `uri` filter: a bare scheme (`storage:`), or at or below a URI. */
  const filtered = <A extends Entry>(items: ReadonlyArray<A>, filter: string | null): Array<A> => {
    if (filter === null) return [...items]
    const scheme = /^([a-z][a-z0-9+.-]*):\/{0,2}$/i.exec(filter)
    if (scheme !== null) return items.filter((i) => i.uri.toLowerCase().startsWith(scheme[1]!.toLowerCase() + ":"))
    return items.filter((i) => covers(filter, i.uri))
  }

  const uriFilter = Effect.map(HttpServerRequest.HttpServerRequest, (req) => new URL(req.url, "http://local").searchParams.get("uri"))

  const getAcl = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "/permissions")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    yield* requireKnown(name)
    yield* requireView(identity.user, name)
    const filter = yield* uriFilter
    const all = aclOf(name)
    const items = filtered(all, filter)
    if (filter !== null && isUri(filter) && !items.some((i) => canonical(i.uri) === canonical(filter))) {
      const inherited = state.acl.actionOn(name, filter)
      if (inherited !== undefined) items.unshift({ uri: filter.replace(/\/+$/, ""), action: inherited })
    }
    return jsonResponse(items.map((i) => ({ uri: i.uri, action: i.action })))
  }).pipe(handle)

  const getShares = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "/permissions/shared")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    yield* requireKnown(name)
    yield* requireView(identity.user, name)
    const shares: Array<Entry & { readonly user: string }> = []
    for (const [holder, grants] of state.acl.grants) {
      if (holder === name) continue
      for (const g of grants) if (state.acl.owns(name, g.uri)) shares.push({ user: holder, uri: g.uri, action: g.action })
    }
    return jsonResponse(filtered(shares, yield* uriFilter).map((s) => ({ user: s.user, uri: s.uri, action: s.action })))
  }).pipe(handle)

  const getSubroles = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "/subroles")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    yield* requireKnown(name)
    yield* requireView(identity.user, name)
    return jsonResponse({ subroles: [...state.roles].filter((r) => r.startsWith(name + "/")).sort() })
  }).pipe(handle)

  const share = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "/permissions")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    const body = yield* readJson
    if (!Array.isArray(body) || body.length === 0) {
      return yield* reply(errorResponse(400, "expected a non-empty list of {\"uri\", \"action\"}"))
    }
    const wanted: Array<Entry> = []
    for (const item of body as ReadonlyArray<unknown>) {
      const { uri, action } = (typeof item === "object" && item !== null ? item : {}) as { uri?: unknown; action?: unknown }
      if (typeof uri !== "string" || !isUri(uri)) return yield* reply(errorResponse(400, `Invalid permission URI: ${JSON.stringify(uri)}`))
      if (typeof action !== "string" || !isAction(action)) {
        return yield* reply(errorResponse(400, `Invalid action: ${JSON.stringify(action)}`))
      }
      wanted.push({ uri: uri.replace(/\/+$/, ""), action })
    }
    yield* requireKnown(name)
    for (const w of wanted) yield* requireManage(identity.user, w.uri)
    const result = wanted.map((w) => {
      state.acl.grant(name, w.uri, maxAction(state.acl.grantOn(name, w.uri)?.action, w.action)!)
      return { uri: w.uri, action: state.acl.actionOn(name, w.uri) ?? w.action }
    })
    return jsonResponse(result, 201)
  }).pipe(handle)

  const revoke = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "/permissions")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    const uri = yield* uriFilter
    if (uri === null || !isUri(uri)) return yield* reply(errorResponse(400, "a \"uri\" query parameter is required"))
    yield* requireKnown(name)
    yield* requireManage(identity.user, uri)
    if (!state.acl.revoke(name, uri)) return yield* reply(errorResponse(400, "Operation has no effect"))
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  const addRole = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    const body = yield* readJson
    const name = typeof body === "object" && body !== null ? (body as { name?: unknown }).name : undefined
    if (typeof name !== "string" || !/^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)+$/i.test(name)) {
      return yield* reply(errorResponse(400, `Invalid role name: ${JSON.stringify(name)}`))
    }
    if (!name.startsWith(identity.user + "/")) return yield* reply(errorResponse(403, `${identity.user} may not create ${name}`))
    if (known(name)) return yield* reply(errorResponse(409, `user "${name}" already exists`))
    state.roles.add(name)
    return jsonResponse({ name }, 201)
  }).pipe(handle)

  const removeRole = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const name = nameAt(new URL(req.url, "http://local").pathname, "")
    if (name === undefined) return yield* reply(errorResponse(400, "Invalid user name"))
    yield* requireKnown(name)
    if (!state.roles.has(name) || !name.startsWith(identity.user + "/")) {
      return yield* reply(errorResponse(403, `${identity.user} may not remove ${name}`))
    }
    for (const role of [...state.roles]) {
      if (role === name || role.startsWith(name + "/")) {
        state.roles.delete(role)
        state.acl.removeRole(role)
      }
    }
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  /** Role names can be longer than a router parameter may be: dispatch on the path here. */
  const dispatch = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const path = new URL(req.url, "http://local").pathname
    const method = req.method.toUpperCase()
    if (path.endsWith("/permissions/shared")) {
      if (method === "GET") return yield* getShares
    } else if (path.endsWith("/permissions")) {
      if (method === "GET") return yield* getAcl
      if (method === "POST") return yield* share
      if (method === "DELETE") return yield* revoke
    } else if (path.endsWith("/subroles")) {
      if (method === "GET") return yield* getSubroles
    } else if (nameAt(path, "") !== undefined) {
      if (method === "DELETE") return yield* removeRole
      return plainError(405, "Method Not Allowed")
    } else {
      return plainError(404, "Not Found")
    }
    return plainError(405, "Method Not Allowed")
  })

  return HttpRouter.empty.pipe(
    HttpRouter.post(PREFIX, addRole),
    HttpRouter.all(`${PREFIX}/*`, dispatch)
  )
}
