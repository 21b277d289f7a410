/**
 * Node implementation of `WebSocketDialer`: a lean RFC 6455 client on one `node:net`/`node:tls`
 * connection (Node 20 has no global WebSocket, and the platform needs an `Authorization` header
 * on the handshake).
 *
 * @since 1.0.0
 */
import { WebSocketDialer, WebSocketError, WebSocketHandshakeError } from "@neuro-sdk/core/WebSocket"
import type { WebSocketConnection } from "@neuro-sdk/core/WebSocket"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { once } from "./internal/lazy.js"
import * as WsClient from "./internal/wsClient.js"

/** The Node modules the client uses, imported on the first dial. */
const loadModules = once(async (): Promise<WsClient.Modules> => {
  const [net, tls, crypto] = await Promise.all([import("node:net"), import("node:tls"), import("node:crypto")])
  return { net, tls, crypto }
})

/**
 * Seconds between pings on an open websocket (neuro-sdk's `heartbeat=30`).
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_HEARTBEAT_SECONDS = 30

/** Received bytes held for the consumer before the socket stops reading. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
/** Received messages held for the consumer before the socket stops reading. */
const HIGH_WATER_MESSAGES = 1024
/** Largest message accepted (as `ws`'s default). */
const MAX_PAYLOAD = 100 * 1024 * 1024
const HANDSHAKE_MILLIS = 60_000
const CLOSE_MILLIS = 2_000

type Message = Uint8Array | string

/**
 * Messages received and not yet taken, and how the connection ended. The consumer takes all that
 * waits at once, as one chunk: one Effect step per batch, not per message.
 */
class Inbox {
  pending: Array<Message> = []
  bytes = 0
  /** The end (`none`) or the failure, once known; what is pending is delivered first. */
  ended: Option.Option<WebSocketError> | undefined
  wake: (() => void) | undefined
  connection: WsClient.Connection | undefined

  readonly events: WsClient.Events = {
    onMessage: (data) => {
      this.pending.push(data)
      this.bytes += data.length
      if ((this.bytes >= HIGH_WATER_BYTES || this.pending.length >= HIGH_WATER_MESSAGES) && this.connection !== undefined) {
        this.connection.pause()
      }
      this.wake?.()
    },
    onPong: () => this.onPong(),
    onError: (error) => this.end(Option.some(new WebSocketError({ description: error.message, cause: error }))),
    onClose: () => {
      this.end(Option.none())
      this.whenClosed?.()
    }
  }

  /** Called once the connection is closed (set by the release, which waits for it). */
  whenClosed: (() => void) | undefined

  onPong: () => void = () => {}

  end(how: Option.Option<WebSocketError>): void {
    if (this.ended !== undefined) return
    this.ended = how
    this.wake?.()
  }

  readonly take: Effect.Effect<Chunk.Chunk<Message>, Option.Option<WebSocketError>> = Effect.suspend(() => {
    if (this.pending.length > 0) {
      const out = this.pending
      this.pending = []
      this.bytes = 0
      if (this.connection?.isPaused === true) this.connection.resume()
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    if (this.ended !== undefined) return Effect.fail(this.ended)
    return Effect.async<Chunk.Chunk<Message>, Option.Option<WebSocketError>>((resume) => {
      this.wake = () => {
        this.wake = undefined
        resume(this.take)
      }
      return Effect.sync(() => {
        this.wake = undefined
      })
    })
  })
}

/** Pings every `heartbeat` ms; no pong within half of it fails the connection. */
const startHeartbeat = (connection: WsClient.Connection, inbox: Inbox, heartbeat: number): () => void => {
  if (heartbeat <= 0) return () => {}
  let pongTimer: ReturnType<typeof setTimeout> | undefined
  inbox.onPong = () => clearTimeout(pongTimer)
  const pingTimer = setInterval(() => {
    if (!connection.isOpen) return
    connection.ping()
    clearTimeout(pongTimer)
    pongTimer = setTimeout(() => {
      inbox.end(Option.some(new WebSocketError({ description: `no pong within ${heartbeat / 2000} seconds` })))
      connection.terminate()
    }, heartbeat / 2)
  }, heartbeat)
  pingTimer.unref()
  return () => {
    clearInterval(pingTimer)
    clearTimeout(pongTimer)
  }
}

/** The handshake, as an Effect (interrupting it drops the connection). */
const open = (
  modules: WsClient.Modules,
  url: string,
  options: Parameters<WebSocketDialer.Service["dial"]>[1],
  inbox: Inbox
): Effect.Effect<WsClient.Connection, WebSocketHandshakeError | WebSocketError> =>
  Effect.async((resume) => {
    const abandon = WsClient.connect(
      modules,
      new URL(url),
      {
        headers: options.headers,
        protocols: options.protocols ?? [],
        handshakeMillis: HANDSHAKE_MILLIS,
        maxPayload: MAX_PAYLOAD
      },
      inbox.events,
      (result) => {
        switch (result._tag) {
          case "Open":
            return resume(Effect.succeed(result.connection))
          case "Refused": {
            const xError = result.headers["x-error"]
            return resume(Effect.fail(
              new WebSocketHandshakeError({ status: result.status, ...(xError === undefined ? {} : { xError }), body: result.body })
            ))
          }
          case "Failed":
            return resume(Effect.fail(new WebSocketError({ description: result.error.message, cause: result.error })))
        }
      }
    )
    return Effect.sync(abandon)
  })

/** The closing handshake, or a hard close after {@link CLOSE_MILLIS}. */
const close = (connection: WsClient.Connection, inbox: Inbox, stopHeartbeat: () => void): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    stopHeartbeat()
    if (connection.isFinished) return resume(Effect.void)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.void)
    }
    const timer = setTimeout(() => {
      connection.terminate()
      finish()
    }, CLOSE_MILLIS)
    inbox.whenClosed = finish
    connection.close(1000)
  })

/** {@link dial} with the loaded modules. */
const dialWith = (
  modules: WsClient.Modules,
  url: Parameters<WebSocketDialer.Service["dial"]>[0],
  options: Parameters<WebSocketDialer.Service["dial"]>[1]
): ReturnType<WebSocketDialer.Service["dial"]> =>
  Effect.gen(function*() {
    const inbox = new Inbox()
    let stopHeartbeat: () => void = () => {}
    const socket = yield* Effect.acquireRelease(open(modules, url, options, inbox), (c) => close(c, inbox, stopHeartbeat))
    inbox.connection = socket
    stopHeartbeat = startHeartbeat(socket, inbox, (options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000)
    const connection: WebSocketConnection = {
      protocol: socket.protocol,
      messages: Stream.repeatEffectChunkOption(inbox.take),
      send: (data) =>
        Effect.async<void, WebSocketError>((resume) => {
          socket.send(data, (error) => {
            resume(error ? Effect.fail(new WebSocketError({ description: error.message, cause: error })) : Effect.void)
          })
        }),
      close: (code, reason) => Effect.sync(() => socket.close(code ?? 1000, reason))
    }
    return connection
  })

/**
 * Open a websocket. Received messages wait for the `messages` stream; when the consumer falls
 * behind by {@link HIGH_WATER_BYTES} bytes (or {@link HIGH_WATER_MESSAGES} messages) the socket
 * stops reading, so the peer is held back by TCP flow control instead of memory growing.
 *
 * @since 1.0.0
 * @category constructors
 */
export const dial: WebSocketDialer.Service["dial"] = (url, options) =>
  Effect.flatMap(Effect.promise(loadModules), (modules) => dialWith(modules, url, options))

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<WebSocketDialer> = Layer.succeed(WebSocketDialer, WebSocketDialer.of({ dial }))
