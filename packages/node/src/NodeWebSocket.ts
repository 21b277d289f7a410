/**
 * Node implementation of `WebSocketDialer`, on the `ws` package (Node 20 has no global
 * WebSocket, and the platform needs an `Authorization` header on the handshake).
 *
 * @since 1.0.0
 */
import { WebSocketDialer, WebSocketError, WebSocketHandshakeError } from "@neuro-sdk/core/WebSocket"
import type { WebSocketConnection } from "@neuro-sdk/core/WebSocket"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { IncomingMessage } from "node:http"
import type WS from "ws"
import { once } from "./internal/lazy.js"

/** `ws`, imported on the first dial. */
const loadWs = once(() => import("ws").then((m) => m.default))

type Incoming = { readonly _tag: "Message"; readonly data: Uint8Array | string } | { readonly _tag: "End" } | {
  readonly _tag: "Error"
  readonly error: WebSocketError
}

const toBytes = (data: WS.RawData): Uint8Array => {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

const readBody = (res: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    res.on("data", (c: Buffer) => {
      if (size < 65536) chunks.push(c)
      size += c.length
    })
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    res.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")))
  })

/**
 * Seconds between pings on an open websocket (neuro-sdk's `heartbeat=30`).
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_HEARTBEAT_SECONDS = 30

/** Received messages held for the consumer before the socket stops reading (`ws.pause()`). */
const HIGH_WATER_MARK = 64
/** The socket reads again once the consumer has taken the queue down to this many. */
const LOW_WATER_MARK = 16
/** Most messages taken from the queue at once. */
const MAX_BATCH = 256

/** {@link dial} with the loaded `ws` constructor. */
const dialWith = (
  Ws: typeof WS,
  url: Parameters<WebSocketDialer.Service["dial"]>[0],
  options: Parameters<WebSocketDialer.Service["dial"]>[1]
): ReturnType<WebSocketDialer.Service["dial"]> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Incoming>()
    /** Messages queued and not yet taken by the consumer. */
    const flow = { pending: 0 }
    const socket = yield* Effect.acquireRelease(
      Effect.async<WS, WebSocketHandshakeError | WebSocketError>((resume) => {
        const wsUrl = url.replace(/^http/, "ws")
        const ws = new Ws(wsUrl, options.protocols === undefined ? [] : [...options.protocols], {
          headers: { ...options.headers },
          perMessageDeflate: false,
          handshakeTimeout: 60_000
        })
        let opened = false
        ws.on("unexpected-response", (_req, res) => {
          const xError = res.headers["x-error"]
          void readBody(res).then((body) => {
            resume(
              Effect.fail(
                new WebSocketHandshakeError({
                  status: res.statusCode ?? 0,
                  ...(typeof xError === "string" ? { xError } : {}),
                  body
                })
              )
            )
            ws.terminate()
          })
        })
        const heartbeat = (options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000
        let pingTimer: ReturnType<typeof setInterval> | undefined
        let pongTimer: ReturnType<typeof setTimeout> | undefined
        const stopHeartbeat = () => {
          clearInterval(pingTimer)
          clearTimeout(pongTimer)
        }
        ws.on("pong", () => clearTimeout(pongTimer))
        ws.on("open", () => {
          opened = true
          if (heartbeat > 0) {
            pingTimer = setInterval(() => {
              if (ws.readyState !== Ws.OPEN) return
              ws.ping()
              clearTimeout(pongTimer)
              pongTimer = setTimeout(() => {
                Queue.unsafeOffer(queue, {
                  _tag: "Error",
                  error: new WebSocketError({ description: `no pong within ${heartbeat / 2000} seconds` })
                })
                ws.terminate()
              }, heartbeat / 2)
            }, heartbeat)
            pingTimer.unref()
          }
          resume(Effect.succeed(ws))
        })
        ws.on("message", (data, isBinary) => {
          const bytes = toBytes(data)
          Queue.unsafeOffer(queue, { _tag: "Message", data: isBinary ? bytes : Buffer.from(bytes).toString("utf8") })
          if (++flow.pending >= HIGH_WATER_MARK && !ws.isPaused) ws.pause()
        })
        ws.on("error", (error) => {
          const e = new WebSocketError({ description: error.message, cause: error })
          if (!opened) resume(Effect.fail(e))
          else Queue.unsafeOffer(queue, { _tag: "Error", error: e })
        })
        ws.on("close", () => {
          stopHeartbeat()
          Queue.unsafeOffer(queue, { _tag: "End" })
        })
        return Effect.sync(() => {
          stopHeartbeat()
          ws.terminate()
        })
      }),
      (ws) =>
        Effect.async<void>((resume) => {
          if (ws.readyState === Ws.CLOSED) return resume(Effect.void)
          const timer = setTimeout(() => {
            ws.terminate()
            resume(Effect.void)
          }, 2_000)
          ws.once("close", () => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          if (ws.readyState === Ws.OPEN) ws.close(1000)
        })
    )
    // every message waiting in the queue is taken at once, and handed on as one chunk: one Effect
    // step per batch of messages, not several per message
    let ended: Option.Option<WebSocketError> | undefined
    const messages: Stream.Stream<Uint8Array | string, WebSocketError> = Stream.repeatEffectChunkOption(
      Effect.suspend(() =>
        ended !== undefined ? Effect.fail(ended) : Effect.map(Queue.takeBetween(queue, 1, MAX_BATCH), (batch) => {
          const out: Array<Uint8Array | string> = []
          for (const m of batch) {
            if (m._tag !== "Message") {
              // after the end or an error, nothing else is read
              ended = m._tag === "End" ? Option.none() : Option.some(m.error)
              break
            }
            out.push(m.data)
          }
          flow.pending -= out.length
          if (flow.pending <= LOW_WATER_MARK && socket.isPaused) socket.resume()
          return Chunk.unsafeFromArray(out)
        })
      )
    )
    const connection: WebSocketConnection = {
      protocol: socket.protocol,
      messages,
      send: (data) =>
        Effect.async<void, WebSocketError>((resume) => {
          socket.send(data, { binary: typeof data !== "string" }, (error) => {
            resume(error ? Effect.fail(new WebSocketError({ description: error.message, cause: error })) : Effect.void)
          })
        }),
      close: (code, reason) =>
        Effect.sync(() => {
          if (socket.readyState === Ws.OPEN || socket.readyState === Ws.CONNECTING) socket.close(code ?? 1000, reason)
        })
    }
    return connection
  })

/**
 * Open a websocket with `ws`. Received messages wait in a queue for the `messages` stream; when
 * the consumer falls behind by {@link HIGH_WATER_MARK} messages the socket is paused, so the
 * peer is held back by TCP flow control instead of memory growing.
 *
 * @since 1.0.0
 * @category constructors
 */
export const dial: WebSocketDialer.Service["dial"] = (url, options) =>
  Effect.flatMap(Effect.promise(loadWs), (Ws) => dialWith(Ws, url, options))

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<WebSocketDialer> = Layer.succeed(WebSocketDialer, WebSocketDialer.of({ dial }))
