/**
 * The cookie jar `Session.layerCookies` puts around the transport: cookies an answer sets are
 * sent back to matching hosts and paths, an expired one is dropped, and the `NEURO_*_SESSION`
 * ones are saved to the config store when the layer closes (and loaded by the next one).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { ConfigStore, Session } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { MemoryConfigStore } from "../src/index.js"

/** A transport that records each request's Cookie header and answers with `setCookies(url)`. */
const recording = (setCookies: (url: string) => ReadonlyArray<string>) => {
  const sent: Array<{ readonly url: string; readonly cookie: string | undefined }> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      sent.push({ url: request.url, cookie: request.headers["cookie"] })
      const headers = new Headers({ "content-type": "application/json" })
      for (const c of setCookies(request.url)) headers.append("set-cookie", c)
      return HttpClientResponse.fromWeb(request, new Response("{}", { status: 200, headers }))
    })
  )
  return { sent, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const get = (url: string) => Effect.flatMap(HttpClient.HttpClient, (client) => Effect.scoped(client.execute(HttpClientRequest.get(url))))

describe("Session.layerCookies", () => {
  it.effect("cookies set by an answer go back to matching hosts and paths; an expired one is dropped", () =>
    Effect.gen(function*() {
      const t = recording((url) =>
        url.endsWith("/login") ? ["NEURO_STORAGEAPI_SESSION=abc; Path=/api", "other=1; Path=/api/v1/storage"] :
        url.endsWith("/logout") ? ["other=; Max-Age=0; Path=/api/v1/storage"] : []
      )
      const layer = Session.layerCookies.pipe(Layer.provide(Layer.merge(t.layer, MemoryConfigStore.layer())))
      yield* Effect.gen(function*() {
        yield* get("http://host.example/api/login")
        yield* get("http://host.example/api/v1/storage/x")
        yield* get("http://elsewhere.example/api/v1/storage/x")
        yield* get("http://host.example/other")
        yield* get("http://host.example/api/v1/storage/logout")
        yield* get("http://host.example/api/v1/storage/y")
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(t.sent.map((s) => s.cookie), [
        undefined,
        "NEURO_STORAGEAPI_SESSION=abc; other=1",
        undefined,
        undefined,
        "NEURO_STORAGEAPI_SESSION=abc; other=1",
        "NEURO_STORAGEAPI_SESSION=abc"
      ])
    }))

  it.effect("NEURO_*_SESSION cookies are saved when the layer closes, and sent by the next one", () =>
    Effect.gen(function*() {
      const store = yield* MemoryConfigStore.make()
      const storeLayer = Layer.succeed(ConfigStore.ConfigStore, store)
      const first = recording((url) => url.endsWith("/login") ? ["NEURO_STORAGEAPI_SESSION=s1; Path=/", "plain=1; Path=/"] : [])
      yield* get("http://host.example/login").pipe(Effect.provide(Session.layerCookies.pipe(Layer.provide(Layer.merge(first.layer, storeLayer)))))
      const saved = yield* store.loadCookies
      assert.deepStrictEqual(saved.map((c) => [c.name, c.domain, c.path, c.value]), [["NEURO_STORAGEAPI_SESSION", "host.example", "/", "s1"]])
      const second = recording(() => [])
      yield* get("http://host.example/api/v1/x").pipe(Effect.provide(Session.layerCookies.pipe(Layer.provide(Layer.merge(second.layer, storeLayer)))))
      assert.strictEqual(second.sent[0]!.cookie, "NEURO_STORAGEAPI_SESSION=s1")
    }))
})
