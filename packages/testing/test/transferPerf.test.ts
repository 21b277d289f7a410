/**
 * The hot paths of storage transfers stay cheap (issue 11), checked by what they do rather than
 * by how long they take:
 *
 * - a tree of 20,000 files streams through `uploadDir` and `downloadDir` with a live heap that
 *   does not grow with the number of files (the walk holds the open folders, never the whole
 *   tree's work); measured in a child process, after forced GCs, over the Node fast path (and a
 *   tree of 8,000 over `ApiClient`);
 * - a 64 MiB download is written in writes of a MiB or more, not one per socket read: the writes
 *   are counted through the file services (`LocalFiles` on the fast path, `FileSystem` without it).
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { Storage } from "@neuro-sdk/core"
import * as LocalFiles from "@neuro-sdk/core/LocalFiles"
import * as NodeLocalFiles from "@neuro-sdk/node/NodeLocalFiles"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { LocalPlatform } from "../src/index.js"
import { clientLayer } from "./fastPathHelpers.js"

const MiB = 2 ** 20
const CHILD = fileURLToPath(new URL("./fixtures/treeMemoryChild.ts", import.meta.url))
const ROOT = fileURLToPath(new URL("../../..", import.meta.url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-transfer-perf-test-"))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

/** `folders` folders of `files` one-byte files: `d000/f00000` ... */
const makeTree = (root: string, folders: number, files: number) => {
  for (let d = 0; d < folders; d++) {
    const dir = join(root, `d${String(d).padStart(3, "0")}`)
    fs.mkdirSync(dir, { recursive: true })
    for (let f = 0; f < files; f++) fs.writeFileSync(join(dir, `f${String(f).padStart(5, "0")}`), String(f % 10))
  }
}

interface MemoryResult {
  readonly baseline: number
  readonly peakUpload: number
  readonly peakDownload: number
  readonly uploaded: number
  readonly downloaded: number
}

/** Run the child of fixtures/treeMemoryChild.ts against `apiUrl`. */
const runChild = (apiUrl: string, token: Redacted.Redacted<string>, dir: string, src: string, mode: "fast" | "fallback") =>
  Effect.async<MemoryResult, Error>((resume) => {
    const args = ["--expose-gc", "--conditions=source", "--import", "tsx", CHILD, apiUrl, join(dir, `config-${mode}`), src, join(dir, `out-${mode}`), mode]
    const child = execFile(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, NEURO_TEST_TOKEN: Redacted.value(token) },
      maxBuffer: 16 * MiB
    }, (error, stdout, stderr) => {
      const line = /^RESULT (.*)$/m.exec(stdout)
      if (error !== null || line === null) return resume(Effect.fail(new Error(`the child failed: ${error?.message ?? ""}\n${stderr}`)))
      resume(Effect.succeed(JSON.parse(line[1]!) as MemoryResult))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The files under `root`, relative, sorted. */
const filesOf = (root: string) => (fs.readdirSync(root, { recursive: true }) as Array<string>).filter((p) => fs.statSync(join(root, p)).isFile()).sort()

describe("a tree transfer holds the open folders, not the tree", () => {
  const FILES = 1000
  /**
   * The live heap may grow by this much while the files stream (the walk that made every file's
   * work up front grew by hundreds of MiB at 10,000 files; this one by about 6 MiB at 20,000: the
   * names of the open folders).
   */
  const BOUND = 16 * MiB

  // 20,000 files over the Node fast path; fewer over ApiClient, whose requests cost more
  for (const [mode, folders] of [["fast", 20], ["fallback", 8]] as const) {
    it.scopedLive(`uploadDir and downloadDir of ${folders * FILES} files (${mode === "fast" ? "Node fast path" : "ApiClient"})`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const src = join(dir, "src")
        makeTree(src, folders, FILES)
        const platform = yield* LocalPlatform.serve({ users: ["alice"] })
        const result = yield* runChild(platform.apiUrl.href, platform.token("alice"), dir, src, mode)
        assert.strictEqual(result.uploaded, folders * FILES)
        assert.strictEqual(result.downloaded, folders * FILES)
        assert.deepStrictEqual(filesOf(join(dir, `out-${mode}`)), filesOf(src))
        const growth = Math.max(result.peakUpload, result.peakDownload) - result.baseline
        assert.isBelow(growth, BOUND, `live heap grew by ${(growth / MiB).toFixed(1)} MiB (${JSON.stringify(result)})`)
      }), { timeout: 300_000 })
  }
})

// ---------------------------------------------------------------------------------------------
// coalesced writes
// ---------------------------------------------------------------------------------------------

/** `LocalFiles` of the fast path, its writes counted. */
const countingLocalFiles = (counter: { writes: number }) =>
  Layer.succeed(LocalFiles.LocalFiles, {
    ...NodeLocalFiles.make,
    writeFile: (path, data) => Effect.zipRight(Effect.sync(() => counter.writes++), NodeLocalFiles.make.writeFile(path, data)),
    open: (path, options) =>
      Effect.map(NodeLocalFiles.make.open(path, options), (w): LocalFiles.Writer => ({
        ...w,
        write: (chunks) => Effect.zipRight(Effect.sync(() => counter.writes++), w.write(chunks))
      }))
  })

/** `NodeFileSystem` with the writes of its open files counted. */
const countingFileSystem = (counter: { writes: number }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      writeFile: (path, data, options) => Effect.zipRight(Effect.sync(() => counter.writes++), fs.writeFile(path, data, options)),
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file) => {
          const counted: FileSystem.File = Object.create(file)
          return Object.assign(counted, {
            write: (buffer: Uint8Array) => Effect.zipRight(Effect.sync(() => counter.writes++), file.write(buffer)),
            writeAll: (buffer: Uint8Array) => Effect.zipRight(Effect.sync(() => counter.writes++), file.writeAll(buffer))
          })
        })
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

describe("a large download is written in large pieces", () => {
  const SIZE = 64 * MiB
  /** One write per MiB, and a few more for answers that pause (a short silence flushes what came). */
  const MAX_WRITES = SIZE / MiB + 32

  for (const mode of ["fast", "fallback"] as const) {
    it.scopedLive(`downloadFile of 64 MiB: at most ${MAX_WRITES} writes (${mode === "fast" ? "Node fast path" : "ApiClient"})`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const platform = yield* LocalPlatform.serve({ users: ["alice"] })
        const remote = join(platform.dataDir, "storage", "default", "alice", "big.bin")
        fs.mkdirSync(dirname(remote), { recursive: true })
        const data = Buffer.alloc(SIZE)
        for (let i = 0; i < SIZE; i += 4096) data.writeUInt32LE(i, i)
        fs.writeFileSync(remote, data)
        const counter = { writes: 0 }
        const layer = mode === "fast"
          ? clientLayer(new URL(platform.apiUrl.href), platform.token("alice"), { localFiles: countingLocalFiles(counter) })
          : clientLayer(new URL(platform.apiUrl.href), platform.token("alice"), {
            fast: false,
            fileSystem: countingFileSystem(counter)
          })
        const storage = yield* Effect.provide(Storage.Storage, yield* Layer.build(layer))
        let steps = 0
        yield* storage.downloadFile("storage:big.bin", join(dir, "big.bin"), {
          progress: (e) => Effect.sync(() => (e._tag === "StorageProgressStep" ? steps++ : undefined))
        })
        assert.isTrue(fs.readFileSync(join(dir, "big.bin")).equals(data))
        assert.isAtLeast(counter.writes, 1)
        assert.isAtMost(counter.writes, MAX_WRITES, `${counter.writes} writes`)
        assert.isAtLeast(steps, 1)
      }), { timeout: 120_000 })
  }
})
