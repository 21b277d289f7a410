import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, layer } from "@effect/vitest"
import { Jobs } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { JobRunner, LocalPlatform, NeuroTest } from "../src/index.js"

const raw = (user: string, request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const platform = yield* LocalPlatform.LocalPlatformTag
    const http = yield* HttpClient.HttpClient
    return yield* http.execute(
      request.pipe(HttpClientRequest.prependUrl(platform.url), HttpClientRequest.bearerToken(Redacted.value(platform.token(user))))
    )
  })

const seed = (user: string, body: Record<string, unknown>) =>
  raw(user, HttpClientRequest.post("/_local/jobs/seed").pipe(HttpClientRequest.bodyUnsafeJson(body))).pipe(
    Effect.flatMap((r) => r.json),
    Effect.map((j) => (j as { readonly ids: ReadonlyArray<string> }).ids)
  )

const ids = (options: Jobs.ListOptions) =>
  Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list(options).pipe(Stream.map((j) => j.id), Stream.runCollect, Effect.map(Chunk.toReadonlyArray)))

const platform = Layer.provideMerge(
  Jobs.layer,
  NeuroTest.layer({ users: ["alice", "bob"], testHooks: true }).pipe(Layer.provide(JobRunner.layerSimulated()))
)

describe("jobs listing", () => {
  layer(platform, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.scoped("filters by status, name, tags, since/until, reverse and limit return exactly the right jobs", () =>
      Effect.gen(function*() {
        const t0 = "2021-01-01T00:00:00+00:00"
        const a = yield* seed("alice", { count: 3, status: "succeeded", tags: ["x", "y"], createdAt: t0, stepMillis: 60_000 })
        const b = yield* seed("alice", { count: 2, status: "failed", tags: ["x"], name: "named", createdAt: "2021-01-01T00:03:00Z", stepMillis: 60_000 })
        const c = yield* seed("alice", { count: 2, status: "running", createdAt: "2021-01-01T00:05:00Z", stepMillis: 60_000 })
        const bobs = yield* seed("bob", { count: 2, status: "succeeded", tags: ["x"], createdAt: "2021-01-01T00:01:30Z" })
        const all = [...a, ...b, ...c]
        assert.deepStrictEqual(yield* ids({}), all, "creation order; bob's jobs are not alice's to see")
        assert.deepStrictEqual(yield* ids({ statuses: ["failed", "running"] }), [...b, ...c])
        assert.deepStrictEqual(yield* ids({ statuses: ["succeeded"] }), a)
        assert.deepStrictEqual(yield* ids({ name: "named" }), b)
        assert.deepStrictEqual(yield* ids({ tags: ["x"] }), [...a, ...b])
        assert.deepStrictEqual(yield* ids({ tags: ["x", "y"] }), a, "every tag must be present")
        assert.deepStrictEqual(yield* ids({ since: new Date("2021-01-01T00:02:00Z") }), [a[2]!, ...b, ...c])
        assert.deepStrictEqual(yield* ids({ until: new Date("2021-01-01T00:02:00Z") }), a, "until is inclusive")
        assert.deepStrictEqual(
          yield* ids({ since: new Date("2021-01-01T00:01:00Z"), until: new Date("2021-01-01T00:04:00Z") }),
          [a[1]!, a[2]!, ...b]
        )
        assert.deepStrictEqual(yield* ids({ reverse: true }), [...all].reverse())
        assert.deepStrictEqual(yield* ids({ limit: 2 }), all.slice(0, 2))
        assert.deepStrictEqual(yield* ids({ reverse: true, limit: 3 }), [...all].reverse().slice(0, 3))
        assert.deepStrictEqual(yield* ids({ owners: ["alice"], statuses: ["running"], reverse: true }), [...c].reverse())
        assert.deepStrictEqual(yield* ids({ owners: ["bob"] }), [], "bob shared nothing")
        // after bob shares his jobs (his whole job namespace) alice sees them, interleaved by creation time
        const shared = yield* raw(
          "bob",
          HttpClientRequest.post("/api/v1/users/alice/permissions").pipe(
            HttpClientRequest.bodyUnsafeJson([{ uri: "job://default/bob", action: "read" }])
          )
        )
        assert.strictEqual(shared.status, 201)
        assert.deepStrictEqual(yield* ids({ tags: ["x"] }), [a[0]!, a[1]!, ...bobs, a[2]!, ...b])
        assert.deepStrictEqual(yield* ids({ owners: ["bob"] }), bobs)
      }))

    it.scoped("bad filters are 400 answers", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, string]> = [
          ["status=bogus", "'bogus' is not a valid JobStatus"],
          ["limit=0", "limit should be > 0"],
          ["reverse=maybe", "Required \"0\", \"1\", \"false\" or \"true\""],
          ["name=Bad_Name", "name: does not match pattern"],
          ["since=yesterday", "Unable to parse date string 'yesterday'"]
        ]
        for (const [query, message] of cases) {
          const r = yield* raw("alice", HttpClientRequest.get(`/api/v1/jobs?${query}`))
          assert.strictEqual(r.status, 400, query)
          const body = (yield* r.json) as { readonly error: string }
          assert.include(body.error, message, query)
        }
      }))
  })

  layer(platform, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.scoped("10,000 jobs stream as NDJSON", () =>
      Effect.gen(function*() {
        yield* seed("alice", { count: 10_000, status: "succeeded", tags: ["bulk"] })
        const response = yield* raw(
          "alice",
          HttpClientRequest.get("/api/v1/jobs").pipe(
            HttpClientRequest.setUrlParams({ tag: "bulk", cluster_name: "default" }),
            HttpClientRequest.setHeader("Accept", "application/x-ndjson")
          )
        )
        assert.strictEqual(response.headers["content-type"], "application/x-ndjson")
        assert.isUndefined(response.headers["content-length"], "streamed, not buffered")
        let lines = 0
        yield* HttpClientResponse.stream(Effect.succeed(response)).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) =>
            Effect.sync(() => {
              const job = JSON.parse(line) as { readonly owner: string; readonly tags: ReadonlyArray<string> }
              assert.strictEqual(job.owner, "alice")
              lines++
            })
          )
        )
        assert.strictEqual(lines, 10_000)
        // and through the SDK
        const count = yield* Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list({ tags: ["bulk"] }).pipe(Stream.runCount))
        assert.strictEqual(count, 10_000)
      }))
  })
})
