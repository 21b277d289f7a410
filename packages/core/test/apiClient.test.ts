import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Endpoints, Errors, WebSocket } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzZWNyZXQiOiJ0b3Atc2VjcmV0LXRva2VuIn0.c2lnbmF0dXJlLXZhbHVl"

const noWebSocket = Layer.succeed(
  WebSocket.WebSocketDialer,
  WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets in this test" })) })
)

const clientWith = (reply: (request: Request) => Response | Promise<Response>, options?: ApiClient.Options) =>
  ApiClient.layer({ retry: false, ...options }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(
          HttpClient.HttpClient,
          HttpClient.make((request, url) =>
            Effect.promise(async () => {
              const headers = new Headers(request.headers as Record<string, string>)
              return HttpClientResponse.fromWeb(request, await reply(new Request(url, { method: request.method, headers })))
            })
          )
        ),
        AuthToken.layerStatic(Redacted.make(TOKEN)),
        Endpoints.layer({ apiUrl: "https://api.example.org/api/v1", clusters: [] }),
        noWebSocket
      )
    )
  )

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const Item = Schema.Struct({ id: Schema.Number })

describe("error mapping (core.md §4)", () => {
  const rows: ReadonlyArray<readonly [status: number, body: string, tag: string, description: string]> = [
    [400, `{"error": "boom 400"}`, "IllegalArgumentError", "boom 400"],
    [400, "plain 400", "IllegalArgumentError", "plain 400"],
    [400, `{"error": "No such file", "errno": "ENOENT"}`, "FileNotFound", "No such file"],
    [400, `{"error": "File exists", "errno": "EEXIST"}`, "FileExists", "File exists"],
    [400, `{"error": "Not a directory", "errno": "ENOTDIR"}`, "NotADirectory", "Not a directory"],
    [400, `{"error": "Is a directory", "errno": "EISDIR"}`, "IsADirectory", "Is a directory"],
    [400, `{"error": "Permission denied", "errno": "EACCES"}`, "PermissionDenied", "Permission denied"],
    [400, `{"error": "Operation not permitted", "errno": "EPERM"}`, "PermissionDenied", "Operation not permitted"],
    [400, `{"error": "Directory not empty", "errno": "ENOTEMPTY"}`, "OSError", "Directory not empty"],
    [400, `{"error": "Invalid argument", "errno": "EINVAL"}`, "OSError", "Invalid argument"],
    [401, "401: Unauthorized", "AuthenticationError", "401: Unauthorized"],
    [403, `{"error": "no permission"}`, "AuthorizationError", "no permission"],
    [404, "plain 404", "ResourceNotFound", "plain 404"],
    [404, `{"error": "gone", "errno": "ENOENT"}`, "ResourceNotFound", "gone"],
    [405, "405: Method Not Allowed", "ClientError", "405: Method Not Allowed"],
    [409, `{"error": "conflict"}`, "IllegalArgumentError", "conflict"],
    [422, `{"error": "unprocessable"}`, "IllegalArgumentError", "unprocessable"],
    [429, "slow down", "IllegalArgumentError", "slow down"],
    [500, `{"error": "x", "errno": "ENOENT"}`, "IllegalArgumentError", "x"],
    [502, "502: Bad Gateway", "ServerNotAvailable", "502: Bad Gateway"],
    [502, "", "ServerNotAvailable", "502: Bad Gateway"],
    [503, `{"error": "x"}`, "IllegalArgumentError", "x"],
    [504, "gateway timeout", "IllegalArgumentError", "gateway timeout"],
    [400, `{"message": "x"}`, "IllegalArgumentError", `{"message": "x"}`],
    [400, `[1, 2]`, "IllegalArgumentError", `[1, 2]`]
  ]
  for (const [status, body, tag, description] of rows) {
    it.effect(`${status} ${body || "(empty)"} -> ${tag}`, () =>
      Effect.gen(function*() {
        const fromTable = Errors.fromStatus(status, body)
        assert.strictEqual(fromTable._tag, tag)
        assert.strictEqual(fromTable.description, description)
        const api = yield* ApiClient.ApiClient
        const error = yield* Effect.flip(api.discard(HttpClientRequest.get(api.api("x"))))
        assert.strictEqual(error._tag, tag)
        assert.strictEqual((error as { readonly description: string }).description, description)
        if (Errors.isOSError(error)) assert.strictEqual(error.errno, JSON.parse(body).errno)
      }).pipe(Effect.provide(clientWith(() => new Response(body, { status })))))
  }

  it("guards follow the Python hierarchy", () => {
    const auth = Errors.fromStatus(401, "x")
    assert.isTrue(Errors.isAuthError(auth))
    assert.isTrue(Errors.isClientError(auth))
    assert.isFalse(Errors.isValueError(auth))
    const notFound = Errors.fromStatus(404, "x")
    assert.isTrue(Errors.isValueError(notFound))
    assert.isFalse(Errors.isClientError(notFound))
    assert.isTrue(Errors.isOSError(Errors.fromErrno("ENOENT", "x")))
    assert.isTrue(Errors.isNeuroError(new Errors.ConfigError({ description: "x" })))
    assert.isFalse(Errors.isNeuroError(new Error("x")))
  })
})

describe("JSON decoding", () => {
  it.effect("a body that does not match the schema is a MalformedResponse naming the field", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const error = yield* Effect.flip(api.json(HttpClientRequest.get(api.api("x")), Item))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "id")
    }).pipe(Effect.provide(clientWith(() => json({ name: "no id" })))))

  it.effect("invalid JSON and a non-JSON content type are MalformedResponse", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const error = yield* Effect.flip(api.json(HttpClientRequest.get(api.api("x")), Item))
      assert.strictEqual(error._tag, "MalformedResponse")
    }).pipe(Effect.provide(clientWith(() => new Response("{not json", { headers: { "content-type": "application/json" } })))))

  it.effect("appendPath percent-encodes segments and never doubles slashes", () =>
    Effect.sync(() => {
      assert.strictEqual(ApiClient.appendPath("https://a.org/api/v1/", "jobs", "job-1").toString(), "https://a.org/api/v1/jobs/job-1")
      assert.strictEqual(ApiClient.appendPath("https://a.org/api/v1?x=1", "a b", "c/d").toString(), "https://a.org/api/v1/a%20b/c%2Fd")
      assert.strictEqual(ApiClient.appendPath("https://a.org/s", "user@x:1").toString(), "https://a.org/s/user@x:1")
    }))
})

describe("timeouts", () => {
  const hanging = (options: ApiClient.Options) =>
    ApiClient.layer({ retry: false, ...options }).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.never)),
          AuthToken.layerStatic(Redacted.make(TOKEN)),
          Endpoints.layer({ apiUrl: "https://api.example.org/api/v1", clusters: [] }),
          noWebSocket
        )
      )
    )

  it.effect("no answer within 60 s (neuro-sdk's sock_read) is a NetworkError Timeout", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const fiber = yield* Effect.fork(Effect.flip(api.discard(HttpClientRequest.get(api.api("slow")))))
      yield* TestClock.adjust("59 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as Errors.NetworkError).reason, "Timeout")
    }).pipe(Effect.provide(hanging({}))))

  it.effect("headers then a body that never finishes: json fails with a NetworkError Timeout", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const fiber = yield* Effect.fork(Effect.flip(api.json(HttpClientRequest.get(api.api("stall")), Item)))
      yield* TestClock.adjust("59 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as Errors.NetworkError).reason, "Timeout")
    }).pipe(
      Effect.provide(
        ApiClient.layer({ retry: false }).pipe(
          Layer.provide(
            Layer.mergeAll(
              Layer.succeed(
                HttpClient.HttpClient,
                HttpClient.make((request) =>
                  Effect.succeed(
                    HttpClientResponse.fromWeb(
                      request,
                      // the headers arrive; the body never does
                      new Response(new ReadableStream<Uint8Array>({ start: () => {} }), {
                        status: 200,
                        headers: { "content-type": "application/json" }
                      })
                    )
                  )
                )
              ),
              AuthToken.layerStatic(Redacted.make(TOKEN)),
              Endpoints.layer({ apiUrl: "https://api.example.org/api/v1", clusters: [] }),
              noWebSocket
            )
          )
        )
      )
    ))

  it.effect("a per-request timeout of null waits forever", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const fiber = yield* Effect.fork(api.discard(HttpClientRequest.get(api.api("slow")), { timeout: null }))
      yield* TestClock.adjust("1 hour")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(hanging({}))))
})

describe("NDJSON streaming", () => {
  const N = 100_000

  it.effect(`streams ${N} items with constant memory (the body is pulled as it is consumed)`, () => {
    let produced = 0
    let maxAhead = 0
    let consumed = 0
    const encoder = new TextEncoder()
    const body = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (produced >= N) return controller.close()
          let chunk = ""
          for (let i = 0; i < 100 && produced < N; i++) chunk += JSON.stringify({ id: produced++ }) + "\n"
          controller.enqueue(encoder.encode(chunk))
        }
      }, { highWaterMark: 0 })
    return Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const count = yield* api.ndjson(HttpClientRequest.get(api.api("items")), Item).pipe(
        Stream.tap((item) =>
          Effect.sync(() => {
            assert.strictEqual(item.id, consumed)
            consumed++
            maxAhead = Math.max(maxAhead, produced - consumed)
          })
        ),
        Stream.runCount
      )
      assert.strictEqual(count, N)
      assert.isBelow(maxAhead, 10_000, "the client must not read the whole body ahead of the consumer")
    }).pipe(
      Effect.provide(clientWith(() => new Response(body(), { headers: { "content-type": "application/x-ndjson" } })))
    )
  })

  it.effect("Effect steps per chunk of the body, not per line", () => {
    class Counting extends Supervisor.AbstractSupervisor<void> {
      ops = 0
      get value() {
        return Effect.void
      }
      override onEffect() {
        this.ops++
      }
    }
    /** The Effect steps of listing `chunks` chunks of `lines` lines each. */
    const stepsOf = (chunks: number, lines: number) => {
      const bodies = Array.from({ length: chunks }, (_, c) =>
        new TextEncoder().encode(Array.from({ length: lines }, (_, i) => `{"id": ${c * lines + i}}\n`).join("")))
      const counting = new Counting()
      return Effect.gen(function*() {
        const api = yield* ApiClient.ApiClient
        const count = yield* Stream.runCount(api.ndjson(HttpClientRequest.get(api.api("items")), Item)).pipe(
          Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)),
          Effect.supervised(counting)
        )
        assert.strictEqual(count, chunks * lines)
        return counting.ops
      }).pipe(
        Effect.provide(clientWith(() => {
          let next = 0
          return new Response(
            new ReadableStream<Uint8Array>({
              pull(controller) {
                if (next < bodies.length) controller.enqueue(bodies[next++]!)
                else controller.close()
              }
            }),
            { headers: { "content-type": "application/x-ndjson" } }
          )
        }))
      )
    }
    return Effect.gen(function*() {
      const few = yield* stepsOf(20, 10)
      const many = yield* stepsOf(20, 1000)
      // 19,800 lines more, in as many chunks: the steps stay those of the chunks
      assert.isBelow(many - few, 200, `20 chunks: ${few} steps for 200 lines, ${many} for 20,000`)
    })
  })

  it.effect("lines split anywhere between chunks: inside a UTF-8 sequence, over three chunks; a leading BOM", () => {
    const Named = Schema.Struct({ id: Schema.Number, name: Schema.String })
    const text = "\uFEFF" + [
      { id: 1, name: "caf\u00e9 \u{1F600}" },
      { id: 2, name: "x".repeat(50) },
      { id: 3, name: "\u00fc" }
    ].map((o) => JSON.stringify(o)).join("\n")
    const bytes = new TextEncoder().encode(text)
    // every split point of the body into three chunks, in a few places: inside the emoji, inside
    // "é", right after a newline, and in the last line (which has no newline)
    const cuts = [1, 2, 3, 14, 15, 16, 17, 18, 19, 40, bytes.length - 2, bytes.length - 1]
    return Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      for (const a of cuts) {
        for (const b of cuts.filter((b) => b > a)) {
          const chunks = [bytes.slice(0, a), bytes.slice(a, b), bytes.slice(b)]
          const items = yield* Stream.runCollect(api.lines(
            HttpClientResponse.fromWeb(
              HttpClientRequest.get("https://api.example.org/x"),
              new Response(new ReadableStream<Uint8Array>({
                pull(controller) {
                  const next = chunks.shift()
                  if (next === undefined) controller.close()
                  else controller.enqueue(next)
                }
              }), { headers: { "content-type": "application/x-ndjson" } })
            ),
            Named
          ))
          assert.deepStrictEqual(
            Chunk.toReadonlyArray(items).map((i) => i.name),
            ["caf\u00e9 \u{1F600}", "x".repeat(50), "\u00fc"],
            `cut at ${a} and ${b}`
          )
        }
      }
    }).pipe(Effect.provide(clientWith(() => json({}))))
  })

  it.effect("sends Accept: application/x-ndjson", () => {
    let accept: string | null = null
    return Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      yield* Stream.runDrain(api.ndjson(HttpClientRequest.get(api.api("items")), Item))
      assert.strictEqual(accept, "application/x-ndjson")
    }).pipe(Effect.provide(clientWith((req) => {
      accept = req.headers.get("accept")
      return new Response("", { headers: { "content-type": "application/x-ndjson" } })
    })))
  })

  it.effect("an in-band error line fails the stream after the items before it", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const seen: Array<number> = []
      const error = yield* api.ndjson(HttpClientRequest.get(api.api("items")), Item).pipe(
        Stream.runForEach((i) => Effect.sync(() => seen.push(i.id))),
        Effect.flip
      )
      assert.deepStrictEqual(seen, [1, 2])
      assert.strictEqual(error._tag, "NDJSONError")
      assert.strictEqual((error as Errors.NDJSONError).description, "listing broke")
    }).pipe(
      Effect.provide(
        clientWith(() =>
          new Response(`{"id": 1}\n{"id": 2}\n{"error": "listing broke"}\n{"id": 3}\n`, {
            headers: { "content-type": "application/x-ndjson" }
          })
        )
      )
    ))

  it.effect("an error line with errno becomes the file-system error", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const error = yield* Effect.flip(Stream.runDrain(api.ndjson(HttpClientRequest.get(api.api("items")), Item)))
      assert.strictEqual(error._tag, "FileNotFound")
    }).pipe(
      Effect.provide(
        clientWith(() =>
          new Response(`{"error": "No such file", "errno": "ENOENT"}\n`, { headers: { "content-type": "application/x-ndjson" } })
        )
      )
    ))

  it.effect("falls back to a whole JSON document with a list key", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const items = yield* Stream.runCollect(api.ndjson(HttpClientRequest.get(api.api("items")), Item, { listKey: "jobs" }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(items).map((i) => i.id), [7, 8])
    }).pipe(Effect.provide(clientWith(() => json({ jobs: [{ id: 7 }, { id: 8 }] })))))

  it.effect("a bad item is a MalformedResponse, not a crash", () =>
    Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      const error = yield* Effect.flip(Stream.runDrain(api.ndjson(HttpClientRequest.get(api.api("items")), Item)))
      assert.strictEqual(error._tag, "MalformedResponse")
    }).pipe(
      Effect.provide(clientWith(() => new Response(`{"id": "one"}\n`, { headers: { "content-type": "application/x-ndjson" } })))
    ))
})

describe("secrets stay secret", () => {
  it.effect("the token appears in no error message, JSON form or log line", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(JSON.stringify(message)))
    return Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      for (const path of ["401", "404", "500"]) {
        const error = yield* Effect.flip(api.discard(HttpClientRequest.get(api.api(path))))
        yield* Effect.logError("call failed", error)
        for (const text of [String(error), error.message, JSON.stringify(error), Errors.fromStatus(401, "x").toString()]) {
          assert.notInclude(text, TOKEN)
          assert.notInclude(text, TOKEN.split(".")[1]!)
        }
      }
      assert.isAbove(logs.length, 0)
      for (const line of logs) assert.notInclude(line, TOKEN.split(".")[1]!)
    }).pipe(
      Effect.provide(clientWith((req) => new Response(`echo ${new URL(req.url).pathname}`, { status: Number(new URL(req.url).pathname.split("/").at(-1)) }))),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
  })

  it.effect("the request carries the token as a Bearer header", () => {
    let auth: string | null = null
    return Effect.gen(function*() {
      const api = yield* ApiClient.ApiClient
      yield* api.discard(HttpClientRequest.get(api.api("x")))
      assert.strictEqual(auth, `Bearer ${TOKEN}`)
      yield* api.discard(HttpClientRequest.get(api.api("x")), { auth: false })
      assert.isNull(auth)
    }).pipe(Effect.provide(clientWith((req) => {
      auth = req.headers.get("authorization")
      return new Response("")
    })))
  })
})
