/**
 * Progress of an upload within one request (issue 13, item 3): a file sent in one 16 MiB request
 * (or less) reports how far it got while the request is on its way, about every 100 ms, never
 * going back, on the Node fast path (over `ApiClient`, `@effect/platform-node`'s client takes the
 * whole body at once: steps there only follow the reads of the file). The client talks to LocalPlatform
 * through a TCP proxy that lets request bytes through at ~10 MB/s, so a 16 MiB upload (one request) takes
 * over a second (less what the socket buffers take at once).
 */
import { assert, describe, it } from "@effect/vitest"
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { LocalPlatform } from "../src/index.js"
import { clientLayer } from "./fastPathHelpers.js"
import { seeded, tempDirNamed } from "./transferHelpers.js"

const MiB = 2 ** 20
const BYTES_PER_SECOND = 10e6

/** A TCP proxy to `target` passing what the client sends at `BYTES_PER_SECOND` (answers at full speed). */
const throttlingProxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.async<{ readonly apiUrl: URL; readonly close: () => void }>((resume) => {
      const sockets = new Set<net.Socket>()
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on("error", () => {})
          s.on("close", () => {
            client.destroy()
            upstream.destroy()
          })
        }
        client.on("data", (chunk: Buffer) => {
          client.pause()
          upstream.write(chunk)
          setTimeout(() => client.resume(), (chunk.length / BYTES_PER_SECOND) * 1000)
        })
        upstream.pipe(client)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        const apiUrl = new URL(target.href)
        apiUrl.host = `127.0.0.1:${port}`
        resume(Effect.succeed({ apiUrl, close: () => (sockets.forEach((s) => s.destroy()), server.close()) }))
      })
    }),
    (p) => Effect.sync(p.close)
  )

describe("upload progress within one request", () => {
  for (const fast of [true, false]) {
    it.scopedLive(`${fast ? "Node fast path" : "over ApiClient"}: steps while a 16 MiB file is sent, increasing, then the end`, () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.serve({ users: ["alice"] })
        const proxy = yield* throttlingProxy(platform.apiUrl)
        const context = yield* Layer.build(clientLayer(proxy.apiUrl, platform.token("alice"), { fast }))
        const dir = yield* tempDirNamed("neuro-upload-progress-")
        const size = 16 * MiB
        const file = join(dir, "sixteen.bin")
        fs.writeFileSync(file, seeded(size, 11))
        const steps: Array<number> = []
        yield* Effect.flatMap(Storage.Storage, (s) =>
          s.uploadFile(file, "storage:sixteen.bin", {
            progress: (event) =>
              Effect.sync(() => {
                if (event._tag === "StorageProgressStep") steps.push(event.current)
              })
          })).pipe(Effect.provide(context))
        assert.isTrue(fs.readFileSync(join(platform.dataDir, "storage", "default", "alice", "sixteen.bin")).equals(seeded(size, 11)))
        assert.strictEqual(steps.at(-1), size, "the last step is the whole file")
        const within = steps.filter((n) => n < size)
        if (fast) assert.isAtLeast(within.length, 2, `steps while sending: ${steps.join(", ")}`)
        for (let i = 1; i < steps.length; i++) assert.isAbove(steps[i]!, steps[i - 1]!, `steps never go back: ${steps.join(", ")}`)
      }))
  }
})
