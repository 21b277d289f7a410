/**
 * Listings whose body is cut by the network (issue 10, defect 3): the SDK over real loopback
 * sockets, against a raw `node:net` server that writes part of an answer and then destroys the
 * socket, and against LocalPlatform behind a TCP proxy that cuts answers mid-body.
 *
 * A cut body is a `NetworkError`; the unfinished last line is never parsed; an idempotent listing
 * is sent again only while no item has come out of the stream.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Endpoints, type Errors } from "@neuro-sdk/core"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { LocalPlatform } from "../src/index.js"

const Item = Schema.Struct({ id: Schema.Number })

interface Listener {
  readonly port: number
  /** Connections accepted so far. */
  readonly connections: () => number
  readonly destroyAll: () => void
}

const listen = (onConnection: (socket: net.Socket, index: number) => void) =>
  Effect.acquireRelease(
    Effect.async<net.Server & Listener>((resume) => {
      let count = 0
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        onConnection(socket, count++)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed(Object.assign(server, {
          port: (server.address() as net.AddressInfo).port,
          connections: () => count,
          destroyAll: () => sockets.forEach((s) => s.destroy())
        }))))
    }),
    (server) => Effect.sync(() => (server.destroyAll(), server.close()))
  )

type Framing = "chunked" | "content-length"

/** An HTTP/1.1 answer head; a declared length larger than the bytes sent makes a cut detectable. */
const head = (contentType: string, framing: Framing, declaredLength: number) =>
  `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n` +
  (framing === "chunked" ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${declaredLength}\r\n`) + "\r\n"

const frame = (framing: Framing, text: string, last: boolean) =>
  framing === "chunked"
    ? `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n${last ? "0\r\n\r\n" : ""}`
    : text

/**
 * A server answering the i-th connection's first request with `bodies[i]` (the last one for later
 * connections): `{ text, cut: true }` is written and then the socket is destroyed.
 */
const rawServer = (
  contentType: string,
  framing: Framing,
  bodies: ReadonlyArray<{ readonly text: string; readonly cut: boolean }>
) =>
  listen((socket, index) => {
    socket.once("data", () => {
      const body = bodies[Math.min(index, bodies.length - 1)]!
      const declared = Buffer.byteLength(body.text) + (body.cut ? 1000 : 0)
      socket.write(head(contentType, framing, declared) + frame(framing, body.text, !body.cut), () => {
        if (body.cut) setTimeout(() => socket.destroy(), 10)
      })
    })
  })

const apiLayer = (apiUrl: string, token = "test-token") =>
  ApiClient.layer({ retry: { times: 3, baseDelay: "1 millis", jitter: false } }).pipe(
    Layer.provide(
      Layer.mergeAll(NodeHttp.layer, AuthToken.layerStatic(Redacted.make(token)), Endpoints.layer({ apiUrl, clusters: [] }))
    )
  )

/** Run a listing: the items that came out, and the error it ended with (if any). */
const collect = <A>(stream: Stream.Stream<A, Errors.ApiError>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    const outcome = yield* Effect.either(Stream.runForEach(stream, (a) => Effect.sync(() => items.push(a))))
    return { items, error: Either.isLeft(outcome) ? outcome.left : undefined }
  })

/** The error a listing ended with; a listing that did not fail fails the test. */
const errorOf = (result: { readonly error: Errors.ApiError | undefined }): Errors.ApiError => {
  assert.isDefined(result.error, "the listing was expected to fail")
  return result.error!
}

const listing = (port: number, method: "GET" | "POST" = "GET") =>
  Effect.gen(function*() {
    const api = yield* ApiClient.ApiClient
    const url = api.api("items")
    const request = method === "GET" ? HttpClientRequest.get(url) : HttpClientRequest.post(url)
    return yield* collect(api.ndjson(request, Item))
  }).pipe(Effect.provide(apiLayer(`http://127.0.0.1:${port}/api/v1`)))

const ids = (items: ReadonlyArray<{ readonly id: number }>) => items.map((i) => i.id)

describe("NDJSON listings cut by the network", () => {
  for (const framing of ["chunked", "content-length"] as const) {
    it.scopedLive(`${framing}: a cut after two items fails with NetworkError, keeps the items, and is not sent again`, () =>
      Effect.gen(function*() {
        const server = yield* rawServer("application/x-ndjson", framing, [
          { text: `{"id": 1}\n{"id": 2}\n{"id": 3, "na`, cut: true }
        ])
        const result = yield* listing(server.port)
        assert.deepStrictEqual(ids(result.items), [1, 2])
        const error = errorOf(result)
        assert.strictEqual(error._tag, "NetworkError", error.message)
        assert.strictEqual(server.connections(), 1, "items were emitted: re-sending would emit them twice")
      }))

    it.scopedLive(`${framing}: a cut inside the first line is sent again (GET) and the listing completes`, () =>
      Effect.gen(function*() {
        const server = yield* rawServer("application/x-ndjson", framing, [
          { text: `{"id": 1, "pad`, cut: true },
          { text: `{"id": 1}\n{"id": 2}\n{"id": 3}\n`, cut: false }
        ])
        const result = yield* listing(server.port)
        assert.isUndefined(result.error)
        assert.deepStrictEqual(ids(result.items), [1, 2, 3])
        assert.strictEqual(server.connections(), 2)
      }))
  }

  it.scopedLive("a non-idempotent listing (POST) cut before any item is a NetworkError, sent once", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("application/x-ndjson", "chunked", [{ text: `{"id": 1, "pad`, cut: true }])
      const result = yield* listing(server.port, "POST")
      const error = errorOf(result)
      assert.strictEqual(error._tag, "NetworkError", error.message)
      assert.deepStrictEqual(result.items, [])
      assert.strictEqual(server.connections(), 1)
    }))

  it.scopedLive("a clean end without a trailing newline still yields the last line", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("application/x-ndjson", "chunked", [{ text: `{"id": 1}\r\n{"id": 2}`, cut: false }])
      const result = yield* listing(server.port)
      assert.isUndefined(result.error)
      assert.deepStrictEqual(ids(result.items), [1, 2])
    }))

  it.scopedLive("the JSON fallback: a cut JSON list is a NetworkError, and is sent again (GET)", () =>
    Effect.gen(function*() {
      const once = yield* rawServer("application/json", "content-length", [{ text: `[{"id": 1}, {"id"`, cut: true }])
      const failed = yield* listing(once.port, "POST")
      const error = errorOf(failed)
      assert.strictEqual(error._tag, "NetworkError", error.message)

      const twice = yield* rawServer("application/json", "content-length", [
        { text: `[{"id": 1}, {"id"`, cut: true },
        { text: `[{"id": 1}, {"id": 2}]`, cut: false }
      ])
      const result = yield* listing(twice.port)
      assert.isUndefined(result.error)
      assert.deepStrictEqual(ids(result.items), [1, 2])
      assert.strictEqual(twice.connections(), 2)
    }))

  it.scopedLive("api.json: a cut body is a NetworkError and an idempotent request is sent again", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("application/json", "chunked", [
        { text: `{"id": 4`, cut: true },
        { text: `{"id": 42}`, cut: false }
      ])
      const item = yield* Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        return yield* api.json(HttpClientRequest.get(api.api("item")), Item)
      }).pipe(Effect.provide(apiLayer(`http://127.0.0.1:${server.port}/api/v1`)))
      assert.strictEqual(item.id, 42)
      assert.strictEqual(server.connections(), 2)
    }))
})

/**
 * A TCP proxy in front of `target`; the answer on connection i is cut when `cuts[i]` is a number:
 * after that many complete body lines plus a few bytes of the next line.
 */
const cuttingProxy = (target: number, cuts: ReadonlyArray<number | undefined>) =>
  listen((client, index) => {
    const upstream = net.connect(target, "127.0.0.1")
    upstream.on("error", () => client.destroy())
    client.on("error", () => upstream.destroy())
    client.on("close", () => upstream.destroy())
    client.pipe(upstream)
    const linesBeforeCut = cuts[index]
    if (linesBeforeCut === undefined) {
      upstream.pipe(client)
      return
    }
    let seen = Buffer.alloc(0)
    upstream.on("data", (data: Buffer) => {
      seen = Buffer.concat([seen, data])
      const bodyStart = seen.indexOf("\r\n\r\n")
      if (bodyStart === -1) return
      let at = bodyStart + 3
      for (let n = 0; n < linesBeforeCut && at !== -1; n++) at = seen.indexOf("\n", at + 1)
      if (at === -1 || seen.length < at + 6) return
      upstream.removeAllListeners("data")
      client.write(seen.subarray(0, at + 6), () => setTimeout(() => client.destroy(), 10))
    })
  })

const FileStatusLine = Schema.Struct({ FileStatus: Schema.Struct({ path: Schema.String }) })

describe("LocalPlatform storage listings through a proxy that cuts answers", () => {
  it.scopedLive("a cut mid-line is a NetworkError (never MalformedResponse); a cut before any item is retried", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["alice"] })
      const token = platform.token("alice")
      const names = ["a.txt", "b.txt", "c.txt", "d.txt"]
      // the first listing also makes the platform create alice's home folder
      const list = (port: number) =>
        Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          const url = new URL(`http://127.0.0.1:${port}/api/v1/clusters/default/storage/alice`)
          url.searchParams.set("op", "LISTSTATUS")
          return yield* collect(api.ndjson(HttpClientRequest.get(url), FileStatusLine))
        }).pipe(Effect.provide(apiLayer(`http://127.0.0.1:${port}/api/v1`, Redacted.value(token))))

      const port = Number(new URL(platform.url).port)
      const empty = yield* list(port)
      assert.isUndefined(empty.error)
      assert.deepStrictEqual(empty.items, [])
      for (const name of names) writeFileSync(join(platform.dataDir, "storage", "default", "alice", name), name)

      const afterTwo = yield* cuttingProxy(port, [2])
      const cut = yield* list(afterTwo.port)
      assert.strictEqual(cut.items.length, 2)
      const error = errorOf(cut)
      assert.strictEqual(error._tag, "NetworkError", error.message)
      assert.strictEqual(afterTwo.connections(), 1)

      const atFirst = yield* cuttingProxy(port, [0, undefined])
      const retried = yield* list(atFirst.port)
      assert.isUndefined(retried.error)
      assert.deepStrictEqual(retried.items.map((l) => l.FileStatus.path).sort(), names)
      assert.strictEqual(atFirst.connections(), 2)
    }))
})
