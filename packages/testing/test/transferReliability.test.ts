/**
 * Transfers that are interrupted, killed, cut short or fail midway (issue 10, items 4, 5, 11),
 * over a real socket: the SDK talks to LocalPlatform through an HTTP proxy that counts the bytes
 * it forwards and can stall or cut chosen answers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Buckets, Storage } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { LocalPlatform } from "../src/index.js"
import { bytesRead, clientLayer, isRead, seeded, startProxy, tempDirNamed } from "./transferHelpers.js"

const MiB = 2 ** 20
const SIZE = 6 * MiB
const STALL = 2 * MiB
const CHILD = fileURLToPath(new URL("./fixtures/downloadChild.ts", import.meta.url))
const ROOT = fileURLToPath(new URL("../../..", import.meta.url))

const tempDir = tempDirNamed("neuro-reliability-test-")

const readAll = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c).map((b) => Buffer.from(b))))

/** Temporary download files under `dir`, by relative path (whatever their naming scheme). */
const parts = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>).filter((p) => p.endsWith(".neuro-part")).sort()

/** Size of the temporary file of a download of `name` in `dir` (0 when there is none). */
const partBytes = (dir: string, name: string) => {
  if (!fs.existsSync(dir)) return 0
  const found = fs.readdirSync(dir).find((n) => n.startsWith(`.${name}.`) && n.endsWith(".neuro-part"))
  return found === undefined ? 0 : fs.statSync(join(dir, found)).size
}

const waitFor = (what: string, check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if (check()) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** LocalPlatform, the proxy in front of it, and an SDK client (user alice) talking through the proxy. */
const setup = Effect.gen(function*() {
  const platform = yield* LocalPlatform.serve({ users: ["alice"] })
  const proxy = yield* startProxy(platform.url)
  const token = platform.token("alice")
  const context = yield* Layer.build(clientLayer(proxy.apiUrl, token))
  const dir = yield* tempDir
  /** A file of alice's storage written on the server side, modified an hour ago. */
  const putRemote = (rel: string, data: Uint8Array) => {
    const p = join(platform.dataDir, "storage", "default", "alice", rel)
    fs.mkdirSync(dirname(p), { recursive: true })
    fs.writeFileSync(p, data)
    const past = new Date(Date.now() - 3600_000)
    fs.utimesSync(p, past, past)
  }
  const readRemote = (rel: string) => fs.readFileSync(join(platform.dataDir, "storage", "default", "alice", rel))
  return { platform, proxy, token, context, dir, putRemote, readRemote }
})

type Setup = Effect.Effect.Success<typeof setup>

/** The storage reads of `name` since request number `from`: their `Range` headers. */
const rangesSince = (env: Setup, from: number, name: string) =>
  env.proxy.forwarded.slice(from).filter((f) => f.url.includes("op=OPEN") && f.url.split("?")[0]!.endsWith("/" + name)).map((f) => f.range)

/** Run `download` until the proxy has stalled the read of `name` and its `STALL` bytes are on disk, then interrupt it. */
const interruptAtStall = <E>(env: Setup, dir: string, name: string, download: Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    env.proxy.shape = (req) => (isRead(req, name) ? { stallAfter: STALL } : undefined)
    env.proxy.armStall()
    const fiber = yield* Effect.fork(download)
    yield* Effect.promise(() => env.proxy.stalled)
    yield* waitFor(`${STALL} bytes of ${name} on disk`, () => partBytes(dir, name) === STALL)
    yield* Fiber.interrupt(fiber)
    env.proxy.shape = () => undefined
  })

/** Run the download child process until the stall, then send it `signal` and wait for it to end. */
const killAtStall = (env: Setup, dir: string, name: string, signal: NodeJS.Signals, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    env.proxy.shape = (req) => (isRead(req, name) ? { stallAfter: STALL } : undefined)
    env.proxy.armStall()
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", CHILD, ...args], {
      cwd: ROOT,
      env: { ...process.env, NEURO_TEST_TOKEN: Redacted.value(env.token) },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    yield* Effect.race(
      Effect.promise(() => env.proxy.stalled),
      Effect.flatMap(Effect.promise(() => exited), () => Effect.die(new Error(`the child ended early: ${stderr}`)))
    ).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`the child never reached the stall: ${stderr}`) }), Effect.orDie)
    yield* waitFor(`${STALL} bytes of ${name} on disk`, () => partBytes(dir, name) === STALL)
    child.kill(signal)
    yield* Effect.promise(() => exited)
    env.proxy.shape = () => undefined
  })

describe("continue resumes an interrupted download (issue 10, item 4)", () => {
  it.scopedLive("downloadFile interrupted: the temporary file stays; a plain rerun replaces it, continue resumes it with Range", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const storage = Storage.Storage.pipe(Effect.provide(env.context))
      const s = yield* storage
      const data = seeded(SIZE, 1)
      env.putRemote("big.bin", data)
      const local = join(env.dir, "big.bin")

      yield* interruptAtStall(env, env.dir, "big.bin", s.downloadFile("storage:big.bin", local))
      assert.isFalse(fs.existsSync(local))
      assert.deepStrictEqual(parts(env.dir), [".big.bin.neuro-part"])
      assert.strictEqual(fs.statSync(join(env.dir, ".big.bin.neuro-part")).size, STALL)

      // without continue: downloaded again into the same temporary file, nothing left over
      yield* s.downloadFile("storage:big.bin", local)
      assert.isTrue(fs.readFileSync(local).equals(data))
      assert.deepStrictEqual(parts(env.dir), [])

      // with continue: only the rest is fetched
      fs.rmSync(local)
      yield* interruptAtStall(env, env.dir, "big.bin", s.downloadFile("storage:big.bin", local))
      const from = env.proxy.forwarded.length
      const sentBefore = bytesRead(env.proxy, "big.bin")
      yield* s.downloadFile("storage:big.bin", local, { continue: true })
      assert.isTrue(fs.readFileSync(local).equals(data))
      assert.deepStrictEqual(rangesSince(env, from, "big.bin"), [`bytes=${STALL}-`])
      assert.strictEqual(bytesRead(env.proxy, "big.bin") - sentBefore, SIZE - STALL)
      assert.deepStrictEqual(parts(env.dir), [])

      // a complete destination is skipped by continue, and a stale temporary file beside it removed
      yield* interruptAtStall(env, env.dir, "big.bin", s.downloadFile("storage:big.bin", local))
      assert.deepStrictEqual(parts(env.dir), [".big.bin.neuro-part"])
      const from2 = env.proxy.forwarded.length
      yield* s.downloadFile("storage:big.bin", local, { continue: true })
      assert.deepStrictEqual(rangesSince(env, from2, "big.bin"), [])
      assert.isTrue(fs.readFileSync(local).equals(data))
      assert.deepStrictEqual(parts(env.dir), [])
    }))

  it.scopedLive("downloadDir interrupted: continue fetches only the rest of the file in progress", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const s = yield* Storage.Storage.pipe(Effect.provide(env.context))
      const data = seeded(SIZE, 2)
      env.putRemote("tree/big.bin", data)
      env.putRemote("tree/a.txt", Buffer.from("small a"))
      env.putRemote("tree/sub/c.txt", Buffer.from("small c"))
      const out = join(env.dir, "out")
      yield* interruptAtStall(env, out, "big.bin", s.downloadDir("storage:tree", out))
      assert.deepStrictEqual(parts(out), [".big.bin.neuro-part"])

      const sentBefore = bytesRead(env.proxy, "big.bin")
      yield* s.downloadDir("storage:tree", out, { continue: true })
      assert.isTrue(fs.readFileSync(join(out, "big.bin")).equals(data))
      assert.strictEqual(fs.readFileSync(join(out, "a.txt"), "utf8"), "small a")
      assert.strictEqual(fs.readFileSync(join(out, "sub", "c.txt"), "utf8"), "small c")
      assert.strictEqual(bytesRead(env.proxy, "big.bin") - sentBefore, SIZE - STALL)
      assert.deepStrictEqual(parts(out), [])
    }))

  it.scopedLive("a download process killed with SIGKILL (downloadDir) or SIGINT (downloadFile) is resumed by continue", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const s = yield* Storage.Storage.pipe(Effect.provide(env.context))
      const data = seeded(SIZE, 3)
      env.putRemote("killed/big.bin", data)
      env.putRemote("killed/a.txt", Buffer.from("small a"))
      const out = join(env.dir, "out")
      const api = env.proxy.apiUrl.href

      yield* killAtStall(env, out, "big.bin", "SIGKILL", ["dir", api, "storage:killed", out])
      assert.deepStrictEqual(parts(out), [".big.bin.neuro-part"])
      let sentBefore = bytesRead(env.proxy, "big.bin")
      yield* s.downloadDir("storage:killed", out, { continue: true })
      assert.isTrue(fs.readFileSync(join(out, "big.bin")).equals(data))
      assert.strictEqual(bytesRead(env.proxy, "big.bin") - sentBefore, SIZE - STALL)
      assert.deepStrictEqual(parts(out), [])

      const single = join(env.dir, "single")
      fs.mkdirSync(single)
      yield* killAtStall(env, single, "big.bin", "SIGINT", ["file", api, "storage:killed/big.bin", join(single, "big.bin")])
      assert.deepStrictEqual(parts(single), [".big.bin.neuro-part"])
      sentBefore = bytesRead(env.proxy, "big.bin")
      yield* s.downloadFile("storage:killed/big.bin", join(single, "big.bin"), { continue: true })
      assert.isTrue(fs.readFileSync(join(single, "big.bin")).equals(data))
      assert.strictEqual(bytesRead(env.proxy, "big.bin") - sentBefore, SIZE - STALL)
      assert.deepStrictEqual(parts(single), [])
    }), { timeout: 60_000 })
})

describe("a download shorter than the listed size (issue 10, item 5)", () => {
  it.scopedLive("an answer that ends early is completed with a ranged read (downloadFile, downloadDir, open, Buckets)", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const s = yield* Storage.Storage.pipe(Effect.provide(env.context))
      env.putRemote("short/seven.txt", Buffer.from("1234567"))
      /** The first read of seven.txt after this call is cut after `n` bytes. */
      const cutFirst = (n: number) => {
        let armed = true
        env.proxy.shape = (req) => {
          if (!armed || !isRead(req, "seven.txt")) return undefined
          armed = false
          return { cut: n }
        }
      }
      cutFirst(4)
      let from = env.proxy.forwarded.length
      yield* s.downloadFile("storage:short/seven.txt", join(env.dir, "seven.txt"))
      assert.strictEqual(fs.readFileSync(join(env.dir, "seven.txt"), "utf8"), "1234567")
      assert.deepStrictEqual(rangesSince(env, from, "seven.txt"), [undefined, "bytes=4-"])

      cutFirst(4)
      yield* s.downloadDir("storage:short", join(env.dir, "tree"))
      assert.strictEqual(fs.readFileSync(join(env.dir, "tree", "seven.txt"), "utf8"), "1234567")

      cutFirst(4)
      assert.strictEqual((yield* readAll(s.open("storage:short/seven.txt"))).toString(), "1234567")
      cutFirst(2)
      from = env.proxy.forwarded.length
      assert.strictEqual((yield* readAll(s.open("storage:short/seven.txt", { offset: 1, size: 5 }))).toString(), "23456")
      assert.deepStrictEqual(rangesSince(env, from, "seven.txt"), ["bytes=1-5", "bytes=3-5"])
      assert.deepStrictEqual(parts(env.dir), [])

      // the bucket downloads share the engine
      const buckets = yield* Buckets.Buckets.pipe(Effect.provide(env.context))
      yield* buckets.create({ name: "short" })
      yield* buckets.putBlob("short", "seven.txt", Buffer.from("1234567"))
      cutFirst(4)
      yield* buckets.downloadFile("blob:short/seven.txt", join(env.dir, "blob.txt"))
      assert.strictEqual(fs.readFileSync(join(env.dir, "blob.txt"), "utf8"), "1234567")
    }))

  it.scopedLive("an answer that stays short is a MalformedResponse, and leaves no file", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const s = yield* Storage.Storage.pipe(Effect.provide(env.context))
      env.putRemote("short/seven.txt", Buffer.from("1234567"))
      // 4 bytes of the whole file, nothing of any range
      env.proxy.shape = (req) => (isRead(req, "seven.txt") ? { cut: req.headers["range"] === undefined ? 4 : 0 } : undefined)
      const failed = (e: { readonly _tag: string }) => e._tag
      assert.strictEqual(failed(yield* Effect.flip(s.downloadFile("storage:short/seven.txt", join(env.dir, "seven.txt")))), "MalformedResponse")
      assert.deepStrictEqual(fs.readdirSync(env.dir), [])
      assert.strictEqual(failed(yield* Effect.flip(s.downloadDir("storage:short", join(env.dir, "tree")))), "MalformedResponse")
      assert.deepStrictEqual(fs.readdirSync(join(env.dir, "tree")), [])
      assert.strictEqual(failed(yield* Effect.flip(readAll(s.open("storage:short/seven.txt")))), "MalformedResponse")

      const buckets = yield* Buckets.Buckets.pipe(Effect.provide(env.context))
      yield* buckets.create({ name: "short" })
      yield* buckets.putBlob("short", "seven.txt", Buffer.from("1234567"))
      assert.strictEqual(failed(yield* Effect.flip(buckets.downloadFile("blob:short/seven.txt", join(env.dir, "blob.txt")))), "MalformedResponse")
      assert.deepStrictEqual(fs.readdirSync(env.dir), ["tree"])
    }))
})

describe("update after a failed upload (issue 10, item 11)", () => {
  it.scopedLive("a file cut short by a failed uploadDir is sent again by update; a newer remote file of full size is kept", () =>
    Effect.gen(function*() {
      const env = yield* setup
      const s = yield* Storage.Storage.pipe(Effect.provide(env.context))
      const src = join(env.dir, "src")
      fs.mkdirSync(src)
      const big = seeded(Storage.CHUNK_SIZE + MiB, 4)
      fs.writeFileSync(join(src, "big.bin"), big)
      fs.writeFileSync(join(src, "kept.txt"), "local")
      const past = new Date(Date.now() - 3600_000)
      for (const n of ["big.bin", "kept.txt"]) fs.utimesSync(join(src, n), past, past)

      // the upload fails after its first chunk: the server holds CHUNK_SIZE bytes of big.bin
      const firstChunkSent = yield* Deferred.make<void>()
      const progress = (e: Storage.StorageProgress) =>
        e._tag === "StorageProgressStep" && e.current === Storage.CHUNK_SIZE
          ? Effect.zipRight(Deferred.succeed(firstChunkSent, undefined), Effect.never)
          : Effect.void
      const fiber = yield* Effect.fork(s.uploadDir(src, "storage:up", { progress }))
      yield* Deferred.await(firstChunkSent)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(env.readRemote("up/big.bin").length, Storage.CHUNK_SIZE)
      // a remote file edited after the local one, not shorter: update keeps it
      yield* s.create("storage:up/kept.txt", Buffer.from("remote"))

      yield* s.uploadDir(src, "storage:up", { update: true })
      assert.isTrue(env.readRemote("up/big.bin").equals(big))
      assert.strictEqual(env.readRemote("up/kept.txt").toString(), "remote")

      // the same for one file
      yield* s.create("storage:up/big.bin", big.subarray(0, 1000))
      yield* s.uploadFile(join(src, "big.bin"), "storage:up/big.bin", { update: true })
      assert.isTrue(env.readRemote("up/big.bin").equals(big))
    }), { timeout: 60_000 })
})
