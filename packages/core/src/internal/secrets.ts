import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import type * as SecretsModule from "../Secrets.js"
import { Secret } from "./secretsModels.js"

const SecretWire = Schema.Struct({
  key: Schema.String,
  owner: Schema.String,
  org_name: Schema.optional(Schema.NullOr(Schema.String))
})

/** Standard base64 (with padding) of raw bytes. */
/** @internal */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

const valueBytes = (value: Redacted.Redacted<Uint8Array> | Redacted.Redacted<string>): Uint8Array => {
  const v: Uint8Array | string = Redacted.value<Uint8Array | string>(value)
  return typeof v === "string" ? new TextEncoder().encode(v) : v
}

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config

  const orgOf = (options: SecretsModule.SecretOptions | undefined) =>
    options?.orgName !== undefined ? Effect.succeed(options.orgName) : config.orgName

  const list: SecretsModule.Secrets.Service["list"] = (options) =>
    Stream.unwrap(Effect.gen(function*() {
      const url = yield* api.service("secrets", { clusterName: options?.clusterName })
      const clusterName = options?.clusterName ?? (yield* config.clusterName)
      // an org asked for goes as `org_name` (`NO_ORG` for none), as later neuro-sdk versions send it;
      // the 2023 server ignores it and answers every org, so the answer is filtered here as well
      const org = options?.orgName
      const request = HttpClientRequest.get(url).pipe(
        HttpClientRequest.setUrlParams(org !== undefined ? { org_name: org ?? "NO_ORG" } : {})
      )
      const items = yield* api.json(request, Schema.Array(SecretWire))
      return Stream.fromIterable(items).pipe(
        Stream.filter((s) => org === undefined || (s.org_name ?? null) === org),
        Stream.map((s) => new Secret({ key: s.key, owner: s.owner, clusterName, orgName: s.org_name ?? null }, true))
      )
    })).pipe(Stream.withSpan("Secrets.list"))

  const add: SecretsModule.Secrets.Service["add"] = (key, value, options) =>
    Effect.gen(function*() {
      const url = yield* api.service("secrets", { clusterName: options?.clusterName })
      const orgName = yield* orgOf(options)
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.bodyUnsafeJson({ key, value: toBase64(valueBytes(value)), org_name: orgName })
      )
      yield* api.discard(request)
    }).pipe(Effect.withSpan("Secrets.add"))

  const rm: SecretsModule.Secrets.Service["rm"] = (key, options) =>
    Effect.gen(function*() {
      const url = yield* api.service("secrets", { clusterName: options?.clusterName }, key)
      const orgName = yield* orgOf(options)
      const request = HttpClientRequest.del(url).pipe(HttpClientRequest.setUrlParams(orgName ? { org_name: orgName } : {}))
      yield* api.discard(request)
    }).pipe(Effect.withSpan("Secrets.rm"))

  const service: SecretsModule.Secrets.Service = { list, add, rm }
  return service
})
