/**
 * A lean `HttpClient` for requests whose body is in memory (none, or bytes): the request goes
 * over the HTTP/1.1 connection pool of `http1.ts` (head and body written in one piece, the answer
 * parsed as it arrives), one `Effect.async` per request.
 *
 * `node:http` costs about three times the CPU of the whole exchange on a small JSON request (its
 * agent, outgoing-message and incoming-message streams), and `@effect/platform-node`'s client adds
 * an abort controller, tracing checks, a response wrapper and three fibers per request on top.
 * Requests with streamed, form or raw bodies still go to that client (`fallback`).
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Http1 from "./http1.js"

/** What the client needs of Node (imported by the caller, on first use). */
export type Modules = Http1.Modules

/** A body buffered beyond this pauses the connection until its reader takes it. */
const HIGH_WATER = 1024 * 1024
/** About how much of a body one pull of its stream takes. */
const STREAM_PIECE = 64 * 1024
/** A `Content-Length` up to this is read into one buffer made when the head arrives. */
const PREALLOCATE = 8 * 1024 * 1024

/** RFC 9110 token characters (header names). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What `node:http` refuses in a header value (it would break the head). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/
/** A request target that needs no encoding (printable ASCII, no space). */
const PLAIN_TARGET = /^\/[\x21-\x7e]*$/
const NO_BODY_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"])

/**
 * A transport failure of the answer, as the decoders of `ApiClient` recognise one (a code of the
 * `ECONN*`/premature-close family); a malformed answer keeps its own error.
 */
const transportError = (error: Error, answered: boolean): Error => {
  if ((error as { code?: unknown }).code !== undefined) return error
  if (/closed before/.test(error.message)) {
    return Object.assign(error, { code: answered ? "ERR_STREAM_PREMATURE_CLOSE" : "ECONNRESET" })
  }
  return error
}

/**
 * The body of an answer as it arrives: copied out of the connection's read buffer, gathered until
 * a reader takes it. The connection is paused while more than `HIGH_WATER` bytes wait.
 */
class Body {
  private chunks: Array<Buffer> = []
  private buffered = 0
  /** The preallocated whole body (`Content-Length` known and small), filled up to `filled`. */
  private whole: Buffer | undefined
  private filled = 0
  ended = false
  error: Error | undefined
  private waiter: (() => void) | undefined
  exchange: Http1.Exchange | undefined

  expect(length: number | undefined): void {
    if (length !== undefined && length <= PREALLOCATE) this.whole = Buffer.allocUnsafe(length)
  }

  readonly onData = (view: Buffer): void => {
    const whole = this.whole
    if (whole !== undefined && this.filled + view.length <= whole.length) {
      view.copy(whole, this.filled)
      this.filled += view.length
    } else {
      this.chunks.push(Buffer.from(view))
    }
    this.buffered += view.length
    if (this.buffered > HIGH_WATER) this.exchange?.pause()
    this.wake()
  }

  readonly onEnd = (): void => {
    this.ended = true
    this.wake()
  }

  fail(error: Error): void {
    if (this.ended) return
    this.error = error
    this.wake()
  }

  private wake(): void {
    const w = this.waiter
    if (w === undefined) return
    this.waiter = undefined
    w()
  }

  /** Everything received so far (the reader's part: the connection resumes). */
  take(): Array<Buffer> {
    const out = this.chunks
    this.chunks = []
    if (this.whole !== undefined && this.filled > 0) {
      // the preallocated body is handed over only whole (`all`); a stream reader gets slices
      out.unshift(this.whole.subarray(0, this.filled))
      this.whole = this.whole.subarray(this.filled)
      this.filled = 0
    }
    this.buffered = 0
    this.exchange?.resume()
    return out
  }

  /**
   * The oldest bytes received, about `limit` of them (whole reads): a stream reader takes the
   * body in pieces, so that what it makes of one piece is done with before the next (objects
   * decoded from a whole megabyte at once outlive young-generation collections).
   */
  takeSome(limit: number): Array<Buffer> {
    let out: Array<Buffer>
    let size = 0
    if (this.whole !== undefined && this.filled > 0) {
      size = Math.min(this.filled, limit)
      out = [this.whole.subarray(0, size)]
      this.whole = this.whole.subarray(size)
      this.filled -= size
    } else {
      out = []
      let i = 0
      while (i < this.chunks.length && size < limit) size += this.chunks[i++]!.length
      out = this.chunks.splice(0, i)
    }
    this.buffered -= size
    if (this.buffered <= HIGH_WATER) this.exchange?.resume()
    return out
  }

  /** The whole body, once it ended. */
  all(): Buffer {
    if (this.whole !== undefined && this.chunks.length === 0 && this.filled === this.whole.length) {
      const b = this.whole
      this.whole = undefined
      return b
    }
    const parts = this.take()
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }

  /** Calls `f` once the state changes (data, end or failure). */
  wait(f: () => void): void {
    this.waiter = f
    this.exchange?.resume()
  }

  get pending(): boolean {
    return this.chunks.length > 0 || this.filled > 0
  }
}

/**
 * A response whose body was never read holds its connection: the exchange is dropped when the
 * response is collected (as `@effect/platform` does for its responses).
 */
const unread = new FinalizationRegistry<Body>((body) => {
  if (!body.ended) body.exchange?.abort()
})

class LeanResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  private read: Effect.Effect<Buffer, HttpClientError.ResponseError> | undefined
  private cachedHeaders: Headers.Headers | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    private readonly rawHeaders: Record<string, string>,
    private readonly body: Body
  ) {
    super()
    unread.register(this, body, this)
  }

  readonly onError = (cause: unknown): HttpClientError.ResponseError =>
    new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.rawHeaders)
  }

  get cookies(): Cookies.Cookies {
    const header = this.rawHeaders["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie(header.split("\n"))
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  /** The whole body, read once (every reader after the first gets the same bytes). */
  private get bytes(): Effect.Effect<Buffer, HttpClientError.ResponseError> {
    if (this.read !== undefined) return this.read
    unread.unregister(this)
    const body = this.body
    const settle = (): Effect.Effect<Buffer, HttpClientError.ResponseError> =>
      this.read = body.error !== undefined ? Effect.fail(this.onError(body.error)) : Effect.succeed(body.all())
    if (body.ended || body.error !== undefined) return settle()
    this.read = Effect.async<Buffer, HttpClientError.ResponseError>((resume) => {
      const check = () => {
        if (body.ended || body.error !== undefined) resume(settle())
        else body.wait(check)
      }
      body.wait(check)
      return Effect.sync(() => {
        body.exchange?.abort()
        this.read = Effect.fail(this.onError(new Error("reading the body was interrupted")))
      })
    })
    return this.read
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (b) => b.toString("utf8"))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: (): unknown => (text === "" ? null : JSON.parse(text)), catch: this.onError }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: this.onError }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)
  }

  /** The body as it arrives: each pull takes what came since the last one, or waits for more. */
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    unread.unregister(this)
    const body = this.body
    const next: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>> = Effect.suspend(() => {
      if (body.pending) return Effect.succeed(Chunk.unsafeFromArray<Uint8Array>(body.takeSome(STREAM_PIECE)))
      if (body.error !== undefined) return Effect.fail(Option.some(this.onError(body.error)))
      if (body.ended) return Effect.fail(Option.none())
      return Effect.flatMap(Effect.async<void>((resume) => body.wait(() => resume(Effect.void))), () => next)
    })
    return Stream.repeatEffectChunkOption(next).pipe(
      Stream.ensuring(Effect.sync(() => {
        if (!body.ended) body.exchange?.abort()
      }))
    )
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes, { status: this.status, headers: this.rawHeaders }).formData(),
        catch: this.onError
      }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** The head of a request (without its final empty line), or the reason it cannot be sent. */
const headOf = (
  request: HttpClientRequest.HttpClientRequest,
  target: string,
  origin: Http1.Origin,
  contentLength: number | undefined
): string | Error => {
  if (/\s/.test(target)) return new Error("the request path holds white space")
  let head = `${request.method} ${target} HTTP/1.1`
  const headers = request.headers
  if (headers["host"] === undefined) head += `\r\nhost: ${origin.authority}`
  for (const name in headers) {
    if (name === "content-length") continue
    const value = headers[name]!
    if (!TOKEN.test(name)) return new Error(`invalid request header name ${JSON.stringify(name)}`)
    if (BAD_VALUE.test(value)) return new Error(`the request header "${name}" holds a character a header cannot carry`)
    head += `\r\n${name}: ${value}`
  }
  if (contentLength !== undefined) head += `\r\ncontent-length: ${contentLength}`
  else if (!NO_BODY_METHODS.has(request.method)) head += "\r\ncontent-length: 0"
  return head
}

/** Where a request goes: its origin and request target. */
interface Target {
  readonly origin: Http1.Origin
  readonly target: string
}

/**
 * The origins seen, by `scheme://authority`: a request to a known origin whose URL needs no
 * parameters added is split without parsing a `URL`.
 */
class Targets {
  private readonly origins = new Map<string, Http1.Origin>()

  of(request: HttpClientRequest.HttpClientRequest): Target | "fallback" | Error {
    const raw = request.url
    if (request.urlParams.length === 0 && request.hash._tag === "None" && raw.indexOf("#") < 0) {
      const slash = raw.indexOf("/", raw.indexOf("//") + 2)
      const origin = slash < 0 ? undefined : this.origins.get(raw.slice(0, slash))
      const target = origin === undefined ? "" : raw.slice(slash)
      // a URL made by `URL` is already encoded; anything else is parsed (and encoded) below
      if (origin !== undefined && PLAIN_TARGET.test(target)) return { origin, target }
    }
    const url = UrlParams.makeUrl(raw, request.urlParams, request.hash)
    if (url._tag === "Left") return url.left
    const u = url.right
    if (u.protocol !== "http:" && u.protocol !== "https:") return "fallback"
    const origin = Http1.originOf(u)
    this.origins.set(origin.key, origin)
    return { origin, target: (u.pathname + u.search) || "/" }
  }
}

const send = (pool: () => Http1.Pool, request: HttpClientRequest.HttpClientRequest, to: Target, bytes: Uint8Array | undefined) =>
  Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((fiber) =>
    exchange(pool, request, to, bytes, fiber.getFiberRef(ApiClient.currentIdleTimeout))
  )

const exchange = (
  pool: () => Http1.Pool,
  request: HttpClientRequest.HttpClientRequest,
  to: Target,
  bytes: Uint8Array | undefined,
  idleMillis: number | undefined
) =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
    const transport = (cause: unknown) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
    const head = headOf(request, to.target, to.origin, bytes?.length)
    if (head instanceof Error) {
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", cause: head })))
      return
    }
    const body = new Body()
    let answered = false
    const writer: Http1.BodyWriter | undefined = bytes === undefined || bytes.length === 0 ? undefined : (socket, done) => {
      socket.write(bytes)
      done()
    }
    const ongoing = pool().request(to.origin, request.method, head, writer, {
      onHead: (status, headers) => {
        answered = true
        const length = headers["content-length"]
        body.expect(length === undefined ? undefined : Number(length))
        resume(Effect.succeed(new LeanResponse(request, status, headers, body)))
      },
      onData: body.onData,
      onEnd: body.onEnd,
      onError: (error, afterHead) => {
        const e = transportError(error, afterHead)
        if (answered) body.fail(e)
        else resume(Effect.fail(transport(e)))
      }
    })
    body.exchange = ongoing
    if (idleMillis !== undefined && idleMillis > 0) ongoing.setIdleTimeout(idleMillis)
    return Effect.sync(() => {
      if (!answered) ongoing.abort()
    })
  })

/**
 * A request for the fallback client, which knows nothing of `currentIdleTimeout`: the wait for
 * the answer's head is bounded by it (the body, read later, is not).
 */
const viaFallback = (fallback: HttpClient.HttpClient, request: HttpClientRequest.HttpClientRequest) =>
  Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
    const idle = fiber.getFiberRef(ApiClient.currentIdleTimeout)
    if (idle === undefined || idle <= 0) return fallback.execute(request)
    return Effect.timeoutFail(fallback.execute(request), {
      duration: Duration.millis(idle),
      onTimeout: () =>
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: Object.assign(new Error(`no answer within ${idle / 1000} seconds`), { code: "ETIMEDOUT" })
        })
    })
  })

/**
 * The client: requests with no body or a body of bytes over the connection pool, the others
 * through `fallback`. The pool is made on the first request and closed by `close`.
 *
 * @internal
 */
export const make = (modules: Modules, fallback: HttpClient.HttpClient): { readonly client: HttpClient.HttpClient; readonly close: () => void } => {
  let pool: Http1.Pool | undefined
  const getPool = () => pool ??= Http1.makePool(modules)
  const targets = new Targets()
  const client = HttpClient.makeWith<HttpClientError.HttpClientError, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(effect, (request) => {
        const body = request.body
        if (body._tag !== "Empty" && body._tag !== "Uint8Array") return viaFallback(fallback, request)
        const to = targets.of(request)
        if (to === "fallback") return viaFallback(fallback, request)
        if (to instanceof Error) return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: to }))
        return send(getPool, request, to, body._tag === "Uint8Array" ? body.body : undefined)
      }),
    Effect.succeed
  )
  return { client, close: () => pool?.close() }
}
