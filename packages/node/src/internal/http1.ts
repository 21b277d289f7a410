/**
 * A lean HTTP/1.1 client for the bytes of transfers: one request at a time per keep-alive
 * connection, the request head and a small body written in one piece, the answer parsed as it
 * comes (Content-Length, chunked, or up to the close), each connection reading into one static
 * buffer. It does a fraction of the work of `node:http` per request (what thousands of small
 * files cost) and allocates nothing per read (what a large download costs in garbage collection).
 *
 * @internal
 */
import type * as Net from "node:net"
import type * as Tls from "node:tls"

/** @internal */
export interface Modules {
  readonly net: typeof Net
  readonly tls: typeof Tls
}

/** Where requests go. */
/** @internal */
export interface Origin {
  readonly secure: boolean
  readonly host: string
  readonly port: number
  /** The `Host` header. */
  readonly authority: string
  readonly key: string
}

/** @internal */
export const originOf = (url: URL): Origin => {
  const secure = url.protocol === "https:"
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port)
  return { secure, host, port, authority: url.host, key: `${url.protocol}//${url.host}` }
}

/**
 * What a request tells its caller. The chunks of `onData` are views of the connection's read
 * buffer, valid during the call only: copy what you keep.
 */
/** @internal */
export interface Handlers {
  /** The status and headers (names in lower case) of the answer. */
  readonly onHead: (status: number, headers: Record<string, string>) => void
  readonly onData: (chunk: Buffer) => void
  readonly onEnd: () => void
  /** A transport failure (`answered`: after the head arrived). */
  readonly onError: (error: Error, answered: boolean) => void
}

/** Writes a request body on the socket, then calls `done` (with an error that aborts the request). */
/** @internal */
export type BodyWriter = (socket: Net.Socket, done: (error?: Error) => void) => void

/** A request in flight. */
/** @internal */
export interface Exchange {
  readonly pause: () => void
  readonly resume: () => void
  /** Drop the request (the connection is closed unless the answer was complete). */
  readonly abort: () => void
  /** Longest silence of the answer before `onError` (0: none). */
  readonly setIdleTimeout: (millis: number) => void
}

const MAX_HEAD = 64 * 1024
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"])
/** The static read buffer of a connection. */
const READ_BUFFER = 64 * 1024
const IDLE_SOCKET_MILLIS = 4_000
const CONNECT_MILLIS = 60_000

type Framing = { readonly kind: "length"; left: number } | { readonly kind: "chunked" } | { readonly kind: "close" } | { readonly kind: "none" }

/**
 * The status line and headers of an answer (`head`: up to, without, the empty line); header names
 * in lower case, repeated ones joined (`Set-Cookie` by new lines, others by commas).
 */
/** @internal */
export const parseHead = (head: string): { readonly minor: string; readonly status: number; readonly headers: Record<string, string> } => {
  const lines = head.split("\r\n")
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? "")
  if (m === null) throw new Error("not an HTTP/1.x answer")
  const headers: Record<string, string> = {}
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!
    const colon = l.indexOf(":")
    if (colon <= 0) continue
    const name = l.slice(0, colon).trim().toLowerCase()
    const value = l.slice(colon + 1).trim()
    headers[name] = name in headers ? (name === "set-cookie" ? `${headers[name]}\n${value}` : `${headers[name]}, ${value}`) : value
  }
  return { minor: m[1]!, status: Number(m[2]), headers }
}

/**
 * Parses one answer from the bytes of a connection. `feed` returns the bytes that came after the
 * answer's end (there should be none), or `undefined` while the answer goes on.
 */
/** @internal */
export class AnswerParser {
  private head: Array<Buffer> = []
  private headBytes = 0
  private framing: Framing | undefined
  /** Chunked decoding: "size" (reading a size line), "data", "crlf" (after data), "trailer". */
  private chunkState: "size" | "data" | "crlf" | "trailer" = "size"
  private chunkLeft = 0
  private line = ""
  keepAlive = true
  done = false

  constructor(private readonly handlers: Handlers, private readonly method: string) {}

  /** Feed bytes; throws on a malformed answer. */
  feed(chunk: Buffer): void {
    let data = chunk
    while (data.length > 0 && !this.done) {
      if (this.framing === undefined) data = this.feedHead(data)
      else data = this.feedBody(data)
    }
  }

  /** The connection ended: the end of an answer framed by the close, else a failure. */
  closed(): boolean {
    if (this.done) return true
    if (this.framing?.kind === "close") {
      this.finish()
      return true
    }
    return false
  }

  private finish() {
    this.done = true
    this.handlers.onEnd()
  }

  private feedHead(data: Buffer): Buffer {
    this.head.push(data)
    this.headBytes += data.length
    const all = this.head.length === 1 ? data : Buffer.concat(this.head)
    const end = all.indexOf("\r\n\r\n")
    if (end < 0) {
      if (this.headBytes > MAX_HEAD) throw new Error("the answer's head is too long")
      // the bytes are the connection's read buffer, used again by the next read
      this.head = [Buffer.from(all)]
      return Buffer.alloc(0)
    }
    this.head = []
    this.headBytes = 0
    const rest = all.subarray(end + 4)
    const { headers, minor, status } = parseHead(all.toString("latin1", 0, end))
    // an interim answer (100 Continue, 103 Early Hints): the real one follows
    if (status >= 100 && status < 200 && status !== 101) return rest
    const connection = (headers["connection"] ?? "").toLowerCase()
    this.keepAlive = minor === "1" ? !connection.includes("close") : connection.includes("keep-alive")
    const te = (headers["transfer-encoding"] ?? "").toLowerCase()
    const length = headers["content-length"]
    if (this.method === "HEAD" || status === 204 || status === 304 || status === 101) this.framing = { kind: "none" }
    else if (te !== "" && te !== "identity") {
      if (!te.endsWith("chunked")) throw new Error(`unsupported transfer encoding ${te}`)
      this.framing = { kind: "chunked" }
    } else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error("bad Content-Length")
      this.framing = { kind: "length", left: Number(length) }
    } else {
      this.framing = { kind: "close" }
      this.keepAlive = false
    }
    this.handlers.onHead(status, headers)
    if (this.framing.kind === "none" || (this.framing.kind === "length" && this.framing.left === 0)) this.finish()
    return rest
  }

  private feedBody(data: Buffer): Buffer {
    const framing = this.framing!
    switch (framing.kind) {
      case "none":
        return data
      case "close":
        this.handlers.onData(data)
        return Buffer.alloc(0)
      case "length": {
        const n = Math.min(framing.left, data.length)
        framing.left -= n
        this.handlers.onData(n === data.length ? data : data.subarray(0, n))
        if (framing.left === 0) this.finish()
        return data.subarray(n)
      }
      case "chunked":
        return this.feedChunked(data)
    }
  }

  private feedChunked(data: Buffer): Buffer {
    let at = 0
    while (at < data.length && !this.done) {
      if (this.chunkState === "data") {
        const n = Math.min(this.chunkLeft, data.length - at)
        this.handlers.onData(data.subarray(at, at + n))
        at += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.chunkState = "crlf"
        continue
      }
      const nl = data.indexOf(10, at)
      if (nl < 0) {
        this.line += data.toString("latin1", at)
        if (this.line.length > 4096) throw new Error("a chunk line is too long")
        return Buffer.alloc(0)
      }
      const line = (this.line + data.toString("latin1", at, nl)).replace(/\r$/, "")
      this.line = ""
      at = nl + 1
      if (this.chunkState === "crlf") {
        if (line !== "") throw new Error("bad chunk end")
        this.chunkState = "size"
      } else if (this.chunkState === "size") {
        const size = parseInt(line.split(";")[0]!.trim(), 16)
        if (!Number.isFinite(size) || size < 0) throw new Error("bad chunk size")
        if (size === 0) this.chunkState = "trailer"
        else {
          this.chunkLeft = size
          this.chunkState = "data"
        }
      } else if (line === "") this.finish()
    }
    return data.subarray(at)
  }
}

const ignore = () => {}

/** Close a connection for good (errors it may still report are of no interest). */
/** @internal */
export const kill = (s: Net.Socket) => {
  s.on("error", ignore)
  s.destroy()
}

/** @internal */
export interface Pool {
  /**
   * Send `head` (the request line and headers, without the final empty line) and the body
   * written by `body` on a pooled connection. An idempotent request that finds a reused
   * connection closed before any answer is sent again once on a new one.
   */
  readonly request: (origin: Origin, method: string, head: string, body: BodyWriter | undefined, handlers: Handlers) => Exchange
  readonly close: () => void
}

/** An idle keep-alive connection: anything it reports (data, end, error, timeout) drops it. */
interface Idle {
  readonly socket: Net.Socket
  readonly drop: () => void
}

/** The `onread` option of a connection: its bytes go to whoever `readers` names for it. */
const readInto = (readers: WeakMap<Net.Socket, (chunk: Buffer) => void>, socket: () => Net.Socket): Net.OnReadOpts => ({
  buffer: Buffer.allocUnsafe(READ_BUFFER),
  callback: (n, buffer) => {
    readers.get(socket())?.(Buffer.from(buffer.buffer, buffer.byteOffset, n))
    return true
  }
})

/**
 * Open a TCP (or TLS, ALPN http/1.1, SNI) connection to `origin` whose bytes go to `onread`;
 * `ready` once it is up or could not be made (the socket is then destroyed).
 */
/** @internal */
export const openConnection = (
  modules: Modules,
  origin: Origin,
  onread: Net.OnReadOpts,
  ready: (error: Error | undefined, socket: Net.Socket) => void
): Net.Socket => {
  // Node reads a TLS connection into `onread` too (not in its types)
  const tlsOptions: Tls.ConnectionOptions & { readonly onread: Net.OnReadOpts } = {
    host: origin.host,
    port: origin.port,
    ALPNProtocols: ["http/1.1"],
    ...(modules.net.isIP(origin.host) === 0 ? { servername: origin.host } : {}),
    onread
  }
  const s = origin.secure ? modules.tls.connect(tlsOptions) : modules.net.connect({ host: origin.host, port: origin.port, onread })
  s.setNoDelay(true)
  s.setTimeout(CONNECT_MILLIS)
  const connected = origin.secure ? "secureConnect" : "connect"
  const cleanup = () => {
    s.off("error", fail)
    s.off("timeout", timeout)
    s.off(connected, ok)
  }
  const fail = (e: Error) => {
    cleanup()
    kill(s)
    ready(e, s)
  }
  const timeout = () => fail(new Error(`no connection to ${origin.authority} within ${CONNECT_MILLIS / 1000} s`))
  const ok = () => {
    cleanup()
    s.setTimeout(0)
    ready(undefined, s)
  }
  s.once("error", fail)
  s.once("timeout", timeout)
  s.once(connected, ok)
  return s
}

/** The connections of a pool, by origin; each reads into its own static buffer. */
class Connections {
  private readonly idle = new Map<string, Array<Idle>>()
  private readonly all = new Set<Net.Socket>()
  /** Who gets the bytes a connection reads (`onread` replaces the `data` events). */
  readonly readers = new WeakMap<Net.Socket, (chunk: Buffer) => void>()

  constructor(private readonly modules: Modules) {}

  /** A new connection; `ready` once it is up (TLS included) or could not be made. */
  connect(origin: Origin, ready: (error: Error | undefined, socket: Net.Socket) => void): void {
    let socket: Net.Socket | undefined = undefined
    socket = openConnection(this.modules, origin, readInto(this.readers, () => socket!), ready)
    const s = socket
    this.all.add(s)
    s.once("close", () => this.all.delete(s))
  }

  /** A connection whose exchange completed, kept for the next request to its origin. */
  release(origin: Origin, socket: Net.Socket): void {
    if (socket.destroyed) return
    let list = this.idle.get(origin.key)
    if (list === undefined) this.idle.set(origin.key, list = [])
    const entries = list
    const entry: Idle = {
      socket,
      drop: () => {
        this.forget(entry)
        const i = entries.indexOf(entry)
        if (i >= 0) entries.splice(i, 1)
        kill(socket)
      }
    }
    socket.on("close", entry.drop)
    socket.on("error", entry.drop)
    socket.on("timeout", entry.drop)
    socket.on("end", entry.drop)
    // nothing is expected on an idle connection: the server closing it, or anything else, ends it
    this.readers.set(socket, entry.drop)
    socket.setTimeout(IDLE_SOCKET_MILLIS)
    socket.unref()
    list.push(entry)
  }

  private forget(entry: Idle): void {
    const socket = entry.socket
    socket.off("close", entry.drop)
    socket.off("error", entry.drop)
    socket.off("timeout", entry.drop)
    socket.off("end", entry.drop)
    this.readers.delete(socket)
  }

  /** The most recently used idle connection to `origin`, if any is still open. */
  takeIdle(origin: Origin): Net.Socket | undefined {
    const list = this.idle.get(origin.key)
    while (list !== undefined && list.length > 0) {
      const entry = list.pop()!
      const socket = entry.socket
      this.forget(entry)
      if (socket.destroyed || !socket.writable) {
        kill(socket)
        continue
      }
      socket.setTimeout(0)
      socket.ref()
      return socket
    }
    return undefined
  }

  close(): void {
    for (const s of this.all) kill(s)
    this.idle.clear()
  }
}

/** One request on the pool's connections, from its head to the end of its answer. */
class Request implements Exchange {
  private socket: Net.Socket | undefined
  private parser: AnswerParser | undefined
  /** Whether a reused connection may still turn out closed (no byte of an answer yet). */
  private mayRetry = false
  private answered = false
  private finished = false
  private aborted = false
  private paused = false
  private idleMillis = 0
  private bodyDone: boolean

  constructor(
    private readonly pool: Connections,
    private readonly origin: Origin,
    private readonly method: string,
    private readonly head: string,
    private readonly body: BodyWriter | undefined,
    private readonly handlers: Handlers
  ) {
    this.bodyDone = body === undefined
    this.open(true)
  }

  private open(mayReuse: boolean): void {
    const reused = mayReuse ? this.pool.takeIdle(this.origin) : undefined
    if (reused !== undefined) return this.start(reused, true)
    this.pool.connect(this.origin, (error, s) => {
      if (this.aborted) return kill(s)
      if (error !== undefined) return this.fail(error)
      this.start(s, false)
    })
  }

  private start(s: Net.Socket, reused: boolean): void {
    this.socket = s
    // a request that may have reached the server is sent again only when that is harmless
    this.mayRetry = reused && IDEMPOTENT.has(this.method)
    this.parser = new AnswerParser({
      onHead: (status, headers) => {
        this.answered = true
        this.handlers.onHead(status, headers)
      },
      onData: this.handlers.onData,
      onEnd: this.handlers.onEnd,
      onError: this.handlers.onError
    }, this.method)
    this.pool.readers.set(s, this.onData)
    s.on("error", this.onError)
    s.on("close", this.onClose)
    s.on("timeout", this.onTimeout)
    if (this.paused) s.pause()
    else if (this.idleMillis > 0) s.setTimeout(this.idleMillis)
    const body = this.body
    if (body === undefined) {
      s.write(this.head + "\r\n\r\n", "latin1")
      return
    }
    s.cork()
    s.write(this.head + "\r\n\r\n", "latin1")
    body(s, (error) => {
      if (this.socket !== s) return
      if (error !== undefined) return this.fail(error)
      this.bodyDone = true
    })
    s.uncork()
  }

  private readonly onData = (chunk: Buffer): void => {
    this.answered = true
    this.mayRetry = false
    try {
      this.parser!.feed(chunk)
    } catch (e) {
      return this.fail(e instanceof Error ? e : new Error(String(e)))
    }
    if (this.parser!.done && !this.finished) this.complete()
  }

  private readonly onError = (e: Error): void => {
    if (this.mayRetry) return this.retry()
    this.fail(e)
  }

  private readonly onClose = (): void => {
    if (this.finished || this.aborted) return
    if (this.mayRetry) return this.retry()
    if (this.answered && this.parser!.closed()) {
      this.finished = true
      return
    }
    this.fail(new Error(this.answered ? "the connection closed before the end of the answer" : "the connection closed before an answer"))
  }

  private readonly onTimeout = (): void =>
    this.fail(Object.assign(new Error(`no data for ${this.idleMillis / 1000} seconds`), { code: "ETIMEDOUT" }))

  /** A reused connection the server had closed: the request once more on a new one. */
  private retry(): void {
    this.mayRetry = false
    if (this.socket !== undefined) this.drop(this.socket)
    if (!this.aborted && !this.finished) this.open(false)
  }

  private detach(s: Net.Socket): void {
    this.pool.readers.delete(s)
    s.off("error", this.onError)
    s.off("close", this.onClose)
    s.off("timeout", this.onTimeout)
  }

  private drop(s: Net.Socket): void {
    this.detach(s)
    kill(s)
  }

  private fail(error: Error): void {
    if (this.finished || this.aborted) return
    this.finished = true
    if (this.socket !== undefined) this.drop(this.socket)
    this.handlers.onError(error, this.answered)
  }

  private complete(): void {
    this.finished = true
    const s = this.socket!
    this.detach(s)
    s.setTimeout(0)
    if (this.paused) s.resume()
    // an answer that came before the whole body was sent leaves the connection unusable
    if (this.parser!.keepAlive && this.bodyDone) this.pool.release(this.origin, s)
    else kill(s)
  }

  // a reader that takes its time is not a silent connection: the idle timer waits while paused
  pause(): void {
    if (this.paused || this.finished) return
    this.paused = true
    this.socket?.pause()
    if (this.idleMillis > 0) this.socket?.setTimeout(0)
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    if (this.finished) return
    this.socket?.resume()
    if (this.idleMillis > 0) this.socket?.setTimeout(this.idleMillis)
  }

  abort(): void {
    if (this.aborted || this.finished) return
    this.aborted = true
    if (this.socket !== undefined) this.drop(this.socket)
  }

  setIdleTimeout(millis: number): void {
    this.idleMillis = millis
    if (this.socket !== undefined && !this.finished && !this.paused) this.socket.setTimeout(millis)
  }
}

/** @internal */
export const makePool = (modules: Modules): Pool => {
  const connections = new Connections(modules)
  return {
    request: (origin, method, head, body, handlers) => new Request(connections, origin, method, head, body, handlers),
    close: () => connections.close()
  }
}
