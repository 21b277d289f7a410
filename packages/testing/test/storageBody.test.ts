/**
 * Storage bodies read below one Effect boundary (`pumpBody`): bodies arrive whole whatever their
 * framing, and uploads that break off (a client that goes away, a broken chunked body) leave no
 * file open behind them. Requests are written on raw sockets, byte for byte.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"

/** Writes `parts` on a fresh connection (pausing between them), closes it after `closeAfterMs` if given; the answer's status line. */
const exchange = (url: string, parts: ReadonlyArray<string | Uint8Array>, closeAfterMs?: number) =>
  Effect.async<string>((resume) => {
    const { hostname, port } = new URL(url)
    const socket = net.connect(Number(port), hostname)
    let answer = ""
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1")
    })
    socket.on("close", () => resume(Effect.succeed(answer.split("\r\n")[0] ?? "")))
    socket.on("error", () => undefined)
    let i = 0
    const next = () => {
      if (i < parts.length) socket.write(parts[i++]!, () => setTimeout(next, 20))
      else if (closeAfterMs !== undefined) setTimeout(() => socket.destroy(), closeAfterMs)
    }
    next()
  })

/** Descriptors this process holds open on files under `dir` (Linux), or `undefined` where that cannot be told. */
const openUnder = (dir: string): number | undefined => {
  if (!fs.existsSync("/proc/self/fd")) return undefined
  let n = 0
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(join("/proc/self/fd", fd)).startsWith(dir)) n++
    } catch {
      // closed meanwhile
    }
  }
  return n
}

describe("storage request bodies", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"] }), { excludeTestServices: true })((it) => {
    const put = (path: string, headers: string) =>
      Effect.map(LocalPlatform.LocalPlatformTag, (platform) =>
        `PUT /api/v1/clusters/default/storage/alice/${path}?op=CREATE HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${
          Redacted.value(platform.token("alice"))
        }\r\nConnection: close\r\n${headers}\r\n`)

    it.effect("arrive whole in pieces, with a length or chunked", () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.LocalPlatformTag
        const data = Buffer.alloc(300_000, 7)
        const sized = yield* put("sized", `Content-Length: ${data.length}\r\n`)
        assert.strictEqual(
          yield* exchange(platform.url, [sized, data.subarray(0, 1), data.subarray(1, 100_000), data.subarray(100_000)]),
          "HTTP/1.1 201 Created"
        )
        const chunked = yield* put("chunked", "Transfer-Encoding: chunked\r\n")
        assert.strictEqual(yield* exchange(platform.url, [chunked, "3\r\nabc\r\n", "2\r\nde\r\n", "0\r\n\r\n"]), "HTTP/1.1 201 Created")
        const home = join(platform.dataDir, "storage", "default", "alice")
        assert.isTrue(fs.readFileSync(join(home, "sized")).equals(data))
        assert.strictEqual(fs.readFileSync(join(home, "chunked"), "utf8"), "abcde")
      }))

    it.effect("uploads that break off leave no file open", () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.LocalPlatformTag
        for (let i = 0; i < 3; i++) {
          const cut = yield* put(`cut-${i}`, "Content-Length: 100000\r\n")
          yield* exchange(platform.url, [cut, "x".repeat(5000)], 50)
          const broken = yield* put(`broken-${i}`, "Transfer-Encoding: chunked\r\n")
          assert.strictEqual(yield* exchange(platform.url, [broken + "zz\r\nabc\r\n"]), "HTTP/1.1 400 Bad Request")
        }
        const ok = yield* put("after", "Content-Length: 2\r\n")
        assert.strictEqual(yield* exchange(platform.url, [ok + "ok"]), "HTTP/1.1 201 Created")
        yield* Effect.sleep("200 millis")
        const open = openUnder(platform.dataDir)
        if (open !== undefined) assert.strictEqual(open, 0, "descriptors left open under the data folder")
      }))
  })
})
