/**
 * A download whose destination is a pipe or a device (`neuro cp storage:f /dev/stdout`) writes
 * into it in order, as neuro-sdk does: no temporary file is renamed over it, and it stays what it
 * was. Over a real socket against LocalPlatform, with a named pipe read by a child process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Buckets, Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import { join } from "node:path"
import { LocalPlatform } from "../src/index.js"
import { clientLayer, seeded, tempDirNamed } from "./transferHelpers.js"

const MiB = 2 ** 20

/** Everything written into the named pipe `fifo`, read by `cat` until the writer closes it. */
const drainFifo = (fifo: string) => {
  const child = spawn("cat", [fifo], { stdio: ["ignore", "pipe", "inherit"] })
  const chunks: Array<Buffer> = []
  child.stdout.on("data", (c: Buffer) => chunks.push(c))
  return Effect.async<Buffer>((resume) => {
    child.on("close", () => resume(Effect.succeed(Buffer.concat(chunks))))
    return Effect.sync(() => child.kill())
  })
}

describe("downloads into a pipe or a device", () => {
  it.scopedLive("downloadFile into a named pipe: the bytes in order, the pipe still a pipe, no temporary file", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["alice"] })
      const context = yield* Layer.build(clientLayer(platform.apiUrl, platform.token("alice")))
      const dir = yield* tempDirNamed("neuro-special-")
      const home = join(platform.dataDir, "storage", "default", "alice")
      fs.mkdirSync(home, { recursive: true })
      const big = seeded(3 * MiB + 123, 7)
      fs.writeFileSync(join(home, "big.bin"), big)
      fs.writeFileSync(join(home, "small.txt"), "hello\n")
      const fifo = join(dir, "pipe")
      execFileSync("mkfifo", [fifo])
      for (const [name, expected] of [["big.bin", big], ["small.txt", Buffer.from("hello\n")]] as const) {
        const reader = yield* Effect.fork(drainFifo(fifo))
        yield* Effect.flatMap(Storage.Storage, (s) => s.downloadFile(`storage:${name}`, fifo)).pipe(Effect.provide(context))
        const got = yield* reader.await.pipe(Effect.flatten)
        assert.isTrue(got.equals(expected), `${name}: ${got.length} bytes of ${expected.length}`)
        assert.isTrue(fs.statSync(fifo).isFIFO(), "the pipe is still a pipe")
        assert.deepStrictEqual(fs.readdirSync(dir), ["pipe"], "no temporary file left")
      }
    }))

  it.scopedLive("downloadFile and a blob download into /dev/null leave the device as it is", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["alice"] })
      const context = yield* Layer.build(clientLayer(platform.apiUrl, platform.token("alice")))
      const home = join(platform.dataDir, "storage", "default", "alice")
      fs.mkdirSync(home, { recursive: true })
      fs.writeFileSync(join(home, "f.bin"), seeded(2 * MiB, 3))
      const before = fs.statSync("/dev/null")
      yield* Effect.flatMap(Storage.Storage, (s) => s.downloadFile("storage:f.bin", "/dev/null")).pipe(Effect.provide(context))
      yield* Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        yield* buckets.create({ name: "special" })
        yield* buckets.putBlob("special", "k", new Uint8Array(seeded(1000, 5)))
        yield* buckets.downloadFile("blob:special/k", "/dev/null")
      }).pipe(Effect.provide(context))
      const after = fs.statSync("/dev/null")
      assert.isTrue(after.isCharacterDevice())
      assert.strictEqual(after.rdev, before.rdev)
      assert.strictEqual(after.ino, before.ino)
    }))
})
