/**
 * `NodeHttp.layer`'s lean HTTP/1.1 client under `ApiClient`, over real loopback sockets against
 * raw `node:net` servers: the idle timeout it applies itself (`ApiClient.TransportTimeouts`), a
 * reader slower than that timeout, header values that would break the head, bodies and
 * keep-alive reuse.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Endpoints, type Errors } from "@neuro-sdk/core"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as net from "node:net"

interface Received {
  readonly heads: Array<string>
  readonly bodies: Array<Buffer>
  connections: number
}

/** A server that hands each request (head and body, Content-Length framed) to `answer`. */
const server = (answer: (socket: net.Socket, head: string, index: number) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly received: Received; readonly close: () => void }>((resume) => {
      const received: Received = { heads: [], bodies: [], connections: 0 }
      const sockets = new Set<net.Socket>()
      const srv = net.createServer((socket) => {
        received.connections++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        let buf = Buffer.alloc(0)
        socket.on("data", (chunk) => {
          buf = Buffer.concat([buf, chunk])
          for (;;) {
            const end = buf.indexOf("\r\n\r\n")
            if (end < 0) return
            const head = buf.toString("latin1", 0, end)
            const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
            if (buf.length < end + 4 + length) return
            received.heads.push(head)
            received.bodies.push(buf.subarray(end + 4, end + 4 + length))
            buf = buf.subarray(end + 4 + length)
            answer(socket, head, received.heads.length - 1)
          }
        })
      })
      srv.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (srv.address() as net.AddressInfo).port,
          received,
          close: () => {
            sockets.forEach((s) => s.destroy())
            srv.close()
          }
        })))
    }),
    (s) => Effect.sync(s.close)
  )

const json = (socket: net.Socket, body: string) =>
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)

const apiLayer = (port: number, timeout: Duration.DurationInput) =>
  ApiClient.layer({ retry: false, timeout }).pipe(
    Layer.provide(
      Layer.mergeAll(
        NodeHttp.layer,
        AuthToken.layerStatic(Redacted.make("secret-token")),
        Endpoints.layer({ apiUrl: `http://127.0.0.1:${port}/api/v1`, clusters: [] })
      )
    )
  )

const Answer = Schema.Struct({ ok: Schema.Boolean })

const failureOf = <A>(effect: Effect.Effect<A, Errors.ApiError, ApiClient.ApiClient>) =>
  Effect.flatMap(Effect.flip(effect), (e) => Effect.succeed(e))

describe("NodeHttp's lean client under ApiClient (real sockets)", () => {
  it.scopedLive("NodeHttp.layer says it applies the idle timeout itself", () =>
    Effect.gen(function*() {
      const applies = yield* Effect.provide(ApiClient.TransportTimeouts, NodeHttp.layer)
      assert.isTrue(applies)
      assert.isFalse(yield* ApiClient.TransportTimeouts, "the default, for transports that do not")
    }))

  it.scopedLive("a server that never answers: NetworkError Timeout after the client's timeout", () =>
    Effect.gen(function*() {
      const s = yield* server(() => {})
      const started = Date.now()
      const error = yield* failureOf(Effect.flatMap(ApiClient.ApiClient, (api) => api.json(HttpClientRequest.get(api.api("x")), Answer))).pipe(
        Effect.provide(apiLayer(s.port, "300 millis"))
      )
      const waited = Date.now() - started
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as Errors.NetworkError).reason, "Timeout")
      assert.isAtLeast(waited, 250)
      assert.isBelow(waited, 5_000)
    }))

  it.scopedLive("a body that stalls after its head: NetworkError Timeout", () =>
    Effect.gen(function*() {
      const s = yield* server((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"ok\""))
      const error = yield* failureOf(Effect.flatMap(ApiClient.ApiClient, (api) => api.json(HttpClientRequest.get(api.api("x")), Answer))).pipe(
        Effect.provide(apiLayer(s.port, "300 millis"))
      )
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as Errors.NetworkError).reason, "Timeout")
    }))

  it.scopedLive("a reader slower than the idle timeout still gets the whole body (a paused connection is not silent)", () =>
    Effect.gen(function*() {
      const size = 4 * 1024 * 1024
      const payload = Buffer.alloc(size, 7)
      const s = yield* server((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`)
        socket.write(payload)
      })
      const total = yield* Effect.flatMap(ApiClient.ApiClient, (api) =>
        api.bytes(HttpClientRequest.get(api.api("blob"))).pipe(
          // the first chunks wait longer than the timeout before the next pull
          Stream.mapEffect((chunk) => Effect.as(Effect.sleep("150 millis"), chunk.length), { concurrency: 1 }),
          Stream.take(4),
          Stream.runFold(0, (a, n) => a + n)
        )).pipe(Effect.provide(apiLayer(s.port, "100 millis")))
      assert.isAbove(total, 0)
    }))

  it.scopedLive("a header value with a line break is refused before anything is sent", () =>
    Effect.gen(function*() {
      const s = yield* server((socket) => json(socket, `{"ok": true}`))
      const error = yield* failureOf(Effect.flatMap(ApiClient.ApiClient, (api) =>
        api.json(HttpClientRequest.get(api.api("x")).pipe(HttpClientRequest.setHeader("x-evil", "a\r\nx-injected: 1")), Answer)
      )).pipe(Effect.provide(apiLayer(s.port, "5 seconds")))
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual(s.received.heads.length, 0)
    }))

  it.scopedLive("bodies, lengths and keep-alive: three requests on one connection, the body as sent", () =>
    Effect.gen(function*() {
      const s = yield* server((socket, _head, i) => json(socket, i === 2 ? `{"ok": false}` : `{"ok": true}`))
      const answers = yield* Effect.flatMap(ApiClient.ApiClient, (api) =>
        Effect.all([
          api.json(HttpClientRequest.get(api.api("a")), Answer),
          api.json(HttpClientRequest.post(api.api("b")).pipe(HttpClientRequest.bodyUnsafeJson({ name: "x", n: 1 })), Answer),
          api.json(HttpClientRequest.post(api.api("c")), Answer)
        ])).pipe(Effect.provide(apiLayer(s.port, "5 seconds")))
      assert.deepStrictEqual(answers.map((a) => a.ok), [true, true, false])
      assert.strictEqual(s.received.connections, 1)
      assert.match(s.received.heads[0]!, /^GET \/api\/v1\/a HTTP\/1\.1\r\n/)
      assert.notMatch(s.received.heads[0]!, /content-length/i)
      assert.match(s.received.heads[1]!, /^POST \/api\/v1\/b HTTP\/1\.1\r\n/)
      assert.match(s.received.heads[1]!, /\r\ncontent-type: application\/json/i)
      assert.deepStrictEqual(JSON.parse(s.received.bodies[1]!.toString()), { name: "x", n: 1 })
      assert.match(s.received.heads[2]!, /\r\ncontent-length: 0(\r\n|$)/i, "a POST without a body says so")
      assert.match(s.received.heads[0]!, /\r\nauthorization: Bearer secret-token(\r\n|$)/i)
      assert.match(s.received.heads[0]!, /\r\nhost: 127\.0\.0\.1:\d+(\r\n|$)/i)
    }))

  it.scopedLive("a query and characters that need encoding reach the server encoded", () =>
    Effect.gen(function*() {
      const s = yield* server((socket) => json(socket, `{"ok": true}`))
      yield* Effect.flatMap(ApiClient.ApiClient, (api) =>
        api.json(HttpClientRequest.get(`http://127.0.0.1:${s.port}/api/v1/a b/ü`).pipe(HttpClientRequest.setUrlParam("q", "x y")), Answer)).pipe(
          Effect.provide(apiLayer(s.port, "5 seconds"))
        )
      assert.match(s.received.heads[0]!, /^GET \/api\/v1\/a%20b\/%C3%BC\?q=x\+y HTTP\/1\.1\r\n/)
    }))

  it.scopedLive("a streamed answer arrives whole, in order", () =>
    Effect.gen(function*() {
      const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i))
      const s = yield* server((socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for (const p of parts) socket.write(`${p.length.toString(16)}\r\n${p.toString("latin1")}\r\n`, "latin1")
        socket.write("0\r\n\r\n")
      })
      const chunks = yield* Effect.flatMap(ApiClient.ApiClient, (api) => Stream.runCollect(api.bytes(HttpClientRequest.get(api.api("s"))))).pipe(
        Effect.provide(apiLayer(s.port, "5 seconds"))
      )
      const got = Buffer.concat(Chunk.toReadonlyArray(chunks))
      assert.isTrue(got.equals(Buffer.concat(parts)))
    }))
})
