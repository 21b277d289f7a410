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
  /**
   * Told, synchronously and in order, how many bytes of the range were handed to the connection
   * so far (a transfer's progress within one request; it starts again from 0 if the request is
   * sent again).
   */
  readonly sent?: ((bytes: number) => void) | undefined
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

/** The second copy buffer of a body is at least this large. */
const MIN_GROWTH = 64 * 1024

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
export const makeBodyBuffer = <E = NetworkError>(source: BodySource, options: { readonly copy?: number | undefined } = {}): BodyBuffer<E> =>
  new BufferedBody<E>(source, options.copy)

/** Copies of pushed bytes in buffers used again once read (see `makeBodyBuffer`'s `copy`). */
class Copies {
  /** The buffer being filled, and how much of it. */
  private current: Uint8Array | undefined
  private fill = 0
  private spare: Array<Uint8Array> = []
  /** The buffers of the batch read last (free again at the next read). */
  private lent: Array<Uint8Array> = []
  /** The first buffer is the size of the first chunk (a small body costs little); then they double up to `size`. */
  private nextSize = 0

  constructor(private readonly size: number) {}

  /** Copy `chunk`; full buffers go to `out`. */
  keep(chunk: Uint8Array, out: Array<Uint8Array>): void {
    let at = 0
    while (at < chunk.length) {
      if (this.current === undefined) {
        this.current = this.spare.pop() ?? new Uint8Array(this.grow(chunk.length - at))
        this.fill = 0
      }
      const n = Math.min(this.current.length - this.fill, chunk.length - at)
      this.current.set(n === chunk.length ? chunk : chunk.subarray(at, at + n), this.fill)
      this.fill += n
      at += n
      if (this.fill === this.current.length) {
        out.push(this.current)
        this.current = undefined
      }
    }
  }

  private grow(wanted: number): number {
    const size = Math.min(this.size, Math.max(this.nextSize, wanted))
    this.nextSize = Math.min(this.size, Math.max(size * 2, MIN_GROWTH))
    return size
  }

  /** The full buffers of `chunks` and the one being filled are lent out with the batch. */
  lend(chunks: Array<Uint8Array>): void {
    this.lent.push(...chunks)
    if (this.current !== undefined && this.fill > 0) {
      chunks.push(this.current.subarray(0, this.fill))
      this.lent.push(this.current)
      this.current = undefined
    }
  }

  /** The batch read before is done with: its buffers are free again. */
  reclaim(): void {
    if (this.lent.length === 0) return
    if (this.spare.length < 4) this.spare.push(...this.lent.slice(0, 4 - this.spare.length))
    this.lent = []
  }

  clear(): void {
    this.current = undefined
    this.spare = []
    this.lent = []
  }
}

class BufferedBody<E> implements BodyBuffer<E> {
  private chunks: Array<Uint8Array> = []
  private bytes = 0
  private ended = false
  private failure: { readonly error: E } | undefined
  private paused = false
  private closed = false
  private waiter: { readonly min: number; readonly wake: () => void } | undefined
  private idle: ReturnType<typeof setTimeout> | undefined
  private readonly copies: Copies | undefined

  constructor(private readonly source: BodySource, copy: number | undefined) {
    this.copies = copy === undefined ? undefined : new Copies(copy)
  }

  readonly push = (chunk: Uint8Array): void => {
    if (this.ended || this.failure !== undefined || this.closed || chunk.length === 0) return
    if (this.copies === undefined) this.chunks.push(chunk)
    else this.copies.keep(chunk, this.chunks)
    this.bytes += chunk.length
    if (this.bytes >= HIGH_WATER_MARK && !this.paused) {
      this.paused = true
      this.source.pause()
    }
    this.wakeIf(false)
    this.armIdle()
  }

  readonly end = (): void => {
    if (this.ended || this.failure !== undefined) return
    this.ended = true
    this.wakeIf(true)
  }

  readonly fail = (error: E): void => {
    if (this.ended || this.failure !== undefined) return
    this.failure = { error }
    this.wakeIf(true)
  }

  readonly body: Body<E> = {
    read: (min) => this.read(min),
    close: Effect.sync(() => this.close())
  }

  private take(): Batch {
    this.copies?.lend(this.chunks)
    const batch: Batch = { chunks: this.chunks, bytes: this.bytes, end: this.ended && this.failure === undefined }
    this.chunks = []
    this.bytes = 0
    if (this.paused && !this.ended && this.failure === undefined) {
      this.paused = false
      this.source.resume()
    }
    return batch
  }

  private wakeIf(force: boolean): void {
    const waiter = this.waiter
    if (waiter === undefined) return
    if (!force && this.bytes < waiter.min && !this.ended && this.failure === undefined) return
    this.clearIdle()
    this.waiter = undefined
    waiter.wake()
  }

  private armIdle(): void {
    if (this.idle !== undefined || this.waiter === undefined || this.bytes === 0) return
    this.idle = setTimeout(() => {
      this.idle = undefined
      this.wakeIf(true)
    }, IDLE_DELIVERY_MILLIS)
  }

  private clearIdle(): void {
    if (this.idle !== undefined) clearTimeout(this.idle)
    this.idle = undefined
  }

  private read(min: number): Effect.Effect<Batch, E> {
    return Effect.suspend(() => {
      this.copies?.reclaim()
      if (this.bytes >= min || this.ended || (this.failure !== undefined && this.bytes > 0)) return Effect.succeed(this.take())
      if (this.failure !== undefined) return Effect.fail(this.failure.error)
      if (this.closed) return Effect.succeed({ chunks: [], bytes: 0, end: true })
      return Effect.async<Batch, E>((resume) => {
        this.waiter = {
          min,
          wake: () => {
            if (this.bytes === 0 && this.failure !== undefined) resume(Effect.fail(this.failure.error))
            else resume(Effect.succeed(this.take()))
          }
        }
        this.armIdle()
        return Effect.sync(() => {
          this.waiter = undefined
          this.clearIdle()
        })
      })
    })
  }

  private close(): void {
    if (this.closed) return
    this.closed = true
    this.clearIdle()
    this.chunks = []
    this.bytes = 0
    this.copies?.clear()
    if (!this.ended) this.source.destroy()
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
