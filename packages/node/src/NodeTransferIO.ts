/**
 * The Node fast path of storage transfers (`TransferIO` of `@neuro-sdk/core`): requests over a
 * lean HTTP/1.1 client on `node:net`/`node:tls` (keep-alive connections, TLS verified); upload
 * bodies read from the file in one piece (small ranges, sent with the request head) or streamed in
 * 1 MiB reads, download bodies handed over in large batches. One Effect boundary per request, none
 * per chunk, and a fraction of `node:http`'s work per request.
 *
 * It sends the same `User-Agent` and tracing headers as `ApiClient`, and sends back the
 * platform's sticky-session cookies (`NEURO_*_SESSION`) it received; the caller adds
 * `Authorization`. `NeuroNode.layer` provides it with its default transport.
 *
 * @since 1.0.0
 */
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import * as Errors from "@neuro-sdk/core/Errors"
import * as TransferIO from "@neuro-sdk/core/TransferIO"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as NodeFs from "node:fs"
import type * as Net from "node:net"
import * as Http1 from "./internal/http1.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** `User-Agent` (default: `ApiClient.USER_AGENT`). */
  readonly userAgent?: string | undefined
  /** Trace id shared by all requests (default: a fresh one per request). */
  readonly traceId?: string | undefined
  /** `sampled` part of `sentry-trace`. */
  readonly traceSampled?: boolean | undefined
}

/** Longest silence of an answer's body before the connection counts as dead. */
const BODY_GAP_MILLIS = 60_000
/** Ranges up to this size are read from the file at once and sent with the request head. */
const WHOLE_READ = 1024 * 1024
/** Read size of a streamed upload body. */
const STREAM_READ = 1024 * 1024
/** Size of the buffers a download body is gathered in (reused from one batch to the next). */
const BATCH = 1024 * 1024

interface Modules extends Http1.Modules {
  readonly fs: typeof NodeFs
}

// the modules are loaded on the first transfer, not when the SDK is loaded
let modules: Modules | undefined
let loading: Promise<Modules> | undefined
const load = (): Promise<Modules> =>
  loading ??= Promise.all([import("node:net"), import("node:tls"), import("node:fs")]).then(([net, tls, fs]) => (modules = { net, tls, fs }))
const withModules = <A, E>(f: (m: Modules) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  modules !== undefined ? f(modules) : Effect.flatMap(Effect.promise(load), f)

// the random part of trace ids, drawn 4 KiB at a time
let randomPool = Buffer.alloc(0)
let randomAt = 0
const randomHex = (n: number): string => {
  if (randomAt + n > randomPool.length) {
    randomPool = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(4096)))
    randomAt = 0
  }
  randomAt += n
  return randomPool.toString("hex", randomAt - n, randomAt)
}

// the time part of trace ids (seconds, 8 hex digits), built once a second
let prefixSecond = -1
let prefix = ""
const timePrefix = (): string => {
  const second = Math.floor(Date.now() / 1000)
  if (second !== prefixSecond) {
    prefixSecond = second
    prefix = second.toString(16).padStart(8, "0").slice(-8)
  }
  return prefix
}

const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code
    return code === undefined ? cause.message : `${cause.message} (${code})`
  }
  return String(cause)
}

/** A local read failure (a `FileSystemError`), told apart from transport failures. */
class LocalReadError extends Error {
  constructor(readonly error: Errors.FileSystemError) {
    super(error.message)
  }
}

const localError = (cause: unknown, path: string): LocalReadError => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return new LocalReadError(
    Errors.fromLocalErrno(typeof code === "string" && code.startsWith("E") ? code : "EIO", `${describe(cause)} (${path})`)
  )
}

/** `length` bytes of a file from `offset`, read at once (short reads continued; fewer bytes is an error). */
const readRange = (fs: typeof NodeFs, range: TransferIO.FileRange, done: (error: LocalReadError | undefined, data?: Buffer) => void) => {
  fs.open(range.path, "r", (openError, fd) => {
    if (openError !== null) return done(localError(openError, range.path))
    const data = Buffer.allocUnsafe(range.length)
    const close = (error: LocalReadError | undefined) => fs.close(fd, () => (error === undefined ? done(undefined, data) : done(error)))
    const step = (at: number) =>
      fs.read(fd, data, at, range.length - at, range.offset + at, (readError, n) => {
        if (readError !== null) return close(localError(readError, range.path))
        if (at + n === range.length) return close(undefined)
        if (n === 0) return close(localError(new Error(`the file ended after ${at} of ${range.length} bytes (did it change?)`), range.path))
        step(at + n)
      })
    step(0)
  })
}

/**
 * A body streamed from a file range in 1 MiB reads, as fast as the connection takes it; a buffer is
 * read into again once the connection has taken it (two at most are in use).
 */
const streamRange = (fs: typeof NodeFs, range: TransferIO.FileRange): Http1.BodyWriter => (socket: Net.Socket, done) => {
  fs.open(range.path, "r", (openError, fd) => {
    if (openError !== null) return done(localError(openError, range.path))
    let at = 0
    const free: Array<Buffer> = []
    const finish = (error?: Error) => fs.close(fd, () => done(error))
    const step = () => {
      if (socket.destroyed) return finish(new Error("the connection closed while sending"))
      const n = Math.min(STREAM_READ, range.length - at)
      if (n === 0) return finish()
      const buffer = free.pop() ?? Buffer.allocUnsafe(STREAM_READ)
      fs.read(fd, buffer, 0, n, range.offset + at, (readError, got) => {
        if (readError !== null) return finish(localError(readError, range.path))
        if (got === 0) return finish(localError(new Error(`the file ended after ${at} of ${range.length} bytes (did it change?)`), range.path))
        at += got
        range.sent?.(at)
        const flushed = () => {
          if (free.length < 2) free.push(buffer)
        }
        if (socket.write(buffer.subarray(0, got), flushed)) return step()
        const go = () => {
          socket.off("drain", go)
          socket.off("close", go)
          step()
        }
        socket.on("drain", go)
        socket.on("close", go)
      })
    }
    step()
  })
}

/** Sticky-session cookies (`NEURO_*_SESSION`) the platform sets, sent back to the same origin. */
const isSessionCookie = (name: string) => name.startsWith("NEURO_") && name.endsWith("_SESSION")

/** The heads of requests: origins, trace ids, headers checked, and the sticky-session cookies received. */
class Heads {
  private readonly userAgent: string
  private readonly sampled: string
  private readonly origins = new Map<string, Http1.Origin>()
  private readonly cookies = new Map<string, Map<string, string>>()
  /** The `Cookie` header of each origin. */
  private readonly cookieHeaders = new Map<string, string>()

  constructor(private readonly options: Options) {
    this.userAgent = options.userAgent ?? ApiClient.USER_AGENT
    this.sampled = options.traceSampled === undefined ? "" : options.traceSampled ? "1" : "0"
  }

  /** The origin and the head of a request; one that cannot be sent as it is throws. */
  prepare(request: TransferIO.Request, contentLength: number | undefined): { readonly origin: Http1.Origin; readonly head: string } {
    const slash = request.url.indexOf("/", request.url.indexOf("//") + 2)
    const key = slash < 0 ? request.url : request.url.slice(0, slash)
    let origin = this.origins.get(key)
    if (origin === undefined) this.origins.set(key, origin = Http1.originOf(new URL(key)))
    const target = slash < 0 ? "/" : request.url.slice(slash)
    if (/\s/.test(target)) throw new Error("the request path holds white space")
    const traceId = this.options.traceId ?? timePrefix() + randomHex(12)
    const spanId = randomHex(8)
    let head = `${request.method} ${target} HTTP/1.1\r\nHost: ${origin.authority}\r\nUser-Agent: ${this.userAgent}` +
      `\r\nb3: ${traceId}-${spanId}\r\nsentry-trace: ${traceId}-${spanId}-${this.sampled}`
    for (const [name, value] of Object.entries(request.headers)) {
      if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) throw new Error(`the request header ${JSON.stringify(name)} holds a line break`)
      head += `\r\n${name}: ${value}`
    }
    const cookie = this.cookieHeaders.get(origin.key)
    if (cookie !== undefined) head += `\r\nCookie: ${cookie}`
    if (contentLength !== undefined) head += `\r\nContent-Length: ${contentLength}`
    return { origin, head }
  }

  /** Keep the sticky-session cookies of an answer's `Set-Cookie` lines. */
  remember(origin: Http1.Origin, setCookie: string | undefined): void {
    if (setCookie === undefined) return
    for (const line of setCookie.split("\n")) {
      const pair = line.split(";", 1)[0]!
      const eq = pair.indexOf("=")
      const name = pair.slice(0, Math.max(0, eq)).trim()
      if (eq <= 0 || !isSessionCookie(name)) continue
      const value = pair.slice(eq + 1).trim()
      let jar = this.cookies.get(origin.key)
      if (jar === undefined) this.cookies.set(origin.key, jar = new Map())
      if (value === "" || /;\s*max-age\s*=\s*0\b/i.test(line)) jar.delete(name)
      else jar.set(name, value)
      if (jar.size === 0) this.cookieHeaders.delete(origin.key)
      else this.cookieHeaders.set(origin.key, [...jar].map(([n, v]) => `${n}=${v}`).join("; "))
    }
  }
}

/** Starts a request on the pool (an `Error` when it cannot be sent). */
type Start = (
  m: Modules,
  request: TransferIO.Request,
  contentLength: number | undefined,
  body: Http1.BodyWriter | undefined,
  handlers: Http1.Handlers
) => Http1.Exchange | Error

const failure = (request: TransferIO.Request, error: Error): Errors.NetworkError | Errors.FileSystemError =>
  error instanceof LocalReadError ? error.error : TransferIO.networkError(request, describe(error))

/** `TransferIO.send`: the range read first when small (sent with the head), else streamed. */
const sendWith = (start: Start) => (request: TransferIO.Request, range: TransferIO.FileRange) =>
  withModules((m) =>
    Effect.async<TransferIO.Sent, Errors.NetworkError | Errors.FileSystemError>((resume) => {
      let current: Http1.Exchange | undefined
      let dropped = false
      const go = (body: Http1.BodyWriter | undefined) => {
        if (dropped) return
        let answer: { status: number; headers: Record<string, string> } | undefined
        const parts: Array<Buffer> = []
        const started = start(m, request, range.length, body, {
          onHead: (status, headers) => {
            answer = { status, headers }
          },
          // views of the connection's read buffer: copied
          onData: (chunk) => parts.push(Buffer.from(chunk)),
          onEnd: () => resume(Effect.succeed({ ...answer!, text: Buffer.concat(parts).toString("utf8") })),
          onError: (error) => resume(Effect.fail(failure(request, error)))
        })
        if (started instanceof Error) return resume(Effect.fail(failure(request, started)))
        current = started
      }
      if (range.length === 0) go(undefined)
      else if (range.length <= WHOLE_READ) {
        readRange(m.fs, range, (error, data) => {
          if (error !== undefined) return resume(Effect.fail(error.error))
          go((socket, done) => {
            socket.write(data!)
            range.sent?.(range.length)
            done()
          })
        })
      } else go(streamRange(m.fs, range))
      return Effect.sync(() => {
        dropped = true
        current?.abort()
      })
    }))

/** `TransferIO.receive`: the answer once its head is in, its body gathered in reused buffers. */
const receiveWith = (start: Start) => (request: TransferIO.Request) =>
  withModules((m) =>
    Effect.async<TransferIO.Received, Errors.NetworkError>((resume) => {
      let answered = false
      let current: Http1.Exchange | undefined
      const buffer = TransferIO.makeBodyBuffer({
        pause: () => current?.pause(),
        resume: () => current?.resume(),
        destroy: () => current?.abort()
      }, { copy: BATCH })
      const started = start(m, request, undefined, undefined, {
        onHead: (status, headers) => {
          answered = true
          current?.setIdleTimeout(BODY_GAP_MILLIS)
          resume(Effect.succeed({ status, headers, body: buffer.body }))
        },
        onData: buffer.push,
        onEnd: buffer.end,
        onError: (error) => {
          const e = TransferIO.networkError(request, describe(error))
          if (answered) buffer.fail(e)
          else resume(Effect.fail(e))
        }
      })
      if (started instanceof Error) return resume(Effect.fail(TransferIO.networkError(request, describe(started))))
      current = started
      return Effect.sync(() => {
        if (!answered) current?.abort()
      })
    }))

/**
 * The `TransferIO` service over a lean HTTP/1.1 client on `node:net`/`node:tls` (keep-alive
 * connections, TLS verified); its connections are closed when the scope closes.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<TransferIO.TransferIO.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    let pool: Http1.Pool | undefined
    yield* Effect.addFinalizer(() => Effect.sync(() => pool?.close()))
    const heads = new Heads(options)
    const start: Start = (m, request, contentLength, body, handlers) => {
      pool ??= Http1.makePool(m)
      let prepared: ReturnType<Heads["prepare"]>
      try {
        prepared = heads.prepare(request, contentLength)
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e))
      }
      const origin = prepared.origin
      return pool.request(origin, request.method, prepared.head, body, {
        ...handlers,
        onHead: (status, headers) => {
          heads.remember(origin, headers["set-cookie"])
          handlers.onHead(status, headers)
        }
      })
    }
    return TransferIO.TransferIO.of({ send: sendWith(start), receive: receiveWith(start) })
  })

/**
 * `TransferIO` over the lean HTTP/1.1 client (see `make`).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<TransferIO.TransferIO> => Layer.scoped(TransferIO.TransferIO, make(options))
