import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import * as NodeWebSocket from "../src/NodeWebSocket.js"

/** A websocket server on loopback that answers pings or not. */
const server = (autoPong: boolean) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong })
      wss.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })))
      wss.on("listening", () => resume(Effect.succeed(wss)))
    }),
    (wss) =>
      Effect.async<void>((resume) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((wss) => `http://127.0.0.1:${(wss.address() as AddressInfo).port}/`))

describe("NodeWebSocket heartbeat", () => {
  it.scopedLive("pings keep a connection whose peer answers them", () =>
    Effect.gen(function*() {
      const url = yield* server(true)
      const ws = yield* NodeWebSocket.dial(url, { headers: {}, heartbeatSeconds: 0.1 })
      yield* Effect.sleep("500 millis")
      yield* ws.send("still here")
      yield* ws.close()
      const got = yield* Stream.runCollect(ws.messages)
      assert.deepStrictEqual(Chunk.toReadonlyArray(got), ["still here"])
    }))

  it.scopedLive("a peer that stops answering pings ends the stream with a WebSocketError", () =>
    Effect.gen(function*() {
      const url = yield* server(false)
      const ws = yield* NodeWebSocket.dial(url, { headers: {}, heartbeatSeconds: 0.1 })
      const error = yield* Effect.flip(Stream.runDrain(ws.messages))
      assert.strictEqual(error._tag, "WebSocketError")
      assert.include(error.message, "no pong")
    }))
})

describe("NodeWebSocket flow control", () => {
  it.scopedLive("a consumer that falls behind pauses the socket; nothing is lost when it catches up", () =>
    Effect.gen(function*() {
      const COUNT = 200
      const SIZE = 256 * 1024
      let serverSocket: WebSocket | undefined
      const wss = yield* Effect.acquireRelease(
        Effect.async<WebSocketServer>((resume) => {
          const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" })
          wss.on("connection", (socket) => {
            serverSocket = socket
            const payload = Buffer.alloc(SIZE, 7)
            for (let i = 0; i < COUNT; i++) socket.send(payload, { binary: true })
          })
          wss.on("listening", () => resume(Effect.succeed(wss)))
        }),
        (wss) =>
          Effect.async<void>((resume) => {
            for (const client of wss.clients) client.terminate()
            wss.close(() => resume(Effect.void))
          })
      )
      const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}/`
      const ws = yield* NodeWebSocket.dial(url, { headers: {}, heartbeatSeconds: 0 })
      yield* Effect.sleep("2 seconds")
      // the client stopped reading after its high-water mark: most of the 50 MiB still waits at
      // the sender (a client reading everything into memory would have drained it)
      assert.isAbove(serverSocket!.bufferedAmount, 10 * SIZE)
      const sizes = yield* ws.messages.pipe(
        Stream.take(COUNT),
        Stream.map((m) => (typeof m === "string" ? -1 : m.length)),
        Stream.runCollect
      )
      assert.strictEqual(sizes.length, COUNT)
      assert.isTrue(Chunk.every(sizes, (n) => n === SIZE))
    }))
})
