/**
 * A job's log book in LocalPlatform: one entry per read of the job's output (its lines share the
 * read's time), the CRI log file with a prefix per line (`F` full, `P` a last line without its
 * newline), and the termination message (the last 80 lines, at most 2 KiB).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { LogBook, splitLines } from "../src/internal/jobsStore.js"
import { packFrames } from "../src/internal/monitoringRoutes.js"

const enc = new TextEncoder()
const dec = new TextDecoder()

const CRI = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (stdout|stderr) ([FP]) (.*)$/

describe("LogBook", () => {
  it("splitLines keeps each newline and a last line without one", () => {
    assert.deepStrictEqual(splitLines(enc.encode("a\nbb\n\nc")).map((l) => dec.decode(l)), ["a\n", "bb\n", "\n", "c"])
    assert.deepStrictEqual(splitLines(enc.encode("")), [])
    assert.deepStrictEqual(splitLines(enc.encode("x\n")).map((l) => dec.decode(l)), ["x\n"])
  })

  it("one entry per read; the CRI file has a line per line, the partial one marked P", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "logbook-"))
    try {
      const file = join(dir, "log")
      const book = new LogBook(file)
      book.append(1, enc.encode("one\ntwo\nthr"))
      book.append(2, enc.encode("ee\n"))
      book.append(1, new Uint8Array(0))
      assert.strictEqual(book.entries.length, 2)
      assert.strictEqual(dec.decode(book.entries[0]!.data), "one\ntwo\nthr")
      const lines = fs.readFileSync(file, "utf8").split("\n")
      assert.strictEqual(lines.pop(), "", "the file ends with a newline")
      const parsed = lines.map((l) => CRI.exec(l))
      assert.isTrue(parsed.every((m) => m !== null), lines.join("\n"))
      assert.deepStrictEqual(parsed.map((m) => [m![2], m![3], m![4]]), [
        ["stdout", "F", "one"],
        ["stdout", "F", "two"],
        ["stdout", "P", "thr"],
        ["stderr", "F", "ee"]
      ])
      assert.strictEqual(parsed[0]![1], parsed[2]![1], "the lines of one read share its time")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("tail: the last 80 lines, then at most the last 2 KiB, across entries", () => {
    const book = new LogBook(undefined)
    assert.isNull(book.tail())
    book.append(1, enc.encode(Array.from({ length: 60 }, (_, i) => `l${i}\n`).join("")))
    book.append(1, enc.encode(Array.from({ length: 60 }, (_, i) => `m${i}\n`).join("")))
    const tail = book.tail()!
    const lines = tail.split("\n").filter((l) => l !== "")
    assert.strictEqual(lines.length, 80)
    assert.strictEqual(lines[0], "l40")
    assert.strictEqual(lines[79], "m59")
    const long = new LogBook(undefined)
    long.append(1, enc.encode("x".repeat(5000) + "\nend\n"))
    const t = long.tail()!
    assert.strictEqual(Buffer.byteLength(t), 2048)
    assert.isTrue(t.endsWith("x\nend\n"))
  })

  it.effect("following: what was written, then what is written, then the end", () =>
    Effect.gen(function*() {
      const book = new LogBook(undefined)
      book.append(1, enc.encode("a\nb\n"))
      book.started()
      const followed = Stream.runCollect(book.follow())
      const fiber = yield* Effect.fork(followed)
      yield* Effect.yieldNow()
      book.append(1, enc.encode("c\n"))
      book.end()
      const events = Chunk.toReadonlyArray(yield* fiber.await.pipe(Effect.flatten))
      assert.deepStrictEqual(
        events.map((e) => e._tag === "Line" ? [dec.decode(e.entry.data), e.live] : ["exit", false]),
        [["a\nb\n", false], ["c\n", true]]
      )
    }))

  it("log messages are at most 64 KiB: small reads gathered, a large one cut, nothing lost or reordered", () => {
    const pieces = [Buffer.alloc(10, 1), Buffer.alloc(200_000, 2), Buffer.alloc(5, 3), Buffer.alloc(65_536 - 5, 4), Buffer.alloc(1, 5)]
    const frames = packFrames(pieces)
    for (const f of frames) assert.isAtMost(f.length, 65_536)
    assert.isTrue(Buffer.concat(frames).equals(Buffer.concat(pieces)))
    assert.strictEqual(frames.length, Math.ceil(Buffer.concat(pieces).length / 65_536))
    assert.deepStrictEqual(packFrames([]), [])
  })
})
