import { assert, describe, layer } from "@effect/vitest"
import { ApiClient } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { LocalPlatform, NeuroTest } from "../src/index.js"

describe("websockets over a real socket", () => {
  layer(NeuroTest.layerApiClient({ users: ["carol"], testHooks: true }), { excludeTestServices: true })((it) => {
    it.scoped("round trip with the Authorization header", () =>
      Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        const platform = yield* LocalPlatform.LocalPlatformTag
        const ws = yield* api.websocket(new URL(`${platform.url}/_local/ws-echo`))
        yield* ws.send("text frame")
        yield* ws.send(new Uint8Array([0, 1, 2, 255]))
        const received = yield* ws.messages.pipe(Stream.take(3), Stream.runCollect)
        const [greeting, text, bytes] = Chunk.toReadonlyArray(received)
        assert.strictEqual(greeting, "hello carol")
        assert.strictEqual(text, "text frame")
        assert.deepStrictEqual(bytes, new Uint8Array([0, 1, 2, 255]))
        const sent = (yield* platform.requests).filter((r) => r.path === "/_local/ws-echo").at(-1)!
        assert.strictEqual(sent.headers["authorization"], "Bearer <redacted>", "sent, and not kept by the emulator")
        assert.match(sent.headers["user-agent"]!, /^NeuroCLI\/23\.2\.0/)
        assert.isUndefined(sent.headers["b3"], "websockets carry no tracing headers")
      }))

    it.scoped("a refused handshake is mapped with the X-Error header", () =>
      Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        const platform = yield* LocalPlatform.LocalPlatformTag
        const error = yield* Effect.flip(api.websocket(new URL(`${platform.url}/_local/ws-echo`), { auth: false }))
        assert.strictEqual(error._tag, "AuthenticationError")
        assert.strictEqual((error as { readonly description: string }).description, "Not authenticated")
      }))

    it.scoped("a closed connection ends the message stream", () =>
      Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        const platform = yield* LocalPlatform.LocalPlatformTag
        const ws = yield* api.websocket(new URL(`${platform.url}/_local/ws-echo`))
        const first = yield* ws.messages.pipe(Stream.take(1), Stream.runCollect)
        assert.deepStrictEqual(Chunk.toReadonlyArray(first), ["hello carol"])
        yield* ws.close()
        const rest = yield* ws.messages.pipe(Stream.runCollect)
        assert.strictEqual(Chunk.size(rest), 0)
      }))
  })
})
