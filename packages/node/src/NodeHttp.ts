/**
 * Node transport layers: `HttpClient` over `node:http` with keep-alive, and the `ws` websocket
 * dialer.
 *
 * @since 1.0.0
 */
import type * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { once } from "./internal/lazy.js"
import * as NodeWebSocket from "./NodeWebSocket.js"

// @effect/platform-node's NodeHttpClient also loads undici; a program that makes no request never needs it
const loadClient = once(() =>
  Promise.all([import("@effect/platform-node/NodeHttpClient"), import("node:http"), import("node:https")]).then(
    ([client, http, https]) => ({ client, http, https })
  )
)

type Loaded = Awaited<ReturnType<typeof loadClient>>

/**
 * NodeHttpClient's `node:http` client; its module is imported, and its keep-alive agents made, on
 * the first request. The agents are destroyed when the layer's scope closes, as with
 * `NodeHttpClient.makeAgentLayer`.
 */
const makeLazy = Effect.gen(function*() {
  // `new http.Agent()` does not keep connections alive by default; NodeHttpClient.layer uses one
  let agent: NodeHttpClient.HttpAgent | undefined
  let client: HttpClient.HttpClient | undefined
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      agent?.http.destroy()
      agent?.https.destroy()
    })
  )
  const start = ({ client: m, http, https }: Loaded): Effect.Effect<HttpClient.HttpClient> =>
    Effect.suspend(() => {
      if (client !== undefined) return Effect.succeed(client)
      // concurrent first requests share one pair of agents
      agent ??= m.HttpAgent.of({
        [m.HttpAgentTypeId]: m.HttpAgentTypeId,
        http: new http.Agent({ keepAlive: true }),
        https: new https.Agent({ keepAlive: true })
      })
      return Effect.map(Effect.provideService(m.make, m.HttpAgent, agent), (made) => (client ??= made))
    })
  const real = Effect.flatMap(Effect.promise(loadClient), start)
  return HttpClient.makeWith<never, never, HttpClientError, never>(
    (request) => Effect.flatMap(request, (r) => client !== undefined ? client.execute(r) : Effect.flatMap(real, (c) => c.execute(r))),
    Effect.succeed
  )
})

/**
 * `HttpClient` (node:http, keep-alive agent; traced without credentials, see
 * `ApiClient.withSafeTracing`) and `WebSocketDialer` (ws).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | WebSocketDialer> = Layer.merge(
  Layer.scoped(HttpClient.HttpClient, Effect.map(makeLazy, ApiClient.withSafeTracing)),
  NodeWebSocket.layer
)
