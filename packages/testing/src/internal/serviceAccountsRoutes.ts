/**
 * The service-accounts service (platform-service-accounts-api, Feb 2023) at
 * `{api_url}/service_accounts` (protocol/service-accounts.md §2). Creating an account creates
 * its role (`{owner}/service-accounts/{name}`) and a token for it; deleting the account removes
 * the role, so the token stops working.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { randomBytes, randomUUID } from "node:crypto"
import { authenticate, baseUrl, errorResponse, handle, jsonResponse, reply } from "./http.js"
import type { PlatformState } from "./state.js"

const NAME_PATTERN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/

const PREFIX = "/api/v1/service_accounts"

interface Account {
  readonly id: string
  readonly owner: string
  readonly name: string | null
  readonly role: string
  readonly defaultCluster: string
  readonly createdAt: Date
}

const accountsByState = new WeakMap<PlatformState, Map<string, Account>>()

const iso = (d: Date) => d.toISOString().replace(/Z$/, "+00:00")

const accountJson = (a: Account, roleDeleted: boolean) => ({
  id: a.id,
  owner: a.owner,
  name: a.name,
  role: a.role,
  default_cluster: a.defaultCluster,
  created_at: iso(a.createdAt),
  role_deleted: roleDeleted
})

/** @internal */
export const serviceAccountsRoutes = (state: PlatformState) => {
  const accounts = accountsByState.get(state) ?? new Map<string, Account>()
  accountsByState.set(state, accounts)

  const json = (a: Account) => accountJson(a, !state.roles.has(a.role))

  /** By id, then by name among the caller's accounts; someone else's account is "not found". */
  const resolve = (caller: string) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
      const raw = new URL(req.url, "http://local").pathname.slice(PREFIX.length + 1)
      let idOrName: string
      try {
        idOrName = decodeURIComponent(raw)
      } catch {
        idOrName = raw
      }
      let found = accounts.get(idOrName)
      if (found === undefined) {
        for (const a of accounts.values()) if (a.owner === caller && a.name === idOrName) found = a
      }
      return found === undefined || found.owner !== caller
        ? reply(HttpServerResponse.text(`Service account ${idOrName} not found`, { status: 404 }))
        : Effect.succeed(found)
    })

  const list = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const mine = [...accounts.values()].filter((a) => a.owner === identity.user).map(json)
    if ((req.headers["accept"] ?? "").includes("application/x-ndjson")) {
      return HttpServerResponse.text(mine.map((a) => JSON.stringify(a) + "\n").join(""), { contentType: "application/x-ndjson" })
    }
    return jsonResponse(mine)
  }).pipe(handle)

  const create = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const body = yield* Effect.catchAll(req.json, () => reply(errorResponse(400, "Invalid JSON body")))
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return yield* reply(errorResponse(400, "{'_schema': ['Invalid input type.']}"))
    }
    const { name, default_cluster } = body as Record<string, unknown>
    if (name !== undefined && name !== null && (typeof name !== "string" || !NAME_PATTERN.test(name))) {
      return yield* reply(errorResponse(400, "{'name': ['Invalid service account name']}"))
    }
    if (typeof default_cluster !== "string") {
      return yield* reply(errorResponse(400, "{'default_cluster': ['Missing data for required field.']}"))
    }
    const accountName = typeof name === "string" ? name : null
    if (accountName !== null && [...accounts.values()].some((a) => a.owner === identity.user && a.name === accountName)) {
      return yield* reply(
        HttpServerResponse.unsafeJson({ code: "unique", description: "Service Account with such name exists" }, { status: 409 })
      )
    }
    const role = `${identity.user}/service-accounts/${accountName ?? randomBytes(8).toString("hex")}`
    const account: Account = {
      id: `service-account-${randomUUID()}`,
      owner: identity.user,
      name: accountName,
      role,
      defaultCluster: default_cluster,
      createdAt: new Date()
    }
    accounts.set(account.id, account)
    state.roles.add(role)
    const base = yield* baseUrl
    const passed = { token: state.issueToken(role), cluster: default_cluster, url: `${base}/api/v1` }
    const token = Buffer.from(JSON.stringify(passed), "utf8").toString("base64")
    return jsonResponse({ ...json(account), token }, 201)
  }).pipe(handle)

  const get = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    return jsonResponse(json(yield* resolve(identity.user)))
  }).pipe(handle)

  const remove = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    const account = yield* resolve(identity.user)
    for (const role of [...state.roles]) {
      if (role === account.role || role.startsWith(account.role + "/")) {
        state.roles.delete(role)
        state.acl.removeRole(role)
      }
    }
    accounts.delete(account.id)
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.get(PREFIX, list),
    HttpRouter.post(PREFIX, create),
    HttpRouter.get(`${PREFIX}/*`, get),
    HttpRouter.del(`${PREFIX}/*`, remove)
  )
}
