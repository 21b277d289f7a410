/**
 * The lean websocket client (`internal/wsClient.ts`, behind `NodeWebSocket.dial`) against the
 * `ws` package's server (an implementation nobody here wrote) and against raw sockets that send
 * what a broken or hostile server would.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import * as Tls from "node:tls"
import { fileURLToPath } from "node:url"
import { type WebSocket, WebSocketServer } from "ws"
import * as WsClient from "../src/internal/wsClient.js"
import * as NodeWebSocket from "../src/NodeWebSocket.js"

/** A `ws` server on loopback; `onConnection` gets each client socket and its request. */
const wsServer = (
  onConnection: (socket: WebSocket, req: Http.IncomingMessage) => void,
  options: ConstructorParameters<typeof WebSocketServer>[0] = {}
) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options })
      wss.on("connection", onConnection)
      wss.on("listening", () => resume(Effect.succeed(wss)))
    }),
    (wss) =>
      Effect.async<void>((resume) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((wss) => `http://127.0.0.1:${(wss.address() as AddressInfo).port}/path?q=1`))

/** A raw TCP server: `onConnection` sees the socket and the handshake request's key. */
const rawServer = (onConnection: (socket: Net.Socket, key: string) => void) =>
  Effect.acquireRelease(
    Effect.async<Net.Server>((resume) => {
      const server = Net.createServer((socket) => {
        let head = ""
        const onData = (d: Buffer) => {
          head += d.toString("latin1")
          if (!head.includes("\r\n\r\n")) return
          socket.off("data", onData)
          onConnection(socket, /sec-websocket-key: (\S+)/i.exec(head)?.[1] ?? "")
        }
        socket.on("data", onData)
        socket.on("error", () => {})
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`))

const acceptOf = (key: string) => Crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")

const upgrade = (socket: Net.Socket, key: string, accept = acceptOf(key)) =>
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)

/** An unmasked server frame. */
const frame = (opcode: number, payload: Uint8Array, fin = true, lengthBytes?: Buffer) => {
  const n = payload.length
  const len = lengthBytes ?? (n < 126
    ? Buffer.from([n])
    : n < 65536
    ? Buffer.from([126, n >> 8, n & 255])
    : Buffer.concat([Buffer.from([127, 0, 0, 0, 0]), Buffer.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])]))
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), len, payload])
}

const dialed = (url: string, protocols?: ReadonlyArray<string>, headers: Record<string, string> = {}) =>
  NodeWebSocket.dial(url, { headers, heartbeatSeconds: 0, ...(protocols === undefined ? {} : { protocols }) })

const collect = (messages: Stream.Stream<Uint8Array | string, unknown>) =>
  Effect.map(Stream.runCollect(messages), (c) => Chunk.toReadonlyArray(c))

describe("websocket client against the ws server", () => {
  it.scopedLive("binary and text messages of every length encoding arrive whole and in order", () =>
    Effect.gen(function*() {
      const sizes = [0, 1, 125, 126, 65535, 65536, 300 * 1024, 3 * 1024 * 1024]
      const url = yield* wsServer((socket) => {
        for (const n of sizes) socket.send(Buffer.alloc(n, n % 251), { binary: true })
        socket.send("héllo ✓", { binary: false })
        socket.close(1000)
      })
      const ws = yield* dialed(url)
      const got = yield* collect(ws.messages)
      assert.strictEqual(got.length, sizes.length + 1)
      sizes.forEach((n, i) => {
        const m = got[i]
        assert.instanceOf(m, Uint8Array)
        assert.strictEqual((m as Uint8Array).length, n)
        assert.isTrue((m as Uint8Array).every((b) => b === n % 251))
      })
      assert.strictEqual(got[sizes.length], "héllo ✓")
    }))

  it.scopedLive("a message in several frames (with a ping between them) is put together", () =>
    Effect.gen(function*() {
      let pongs = 0
      const url = yield* wsServer((socket) => {
        socket.on("pong", (data) => {
          if (data.toString() === "are you there") pongs++
        })
        socket.send(Buffer.from("abc"), { binary: true, fin: false })
        socket.ping("are you there")
        socket.send(Buffer.alloc(70000, 1), { binary: true, fin: false })
        socket.send(Buffer.from("xyz"), { binary: true, fin: true })
        socket.send("after", { binary: false })
      })
      const ws = yield* dialed(url)
      const got = yield* ws.messages.pipe(Stream.take(2), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      const whole = Buffer.from(got[0] as Uint8Array)
      assert.strictEqual(whole.length, 70006)
      assert.strictEqual(whole.subarray(0, 3).toString(), "abc")
      assert.strictEqual(whole.subarray(-3).toString(), "xyz")
      assert.strictEqual(got[1], "after")
      yield* Effect.sleep("100 millis")
      assert.strictEqual(pongs, 1)
    }))

  it.scopedLive("what the client sends is masked correctly at every length (the server echoes it)", () =>
    Effect.gen(function*() {
      const url = yield* wsServer((socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })))
      const ws = yield* dialed(url)
      const sent = [Buffer.alloc(0), Crypto.randomBytes(10), Crypto.randomBytes(200), Crypto.randomBytes(70000)]
      for (const b of sent) yield* ws.send(new Uint8Array(b))
      yield* ws.send("text ✓")
      const got = yield* ws.messages.pipe(Stream.take(sent.length + 1), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      sent.forEach((b, i) => assert.isTrue(Buffer.from(got[i] as Uint8Array).equals(b), `message ${i}`))
      assert.strictEqual(got[sent.length], "text ✓")
    }))

  it.scopedLive("headers, path, query and the chosen subprotocol reach the server; the close handshake completes", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let closed: { code: number; reason: string } | undefined
      const url = yield* wsServer((socket, req) => {
        seen.push(req.url ?? "", String(req.headers["authorization"]), socket.protocol)
        socket.on("close", (code, reason) => {
          closed = { code, reason: reason.toString() }
        })
      }, { handleProtocols: (protocols) => (protocols.has("b.neu.ro") ? "b.neu.ro" : false) })
      const ws = yield* dialed(url, ["a.neu.ro", "b.neu.ro"], { Authorization: "Bearer t0ken" })
      assert.strictEqual(ws.protocol, "b.neu.ro")
      yield* ws.close(4000, "bye")
      const rest = yield* collect(ws.messages)
      assert.deepStrictEqual(rest, [])
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(seen, ["/path?q=1", "Bearer t0ken", "b.neu.ro"])
      assert.deepStrictEqual(closed, { code: 4000, reason: "bye" })
    }))

  it.scopedLive("a server's close ends the stream after every message it sent before", () =>
    Effect.gen(function*() {
      const url = yield* wsServer((socket) => {
        for (let i = 0; i < 100; i++) socket.send(`m${i}`)
        socket.close(4001, "done")
      })
      const ws = yield* dialed(url)
      const got = yield* collect(ws.messages)
      assert.strictEqual(got.length, 100)
      assert.strictEqual(got[99], "m99")
    }))
})

describe("websocket handshake refusals and failures", () => {
  it.scopedLive("a refusal keeps its status, X-Error and body (chunked)", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((_req, res) => {
            res.writeHead(403, { "X-Error": "no access", "Transfer-Encoding": "chunked" })
            res.write("not ")
            res.end("yours")
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const error = yield* Effect.flip(dialed(url))
      assert.strictEqual(error._tag, "WebSocketHandshakeError")
      if (error._tag !== "WebSocketHandshakeError") return
      assert.strictEqual(error.status, 403)
      assert.strictEqual(error.xError, "no access")
      assert.strictEqual(error.body, "not yours")
    }))

  it.scopedLive("a wrong Sec-WebSocket-Accept fails the handshake", () =>
    Effect.gen(function*() {
      const url = yield* rawServer((socket, key) => upgrade(socket, key, acceptOf(key + "x")))
      const error = yield* Effect.flip(dialed(url))
      assert.strictEqual(error._tag, "WebSocketError")
      assert.include(error.message, "Sec-WebSocket-Accept")
    }))

  it.scopedLive("a header that would inject lines is refused before anything is sent", () =>
    Effect.gen(function*() {
      let connections = 0
      const url = yield* rawServer(() => connections++)
      const error = yield* Effect.flip(dialed(url, [], { "X-Test": "a\r\nX-Evil: 1" }))
      assert.strictEqual(error._tag, "WebSocketError")
      yield* Effect.sleep("50 millis")
      assert.strictEqual(connections, 0)
    }))
})

describe("websocket protocol errors of the server", () => {
  const failsWith = (frames: (key: string) => ReadonlyArray<Buffer>, expected: string, closeCode: number) =>
    Effect.gen(function*() {
      let clientClose: Buffer | undefined
      const url = yield* rawServer((socket, key) => {
        upgrade(socket, key)
        socket.on("data", (d: Buffer) => {
          clientClose ??= d
        })
        for (const f of frames(key)) socket.write(f)
      })
      const ws = yield* dialed(url)
      const error = yield* Effect.flip(Stream.runDrain(ws.messages))
      assert.strictEqual(error._tag, "WebSocketError")
      assert.include(error.message, expected)
      yield* Effect.sleep("50 millis")
      // the client's close frame (masked: byte 1 has the mask bit; the code follows the 4-byte key)
      assert.isDefined(clientClose)
      const c = clientClose!
      assert.strictEqual(c[0], 0x88)
      const code = ((c[6]! ^ c[2]!) << 8) | (c[7]! ^ c[3]!)
      assert.strictEqual(code, closeCode)
    })

  it.scopedLive("a masked server frame", () =>
    failsWith(() => [Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5])], "masked", 1002))

  it.scopedLive("a text message that is not UTF-8", () => failsWith(() => [frame(1, Buffer.from([0xc3, 0x28]))], "UTF-8", 1007))

  it.scopedLive("a frame announcing 1 TiB (refused without allocating it)", () =>
    failsWith(() => [frame(2, Buffer.alloc(0), true, Buffer.from([127, 0, 0, 1, 0, 0, 0, 0, 0]))], "larger", 1009))

  it.scopedLive("an unknown opcode", () => failsWith(() => [frame(3, Buffer.from("x"))], "opcode", 1002))

  it.scopedLive("a continuation without a message", () => failsWith(() => [frame(0, Buffer.from("x"))], "continuation", 1002))

  it.scopedLive("messages before the failure are still delivered", () =>
    Effect.gen(function*() {
      const url = yield* rawServer((socket, key) => {
        upgrade(socket, key)
        socket.write(Buffer.concat([frame(2, Buffer.from("one")), frame(2, Buffer.from("two")), Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5])]))
      })
      const ws = yield* dialed(url)
      const got: Array<string> = []
      const error = yield* Effect.flip(Stream.runForEach(ws.messages, (m) => Effect.sync(() => got.push(Buffer.from(m as Uint8Array).toString()))))
      assert.deepStrictEqual(got, ["one", "two"])
      assert.strictEqual(error._tag, "WebSocketError")
    }))

  it.scopedLive("frames split at every byte boundary parse the same", () =>
    Effect.gen(function*() {
      const payloads = [Buffer.from("a"), Buffer.alloc(300, 7), Buffer.alloc(70000, 9)]
      const url = yield* rawServer((socket, key) => {
        upgrade(socket, key)
        const all = Buffer.concat(payloads.map((p) => frame(2, p)).concat([frame(8, Buffer.from([0x03, 0xe8]))]))
        // one byte at a time for the headers and the small frames, then the rest
        let at = 0
        const step = () => {
          if (at >= all.length) return
          const n = at < 400 ? 1 : all.length - at
          socket.write(all.subarray(at, at + n))
          at += n
          setImmediate(step)
        }
        step()
      })
      const ws = yield* dialed(url)
      const got = yield* collect(ws.messages)
      assert.strictEqual(got.length, 3)
      payloads.forEach((p, i) => assert.isTrue(Buffer.from(got[i] as Uint8Array).equals(p)))
    }))
})

describe("websocket over TLS (wss)", () => {
  const fixtures = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures", "tls")
  const cert = Fs.readFileSync(Path.join(fixtures, "localhost.crt"))
  const key = Fs.readFileSync(Path.join(fixtures, "localhost.key"))
  const tlsServer = Effect.acquireRelease(
    Effect.async<{ readonly server: Https.Server; readonly servernames: Array<string> }>((resume) => {
      const servernames: Array<string> = []
      const server = Https.createServer({ key, cert })
      server.on("secureConnection", (s: Tls.TLSSocket & { servername?: string | false }) => servernames.push(String(s.servername)))
      server.on("tlsClientError", () => {})
      const wss = new WebSocketServer({ server })
      wss.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, servernames })))
    }),
    ({ server }) => Effect.sync(() => server.close())
  )

  it.scopedLive("a certificate of an unknown issuer is a WebSocketError", () =>
    Effect.gen(function*() {
      const { server } = yield* tlsServer
      const error = yield* Effect.flip(dialed(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`))
      assert.strictEqual(error._tag, "WebSocketError")
    }))

  it.scopedLive("with the issuer trusted: the server name is sent and messages go both ways", () =>
    Effect.gen(function*() {
      const { server, servernames } = yield* tlsServer
      const port = (server.address() as AddressInfo).port
      // the system's trust store does not know the test CA: this `tls` module adds it
      const modules: WsClient.Modules = {
        net: Net,
        crypto: Crypto,
        tls: { ...Tls, connect: ((options: Tls.ConnectionOptions) => Tls.connect({ ...options, ca: cert })) as typeof Tls.connect }
      }
      const got = yield* Effect.async<string, Error>((resume) => {
        let connection: WsClient.Connection | undefined
        WsClient.connect(modules, new URL(`wss://localhost:${port}/x`), {
          headers: {},
          protocols: [],
          handshakeMillis: 5000,
          maxPayload: 1 << 20
        }, {
          onMessage: (m) => {
            resume(Effect.succeed(String(m)))
            connection?.close()
          },
          onPong: () => {},
          onError: (e) => resume(Effect.fail(e)),
          onClose: () => {}
        }, (result) => {
          if (result._tag !== "Open") return resume(Effect.fail(new Error(result._tag)))
          connection = result.connection
          connection.send("over tls", () => {})
        })
      })
      assert.strictEqual(got, "over tls")
      assert.deepStrictEqual(servernames, ["localhost"])
    }))
})
