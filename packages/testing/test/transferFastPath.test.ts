/**
 * Storage transfers over the Node fast path (`NodeTransferIO` + `NodeLocalFiles`, what
 * `NeuroNode.layer` provides) keep the semantics of the `ApiClient` path: round trips with
 * progress, multi-request uploads, answers cut short or stalled (through the proxy of
 * transferHelpers.ts), interruption and `continue`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import { LocalPlatform } from "../src/index.js"
import { clientLayer } from "./fastPathHelpers.js"
import { bytesRead, isRead, seeded, startProxy, tempDirNamed } from "./transferHelpers.js"

const MiB = 2 ** 20

const tempDir = tempDirNamed("neuro-fast-path-test-")

const parts = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>).filter((p) => p.endsWith(".neuro-part")).sort()

const waitFor = (what: string, check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if (check()) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

const setup = Effect.gen(function*() {
  const platform = yield* LocalPlatform.serve({ users: ["alice"] })
  const proxy = yield* startProxy(platform.url)
  const context = yield* Layer.build(clientLayer(proxy.apiUrl, platform.token("alice")))
  const storage = yield* Effect.provide(Storage.Storage, context)
  const dir = yield* tempDir
  const remotePath = (rel: string) => join(platform.dataDir, "storage", "default", "alice", rel)
  const putRemote = (rel: string, data: Uint8Array) => {
    fs.mkdirSync(dirname(remotePath(rel)), { recursive: true })
    fs.writeFileSync(remotePath(rel), data)
    const past = new Date(Date.now() - 3600_000)
    fs.utimesSync(remotePath(rel), past, past)
  }
  return { platform, proxy, storage, dir, remotePath, putRemote }
})

describe("storage transfers over the Node fast path", () => {
  it.scopedLive("uploadFile over several requests, downloadFile, trees both ways: same bytes, same events", () =>
    Effect.gen(function*() {
      const { dir, proxy, remotePath, storage } = yield* setup
      const big = seeded(Storage.CHUNK_SIZE + 3 * MiB + 5, 1)
      fs.writeFileSync(join(dir, "big.bin"), big)
      const events: Array<string> = []
      const progress = (e: Storage.StorageProgress) =>
        Effect.sync(() => {
          if (e._tag === "StorageProgressStep") events.push(`Step ${e.current}`)
          else if (e._tag === "StorageProgressStart" || e._tag === "StorageProgressComplete") events.push(`${e._tag.slice(15)} ${e.size}`)
        })
      yield* storage.mkdir("storage:up")
      yield* storage.uploadFile(join(dir, "big.bin"), "storage:up/big.bin", { progress })
      assert.isTrue(fs.readFileSync(remotePath("up/big.bin")).equals(big))
      // the chunk boundaries, and any steps reported while a request was on its way (timing)
      const steps = events.filter((e) => e.startsWith("Step ")).map((e) => Number(e.slice(5)))
      assert.deepStrictEqual([events[0], events.at(-1)], [`Start ${big.length}`, `Complete ${big.length}`])
      assert.includeMembers(steps, [Storage.CHUNK_SIZE, big.length])
      assert.strictEqual(steps.at(-1), big.length)
      for (let i = 1; i < steps.length; i++) assert.isAbove(steps[i]!, steps[i - 1]!)
      assert.deepStrictEqual(
        proxy.forwarded.filter((f) => f.url.includes("/up/big.bin?")).map((f) => `${f.method} ${new URL(f.url, "http://x").searchParams.get("op")}`),
        ["GET GETFILESTATUS", "PUT CREATE", "PATCH WRITE"]
      )

      events.length = 0
      yield* storage.downloadFile("storage:up/big.bin", join(dir, "back.bin"), { progress })
      assert.isTrue(fs.readFileSync(join(dir, "back.bin")).equals(big))
      assert.strictEqual(events[0], `Start ${big.length}`)
      assert.strictEqual(events[events.length - 1], `Complete ${big.length}`)
      assert.strictEqual(events[events.length - 2], `Step ${big.length}`)
      // a step per write of at least a MiB (or the end), not per socket read
      assert.isAtMost(events.length, 2 + Math.ceil(big.length / MiB) + 4)

      const tree = join(dir, "tree")
      for (let d = 0; d < 3; d++) {
        fs.mkdirSync(join(tree, `d${d}`, "sub"), { recursive: true })
        for (let f = 0; f < 20; f++) fs.writeFileSync(join(tree, `d${d}`, f % 2 === 0 ? `f${f}` : join("sub", `f${f}`)), seeded(f * 100, d))
      }
      fs.writeFileSync(join(tree, "empty"), "")
      yield* storage.uploadDir(tree, "storage:tree")
      yield* storage.downloadDir("storage:tree", join(dir, "tree-back"))
      const list = (root: string) => (fs.readdirSync(root, { recursive: true }) as Array<string>).sort()
      assert.deepStrictEqual(list(join(dir, "tree-back")), list(tree))
      for (const rel of list(tree)) {
        if (fs.statSync(join(tree, rel)).isFile()) assert.isTrue(fs.readFileSync(join(dir, "tree-back", rel)).equals(fs.readFileSync(join(tree, rel))), rel)
      }
      assert.deepStrictEqual(parts(join(dir, "tree-back")), [])
    }), { timeout: 60_000 })

  it.scopedLive("an answer cut short is completed with a ranged read; one that stays short is a MalformedResponse and leaves no file", () =>
    Effect.gen(function*() {
      const { dir, proxy, putRemote, storage } = yield* setup
      putRemote("short/seven.txt", Buffer.from("1234567"))
      let armed = true
      proxy.shape = (req) => {
        if (!armed || !isRead(req, "seven.txt")) return undefined
        armed = false
        return { cut: 4 }
      }
      const from = proxy.forwarded.length
      yield* storage.downloadFile("storage:short/seven.txt", join(dir, "seven.txt"))
      assert.strictEqual(fs.readFileSync(join(dir, "seven.txt"), "utf8"), "1234567")
      assert.deepStrictEqual(proxy.forwarded.slice(from).filter((f) => f.url.includes("op=OPEN")).map((f) => f.range), [undefined, "bytes=4-"])

      armed = true
      yield* storage.downloadDir("storage:short", join(dir, "tree"))
      assert.strictEqual(fs.readFileSync(join(dir, "tree", "seven.txt"), "utf8"), "1234567")

      proxy.shape = (req) => (isRead(req, "seven.txt") ? { cut: req.headers["range"] === undefined ? 4 : 0 } : undefined)
      const out = join(dir, "out")
      fs.mkdirSync(out)
      assert.strictEqual((yield* Effect.flip(storage.downloadFile("storage:short/seven.txt", join(out, "seven.txt"))))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(storage.downloadDir("storage:short", join(out, "tree"))))._tag, "MalformedResponse")
      assert.deepStrictEqual(fs.readdirSync(out), ["tree"])
      assert.deepStrictEqual(fs.readdirSync(join(out, "tree")), [])
    }))

  it.scopedLive("an interrupted download keeps what arrived; continue fetches only the rest", () =>
    Effect.gen(function*() {
      const { dir, proxy, putRemote, storage } = yield* setup
      const size = 6 * MiB
      const stall = 2 * MiB
      const data = seeded(size, 2)
      putRemote("big.bin", data)
      const local = join(dir, "big.bin")
      const part = join(dir, ".big.bin.neuro-part")
      proxy.shape = (req) => (isRead(req, "big.bin") ? { stallAfter: stall } : undefined)
      proxy.armStall()
      const fiber = yield* Effect.fork(storage.downloadFile("storage:big.bin", local))
      yield* Effect.promise(() => proxy.stalled)
      // what arrived before the stall reaches the disk although it is less than a write's worth
      yield* waitFor("the stalled bytes on disk", () => fs.existsSync(part) && fs.statSync(part).size === stall)
      yield* Fiber.interrupt(fiber)
      proxy.shape = () => undefined
      assert.isFalse(fs.existsSync(local))
      assert.deepStrictEqual(parts(dir), [".big.bin.neuro-part"])

      const from = proxy.forwarded.length
      const before = bytesRead(proxy, "big.bin")
      yield* storage.downloadFile("storage:big.bin", local, { continue: true })
      assert.isTrue(fs.readFileSync(local).equals(data))
      assert.deepStrictEqual(proxy.forwarded.slice(from).filter((f) => f.url.includes("op=OPEN")).map((f) => f.range), [`bytes=${stall}-`])
      assert.strictEqual(bytesRead(proxy, "big.bin") - before, size - stall)
      assert.deepStrictEqual(parts(dir), [])
    }), { timeout: 60_000 })

  it.scopedLive("errors keep their types: a missing remote file, a remote folder, a local file in a folder's place", () =>
    Effect.gen(function*() {
      const { dir, storage } = yield* setup
      assert.strictEqual((yield* Effect.flip(storage.downloadFile("storage:nothing", join(dir, "x"))))._tag, "ResourceNotFound")
      yield* storage.mkdir("storage:folder", { existOk: true })
      yield* storage.create("storage:folder/file", Buffer.from("x"))
      assert.strictEqual((yield* Effect.flip(storage.downloadFile("storage:folder", join(dir, "x"))))._tag, "IsADirectory")
      fs.writeFileSync(join(dir, "in-the-way"), "x")
      const error = yield* Effect.flip(storage.downloadDir("storage:folder", join(dir, "in-the-way")))
      assert.strictEqual(error._tag, "FileExists")
      fs.writeFileSync(join(dir, "local"), "data")
      assert.strictEqual((yield* Effect.flip(storage.uploadFile(join(dir, "local"), "storage:folder")))._tag, "IsADirectory")
    }))
})
