/**
 * WebSocket connections with request headers (the platform authenticates the handshake with
 * `Authorization`, which the browser `WebSocket` API cannot send; Node's implementation lives in
 * `@neuro-sdk/node`).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"

/**
 * An open websocket. Closed when its scope closes.
 *
 * @since 1.0.0
 * @category models
 */
export interface WebSocketConnection {
  /** The subprotocol the server chose (`""` when none). */
  readonly protocol: string
  /** Incoming messages, binary as `Uint8Array`, text as `string`; ends when the peer closes. */
  readonly messages: Stream.Stream<Uint8Array | string, WebSocketError>
  /** Send one message. */
  readonly send: (data: Uint8Array | string) => Effect.Effect<void, WebSocketError>
  /** Close the connection (normal closure unless a code is given). */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
}

/**
 * The server refused the upgrade: carries what the platform uses for error mapping.
 *
 * @since 1.0.0
 * @category errors
 */
export class WebSocketHandshakeError extends Schema.TaggedError<WebSocketHandshakeError>("@neuro-sdk/core/WebSocketHandshakeError")(
  "WebSocketHandshakeError",
  {
    status: Schema.Number,
    /** The `X-Error` response header, when present. */
    xError: Schema.optional(Schema.String),
    body: Schema.String
  }
) {
  override get message(): string {
    return `WebSocket handshake refused with status ${this.status}`
  }
}

/**
 * The connection could not be made or broke.
 *
 * @since 1.0.0
 * @category errors
 */
export class WebSocketError extends Schema.TaggedError<WebSocketError>("@neuro-sdk/core/WebSocketError")("WebSocketError", {
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `WebSocket error: ${this.description}`
  }
}

/**
 * Opens websockets.
 *
 * @since 1.0.0
 * @category tags
 */
export class WebSocketDialer extends Context.Tag("@neuro-sdk/core/WebSocketDialer")<WebSocketDialer, WebSocketDialer.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace WebSocketDialer {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    readonly dial: (
      url: string,
      options: {
        readonly headers: Readonly<Record<string, string>>
        readonly protocols?: ReadonlyArray<string> | undefined
        /**
         * Seconds between pings that keep an idle connection alive and detect a dead peer (no
         * pong within half the interval closes the connection with an error). Default 30, as
         * neuro-sdk; 0 disables.
         */
        readonly heartbeatSeconds?: number | undefined
      }
    ) => Effect.Effect<WebSocketConnection, WebSocketHandshakeError | WebSocketError, Scope.Scope>
  }
}
