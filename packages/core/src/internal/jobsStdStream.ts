/**
 * The attach/exec framing over a websocket: every message is binary, its first byte the channel.
 * Client → server: 0 stdin, 4 resize (`{"height":H,"width":W}`). Server → client: 1 stdout,
 * 2 stderr, 3 exit (`{"exit_code": N}`).
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Errors from "../Errors.js"
import type * as JobsModule from "../Jobs.js"
import type { WebSocketConnection, WebSocketError } from "../WebSocket.js"
import { Message } from "./jobsModels.js"

/** @internal */
export const CHANNEL_STDIN = 0
/** @internal */
export const CHANNEL_EXIT = 3
/** @internal */
export const CHANNEL_RESIZE = 4

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const frame = (channel: number, payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(payload.length + 1)
  out[0] = channel
  out.set(payload, 1)
  return out
}

/** The exit code of an exit frame's payload; 1 when it is unreadable. */
/** @internal */
export const exitCodeOf = (payload: Uint8Array): number => {
  try {
    const details: unknown = JSON.parse(decoder.decode(payload))
    if (typeof details === "object" && details !== null && "exit_code" in details) {
      const code = details.exit_code
      if (typeof code === "number" && Number.isInteger(code)) return code
    }
  } catch {
    // unreadable: exit code 1
  }
  return 1
}

/** @internal */
export const makeStdStream = (
  conn: WebSocketConnection,
  url: URL
): Effect.Effect<JobsModule.StdStream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(conn.messages)
    const lock = yield* Effect.makeSemaphore(1)
    let buffer: Array<Uint8Array | string> = []
    let closing = false
    const context = { method: "GET", url: url.href }
    const networkError = (e: WebSocketError) => new Errors.NetworkError({ reason: "Transport", description: e.description, ...context })

    const next: Effect.Effect<Option.Option<Uint8Array | string>, Errors.NetworkError> = Effect.suspend(() => {
      const head = buffer.shift()
      if (head !== undefined) return Effect.succeed(Option.some(head))
      return pull.pipe(
        Effect.matchEffect({
          onFailure: (o) => (Option.isNone(o) ? Effect.succeed(Option.none()) : Effect.fail(networkError(o.value))),
          onSuccess: (chunk) => {
            buffer = Chunk.toArray(chunk)
            return next
          }
        })
      )
    })

    const readOut: JobsModule.StdStream["readOut"] = lock.withPermits(1)(Effect.suspend(() => {
      if (closing) return Effect.succeed(Option.none())
      return Effect.flatMap(next, (received): Effect.Effect<Option.Option<Message>, JobsModule.StdStreamFailure> => {
        if (Option.isNone(received)) {
          closing = true
          return Effect.succeed(Option.none())
        }
        const msg = received.value
        if (typeof msg === "string") {
          return Effect.fail(new Errors.MalformedResponse({ description: "unexpected text message on the std stream websocket", ...context }))
        }
        if (msg.length === 0) {
          return Effect.fail(new Errors.MalformedResponse({ description: "empty message on the std stream websocket", ...context }))
        }
        if (msg[0] === CHANNEL_EXIT) {
          closing = true
          return Effect.fail(new Errors.StdStreamError({ exitCode: exitCodeOf(msg.subarray(1)) }))
        }
        return Effect.succeed(Option.some(new Message({ fileno: msg[0]!, data: msg.slice(1) }, true)))
      })
    }))

    const send = (data: Uint8Array) => (closing ? Effect.void : Effect.mapError(conn.send(data), networkError))

    return {
      readOut,
      writeIn: (data) => Effect.suspend(() => send(frame(CHANNEL_STDIN, data))),
      resize: (height, width) =>
        Effect.suspend(() => send(frame(CHANNEL_RESIZE, encoder.encode(`{"height":${height},"width":${width}}`)))),
      close: Effect.suspend(() => {
        closing = true
        return conn.close()
      })
    } satisfies JobsModule.StdStream
  })
