/**
 * The transfer engine's resume rules (issue 10, items 4, 5, 11), over an in-memory remote and a
 * real temporary directory: the temporary file a download keeps or removes, what `continue`
 * does with it, short and vanishing remote files, and `update` against a remote file cut short.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Errors } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import * as Transfer from "../src/internal/transfer.js"

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251)
const HOUR_AGO = Date.now() / 1000 - 3600

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(os.tmpdir(), "transfer-resume-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

type E = Errors.ApiError

/** One remote file "f" of `data`, modified an hour ago; `answer` shapes each read. */
const fakeRemote = (
  data: Uint8Array,
  answer: (offset: number, index: number) => Stream.Stream<Uint8Array, E> = (offset) => Stream.make(data.subarray(offset))
) => {
  const reads: Array<number> = []
  const remote: Transfer.Remote<string, E> = {
    url: (p) => new URL("fake://remote/" + p),
    child: (p, name) => `${p}/${name}`,
    upload: () => Effect.void,
    read: (_src, offset) => Stream.suspend(() => answer(offset, reads.push(offset) - 1)),
    readRetries: 2,
    checkUpload: (local, r, update, cont) =>
      Effect.succeed(Transfer.decide(local, r, { src: 0, dst: 0, threshold: Transfer.TIME_THRESHOLD }, update, cont, true)),
    checkDownload: (r, local, update, cont) =>
      Effect.succeed(Transfer.decide(r, local, { src: 0, dst: 0, threshold: Transfer.TIME_THRESHOLD + 1 }, update, cont)),
    prepareFolder: () => Effect.succeed(undefined),
    listFolder: () => Effect.succeed([])
  }
  return { remote, reads, times: { size: data.length, mtime: HOUR_AGO } }
}

const noEvents = Transfer.serialized(undefined)
const cont = { update: false, continue: true }
const fresh = { update: false, continue: false }

describe("download resume", () => {
  it.scoped("continue renames a complete temporary file without reading; a shorter one is resumed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const data = bytes(100)
      const fake = fakeRemote(data)
      const dst = join(dir, "f")
      const part = join(dir, Transfer.partName("f"))
      fs.writeFileSync(part, data)
      yield* engine.download(fake.remote, "f", dst, fake.times, cont, yield* noEvents)
      assert.deepStrictEqual(fake.reads, [])
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(dst)), data)
      assert.isFalse(fs.existsSync(part))

      fs.rmSync(dst)
      fs.writeFileSync(part, data.subarray(0, 30))
      yield* engine.download(fake.remote, "f", dst, fake.times, cont, yield* noEvents)
      assert.deepStrictEqual(fake.reads, [30])
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(dst)), data)
    }).pipe(Effect.provide(platform)))

  it.scoped("a temporary file older than the remote one, or longer, is downloaded again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const data = bytes(100)
      const fake = fakeRemote(data)
      const part = join(dir, Transfer.partName("f"))
      fs.writeFileSync(part, data.subarray(0, 30))
      const older = new Date((HOUR_AGO - 60) * 1000)
      fs.utimesSync(part, older, older)
      yield* engine.download(fake.remote, "f", join(dir, "f"), fake.times, cont, yield* noEvents)
      fs.writeFileSync(part, bytes(150))
      fs.rmSync(join(dir, "f"))
      yield* engine.download(fake.remote, "f", join(dir, "f"), fake.times, cont, yield* noEvents)
      assert.deepStrictEqual(fake.reads, [0, 0])
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f"))), data)
      assert.deepStrictEqual(fs.readdirSync(dir), ["f"])
    }).pipe(Effect.provide(platform)))

  it.scoped("update skipping a newer destination removes a stale temporary file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const fake = fakeRemote(bytes(100))
      fs.writeFileSync(join(dir, "f"), "local edit")
      fs.writeFileSync(join(dir, Transfer.partName("f")), "stale")
      yield* engine.download(fake.remote, "f", join(dir, "f"), fake.times, { update: true, continue: false }, yield* noEvents)
      assert.deepStrictEqual(fake.reads, [])
      assert.deepStrictEqual(fs.readdirSync(dir), ["f"])
      assert.strictEqual(fs.readFileSync(join(dir, "f"), "utf8"), "local edit")
    }).pipe(Effect.provide(platform)))

  it.live("a failed fresh download removes its temporary file; a failed resumed one keeps it", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const data = bytes(100)
      const gone = new Errors.ResourceNotFound({ description: "gone", status: 404 })
      const fake = fakeRemote(data, (offset) => Stream.concat(Stream.make(data.subarray(offset, offset + 10)), Stream.fail(gone)))
      const part = join(dir, Transfer.partName("f"))
      assert.strictEqual((yield* Effect.flip(engine.download(fake.remote, "f", join(dir, "f"), fake.times, fresh, yield* noEvents)))._tag, "ResourceNotFound")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      fs.writeFileSync(part, data.subarray(0, 40))
      assert.strictEqual((yield* Effect.flip(engine.download(fake.remote, "f", join(dir, "f"), fake.times, cont, yield* noEvents)))._tag, "ResourceNotFound")
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(part)), data.subarray(0, 50))
    })).pipe(Effect.provide(platform)))

  it.scoped("two downloads of one destination at once do not share a temporary file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const data = bytes(300_000)
      const fake = fakeRemote(data, (offset) =>
        Stream.fromIterable([data.subarray(offset, 100_000), data.subarray(Math.max(offset, 100_000))]).pipe(Stream.tap(() => Effect.yieldNow())))
      const once = engine.download(fake.remote, "f", join(dir, "f"), fake.times, fresh, yield* noEvents)
      yield* Effect.all([once, once, once], { concurrency: "unbounded" })
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f"))), data)
      assert.deepStrictEqual(fs.readdirSync(dir), ["f"])
    }).pipe(Effect.provide(platform)))
})

describe("short downloads", () => {
  it.scoped("a short answer is followed by a read of the rest; a file that shrank (416) is a MalformedResponse", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const data = bytes(7)
      const halves = fakeRemote(data, (offset) => Stream.make(offset === 0 ? data.subarray(0, 4) : data.subarray(offset)))
      yield* engine.download(halves.remote, "f", join(dir, "f"), halves.times, fresh, yield* noEvents)
      assert.deepStrictEqual(halves.reads, [0, 4])
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f"))), data)

      const unsatisfiable = new Errors.IllegalArgumentError({ description: "Requested Range Not Satisfiable", status: 416 })
      const shrunk = fakeRemote(data, (offset) => (offset === 0 ? Stream.make(data.subarray(0, 4)) : Stream.fail(unsatisfiable)))
      const error = yield* Effect.flip(engine.download(shrunk.remote, "f", join(dir, "g"), shrunk.times, fresh, yield* noEvents))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.match(error.message, /after 4 of its 7 bytes/)
      assert.deepStrictEqual(fs.readdirSync(dir), ["f"])
    }).pipe(Effect.provide(platform)))
})

describe("update against a remote file cut short", () => {
  it("sends a shorter newer destination again (or resumes it with continue), keeps a newer one of full size", () => {
    const local = { size: 100, mtime: HOUR_AGO }
    const shifts = { src: 0, dst: 0, threshold: Transfer.TIME_THRESHOLD }
    const newer = (size: number) => ({ size, mtime: HOUR_AGO + 600 })
    assert.strictEqual(Transfer.decide(local, newer(40), shifts, true, false, true), 0)
    assert.strictEqual(Transfer.decide(local, newer(40), shifts, true, true, true), 40)
    assert.strictEqual(Transfer.decide(local, newer(100), shifts, true, false, true), "skip")
    assert.strictEqual(Transfer.decide(local, newer(120), shifts, true, false, true), "skip")
    // neuro-sdk's rule, kept where nothing is written in place
    assert.strictEqual(Transfer.decide(local, newer(40), shifts, true, false), "skip")
  })
})
