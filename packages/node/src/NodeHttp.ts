/**
 * Node transport layers: `HttpClient` (HTTP/1.1 over keep-alive `node:net`/`node:tls` connections), and the `ws` websocket
 * dialer.
 *
 * @since 1.0.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Http from "node:http"
import type * as Https from "node:https"
import { once } from "./internal/lazy.js"
import * as NodeWebSocket from "./NodeWebSocket.js"

// @effect/platform-node's NodeHttpClient (node:http agents, and undici) serves only requests with a
// streamed or form body; a program that makes no request loads neither it nor the lean client
const loadPlatform = once(() =>
  Promise.all([import("@effect/platform-node/NodeHttpClient"), import("node:http"), import("node:https")]).then(
    ([client, http, https]) => ({ client, http, https })
  )
)

const loadLean = once(() =>
  Promise.all([import("./internal/nodeHttpClient.js"), import("node:net"), import("node:tls")]).then(
    ([lean, net, tls]) => ({ lean, modules: { net, tls } })
  )
)

type Lean = Awaited<ReturnType<typeof loadLean>>

/**
 * The lean client (`internal/nodeHttpClient.ts`: HTTP/1.1 over keep-alive `node:net`/`node:tls`
 * connections), with NodeHttpClient's for streamed bodies; each is imported on the first request
 * it serves. Connections and agents are closed when the layer's scope closes.
 */
const makeLazy = Effect.gen(function*() {
  let agents: { readonly http: Http.Agent; readonly https: Https.Agent } | undefined
  let lean: { readonly client: HttpClient.HttpClient; readonly close: () => void } | undefined
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      lean?.close()
      agents?.http.destroy()
      agents?.https.destroy()
    })
  )
  let made: HttpClient.HttpClient | undefined
  const platform = Effect.suspend(() =>
    made !== undefined ? Effect.succeed(made) : Effect.flatMap(Effect.promise(loadPlatform), (m) => {
      // `new http.Agent()` does not keep connections alive by default; NodeHttpClient.layer uses one
      const shared = agents ??= {
        http: new m.http.Agent({ keepAlive: true }),
        https: new m.https.Agent({ keepAlive: true })
      }
      const Client = m.client
      return Effect.map(
        Effect.provideService(Client.make, Client.HttpAgent, Client.HttpAgent.of({ [Client.HttpAgentTypeId]: Client.HttpAgentTypeId, ...shared })),
        (c) => (made ??= c)
      )
    })
  )
  const fallback = HttpClient.makeWith<HttpClientError, never, HttpClientError, never>(
    (request) => Effect.flatMap(request, (r) => Effect.flatMap(platform, (c) => c.execute(r))),
    Effect.succeed
  )
  const start = (loaded: Lean): HttpClient.HttpClient => (lean ??= loaded.lean.make(loaded.modules, fallback)).client
  const real = Effect.map(Effect.promise(loadLean), start)
  return HttpClient.makeWith<never, never, HttpClientError, never>(
    (request) => Effect.flatMap(request, (r) => lean !== undefined ? lean.client.execute(r) : Effect.flatMap(real, (c) => c.execute(r))),
    Effect.succeed
  )
})

/**
 * `HttpClient` (HTTP/1.1 over keep-alive connections; traced without credentials, see
 * `ApiClient.withSafeTracing`) and `WebSocketDialer` (ws).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | WebSocketDialer | ApiClient.TransportTimeouts> = Layer.mergeAll(
  Layer.scoped(HttpClient.HttpClient, Effect.map(makeLazy, ApiClient.withSafeTracing)),
  NodeWebSocket.layer,
  // the lean client applies `ApiClient.currentIdleTimeout` to its connections
  Layer.succeed(ApiClient.TransportTimeouts, true)
)
