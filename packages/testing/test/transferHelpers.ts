/**
 * Helpers of the transfer reliability tests: an SDK client logged in at any API URL, and an HTTP
 * proxy in front of LocalPlatform that records what it forwards and can misbehave on chosen
 * requests (end a body early but cleanly, or stall it after some bytes).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Factory, NeuroClient, Session } from "@neuro-sdk/core"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeLogin from "@neuro-sdk/node/NodeLogin"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as MemoryConfigStore from "../src/MemoryConfigStore.js"
import * as TestBrowser from "../src/TestBrowser.js"

/** Every SDK service, logged in by token at `apiUrl` (config kept in memory). */
export const clientLayer = (apiUrl: URL, token: Redacted.Redacted<string>) => {
  const infra = Layer.mergeAll(MemoryConfigStore.layer(), NodeHttp.layer)
  const factory = Factory.layer.pipe(Layer.provide(Layer.mergeAll(infra, TestBrowser.layer, NodeLogin.layerCallbackServer)))
  const loggedIn = Layer.provideMerge(
    Layer.effectDiscard(Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(token, { url: apiUrl }))),
    Layer.merge(infra, factory)
  )
  const session = Layer.provideMerge(Session.layerWith(Effect.succeed({})), loggedIn)
  return Layer.orDie(Layer.provideMerge(NeuroClient.layer(), Layer.mergeAll(session, NodeFileSystem.layer, NodePath.layer)))
}

/** What the proxy does to one answer's body. */
export interface Shape {
  /** Forward this many bytes, then end the body cleanly (chunked, no `Content-Length`). */
  readonly cut?: number
  /** Forward this many bytes, then send nothing more until the client goes away. */
  readonly stallAfter?: number
}

/** One request the proxy forwarded, with the body bytes it sent back. */
export interface Forwarded {
  readonly method: string
  readonly url: string
  readonly range: string | undefined
  bytes: number
}

export interface Proxy {
  /** Set once listening. */
  apiUrl: URL
  readonly forwarded: Array<Forwarded>
  /** Decides the shape of each answer (by request, and its index among all requests). */
  shape: (req: http.IncomingMessage, index: number) => Shape | undefined
  /** Resolves when a stalled answer has sent its bytes (re-armed with `armStall`). */
  stalled: Promise<void>
  readonly armStall: () => void
}

/** `OPEN`s of a storage path (`…/name?op=OPEN`) and S3 object GETs whose URL ends with `name`. */
export const isRead = (req: http.IncomingMessage, name: string) => {
  const url = new URL(req.url ?? "/", "http://x")
  return req.method === "GET" && url.pathname.endsWith("/" + name) && (url.searchParams.get("op") === "OPEN" || url.pathname.startsWith("/s3/"))
}

/** Body bytes sent back for reads (see `isRead`) of `name`. */
export const bytesRead = (proxy: Proxy, name: string) =>
  proxy.forwarded.filter((f) => f.method === "GET" && (f.url.includes("op=OPEN") || f.url.startsWith("/s3/")) && new URL(f.url, "http://x").pathname.endsWith("/" + name))
    .reduce((n, f) => n + f.bytes, 0)

/** An HTTP proxy on loopback in front of `target`; the Host header is kept, so `/config` points back at the proxy. */
export const startProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: Proxy; readonly server: http.Server }>((resume) => {
      const upstreamUrl = new URL(target)
      let signal = () => {}
      const proxy: Proxy = {
        apiUrl: new URL("http://127.0.0.1/api/v1"),
        forwarded: [],
        shape: () => undefined,
        stalled: Promise.resolve(),
        armStall: () => {
          proxy.stalled = new Promise<void>((resolve) => {
            signal = resolve
          })
        }
      }
      proxy.armStall()
      const server = http.createServer((req, res) => {
        const record: Forwarded = { method: req.method ?? "GET", url: req.url ?? "/", range: req.headers["range"], bytes: 0 }
        const shape = proxy.shape(req, proxy.forwarded.length)
        proxy.forwarded.push(record)
        const upstream = http.request(
          { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const headers = { ...answer.headers }
            if (shape?.cut !== undefined) delete headers["content-length"]
            res.writeHead(answer.statusCode ?? 502, headers)
            const limit = shape?.cut ?? shape?.stallAfter
            let done = false
            answer.on("data", (chunk: Buffer) => {
              if (done) return
              const piece = limit === undefined ? chunk : chunk.subarray(0, Math.max(0, limit - record.bytes))
              record.bytes += piece.length
              if (piece.length > 0) res.write(piece)
              if (limit !== undefined && record.bytes >= limit) {
                done = true
                answer.destroy()
                if (shape?.cut !== undefined) res.end()
                else signal()
              }
            })
            answer.on("end", () => {
              if (!done) res.end()
            })
            answer.on("error", () => {
              if (!done) res.destroy()
            })
          }
        )
        upstream.on("error", () => res.destroy())
        res.on("close", () => upstream.destroy())
        req.pipe(upstream)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        proxy.apiUrl = new URL(`http://127.0.0.1:${port}/api/v1`)
        resume(Effect.succeed({ proxy, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))

/** Deterministic pseudo-random bytes (a linear congruential sequence from `seed`). */
export const seeded = (size: number, seed: number) => {
  let x = seed
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    out[i] = x >>> 16 & 0xff
  }
  return out
}

/** A fresh temporary folder, removed with the scope. */
export const tempDirNamed = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(join(tmpdir(), prefix))),
    (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
  )
