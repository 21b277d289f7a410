/**
 * Node transport layers: `HttpClient` over `node:http` with keep-alive, and the `ws` websocket
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

// @effect/platform-node's NodeHttpClient also loads undici: it serves only requests with a streamed
// or form body; a program that makes no request loads neither
const loadClient = once(() => import("@effect/platform-node/NodeHttpClient"))

const loadLean = once(() =>
  Promise.all([import("./internal/nodeHttpClient.js"), import("node:http"), import("node:https"), import("node:stream")]).then(
    ([lean, http, https, stream]) => ({ lean, modules: { http, https, stream } })
  )
)

type Lean = Awaited<ReturnType<typeof loadLean>>

/**
 * The `node:http` client (`internal/nodeHttpClient.ts`, with NodeHttpClient's for streamed
 * bodies); its modules are imported, and its keep-alive agents made, on the first request. The
 * agents are destroyed when the layer's scope closes, as with `NodeHttpClient.makeAgentLayer`.
 */
const makeLazy = Effect.gen(function*() {
  // `new http.Agent()` does not keep connections alive by default; NodeHttpClient.layer uses one
  let agents: { readonly http: Http.Agent; readonly https: Https.Agent } | undefined
  let client: HttpClient.HttpClient | undefined
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      agents?.http.destroy()
      agents?.https.destroy()
    })
  )
  const start = ({ lean, modules }: Lean): HttpClient.HttpClient => {
    if (client !== undefined) return client
    // concurrent first requests share one pair of agents
    const shared = agents ??= {
      http: new modules.http.Agent({ keepAlive: true }),
      https: new modules.https.Agent({ keepAlive: true })
    }
    let made: HttpClient.HttpClient | undefined
    const platform = Effect.suspend(() =>
      made !== undefined ? Effect.succeed(made) : Effect.flatMap(Effect.promise(loadClient), (m) =>
        Effect.map(
          Effect.provideService(m.make, m.HttpAgent, m.HttpAgent.of({ [m.HttpAgentTypeId]: m.HttpAgentTypeId, ...shared })),
          (c) => (made ??= c)
        ))
    )
    const fallback = HttpClient.makeWith<HttpClientError, never, HttpClientError, never>(
      (request) => Effect.flatMap(request, (r) => Effect.flatMap(platform, (c) => c.execute(r))),
      Effect.succeed
    )
    return client ??= lean.make(modules, shared, fallback)
  }
  const real = Effect.map(Effect.promise(loadLean), start)
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
