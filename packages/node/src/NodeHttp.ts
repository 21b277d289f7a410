/**
 * Node transport layers: `HttpClient` over `node:http` with keep-alive, and the `ws` websocket
 * dialer.
 *
 * @since 1.0.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as Layer from "effect/Layer"
import * as NodeWebSocket from "./NodeWebSocket.js"

/**
 * `HttpClient` (node:http, keep-alive agent) and `WebSocketDialer` (ws).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | WebSocketDialer> = Layer.merge(
  // `new http.Agent()` does not keep connections alive by default; NodeHttpClient.layer uses one
  NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true }))),
  NodeWebSocket.layer
)
