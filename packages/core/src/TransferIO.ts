/**
 * An optional fast transport for the bytes of storage transfers (`uploadFile`, `downloadFile`,
 * `uploadDir`, `downloadDir`): a request whose body is a byte range of a local file, and an answer
 * whose body is read in large batches. With it, a request costs a constant, small number of Effect
 * operations whatever its size; without it (browsers, in-process test transports, custom
 * `HttpClient`s) the same transfers run over `ApiClient`.
 *
 * The service moves bytes only: the caller sends `Authorization` and maps statuses to errors.
 * `@neuro-sdk/node` implements it over `node:http` (`NodeTransferIO`).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { FileSystemError } from "./Errors.js"
import { NetworkError } from "./Errors.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface Request {
  readonly method: "GET" | "PUT" | "PATCH"
  /** The whole URL, query included. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * `length` bytes of the local file `path` from byte `offset`.
 *
 * @since 1.0.0
 * @category models
 */
export interface FileRange {
  readonly path: string
  readonly offset: number
  readonly length: number
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Answer {
  readonly status: number
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>
}

/**
 * What one `read` of a body gives: the chunks that arrived since the previous read, and whether the
 * body ended (cleanly) after them. The chunks may be reused by the next `read` (or `close`): keep a
 * copy of what must outlive it.
 *
 * @since 1.0.0
 * @category models
 */
export interface Batch {
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly bytes: number
  readonly end: boolean
}

/**
 * The body of an answer.
 *
 * @since 1.0.0
 * @category models
 */
export interface Body<E = NetworkError> {
  /**
   * The chunks received since the last read, once `min` bytes are there, the body ended, or no
   * data came for a short while. A broken connection (or 60 s without data) fails the read that
   * finds nothing left to deliver, with a `NetworkError`.
   */
  readonly read: (min: number) => Effect.Effect<Batch, E>
  /** Stop reading: the connection is dropped unless the body was read to its end. */
  readonly close: Effect.Effect<void>
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Sent extends Answer {
  /** The answer's body as text (error answers explain themselves there). */
  readonly text: string
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Received extends Answer {
  readonly body: Body
}

/**
 * @since 1.0.0
 * @category tags
 */
export class TransferIO extends Context.Tag("@neuro-sdk/core/TransferIO")<TransferIO, TransferIO.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace TransferIO {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /**
     * Send `request` with a byte range of a local file as its body (`Content-Length` set); the
     * answer, whatever its status. A local file that cannot be read (or is shorter than the range)
     * is a `FileSystemError`.
     */
    readonly send: (request: Request, body: FileRange) => Effect.Effect<Sent, NetworkError | FileSystemError>
    /**
     * Send `request` (no body) and give the answer as soon as its headers arrive, whatever its
     * status. Its `body` must be read to the end or closed.
     */
    readonly receive: (request: Request) => Effect.Effect<Received, NetworkError>
  }
}

// ---------------------------------------------------------------------------------------------
// a body fed by callbacks
// ---------------------------------------------------------------------------------------------

/**
 * How a `BodyBuffer` drives its source.
 *
 * @since 1.0.0
 * @category models
 */
export interface BodySource {
  /** Stop the data (the buffer holds `highWaterMark` bytes). */
  readonly pause: () => void
  /** Let the data flow again. */
  readonly resume: () => void
  /** Drop the source (the body is closed before its end). */
  readonly destroy: () => void
}

/**
 * The receiving side of a `Body` whose bytes come from callbacks (a socket's events).
 *
 * @since 1.0.0
 * @category models
 */
export interface BodyBuffer<E = NetworkError> {
  readonly push: (chunk: Uint8Array) => void
  readonly end: () => void
  readonly fail: (error: E) => void
  readonly body: Body<E>
}

/** Bytes buffered before the source is paused. */
const HIGH_WATER_MARK = 2 * 1024 * 1024

/** The first copy buffer of a body (see `makeBodyBuffer`'s `copy`). */
const MIN_COPY_BUFFER = 16 * 1024

/** A read that asked for more than what is there gets what is there after this much silence. */
const IDLE_DELIVERY_MILLIS = 100

/**
 * A `Body` over a push source: chunks are kept (the source paused above a high-water mark) until a
 * `read` takes them; a read waits for `min` bytes, the end, a failure, or a short silence.
 *
 * With `copy` (a size in bytes), the pushed bytes are copied into buffers of that size, which are
 * used again once the batch holding them has been read and the next `read` is asked for: a
 * source that reuses its own buffer (a socket reading into a static one) then costs no allocation
 * per chunk.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeBodyBuffer = <E = NetworkError>(source: BodySource, options: { readonly copy?: number | undefined } = {}): BodyBuffer<E> => {
  const copySize = options.copy
  let chunks: Array<Uint8Array> = []
  let bytes = 0
  let ended = false
  let failure: { readonly error: E } | undefined
  let paused = false
  let closed = false
  let waiter: { readonly min: number; readonly wake: () => void } | undefined
  let idle: ReturnType<typeof setTimeout> | undefined
  // copy mode: the buffer being filled, buffers free for reuse, and those of the last batch
  let current: Uint8Array | undefined
  let fill = 0
  let spare: Array<Uint8Array> = []
  let lent: Array<Uint8Array> = []
  /** Copy buffers start small (a small body costs little) and double up to `copy`. */
  let nextSize = MIN_COPY_BUFFER
  const grow = (wanted: number): number => {
    const size = Math.min(copySize!, Math.max(nextSize, wanted))
    nextSize = Math.min(copySize!, size * 2)
    return size
  }

  const take = (): Batch => {
    if (copySize !== undefined) {
      // the full buffers, then the one being filled: lent until the next read
      lent.push(...chunks)
      if (current !== undefined && fill > 0) {
        chunks.push(current.subarray(0, fill))
        lent.push(current)
        current = undefined
        fill = 0
      }
    }
    const batch: Batch = { chunks, bytes, end: ended && failure === undefined }
    chunks = []
    bytes = 0
    if (paused && !ended && failure === undefined) {
      paused = false
      source.resume()
    }
    return batch
  }
  /** The buffers of the batch read before are free again. */
  const reclaim = () => {
    if (lent.length === 0) return
    if (spare.length < 4) spare.push(...lent.slice(0, 4 - spare.length))
    lent = []
  }
  const wakeIf = (force: boolean) => {
    if (waiter === undefined) return
    if (!force && bytes < waiter.min && !ended && failure === undefined) return
    if (idle !== undefined) clearTimeout(idle)
    idle = undefined
    const w = waiter
    waiter = undefined
    w.wake()
  }
  const armIdle = () => {
    if (idle !== undefined || waiter === undefined || bytes === 0) return
    idle = setTimeout(() => {
      idle = undefined
      wakeIf(true)
    }, IDLE_DELIVERY_MILLIS)
  }

  const read = (min: number): Effect.Effect<Batch, E> =>
    Effect.suspend(() => {
      reclaim()
      if (bytes >= min || ended || (failure !== undefined && bytes > 0)) return Effect.succeed(take())
      if (failure !== undefined) return Effect.fail(failure.error)
      if (closed) return Effect.succeed({ chunks: [], bytes: 0, end: true })
      return Effect.async<Batch, E>((resume) => {
        waiter = {
          min,
          wake: () => {
            if (bytes === 0 && failure !== undefined) resume(Effect.fail(failure.error))
            else resume(Effect.succeed(take()))
          }
        }
        armIdle()
        return Effect.sync(() => {
          waiter = undefined
          if (idle !== undefined) clearTimeout(idle)
          idle = undefined
        })
      })
    })

  const keep = (chunk: Uint8Array) => {
    if (copySize === undefined) {
      chunks.push(chunk)
      return
    }
    let at = 0
    while (at < chunk.length) {
      if (current === undefined) {
        current = spare.pop() ?? new Uint8Array(grow(chunk.length - at))
        fill = 0
      }
      const n = Math.min(current.length - fill, chunk.length - at)
      current.set(n === chunk.length && at === 0 ? chunk : chunk.subarray(at, at + n), fill)
      fill += n
      at += n
      if (fill === current.length) {
        chunks.push(current)
        current = undefined
        fill = 0
      }
    }
  }

  return {
    push: (chunk) => {
      if (ended || failure !== undefined || closed || chunk.length === 0) return
      keep(chunk)
      bytes += chunk.length
      if (bytes >= HIGH_WATER_MARK && !paused) {
        paused = true
        source.pause()
      }
      wakeIf(false)
      armIdle()
    },
    end: () => {
      if (ended || failure !== undefined) return
      ended = true
      wakeIf(true)
    },
    fail: (error) => {
      if (ended || failure !== undefined) return
      failure = { error }
      wakeIf(true)
    },
    body: {
      read,
      close: Effect.sync(() => {
        if (closed) return
        closed = true
        if (idle !== undefined) clearTimeout(idle)
        idle = undefined
        chunks = []
        bytes = 0
        current = undefined
        spare = []
        lent = []
        if (!ended) source.destroy()
      })
    }
  }
}

/**
 * A `NetworkError` for a transport failure of `request`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const networkError = (request: Request, description: string, reason: "Transport" | "Timeout" = "Transport"): NetworkError =>
  new NetworkError({ reason, description, method: request.method, url: request.url })
