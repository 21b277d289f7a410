/**
 * Wire details of LocalPlatform found by driving it with the real Python neuro-sdk 23.2
 * (conformance/python/drive_local_platform.py), checked here with raw HTTP so that CI keeps them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as http from "node:http"
import { LocalPlatform } from "../src/index.js"

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** Milliseconds from the request to the response head. */
  readonly headMillis: number
}

/** One request on its own connection; the body is read for at most `bodyMillis`. */
const request = (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string; readonly bodyMillis?: number } = {}
) =>
  Effect.async<Answer, Error>((resume) => {
    const started = Date.now()
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (res) => {
      const headMillis = Date.now() - started
      const chunks: Array<Buffer> = []
      const done = () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), headMillis }))
      const timer = setTimeout(() => {
        res.destroy()
        done()
      }, options.bodyMillis ?? 5000)
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        clearTimeout(timer)
        done()
      })
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

const json = (a: Answer): unknown => JSON.parse(a.body)

const serve = Effect.map(LocalPlatform.serve({ users: ["alice", "bob"] }), (p) => ({
  platform: p,
  auth: (user: string) => ({ Authorization: `Bearer ${Redacted.value(p.token(user))}` })
}))

describe("LocalPlatform on the wire, as the real services", () => {
  it.scopedLive("/config advertises users_url where the users API is served ({api}/users)", () =>
    Effect.gen(function*() {
      const { auth, platform } = yield* serve
      const config = json(yield* request(`${platform.apiUrl}/config`, { headers: auth("alice") })) as {
        readonly clusters: ReadonlyArray<{ readonly users_url: string; readonly monitoring_url: string }>
      }
      const cluster = config.clusters[0]!
      assert.strictEqual(cluster.users_url, `${platform.apiUrl}/users`)
      assert.strictEqual(cluster.monitoring_url, `${platform.apiUrl}/jobs`)
      const acl = yield* request(`${cluster.users_url}/alice/permissions`, { headers: auth("alice") })
      assert.strictEqual(acl.status, 200)
    }))

  it.scopedLive("storage hides paths one may not write: 404, not 403", () =>
    Effect.gen(function*() {
      const { auth, platform } = yield* serve
      const storage = `${platform.apiUrl}/clusters/default/storage`
      const created = yield* request(`${storage}/alice/shared/f.txt?op=CREATE`, { method: "PUT", headers: auth("alice"), body: "x" })
      assert.strictEqual(created.status, 201)
      const share = yield* request(`${platform.apiUrl}/users/bob/permissions`, {
        method: "POST",
        headers: { ...auth("alice"), "Content-Type": "application/json" },
        body: JSON.stringify([{ uri: "storage://default/alice/shared", action: "read" }])
      })
      assert.strictEqual(share.status, 201)
      const read = yield* request(`${storage}/alice/shared/f.txt?op=OPEN`, { headers: auth("bob") })
      assert.deepStrictEqual([read.status, read.body], [200, "x"])
      for (const [method, op] of [["PUT", "CREATE"], ["PUT", "MKDIRS"], ["DELETE", "DELETE"], ["POST", "RENAME&destination=g.txt"]] as const) {
        const denied = yield* request(`${storage}/alice/shared/f.txt?op=${op}`, { method, headers: auth("bob"), body: method === "PUT" ? "y" : "" })
        assert.deepStrictEqual([op, denied.status, denied.body], [op, 404, "404: Not Found"])
      }
    }))

  it.scopedLive("a job's HTTP log stream sends its head before the job prints anything", () =>
    Effect.gen(function*() {
      const { auth, platform } = yield* serve
      const created = yield* request(`${platform.apiUrl}/jobs?from_preset`, {
        method: "POST",
        headers: { ...auth("alice"), "Content-Type": "application/json" },
        body: JSON.stringify({ preset_name: "cpu-small", image: "ubuntu:22.04", command: "sleep 20" })
      })
      assert.strictEqual(created.status, 202)
      const id = (json(created) as { readonly id: string }).id
      const log = yield* request(`${platform.apiUrl}/jobs/${id}/log`, { headers: auth("alice"), bodyMillis: 300 })
      assert.strictEqual(log.status, 200)
      assert.isBelow(log.headMillis, 2000)
      assert.match(String(log.headers["content-type"]), /^text\/plain/)
      assert.isString(log.headers["x-separator"])
      assert.strictEqual(log.body, "")
      const listed = yield* request(`${platform.apiUrl}/jobs?status=running&status=pending`, {
        headers: { ...auth("alice"), Accept: "application/x-ndjson" },
        bodyMillis: 1000
      })
      assert.match(String(listed.headers["content-type"]), /^application\/x-ndjson/)
      const killed = yield* request(`${platform.apiUrl}/jobs/${id}`, { method: "DELETE", headers: auth("alice") })
      assert.strictEqual(killed.status, 204)
    }))

  it.scopedLive("attach and exec answer the v2.channels.neu.ro subprotocol; the other websockets none", () =>
    Effect.gen(function*() {
      const { auth, platform } = yield* serve
      const created = yield* request(`${platform.apiUrl}/jobs?from_preset`, {
        method: "POST",
        headers: { ...auth("alice"), "Content-Type": "application/json" },
        body: JSON.stringify({ preset_name: "cpu-small", image: "ubuntu:22.04", command: "sleep 20" })
      })
      const id = (json(created) as { readonly id: string }).id
      for (let i = 0; i < 100; i++) {
        const job = json(yield* request(`${platform.apiUrl}/jobs/${id}`, { headers: auth("alice") })) as { readonly status: string }
        if (job.status === "running") break
        yield* Effect.sleep("50 millis")
      }
      const handshake = (path: string) =>
        Effect.async<http.IncomingHttpHeaders, Error>((resume) => {
          const req = http.request(`${platform.apiUrl}/jobs/${id}/${path}`, {
            agent: false,
            headers: {
              ...auth("alice"),
              Connection: "Upgrade",
              Upgrade: "websocket",
              "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
              "Sec-WebSocket-Protocol": "other, v2.channels.neu.ro"
            }
          })
          req.on("upgrade", (res, socket) => {
            socket.destroy()
            resume(Effect.succeed(res.headers))
          })
          req.on("response", (res) => resume(Effect.fail(new Error(`${path}: ${res.statusCode}`))))
          req.on("error", (e) => resume(Effect.fail(e)))
          req.end()
        })
      assert.strictEqual((yield* handshake("attach?stdout=1"))["sec-websocket-protocol"], "v2.channels.neu.ro")
      assert.strictEqual((yield* handshake("exec?cmd=true&stdout=1"))["sec-websocket-protocol"], "v2.channels.neu.ro")
      assert.isUndefined((yield* handshake("log_ws"))["sec-websocket-protocol"])
      assert.isUndefined((yield* handshake("top"))["sec-websocket-protocol"])
      yield* request(`${platform.apiUrl}/jobs/${id}`, { method: "DELETE", headers: auth("alice") })
    }))

  it.scopedLive("a refused websocket handshake announces that the connection closes", () =>
    Effect.gen(function*() {
      const { auth, platform } = yield* serve
      const refused = yield* request(`${platform.apiUrl}/jobs/job-missing/attach?stdout=1`, {
        headers: {
          ...auth("alice"),
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Protocol": "v2.channels.neu.ro"
        }
      })
      assert.strictEqual(refused.status, 400)
      assert.strictEqual(refused.headers["x-error"], JSON.stringify({ error: "no such job job-missing" }))
      assert.strictEqual(refused.headers["connection"], "close")
    }))
})
