/**
 * A lean websocket client (RFC 6455, no extensions) on one TCP or TLS connection. The connection
 * reads into slabs of 1 MiB filled one read after the other, and received messages are views of
 * them: a stream of 64 KiB log messages costs one allocation per megabyte and no copy (only a
 * message that spans two slabs, or several frames, is copied), with no per-message events.
 *
 * The connection hands over what it receives through {@link Events}; the Effect side lives in
 * `NodeWebSocket.ts`.
 *
 * @internal
 */
import type * as Crypto from "node:crypto"
import type * as Net from "node:net"
import * as Http1 from "./http1.js"

/** @internal */
export interface Modules extends Http1.Modules {
  readonly crypto: typeof Crypto
}

/** What the connection reports, in order; `onClose` comes last, once. */
/** @internal */
export interface Events {
  /** A whole message: bytes (a view the receiver owns) for binary, a string for text. */
  readonly onMessage: (data: Uint8Array | string) => void
  readonly onPong: () => void
  /** A protocol or transport failure; `onClose` follows. */
  readonly onError: (error: Error) => void
  readonly onClose: () => void
}

/** @internal */
export interface Options {
  readonly headers: Readonly<Record<string, string>>
  readonly protocols: ReadonlyArray<string>
  readonly handshakeMillis: number
  /** Largest message accepted (a larger one closes the connection with 1009). */
  readonly maxPayload: number
}

/** How the opening handshake ended. */
/** @internal */
export type Handshake =
  | { readonly _tag: "Open"; readonly connection: Connection }
  | { readonly _tag: "Refused"; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
  | { readonly _tag: "Failed"; readonly error: Error }

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
const MAX_HEAD = 64 * 1024
/** Bytes of a refused handshake's body kept for the error. */
const MAX_REFUSAL_BODY = 64 * 1024
/** Reads go into slabs of this size... */
const SLAB = 1024 * 1024
/** ...each read into at least this much room. */
const MIN_READ = 64 * 1024

const OP_CONTINUATION = 0
const OP_TEXT = 1
const OP_BINARY = 2
const OP_CLOSE = 8
const OP_PING = 9
const OP_PONG = 10

/** A failure that closes the connection with `code`. */
class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Memory the connection reads into: consecutive reads fill 1 MiB slabs one after the other, and
 * nothing is ever written twice, so what was read can be handed on as views: a payload that lies
 * in one slab (most do) reaches the consumer without being copied.
 */
class ReadSlabs {
  private slab: Buffer | undefined
  private used = 0

  /** Where the next read goes: the free part of the slab (a new slab when too little is left). */
  readonly next = (): Buffer => {
    if (this.slab === undefined || SLAB - this.used < MIN_READ) {
      this.slab = Buffer.allocUnsafeSlow(SLAB)
      this.used = 0
    }
    return this.slab.subarray(this.used)
  }

  /** `n` bytes were read into the last {@link next}: their view. */
  took(n: number): Uint8Array {
    const view = new Uint8Array(this.slab!.buffer, this.slab!.byteOffset + this.used, n)
    this.used += n
    return view
  }
}

const EMPTY = new Uint8Array(0)

/** The pieces as one array: a view when they lie end to end in one buffer, else a copy. */
const join = (pieces: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (pieces.length === 0) return EMPTY
  const first = pieces[0]!
  let contiguous = true
  for (let i = 1; i < pieces.length && contiguous; i++) {
    const prev = pieces[i - 1]!
    contiguous = pieces[i]!.buffer === first.buffer && pieces[i]!.byteOffset === prev.byteOffset + prev.length
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, total)
  const out = new Uint8Array(total)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * Frames of the server, parsed as bytes come. Headers (2 to 10 bytes) are gathered in a small
 * buffer; payloads are kept as views of what was read and joined at the end of the frame.
 */
class FrameReader {
  private readonly header = Buffer.alloc(14)
  private headerHave = 0
  private headerNeed = 2
  private inPayload = false
  private fin = false
  private opcode = 0
  private length = 0
  private left = 0
  private pieces: Array<Uint8Array> = []
  /** The message being received in several frames (its opcode and the frames so far). */
  private fragments: Array<Uint8Array> | undefined
  private fragmentsOpcode = 0
  private fragmentsBytes = 0

  constructor(
    private readonly maxPayload: number,
    private readonly onFrame: (opcode: number, payload: Uint8Array) => void
  ) {}

  /**
   * Feed bytes read from the connection; their memory must never be written again (payloads
   * are handed on as views of it). Throws a `ProtocolError`.
   */
  feed(data: Uint8Array): void {
    let i = 0
    const end = data.length
    while (i < end) {
      if (!this.inPayload) {
        while (this.headerHave < this.headerNeed && i < end) this.header[this.headerHave++] = data[i++]!
        if (this.headerHave < this.headerNeed) return
        if (this.headerHave === 2) this.headerNeed = this.fullHeaderLength()
        if (this.headerHave < this.headerNeed) continue
        this.startPayload()
        if (this.left === 0) this.endFrame()
        continue
      }
      const n = Math.min(this.left, end - i)
      this.pieces.push(data.subarray(i, i + n))
      this.left -= n
      i += n
      if (this.left === 0) this.endFrame()
    }
  }

  private fullHeaderLength(): number {
    const b0 = this.header[0]!
    const b1 = this.header[1]!
    if ((b0 & 0x70) !== 0) throw new ProtocolError(1002, "a frame has reserved bits set")
    if ((b1 & 0x80) !== 0) throw new ProtocolError(1002, "the server masked a frame")
    const len7 = b1 & 0x7f
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0)
  }

  private startPayload(): void {
    const h = this.header
    this.fin = (h[0]! & 0x80) !== 0
    this.opcode = h[0]! & 0x0f
    const len7 = h[1]! & 0x7f
    let length = len7
    if (len7 === 126) length = h.readUInt16BE(2)
    else if (len7 === 127) {
      const high = h.readUInt32BE(2)
      if (high > 0x1fffff) throw new ProtocolError(1009, "a frame is too large")
      length = high * 0x100000000 + h.readUInt32BE(6)
    }
    this.headerHave = 0
    this.headerNeed = 2
    this.inPayload = true
    this.length = length
    this.left = length
    const op = this.opcode
    if (op >= OP_CLOSE) {
      if (op > OP_PONG) throw new ProtocolError(1002, `unknown opcode ${op}`)
      if (!this.fin || length > 125) throw new ProtocolError(1002, "a control frame is fragmented or too long")
      return
    }
    if (op === OP_CONTINUATION) {
      if (this.fragments === undefined) throw new ProtocolError(1002, "a continuation frame without a message")
    } else if (op === OP_TEXT || op === OP_BINARY) {
      if (this.fragments !== undefined) throw new ProtocolError(1002, "a new message before the end of the last")
    } else throw new ProtocolError(1002, `unknown opcode ${op}`)
    const total = (this.fragments === undefined ? 0 : this.fragmentsBytes) + length
    if (total > this.maxPayload) throw new ProtocolError(1009, `a message is larger than ${this.maxPayload} bytes`)
  }

  private endFrame(): void {
    this.inPayload = false
    const op = this.opcode
    const payload = join(this.pieces, this.length)
    this.pieces = []
    if (op >= OP_CLOSE) return this.onFrame(op, payload)
    if (op !== OP_CONTINUATION && this.fin) return this.onFrame(op, payload)
    if (op !== OP_CONTINUATION) {
      this.fragments = [payload]
      this.fragmentsOpcode = op
      this.fragmentsBytes = payload.length
      return
    }
    this.fragments!.push(payload)
    this.fragmentsBytes += payload.length
    if (!this.fin) return
    const whole = join(this.fragments!, this.fragmentsBytes)
    const opcode = this.fragmentsOpcode
    this.fragments = undefined
    this.onFrame(opcode, whole)
  }
}

/** An open websocket. */
/** @internal */
export class Connection {
  private closeSent = false
  private closeReceived = false
  private finished = false
  private readonly reader: FrameReader

  constructor(
    private readonly modules: Modules,
    private readonly socket: Net.Socket,
    /** The subprotocol the server chose (`""` when none). */
    readonly protocol: string,
    private readonly events: Events,
    maxPayload: number
  ) {
    this.reader = new FrameReader(maxPayload, (op, payload) => this.onFrame(op, payload))
    socket.on("error", (e) => this.fail(e))
    socket.on("close", () => this.finish())
  }

  /** Bytes of the connection (a view of its read buffer). */
  receive(data: Uint8Array): void {
    if (this.finished || this.closeReceived) return
    try {
      this.reader.feed(data)
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.sendClose(e.code, "")
        this.fail(e)
        return
      }
      throw e
    }
  }

  get isPaused(): boolean {
    return this.socket.isPaused()
  }

  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }

  get isOpen(): boolean {
    return !this.finished && !this.closeSent && !this.socket.destroyed
  }

  /** Send a message; `done` once it is handed to the system (or with why it could not be). */
  send(data: Uint8Array | string, done: (error?: Error) => void): void {
    if (!this.isOpen) return done(new Error("the websocket is closed"))
    const text = typeof data === "string"
    this.write(text ? OP_TEXT : OP_BINARY, text ? Buffer.from(data, "utf8") : data, done)
  }

  ping(): void {
    if (this.isOpen) this.write(OP_PING, new Uint8Array(0))
  }

  /** Start the closing handshake (normal closure unless `code` says otherwise). */
  close(code = 1000, reason = ""): void {
    if (this.finished || this.closeSent) return
    this.sendClose(code, reason)
    if (this.closeReceived) this.socket.end()
  }

  /** Drop the connection at once. */
  terminate(): void {
    Http1.kill(this.socket)
  }

  /** Why the connection may end early (what `close` waits for). */
  get isFinished(): boolean {
    return this.finished
  }

  private onFrame(op: number, payload: Uint8Array): void {
    switch (op) {
      case OP_BINARY:
        return this.events.onMessage(payload)
      case OP_TEXT: {
        let text: string
        try {
          text = utf8.decode(payload)
        } catch {
          throw new ProtocolError(1007, "a text message is not valid UTF-8")
        }
        return this.events.onMessage(text)
      }
      case OP_PING:
        if (!this.closeSent) this.write(OP_PONG, payload)
        return
      case OP_PONG:
        return this.events.onPong()
      case OP_CLOSE:
        return this.onClose(payload)
    }
  }

  private onClose(payload: Uint8Array): void {
    this.closeReceived = true
    if (payload.length === 1) throw new ProtocolError(1002, "a close frame of one byte")
    const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005
    // answer with the same code (none when the server gave none), then the server closes TCP
    if (!this.closeSent) this.sendClose(code === 1005 ? undefined : code, "")
    this.socket.end()
  }

  private sendClose(code: number | undefined, reason: string): void {
    if (this.closeSent || this.socket.destroyed) return
    this.closeSent = true
    const why = Buffer.from(reason, "utf8").subarray(0, 123)
    const payload = Buffer.alloc(code === undefined ? 0 : 2 + why.length)
    if (code !== undefined) {
      payload.writeUInt16BE(code, 0)
      why.copy(payload, 2)
    }
    this.write(OP_CLOSE, payload)
  }

  /** One masked frame (a client masks everything it sends), header and payload in one write. */
  private write(op: number, payload: Uint8Array, done?: (error?: Error) => void): void {
    const n = payload.length
    const extra = n < 126 ? 0 : n < 65536 ? 2 : 8
    const frame = Buffer.allocUnsafe(2 + extra + 4 + n)
    frame[0] = 0x80 | op
    if (extra === 0) frame[1] = 0x80 | n
    else if (extra === 2) {
      frame[1] = 0x80 | 126
      frame.writeUInt16BE(n, 2)
    } else {
      frame[1] = 0x80 | 127
      frame.writeUInt32BE(Math.floor(n / 0x100000000), 2)
      frame.writeUInt32BE(n >>> 0, 6)
    }
    const maskAt = 2 + extra
    this.modules.crypto.randomFillSync(frame, maskAt, 4)
    const body = maskAt + 4
    for (let i = 0; i < n; i++) frame[body + i] = payload[i]! ^ frame[maskAt + (i & 3)]!
    if (done === undefined) this.socket.write(frame)
    else this.socket.write(frame, (e) => done(e ?? undefined))
  }

  private fail(error: Error): void {
    if (this.finished) return
    this.events.onError(error)
    Http1.kill(this.socket)
    this.finish()
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.events.onClose()
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Characters that would end a header line (or the head) early. */
const UNSAFE_VALUE = /[\r\n\0]/

/** The handshake request, or why the options cannot be sent. */
const handshakeRequest = (url: URL, key: string, options: Options): string | Error => {
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    `Sec-WebSocket-Key: ${key}`
  ]
  for (const p of options.protocols) if (!TOKEN.test(p)) return new Error(`invalid websocket subprotocol ${JSON.stringify(p)}`)
  if (options.protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`)
  for (const [name, value] of Object.entries(options.headers)) {
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) return new Error(`invalid header ${JSON.stringify(name)}`)
    lines.push(`${name}: ${value}`)
  }
  return `${lines.join("\r\n")}\r\n\r\n`
}

/** Why a 101 answer is not a websocket we asked for, if it is not. */
const checkUpgrade = (headers: Record<string, string>, accept: string, protocols: ReadonlyArray<string>): string | undefined => {
  if ((headers["upgrade"] ?? "").toLowerCase() !== "websocket") return "the server did not upgrade to websocket"
  if (headers["sec-websocket-accept"] !== accept) return "the server's Sec-WebSocket-Accept does not match"
  if (headers["sec-websocket-extensions"] !== undefined) return "the server chose an extension that was not offered"
  const chosen = headers["sec-websocket-protocol"]
  if (chosen !== undefined && !protocols.includes(chosen)) return `the server chose a subprotocol that was not offered: ${chosen}`
  return undefined
}

/**
 * Open a websocket to `url` (`http:`/`ws:` or `https:`/`wss:`). `done` is called once with how
 * the handshake ended; on `Open`, `events` then receives what the server sends. The returned
 * function abandons a handshake still in progress.
 */
/** @internal */
export const connect = (
  modules: Modules,
  url: URL,
  options: Options,
  events: Events,
  done: (result: Handshake) => void
): () => void => {
  const secure = url.protocol === "https:" || url.protocol === "wss:"
  const origin = Http1.originOf(new URL(`${secure ? "https" : "http"}://${url.host}`))
  const key = modules.crypto.randomBytes(16).toString("base64")
  const accept = modules.crypto.createHash("sha1").update(key + GUID).digest("base64")
  const request = handshakeRequest(url, key, options)
  let settled = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const settle = (result: Handshake) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    done(result)
  }
  if (request instanceof Error) {
    settle({ _tag: "Failed", error: request })
    return () => {}
  }
  let receive: (data: Uint8Array) => void = () => {}
  const slabs = new ReadSlabs()
  const onread: Net.OnReadOpts = {
    buffer: slabs.next,
    callback: (n) => {
      receive(slabs.took(n))
      return true
    }
  }
  timer = setTimeout(() => {
    Http1.kill(socket)
    settle({ _tag: "Failed", error: new Error(`no websocket handshake within ${options.handshakeMillis / 1000} s`) })
  }, options.handshakeMillis)
  const socket = Http1.openConnection(modules, origin, onread, (error) => {
    if (error !== undefined) return settle({ _tag: "Failed", error })
    socket.write(request)
  })
  const failed = (error: Error) => {
    Http1.kill(socket)
    settle({ _tag: "Failed", error })
  }
  // named, to be taken off again: a TLS socket has listeners of its own on these events
  const onHandshakeError = (e: Error) => failed(e)
  const onHandshakeClose = () => failed(new Error("the connection closed during the websocket handshake"))
  socket.on("error", onHandshakeError)
  socket.on("close", onHandshakeClose)
  let head: Buffer = Buffer.alloc(0)
  receive = (data) => {
    head = head.length === 0 ? Buffer.from(data.buffer, data.byteOffset, data.length) : Buffer.concat([head, data])
    const end = head.indexOf("\r\n\r\n")
    if (end < 0) {
      if (head.length > MAX_HEAD) failed(new Error("the handshake answer's head is too long"))
      return
    }
    let parsed: ReturnType<typeof Http1.parseHead>
    try {
      parsed = Http1.parseHead(head.toString("latin1", 0, end))
    } catch (e) {
      return failed(e instanceof Error ? e : new Error(String(e)))
    }
    if (parsed.status !== 101) return readRefusal(parsed.status, parsed.headers)
    const wrong = checkUpgrade(parsed.headers, accept, options.protocols)
    if (wrong !== undefined) return failed(new Error(wrong))
    socket.off("error", onHandshakeError)
    socket.off("close", onHandshakeClose)
    const connection = new Connection(modules, socket, parsed.headers["sec-websocket-protocol"] ?? "", events, options.maxPayload)
    const rest = new Uint8Array(head.buffer, head.byteOffset + end + 4, head.length - end - 4)
    receive = (bytes) => connection.receive(bytes)
    settle({ _tag: "Open", connection })
    if (rest.length > 0) connection.receive(rest)
  }
  /** A refusal: its body (framed as any HTTP answer) is read for the error. */
  const readRefusal = (status: number, headers: Record<string, string>) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const refused = () => {
      Http1.kill(socket)
      settle({ _tag: "Refused", status, headers, body: Buffer.concat(chunks).toString("utf8") })
    }
    const parser = new Http1.AnswerParser({
      onHead: () => {},
      onData: (chunk) => {
        if (size < MAX_REFUSAL_BODY) chunks.push(Buffer.from(chunk.subarray(0, MAX_REFUSAL_BODY - size)))
        size += chunk.length
      },
      onEnd: refused,
      onError: refused
    }, "GET")
    socket.off("close", onHandshakeClose)
    socket.on("close", refused)
    receive = (bytes) => {
      try {
        parser.feed(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
      } catch {
        refused()
      }
    }
    receive(head)
  }
  return () => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    Http1.kill(socket)
  }
}
