/**
 * Reading a request body below one Effect boundary: the bytes go from the socket (or the
 * in-process `Request`) to a plain callback, in the largest pieces at hand, with no Effect step,
 * fiber or Stream per chunk.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { IncomingMessage } from "node:http"

/** The body could not be read (the client went away, or sent something that is not HTTP). */
/** @internal */
export class BodyError {
  readonly _tag = "BodyError"
  constructor(readonly cause: unknown) {}
}

/** Whatever `sink` threw, so that it is not mistaken for a `BodyError`. */
class SinkFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Feeds the body of `req` to `sink` as it arrives. Resolves when the body ended; rejects with a
 * `BodyError` when it cannot be read, or with what `sink` threw (the rest of the body is then
 * drained unread).
 */
/** @internal */
export const pumpBody = (req: HttpServerRequest.HttpServerRequest, sink: (chunk: Uint8Array) => void): Promise<void> => {
  const source: unknown = req.source
  if (source instanceof IncomingMessage) return pumpNode(source, sink)
  if (source instanceof Request) {
    // as `req.stream` of a web request: no body at all is an error, an empty one is not
    return source.body === null
      ? Promise.reject(new BodyError(new Error("can not create stream from empty body")))
      : pumpWeb(source.body, sink)
  }
  return pumpStream(req.stream, sink)
}

const pumpNode = (source: IncomingMessage, sink: (chunk: Uint8Array) => void): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (source.destroyed) {
      // gone before we listened (a broken body, a client that went away): no event will come
      reject(new BodyError(source.errored ?? new Error("the request closed before its body was read")))
      return
    }
    let done = false
    const finish = (error?: unknown) => {
      if (done) return
      done = true
      source.off("readable", onReadable)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onReadable = () => {
      // `read()` hands over everything buffered at once: one sink call per socket burst
      let chunk: Buffer | null
      while (!done && (chunk = source.read() as Buffer | null) !== null) {
        try {
          sink(chunk)
        } catch (e) {
          finish(e)
          source.resume()
        }
      }
    }
    const onEnd = () => finish()
    const onError = (e: unknown) => finish(new BodyError(e))
    const onClose = () => finish(new BodyError(new Error("the request closed before its body ended")))
    source.on("readable", onReadable)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("close", onClose)
  })

const pumpWeb = async (body: ReadableStream<Uint8Array>, sink: (chunk: Uint8Array) => void): Promise<void> => {
  const reader = body.getReader()
  for (;;) {
    const next = await reader.read().catch((e: unknown) => {
      throw new BodyError(e)
    })
    if (next.done) return
    try {
      sink(next.value)
    } catch (e) {
      reader.cancel().catch(() => undefined)
      throw e
    }
  }
}

const pumpStream = (stream: Stream.Stream<Uint8Array, unknown>, sink: (chunk: Uint8Array) => void): Promise<void> =>
  Effect.runPromise(
    Stream.runForEach(stream, (chunk) =>
      Effect.try({ try: () => sink(chunk), catch: (e) => new SinkFailure(e) })).pipe(
        Effect.mapError((e) => (e instanceof SinkFailure ? e.error : new BodyError(e))),
        Effect.either
      )
  ).then((result) => {
    if (result._tag === "Left") throw result.left
  })
