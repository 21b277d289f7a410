import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import * as Uri from "../Uri.js"
import type * as UsersModule from "../Users.js"
import { ActionSchema, Permission, Share } from "./usersModels.js"

const PermissionWire = Schema.Struct({ uri: Schema.URL, action: ActionSchema })
const ShareWire = Schema.Struct({ user: Schema.String, uri: Schema.URL, action: ActionSchema })
const SubrolesWire = Schema.Struct({ subroles: Schema.Array(Schema.String) })

const invalid = (kind: string, input: string, description: string) => new Errors.InvalidInputError({ kind, input, description })

const unexpected = (response: HttpClientResponse.HttpClientResponse, description: string) =>
  new Errors.ClientError({ description, status: response.status, method: response.request.method, url: response.request.url })

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config

  const who = Effect.all({ user: config.username, cluster: config.clusterName, org: config.orgName })

  const userUrl = (user: string, ...segments: ReadonlyArray<string>) =>
    user.includes(":")
      ? Effect.fail(invalid("user", user, `Invalid name: '${user}'`))
      : Effect.succeed(api.api("users", user.replaceAll("/", ":"), ...segments))

  const filterParam = (
    filter: string | UsersModule.AclFilter | undefined
  ): Effect.Effect<Record<string, string>, Errors.InvalidInputError> => {
    const f: UsersModule.AclFilter = typeof filter === "string" ? { scheme: filter } : filter ?? {}
    if (f.scheme !== undefined && f.scheme !== "") {
      if (f.uri !== undefined) return Effect.fail(invalid("option", f.scheme, "Conflicting arguments 'uri' and 'scheme'"))
      if (!/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(f.scheme)) return Effect.fail(invalid("option", f.scheme, "not a URI scheme"))
      return Effect.succeed({ uri: `${f.scheme}:` })
    }
    return Effect.succeed(f.uri === undefined ? {} : { uri: String(f.uri) })
  }

  const normalize = (uri: URL | string) =>
    Effect.flatMap(who, (w) => Uri.normalizeUri(uri, { username: w.user, clusterName: w.cluster, orgName: w.org }))

  const getAcl: UsersModule.Users.Service["getAcl"] = (user, filter) =>
    Effect.gen(function*() {
      const url = yield* userUrl(user, "permissions")
      const params = yield* filterParam(filter)
      const items = yield* api.json(
        HttpClientRequest.get(url).pipe(HttpClientRequest.setUrlParams(params)),
        Schema.Array(PermissionWire)
      )
      return items.map((p) => new Permission({ uri: p.uri, action: p.action }, true))
    }).pipe(Effect.withSpan("Users.getAcl"))

  const getShares: UsersModule.Users.Service["getShares"] = (user, filter) =>
    Effect.gen(function*() {
      const url = yield* userUrl(user, "permissions", "shared")
      const params = yield* filterParam(filter)
      const items = yield* api.json(HttpClientRequest.get(url).pipe(HttpClientRequest.setUrlParams(params)), Schema.Array(ShareWire))
      return items.map((s) => new Share({ user: s.user, permission: new Permission({ uri: s.uri, action: s.action }, true) }, true))
    }).pipe(Effect.withSpan("Users.getShares"))

  const getSubroles: UsersModule.Users.Service["getSubroles"] = (user) =>
    Effect.gen(function*() {
      const url = yield* userUrl(user, "subroles")
      const body = yield* api.json(HttpClientRequest.get(url), SubrolesWire)
      return body.subroles
    }).pipe(Effect.withSpan("Users.getSubroles"))

  const share: UsersModule.Users.Service["share"] = (user, permission) =>
    Effect.gen(function*() {
      const url = yield* userUrl(user, "permissions")
      const uri = yield* normalize(permission.uri)
      const action = yield* Schema.decodeUnknown(ActionSchema)(permission.action).pipe(
        Effect.mapError(() => invalid("option", String(permission.action), "the action must be read, write or manage"))
      )
      const response = yield* api.execute(
        HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson([{ uri: uri.href, action }]))
      )
      if (response.status !== 201) {
        yield* Effect.ignore(response.text)
        return yield* Effect.fail(unexpected(response, "Server return unexpected result."))
      }
      const items = yield* api.decode(response, Schema.NonEmptyArray(PermissionWire))
      return new Permission({ uri: items[0].uri, action: items[0].action }, true)
    }).pipe(Effect.withSpan("Users.share"))

  const expectStatus = (request: HttpClientRequest.HttpClientRequest, status: number) =>
    Effect.flatMap(api.execute(request), (response) =>
      Effect.zipRight(
        Effect.ignore(response.text),
        response.status === status
          ? Effect.void
          : Effect.fail(unexpected(response, `Server return unexpected result: ${response.status}.`))
      ))

  const revoke: UsersModule.Users.Service["revoke"] = (user, uri) =>
    Effect.gen(function*() {
      const url = yield* userUrl(user, "permissions")
      const normalized = yield* normalize(uri)
      yield* expectStatus(HttpClientRequest.del(url).pipe(HttpClientRequest.setUrlParams({ uri: normalized.href })), 204)
    }).pipe(Effect.withSpan("Users.revoke"))

  const add: UsersModule.Users.Service["add"] = (roleName) =>
    expectStatus(HttpClientRequest.post(api.api("users")).pipe(HttpClientRequest.bodyUnsafeJson({ name: roleName })), 201).pipe(
      Effect.withSpan("Users.add")
    )

  const remove: UsersModule.Users.Service["remove"] = (roleName) =>
    Effect.flatMap(userUrl(roleName), (url) => expectStatus(HttpClientRequest.del(url), 204)).pipe(Effect.withSpan("Users.remove"))

  const service: UsersModule.Users.Service = { getAcl, getShares, getSubroles, share, revoke, add, remove }
  return service
})
