/**
 * Node transport layers: `HttpClient` over `node:http` with keep-alive, and the `ws` websocket
 * dialer.
 *
 * @since 1.0.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { HttpClient as HttpClientTag } from "@effect/platform/HttpClient"
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeWebSocket from "./NodeWebSocket.js"

/**
 * `HttpClient` (node:http, keep-alive agent; traced without credentials, see
 * `ApiClient.withSafeTracing`) and `WebSocketDialer` (ws).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | WebSocketDialer> = Layer.merge(
  Layer.effect(HttpClientTag, Effect.map(HttpClientTag, ApiClient.withSafeTracing)).pipe(
    // `new http.Agent()` does not keep connections alive by default; NodeHttpClient.layer uses one
    Layer.provide(NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true }))))
  ),
  NodeWebSocket.layer
)
