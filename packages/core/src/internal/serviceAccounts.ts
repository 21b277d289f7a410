import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import type * as ServiceAccountsModule from "../ServiceAccounts.js"
import { ServiceAccount } from "./serviceAccountsModels.js"
import { describeParseError } from "./decodeError.js"

const AccountWire = Schema.Struct({
  id: Schema.String,
  owner: Schema.String,
  name: Schema.NullOr(Schema.String),
  default_cluster: Schema.String,
  role: Schema.String,
  created_at: Schema.Date,
  role_deleted: Schema.optionalWith(Schema.Boolean, { nullable: true })
})

const toAccount = (w: typeof AccountWire.Type): ServiceAccount =>
  new ServiceAccount(
    {
      id: w.id,
      name: w.name,
      owner: w.owner,
      defaultCluster: w.default_cluster,
      role: w.role,
      createdAt: w.created_at,
      roleDeleted: w.role_deleted ?? false
    },
    true
  )

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config

  const list: ServiceAccountsModule.ServiceAccounts.Service["list"] = () =>
    api.ndjson(HttpClientRequest.get(api.api("service_accounts")), AccountWire).pipe(
      Stream.map(toAccount),
      Stream.withSpan("ServiceAccounts.list")
    )

  const create: ServiceAccountsModule.ServiceAccounts.Service["create"] = (options = {}) =>
    Effect.gen(function*() {
      const defaultCluster = options.defaultCluster ?? (yield* config.clusterName)
      const request = HttpClientRequest.post(api.api("service_accounts")).pipe(
        HttpClientRequest.bodyUnsafeJson({ name: options.name ?? null, default_cluster: defaultCluster })
      )
      const malformed = (description: string) =>
        new Errors.MalformedResponse({ description, status: 201, method: request.method, url: request.url })
      // the token is taken out before decoding, so that no decoding error can quote it
      const body = yield* api.json(request, Schema.Unknown)
      if (!Predicate.isRecord(body)) return yield* Effect.fail(malformed("expected a JSON object"))
      const { token, ...rest } = body
      if (typeof token !== "string") return yield* Effect.fail(malformed("the answer has no \"token\" string"))
      const redacted = Redacted.make(token)
      const wire = yield* Schema.decodeUnknown(AccountWire, { errors: "all" })(rest).pipe(
        Effect.mapError((e) => malformed(describeParseError(e)))
      )
      return { account: toAccount(wire), token: redacted }
    }).pipe(Effect.withSpan("ServiceAccounts.create"))

  const get: ServiceAccountsModule.ServiceAccounts.Service["get"] = (idOrName) =>
    Effect.map(api.json(HttpClientRequest.get(api.api("service_accounts", idOrName)), AccountWire), toAccount).pipe(
      Effect.withSpan("ServiceAccounts.get")
    )

  const rm: ServiceAccountsModule.ServiceAccounts.Service["rm"] = (idOrName) =>
    api.discard(HttpClientRequest.del(api.api("service_accounts", idOrName))).pipe(Effect.withSpan("ServiceAccounts.rm"))

  const service: ServiceAccountsModule.ServiceAccounts.Service = { list, create, get, rm }
  return service
})
