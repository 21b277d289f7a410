/**
 * NodeHttp's lean HTTP/1.1 client over TLS: the certificate is verified against the trusted CAs
 * (an unknown issuer is a NetworkError and no request is sent), the server name is sent (SNI) and
 * HTTP/1.1 negotiated (ALPN), and requests reuse one TLS connection. The successful case runs in
 * a child process started with NODE_EXTRA_CA_CERTS naming the test certificate (fixtures/tls).
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Endpoints } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import type * as net from "node:net"
import * as path from "node:path"
import type * as tls from "node:tls"
import { fileURLToPath } from "node:url"
import * as NodeHttp from "../src/NodeHttp.js"

const testDir = path.dirname(fileURLToPath(import.meta.url))
const repoDir = path.resolve(testDir, "../../..")
const certFile = path.join(testDir, "fixtures", "tls", "localhost.crt")
const keyFile = path.join(testDir, "fixtures", "tls", "localhost.key")

interface Seen {
  readonly requests: Array<{ readonly method: string; readonly url: string; readonly auth: string | undefined; readonly body: string }>
  readonly servernames: Array<string | false>
  readonly alpn: Array<string | false | null>
  connections: number
}

const serve = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly seen: Seen; readonly server: https.Server }>((resume) => {
    const seen: Seen = { requests: [], servernames: [], alpn: [], connections: 0 }
    const server = https.createServer(
      { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile), ALPNProtocols: ["http/1.1"] },
      (req, res) => {
        let body = ""
        req.setEncoding("utf8")
        req.on("data", (c: string) => (body += c))
        req.on("end", () => {
          seen.requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body })
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ ok: true, method: req.method }))
        })
      }
    )
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      seen.connections++
      seen.servernames.push((socket as tls.TLSSocket & { servername?: string | false }).servername ?? false)
      seen.alpn.push(socket.alpnProtocol)
    })
    server.on("tlsClientError", () => {})
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ port: (server.address() as net.AddressInfo).port, seen, server })))
  }),
  ({ server }) => Effect.sync(() => server.close())
)

const runChild = (apiUrl: string): Promise<unknown> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", path.join(testDir, "fixtures", "tlsChild.ts"), apiUrl],
      { cwd: repoDir, timeout: 120_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile } },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split("\n").pop()!))
      }
    )
  })

describe("NodeHttp over TLS (lean client)", () => {
  it.scopedLive("a certificate from an unknown issuer: NetworkError, nothing sent", () =>
    Effect.gen(function*() {
      const { port, seen } = yield* serve
      const layer = ApiClient.layer({ retry: false, timeout: "10 seconds" }).pipe(
        Layer.provide(Layer.mergeAll(
          NodeHttp.layer,
          AuthToken.layerStatic(Redacted.make("tls-token")),
          Endpoints.layer({ apiUrl: `https://localhost:${port}/api/v1`, clusters: [] })
        ))
      )
      const error = yield* Effect.flip(
        Effect.flatMap(ApiClient.ApiClient, (api) => api.json(HttpClientRequest.get(api.api("x")), Schema.Unknown)).pipe(Effect.provide(layer))
      )
      assert.strictEqual(error._tag, "NetworkError")
      assert.match(String((error as { description?: unknown }).description), /certificate/i)
      assert.strictEqual(seen.requests.length, 0)
    }))

  it.scopedLive("a trusted certificate: SNI and ALPN http/1.1, two requests on one connection", () =>
    Effect.gen(function*() {
      const { port, seen } = yield* serve
      const result = yield* Effect.promise(() => runChild(`https://localhost:${port}/api/v1`))
      assert.deepStrictEqual(result, { answers: [{ ok: true, method: "GET" }, { ok: true, method: "POST" }] })
      assert.deepStrictEqual(seen.requests.map((r) => [r.method, r.url, r.auth]), [
        ["GET", "/api/v1/x", "Bearer tls-token"],
        ["POST", "/api/v1/y", "Bearer tls-token"]
      ])
      assert.deepStrictEqual(JSON.parse(seen.requests[1]!.body), { n: 1 })
      assert.strictEqual(seen.connections, 1)
      assert.deepStrictEqual(seen.servernames, ["localhost"])
      assert.deepStrictEqual(seen.alpn, ["http/1.1"])
    }))
})
