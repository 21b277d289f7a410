/**
 * A fake platform for the unit tests of Users, Secrets, Disks and ServiceAccounts: every request
 * is recorded (method, URL, body) and answered by a handler; `Config` is a fixed stub.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { ApiClient, AuthToken, Config, Disks, Endpoints, Secrets, ServerConfig, ServiceAccounts, Users, WebSocket } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { makeConfigStub } from "./configStub.js"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

export const API = "https://api.example.org/api/v1"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

export type Handler = (request: Recorded) => Response

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

export const empty = (status: number) => new Response(null, { status })

const cluster = (name: string) =>
  new ServerConfig.Cluster({
    name,
    orgs: [null],
    registryUrl: `https://registry.${name}.example.org`,
    storageUrl: `https://${name}.example.org/api/v1/storage`,
    usersUrl: `https://${name}.example.org/api/v1/users`,
    monitoringUrl: `https://${name}.example.org/api/v1/jobs`,
    secretsUrl: `https://${name}.example.org/api/v1/secrets`,
    disksUrl: `https://${name}.example.org/api/v1/disk`,
    bucketsUrl: `https://${name}.example.org/api/v1/buckets`,
    presets: new Map()
  })

export const clusters = [cluster("c1"), cluster("c2")]

export const configStub = (who: { readonly username: string; readonly orgName: string | null }) =>
  makeConfigStub({ apiUrl: API, clusters, username: who.username, orgName: who.orgName })

/** The four services over a fake transport; `requests` collects what was sent. */
export const fakePlatform = (
  handler: Handler,
  who: { readonly username?: string; readonly orgName?: string | null } = {}
) => {
  const requests: Array<Recorded> = []
  const http = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const recorded: Recorded = { method: request.method, url, body, headers: request.headers }
      requests.push(recorded)
      return HttpClientResponse.fromWeb(request, handler(recorded))
    })
  )
  const infra = Layer.mergeAll(
    Layer.succeed(HttpClient.HttpClient, http),
    AuthToken.layerStatic(Redacted.make("token")),
    Endpoints.layer({ apiUrl: API, clusters, clusterName: "c1" }),
    Layer.succeed(
      WebSocket.WebSocketDialer,
      WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
    )
  )
  const config = Layer.succeed(Config.Config, configStub({ username: who.username ?? "alice", orgName: who.orgName ?? null }))
  const api = ApiClient.layer({ retry: false }).pipe(Layer.provide(infra))
  const services = Layer.mergeAll(Users.layer, Secrets.layer, Disks.layer, ServiceAccounts.layer).pipe(
    Layer.provide(Layer.merge(api, config))
  )
  return { requests, layer: services }
}
