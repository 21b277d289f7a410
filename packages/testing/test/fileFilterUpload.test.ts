/**
 * Issue 10 over a real socket: an uploaded tree whose `.neuroignore` holds patterns that made the
 * old regular-expression matcher backtrack (a run of stars, repeated `**\/`), next to names that
 * exercise them, and a `Storage.glob` whose shell pattern did the same. With the old matcher each
 * test ran for half a minute to a few minutes (the sizes stop there, so that it fails rather than
 * hangs); the automata answer in microseconds: the explicit timeouts leave room for a loaded machine.
 * The unit tests of the matcher are in packages/core/test/fileFilter.test.ts.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Storage } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NeuroTest } from "../src/index.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-filter-upload-test-"))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const names = (s: Stream.Stream<Storage.FileStatus, Storage.StorageError>) =>
  Effect.map(Stream.runCollect(s), (c) => Chunk.toReadonlyArray(c).map((f) => f.name).sort())

/** `a` then 18 stars then `b`: the old regex took minutes on a 21-character miss (16: 109 s). */
const STARS = "a" + "*".repeat(18) + "b"
/** Eight `**\/a/` then `b`: the old regex took seconds on every directory of a deep chain of `a`. */
const DIRS = "**/a/".repeat(8) + "b"
const DEPTH = 30

const file = (path: string, content = path) => {
  fs.mkdirSync(join(path, ".."), { recursive: true })
  fs.writeFileSync(path, content)
}

/** The tree: what the rules must skip and what they must keep. */
const makeTree = (src: string) => {
  file(join(src, ".neuroignore"), `${STARS}\n${DIRS}\n`)
  file(join(src, "keep.txt"))
  file(join(src, "a".repeat(21))) // no final b: kept, the costly miss
  file(join(src, "a".repeat(20) + "b")) // skipped by STARS
  file(join(src, "aaaab", "inner.txt")) // a directory skipped by STARS, with its content
  const chain = (k: number) => join(src, ...Array.from({ length: k }, () => "a"))
  file(join(chain(5), "b")) // five directories: too few for DIRS, kept
  file(join(chain(DEPTH), "b")) // skipped by DIRS
  file(join(chain(DEPTH), "c")) // kept
}

const remoteChain = (k: number) => "storage:filtered/" + Array.from({ length: k }, () => "a").join("/")

describe("pathological ignore patterns over a socket (issue 10)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"] }), { excludeTestServices: true })((it) => {
    it.scoped("uploadDir applies a .neuroignore of a run of stars and repeated **/ in time", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const src = join(yield* tempDir, "src")
        makeTree(src)
        yield* storage.uploadDir(src, "storage:filtered", { ignoreFileNames: [".neuroignore"] })
        assert.deepStrictEqual(yield* names(storage.list("storage:filtered")), [".neuroignore", "a", "a".repeat(21), "keep.txt"])
        assert.deepStrictEqual(yield* names(storage.list(remoteChain(5))), ["a", "b"])
        assert.deepStrictEqual(yield* names(storage.list(remoteChain(DEPTH))), ["c"])
      }), 10_000)

    it.scoped("glob with *a*a…*b (eleven *a) lists the matching names in time", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const long = "a".repeat(40)
        const spaced = "xa".repeat(11) + "b"
        for (const name of [long, long + "b", "ab", spaced]) {
          yield* storage.create(`storage:globbed/${name}`, new TextEncoder().encode(name))
        }
        const found = yield* Effect.map(Stream.runCollect(storage.glob("storage:globbed/" + "*a".repeat(11) + "*b")), (c) =>
          Chunk.toReadonlyArray(c).map((u) => u.href.slice(u.href.lastIndexOf("/") + 1)).sort())
        assert.deepStrictEqual(found, [long + "b", spaced])
      }), 10_000)
  })
})
