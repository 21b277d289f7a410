import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { ServerConfig } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const answering = (body: unknown) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.succeed(
        HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } })
        )
      )
    )
  )

const base = {
  auth_url: "https://auth.example.org/authorize",
  token_url: "https://auth.example.org/oauth/token",
  logout_url: "https://auth.example.org/v2/logout",
  client_id: "cli",
  audience: "https://platform.example.org",
  headless_callback_url: "https://app.example.org/oauth/show-code",
  callback_urls: ["http://127.0.0.1:54540"],
  success_redirect_url: "",
  admin_url: "",
  authorized: true,
  clusters: [{
    name: "default",
    registry_url: "https://registry.example.org",
    storage_url: "https://api.example.org/api/v1/storage",
    users_url: "https://api.example.org/api/v1/users",
    monitoring_url: "https://api.example.org/api/v1/jobs",
    secrets_url: "https://api.example.org/api/v1/secrets",
    disks_url: "https://api.example.org/api/v1/disk",
    buckets_url: "https://api.example.org/api/v1/buckets",
    resource_presets: []
  }]
}

describe("ServerConfig.fetch: URLs are checked when decoded, never later", () => {
  it.effect("a well-formed answer decodes; empty optional URLs are none", () =>
    Effect.gen(function*() {
      const config = yield* ServerConfig.fetch("https://api.example.org/api/v1")
      assert.strictEqual(config.clusters[0]!.secretsUrl, "https://api.example.org/api/v1/secrets")
      assert.strictEqual(config.adminUrl, undefined)
      assert.strictEqual(config.auth.successRedirectUrl, undefined)
    }).pipe(Effect.provide(answering(base))))

  const broken: ReadonlyArray<readonly [string, unknown]> = [
    ["a cluster service URL", { ...base, clusters: [{ ...base.clusters[0], secrets_url: "not a url" }] }],
    ["the token URL", { ...base, token_url: "/oauth/token" }],
    ["a callback URL", { ...base, callback_urls: ["127.0.0.1:54540"] }],
    ["the admin URL", { ...base, admin_url: "admin" }]
  ]
  for (const [what, body] of broken) {
    it.effect(`${what} that is not a URL is a MalformedResponse naming it`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ServerConfig.fetch("https://api.example.org/api/v1"))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, "expected an absolute URL")
      }).pipe(Effect.provide(answering(body))))
  }

  it.effect("an API URL that is not a URL is an InvalidInputError, before any request", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ServerConfig.fetch("api.example.org/api/v1"))
      assert.strictEqual(error._tag, "InvalidInputError")
    }).pipe(Effect.provide(answering(base))))
})
