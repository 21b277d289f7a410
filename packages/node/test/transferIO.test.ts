/**
 * The Node fast path of transfers: the lean HTTP/1.1 client (answers framed by length, chunks or
 * the close, cut however the socket delivers them; keep-alive reuse and the request sent again
 * when a reused connection turns out closed), `NodeTransferIO` (file bodies, batches, statuses,
 * sticky-session cookies, header checks) and `NodeLocalFiles`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as TransferIO from "@neuro-sdk/core/TransferIO"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import * as Http1 from "../src/internal/http1.js"
import * as NodeLocalFiles from "../src/NodeLocalFiles.js"
import * as NodeTransferIO from "../src/NodeTransferIO.js"

/** A raw TCP server on loopback: `onConnection` writes the answers itself. */
const rawServer = (onConnection: (socket: net.Socket, index: number) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: net.Server; readonly port: number; readonly sockets: Array<net.Socket> }>((resume) => {
      const sockets: Array<net.Socket> = []
      const server = net.createServer((socket) => {
        sockets.push(socket)
        socket.on("error", () => {})
        onConnection(socket, sockets.length - 1)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, port: (server.address() as net.AddressInfo).port, sockets })))
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
  )

/** Each request's head as the raw server saw it, answered by `answer(index)` (raw bytes). */
const answering = (answer: (index: number, socket: net.Socket) => void) => {
  let index = 0
  const heads: Array<string> = []
  const server = rawServer((socket) => {
    let buffered = ""
    socket.on("data", (d: Buffer) => {
      buffered += d.toString("latin1")
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n")
        if (end < 0) return
        const head = buffered.slice(0, end)
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        buffered = buffered.slice(end + 4 + length)
        heads.push(head)
        answer(index++, socket)
      }
    })
  })
  return { server, heads }
}

interface Got {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** One request through the pool, its answer collected. */
const fetchOnce = (pool: Http1.Pool, port: number, head: string, body?: Http1.BodyWriter) =>
  Effect.async<Got, Error>((resume) => {
    let status = 0
    let headers: Record<string, string> = {}
    const parts: Array<Buffer> = []
    const origin = Http1.originOf(new URL(`http://127.0.0.1:${port}`))
    pool.request(origin, head.split(" ")[0]!, head, body, {
      onHead: (s, h) => {
        status = s
        headers = h
      },
      // views of the connection's buffer: copied
      onData: (chunk) => parts.push(Buffer.from(chunk)),
      onEnd: () => resume(Effect.succeed({ status, headers, body: Buffer.concat(parts).toString("latin1") })),
      onError: (e) => resume(Effect.fail(e))
    })
  })

const modules: Http1.Modules = { net, tls }

const poolScoped = Effect.acquireRelease(Effect.sync(() => Http1.makePool(modules)), (pool) => Effect.sync(() => pool.close()))

/** Write `text` one byte at a time, each in its own packet. */
const trickle = (socket: net.Socket, text: string) =>
  Effect.promise(async () => {
    for (const ch of text) {
      socket.write(ch, "latin1")
      await new Promise((r) => setTimeout(r, 1))
    }
  })

describe("lean HTTP/1.1 client", () => {
  it.scopedLive("Content-Length answers over one keep-alive connection", () =>
    Effect.gen(function*() {
      const { heads, server } = answering((i, s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-N: ${i}\r\n\r\nhello`))
      const { port, sockets } = yield* server
      const pool = yield* poolScoped
      const a = yield* fetchOnce(pool, port, "GET /a HTTP/1.1\r\nHost: x")
      const b = yield* fetchOnce(pool, port, "GET /b HTTP/1.1\r\nHost: x")
      assert.deepStrictEqual([a.status, a.body, a.headers["x-n"], b.body, b.headers["x-n"]], [200, "hello", "0", "hello", "1"])
      assert.strictEqual(sockets.length, 1)
      assert.deepStrictEqual(heads.map((h) => h.split("\r\n")[0]), ["GET /a HTTP/1.1", "GET /b HTTP/1.1"])
    }))

  it.scopedLive("a chunked answer cut at every byte, with extensions and trailers; then the connection is reused", () =>
    Effect.gen(function*() {
      const chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n0000a\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
      let socket: net.Socket | undefined
      const { server } = answering((i, s) => {
        socket = s
        if (i > 0) s.write("HTTP/1.1 204 No Content\r\n\r\n")
      })
      const { port, sockets } = yield* server
      const pool = yield* poolScoped
      const fiber = yield* Effect.fork(fetchOnce(pool, port, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0"))
      while (socket === undefined) yield* Effect.sleep("5 millis")
      yield* trickle(socket, chunked)
      const got = yield* fiber.await.pipe(Effect.flatten)
      assert.deepStrictEqual([got.status, got.body], [201, "abcd0123456789"])
      const next = yield* fetchOnce(pool, port, "GET /y HTTP/1.1\r\nHost: x")
      assert.deepStrictEqual([next.status, next.body], [204, ""])
      assert.strictEqual(sockets.length, 1)
    }))

  it.scopedLive("an answer framed by the close of the connection; the next request opens another", () =>
    Effect.gen(function*() {
      const { server } = answering((_, s) => s.end("HTTP/1.1 200 OK\r\n\r\nuntil the end"))
      const { port, sockets } = yield* server
      const pool = yield* poolScoped
      assert.strictEqual((yield* fetchOnce(pool, port, "GET / HTTP/1.1\r\nHost: x")).body, "until the end")
      assert.strictEqual((yield* fetchOnce(pool, port, "GET / HTTP/1.1\r\nHost: x")).body, "until the end")
      assert.strictEqual(sockets.length, 2)
    }))

  it.scopedLive("a reused connection the server dropped without answering: the request is sent again on a new one", () =>
    Effect.gen(function*() {
      // the first connection answers once, then drops the next request it gets (a keep-alive race)
      const { heads, server } = answering((i, s) => {
        if (i === 1) s.destroy()
        else s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      })
      const { port, sockets } = yield* server
      const pool = yield* poolScoped
      yield* fetchOnce(pool, port, "GET /1 HTTP/1.1\r\nHost: x")
      const again = yield* fetchOnce(pool, port, "GET /2 HTTP/1.1\r\nHost: x")
      assert.strictEqual(again.body, "ok")
      assert.strictEqual(sockets.length, 2)
      assert.deepStrictEqual(heads.map((h) => h.split("\r\n")[0]), ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /2 HTTP/1.1"])
    }))

  it.scopedLive("a connection that breaks in the middle of a body fails the request (after its head)", () =>
    Effect.gen(function*() {
      const { server } = answering((_, s) => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        setTimeout(() => s.destroy(), 20)
      })
      const { port } = yield* server
      const pool = yield* poolScoped
      const error = yield* Effect.flip(fetchOnce(pool, port, "GET / HTTP/1.1\r\nHost: x"))
      assert.match(error.message, /closed before the end of the answer/)
    }))

  it.scopedLive("a malformed answer is an error, not a crash", () =>
    Effect.gen(function*() {
      const { server } = answering((_, s) => s.write("SSH-2.0-OpenSSH\r\n\r\n"))
      const { port } = yield* server
      const pool = yield* poolScoped
      const error = yield* Effect.flip(fetchOnce(pool, port, "GET / HTTP/1.1\r\nHost: x"))
      assert.match(error.message, /not an HTTP/)
    }))
})

// ---------------------------------------------------------------------------------------------
// NodeTransferIO over node:http
// ---------------------------------------------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

/** An HTTP server that records requests and answers with `answer`. */
const httpServer = (answer: (req: Seen, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<Seen>; readonly server: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const server = http.createServer((req, res) => {
        const parts: Array<Buffer> = []
        req.on("data", (d: Buffer) => parts.push(d))
        req.on("end", () => {
          const s: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(parts) }
          seen.push(s)
          answer(s, res)
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen, server })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(os.tmpdir(), "transfer-io-test-"))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const bytes = (n: number) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 13 + 7) % 251))

/** The whole body of a received answer, batch by batch (copied: batches are reused). */
const drain = (body: TransferIO.Body, min: number) =>
  Effect.gen(function*() {
    const parts: Array<Buffer> = []
    let batches = 0
    for (;;) {
      const batch = yield* body.read(min)
      batches++
      for (const c of batch.chunks) parts.push(Buffer.from(c))
      if (batch.end) return { data: Buffer.concat(parts), batches }
    }
  })

describe("NodeTransferIO", () => {
  it.scopedLive("sends file ranges (small at once, large streamed) with its headers; statuses come back as they are", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const data = bytes(3 * 1024 * 1024 + 17)
      fs.writeFileSync(join(dir, "f"), data)
      const { seen, url } = yield* httpServer((req, res) => {
        res.statusCode = req.url?.includes("missing") ? 404 : 201
        res.end(req.url?.includes("missing") ? "no such thing" : "")
      })
      const io = yield* NodeTransferIO.make({ userAgent: "test-agent" })
      const request = (path: string): TransferIO.Request => ({ method: "PUT", url: `${url}${path}?op=CREATE`, headers: { authorization: "Bearer t" } })
      const small = yield* io.send(request("/small"), { path: join(dir, "f"), offset: 10, length: 1000 })
      const large = yield* io.send(request("/large"), { path: join(dir, "f"), offset: 5, length: data.length - 5 })
      const missing = yield* io.send(request("/missing"), { path: join(dir, "f"), offset: 0, length: 1 })
      assert.deepStrictEqual([small.status, large.status, missing.status, missing.text], [201, 201, 404, "no such thing"])
      assert.isTrue(seen[0]!.body.equals(data.subarray(10, 1010)))
      assert.isTrue(seen[1]!.body.equals(data.subarray(5)))
      assert.strictEqual(seen[0]!.url, "/small?op=CREATE")
      assert.strictEqual(seen[0]!.headers["user-agent"], "test-agent")
      assert.strictEqual(seen[0]!.headers["authorization"], "Bearer t")
      assert.strictEqual(seen[1]!.headers["content-length"], String(data.length - 5))
      assert.match(String(seen[0]!.headers["b3"]), /^[0-9a-f]{32}-[0-9a-f]{16}$/)
      // a range past the end of the file is a local error, before anything is sent
      const short = yield* Effect.flip(io.send(request("/short"), { path: join(dir, "f"), offset: data.length - 10, length: 100 }))
      assert.strictEqual(short._tag, "OSError")
      const absent = yield* Effect.flip(io.send(request("/absent"), { path: join(dir, "absent"), offset: 0, length: 1 }))
      assert.strictEqual(absent._tag, "FileNotFound")
      assert.strictEqual(seen.length, 3)
    }))

  it.scopedLive("receives a body in batches; sends back the sticky-session cookie it was given", () =>
    Effect.gen(function*() {
      const data = bytes(5 * 1024 * 1024 + 3)
      const { seen, url } = yield* httpServer((req, res) => {
        res.setHeader("Set-Cookie", ["NEURO_STORAGEAPI_SESSION=abc; Path=/; HttpOnly", "OTHER=1; Path=/"])
        res.setHeader("Content-Length", String(data.length))
        res.end(data)
      })
      const io = yield* NodeTransferIO.make()
      const get = (path: string): TransferIO.Request => ({ method: "GET", url: `${url}${path}`, headers: {} })
      const first = yield* io.receive(get("/one"))
      const got = yield* drain(first.body, 1024 * 1024)
      assert.isTrue(got.data.equals(data))
      assert.isAtMost(got.batches, 8)
      const second = yield* io.receive(get("/two"))
      yield* second.body.close
      assert.isUndefined(seen[0]!.headers["cookie"])
      assert.strictEqual(seen[1]!.headers["cookie"], "NEURO_STORAGEAPI_SESSION=abc")
    }))

  it.scopedLive("a body that breaks is a NetworkError after what arrived; a header with a line break is refused", () =>
    Effect.gen(function*() {
      const { server } = answering((_, s) => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(300))
        setTimeout(() => s.destroy(), 30)
      })
      const { port } = yield* server
      const io = yield* NodeTransferIO.make()
      const received = yield* io.receive({ method: "GET", url: `http://127.0.0.1:${port}/`, headers: {} })
      const first = yield* received.body.read(1000)
      assert.strictEqual(first.bytes, 300)
      assert.isFalse(first.end)
      const error = yield* Effect.flip(received.body.read(1000))
      assert.strictEqual(error._tag, "NetworkError")
      const refused = yield* Effect.flip(io.receive({ method: "GET", url: `http://127.0.0.1:${port}/`, headers: { x: "a\r\nInjected: 1" } }))
      assert.strictEqual(refused._tag, "NetworkError")
    }))

  it.scopedLive("nothing listening is a NetworkError", () =>
    Effect.gen(function*() {
      const io = yield* NodeTransferIO.make()
      const error = yield* Effect.flip(io.receive({ method: "GET", url: "http://127.0.0.1:1/", headers: {} }))
      assert.strictEqual(error._tag, "NetworkError")
    }))
})

describe("NodeLocalFiles", () => {
  it.scopedLive("stat, writes at a position, writeFile, rename", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const files = NodeLocalFiles.make
      assert.isTrue(Option.isNone(yield* files.stat(join(dir, "none"))))
      yield* files.writeFile(join(dir, "a"), Buffer.from("hello"))
      const info = yield* files.stat(join(dir, "a"))
      assert.deepStrictEqual(Option.map(info, (i) => [i.type, Number(i.size)]), Option.some(["File", 5]))
      const w = yield* files.open(join(dir, "a"), { truncate: false, position: 3 })
      yield* w.write([Buffer.from("LO"), Buffer.from(" world"), new Uint8Array(0)])
      yield* w.close
      assert.strictEqual(fs.readFileSync(join(dir, "a"), "utf8"), "helLO world")
      const fresh = yield* files.open(join(dir, "b"), { truncate: true, position: 0 })
      yield* fresh.write([Buffer.from("b")])
      yield* fresh.close
      yield* files.rename(join(dir, "b"), join(dir, "c"))
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["a", "c"])
      const missing = yield* Effect.flip(files.open(join(dir, "nope", "x"), { truncate: true, position: 0 }))
      assert.strictEqual(missing._tag, "FileNotFound")
      const notDir = yield* Effect.flip(files.rename(join(dir, "c"), join(dir, "a", "x")))
      assert.strictEqual(notDir._tag, "NotADirectory")
    }))

  it.scopedLive("a write of several MiB in parts of odd sizes, after a first write, lands byte for byte", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "big")
      const sizes = [1, 262_143, 262_145, 1_048_576 + 7, 3, 700_001]
      const parts = sizes.map((n, k) => {
        const b = Buffer.alloc(n)
        for (let i = 0; i < n; i++) b[i] = (i * 31 + k * 7) & 255
        return b
      })
      const w = yield* NodeLocalFiles.make.open(path, { truncate: true, position: 0 })
      yield* w.write([Buffer.from("head")])
      yield* w.write(parts)
      yield* w.write([Buffer.from("tail")])
      yield* w.close
      assert.isTrue(fs.readFileSync(path).equals(Buffer.concat([Buffer.from("head"), ...parts, Buffer.from("tail")])))
    }))
})
