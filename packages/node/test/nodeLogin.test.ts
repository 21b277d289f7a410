import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NodeLogin from "../src/NodeLogin.js"

describe("NodeLogin callback server", () => {
  for (const host of ["127.0.0.1", "[::1]"]) {
    it.scopedLive(`listens on ${host}, gives the redirect URI and the code the browser brings`, () =>
      Effect.gen(function*() {
        const port = 54600 + Math.floor(Math.random() * 300)
        const server = yield* NodeLogin.callbackServer.listen({ callbackUrls: [`http://${host}:${port}`] })
        assert.strictEqual(server.redirectUri, `http://${host}:${port}`)
        const answer = yield* Effect.promise(() => fetch(`${server.redirectUri}/?code=abc123`))
        assert.strictEqual(answer.status < 400, true)
        assert.strictEqual(yield* server.code, "abc123")
      }))
  }
})
