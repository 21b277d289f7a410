/**
 * The transfer engine shared by Storage and Buckets (internal/transfer.ts), over an in-memory
 * remote and a real temporary directory; and the one transport-error mapping of streamed storage
 * answers (audit P3-3).
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { ApiClient, AuthToken, Config, Endpoints, Errors, Storage, WebSocket } from "@neuro-sdk/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import type { StorageProgress } from "../src/Storage.js"
import * as Transfer from "../src/internal/transfer.js"
import { API, clusters, configStub } from "./usersFixtures.js"

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const enc = new TextEncoder()
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(os.tmpdir(), "transfer-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const transient = () => new Errors.NetworkError({ reason: "Transport", description: "connection reset" })

// ---------------------------------------------------------------------------------------------
// an in-memory remote tree: paths are "a/b/c", "" is the root
// ---------------------------------------------------------------------------------------------

type E = Errors.ApiError | Errors.FileSystemError

interface Fault {
  /** Bytes sent before the stream fails. */
  readonly after: number
  readonly error: E
}

class FakeRemote {
  readonly files = new Map<string, { data: Uint8Array; mtime: number }>()
  readonly dirs = new Set<string>([""])
  readonly reads: Array<readonly [string, number]> = []
  readonly prepared: Array<readonly [string, boolean]> = []
  readonly faults: Array<Fault> = []
  /** Children reported as not transferable: [folder, name or undefined]. */
  readonly bad: Array<readonly [string, string | undefined]> = []

  put(p: string, data: Uint8Array, mtime: number) {
    this.files.set(p, { data, mtime })
    const parts = p.split("/")
    for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join("/"))
  }

  childrenOf(p: string): Array<string> {
    const prefix = p === "" ? "" : p + "/"
    const names = new Set<string>()
    for (const k of [...this.files.keys(), ...this.dirs]) {
      if (k !== "" && k.startsWith(prefix) && !k.slice(prefix.length).includes("/")) names.add(k.slice(prefix.length))
    }
    return [...names].sort()
  }

  remote(opts: { readonly readRetries?: number; readonly shift?: number } = {}): Transfer.Remote<string, E> {
    const self = this
    const shifts = { src: 0, dst: opts.shift ?? 0, threshold: Transfer.TIME_THRESHOLD }
    return {
      url: (p) => new URL("fake://remote/" + p),
      child: (p, name) => (p === "" ? name : `${p}/${name}`),
      upload: (srcPath, dst, size, offset, step) =>
        Effect.suspend(() => {
          const data = fs.readFileSync(srcPath)
          const before = self.files.get(dst)?.data.subarray(0, offset) ?? new Uint8Array(0)
          self.put(dst, Uint8Array.from([...before, ...data.subarray(offset)]), Date.now() / 1000)
          return step(size)
        }),
      read: (src, offset) =>
        Stream.suspend(() => {
          self.reads.push([src, offset])
          const data = self.files.get(src)?.data.subarray(offset) ?? new Uint8Array(0)
          const fault = self.faults.shift()
          if (fault === undefined) return Stream.concat(Stream.make(data.subarray(0, 3)), Stream.make(data.subarray(3)))
          return Stream.concat(Stream.make(data.subarray(0, fault.after)), Stream.fail(fault.error))
        }),
      readRetries: opts.readRetries ?? 3,
      checkUpload: (local, remote, update, cont) => Effect.succeed(Transfer.decide(local, remote, shifts, update, cont)),
      checkDownload: (remote, local, update, cont) =>
        Effect.succeed(Transfer.decide(remote, local, { ...shifts, threshold: shifts.threshold + 1 }, update, cont)),
      prepareFolder: (p, compare) =>
        Effect.suspend(() => {
          self.prepared.push([p, compare])
          if (self.files.has(p)) return Effect.fail(Transfer.localError("ENOTDIR", `Not a directory: ${p}`))
          const existed = self.dirs.has(p)
          self.dirs.add(p)
          if (!compare || !existed) return Effect.succeed(undefined)
          const prefix = p === "" ? "" : p + "/"
          const files = new Map<string, Transfer.FileTimes>()
          for (const name of self.childrenOf(p)) {
            const f = self.files.get(prefix + name)
            if (f !== undefined) files.set(name, { size: f.data.length, mtime: f.mtime })
          }
          return Effect.succeed(files)
        }),
      listFolder: (p) =>
        Effect.sync(() => {
          const prefix = p === "" ? "" : p + "/"
          const entries: Array<Transfer.RemoteEntry> = self.bad
            .filter(([dir, name]) => dir === p && name === undefined)
            .map(() => ({ _tag: "Fail", name: undefined, src: new URL("fake://remote/" + prefix + "/x"), message: "bad key" }))
          for (const name of self.childrenOf(p)) {
            const f = self.files.get(prefix + name)
            if (self.bad.some(([dir, n]) => dir === p && n === name)) {
              entries.push({ _tag: "Fail", name, src: new URL("fake://remote/" + prefix + name), message: `Cannot download ${name}` })
            } else if (f !== undefined) entries.push({ _tag: "File", name, times: { size: f.data.length, mtime: f.mtime } })
            else entries.push({ _tag: "Dir", name })
          }
          return entries
        })
    }
  }
}

/** Progress events as readable strings (paths relative to `dir`). */
const recorder = (dir: string) => {
  const events: Array<string> = []
  const show = (u: URL) => (u.protocol === "file:" ? "L:" + decodeURIComponent(u.pathname).slice(dir.length) : "R:" + u.pathname.replace(/^\/+/, ""))
  const progress = (e: StorageProgress) =>
    Effect.sync(() => {
      switch (e._tag) {
        case "StorageProgressStart":
        case "StorageProgressComplete":
          events.push(`${e._tag.slice(15)} ${show(e.src)} -> ${show(e.dst)} ${e.size}`)
          break
        case "StorageProgressStep":
          events.push(`Step ${e.current}/${e.size}`)
          break
        case "StorageProgressEnterDir":
        case "StorageProgressLeaveDir":
          events.push(`${e._tag.slice(15)} ${show(e.src)} -> ${show(e.dst)}`)
          break
        case "StorageProgressFail":
          events.push(`Fail ${show(e.src)} -> ${show(e.dst)}: ${e.message}`)
          break
        case "StorageProgressDelete":
          events.push(`Delete ${show(e.uri)}`)
      }
    })
  return { events, progress }
}

const noPart = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith(".neuro-part"))

// ---------------------------------------------------------------------------------------------
// pure rules
// ---------------------------------------------------------------------------------------------

describe("decide (neuro-sdk _check_upload / _check_download / _check_transfer)", () => {
  const T = Transfer.TIME_THRESHOLD
  const table: ReadonlyArray<{
    readonly name: string
    readonly src: Transfer.FileTimes
    readonly dst: Transfer.FileTimes
    readonly shifts: { readonly src: number; readonly dst: number; readonly threshold: number }
    readonly update: boolean
    readonly cont: boolean
    readonly expected: Transfer.Decision
  }> = [
    { name: "source newer", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 90 }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: false, expected: 0 },
    { name: "destination newer, update", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: false, expected: "skip" },
    { name: "destination newer by less than the threshold", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 100.9 }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: false, expected: 0 },
    { name: "destination newer by exactly the threshold", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 101 }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: false, expected: "skip" },
    { name: "download threshold (+1 s truncation)", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 101.5 }, shifts: { src: 0, dst: 0, threshold: T + 1 }, update: true, cont: false, expected: 0 },
    { name: "clock difference moves the destination", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 110 }, shifts: { src: 0, dst: -20, threshold: T }, update: true, cont: false, expected: 0 },
    { name: "clock difference moves the source", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 110 }, shifts: { src: 9.5, dst: 0, threshold: T }, update: true, cont: false, expected: 0 },
    { name: "continue, complete copy", src: { size: 5, mtime: 100 }, dst: { size: 5, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: false, cont: true, expected: "skip" },
    { name: "continue, shorter copy resumes", src: { size: 9, mtime: 100 }, dst: { size: 4, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: false, cont: true, expected: 4 },
    { name: "continue, longer copy restarts", src: { size: 4, mtime: 100 }, dst: { size: 9, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: false, cont: true, expected: 0 },
    { name: "neither option", src: { size: 4, mtime: 100 }, dst: { size: 4, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: false, cont: false, expected: 0 },
    { name: "unknown source time", src: { size: 4, mtime: undefined }, dst: { size: 4, mtime: 110 }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: true, expected: 0 },
    { name: "unknown destination time", src: { size: 4, mtime: 100 }, dst: { size: 4, mtime: undefined }, shifts: { src: 0, dst: 0, threshold: T }, update: true, cont: true, expected: 0 }
  ]
  for (const row of table) {
    it(row.name, () => {
      assert.strictEqual(Transfer.decide(row.src, row.dst, row.shifts, row.update, row.cont), row.expected)
    })
  }
})

describe("errors and clock samples", () => {
  it("isTransient: transport failures, 502 and throttling answers", () => {
    const ctx = { method: "GET", url: "https://x/y" }
    assert.isTrue(Transfer.isTransient(transient()))
    assert.isTrue(Transfer.isTransient(Errors.fromStatus(502, "", ctx)))
    for (const status of [429, 503, 504]) assert.isTrue(Transfer.isTransient(Errors.fromStatus(status, "", ctx)), String(status))
    for (const status of [400, 401, 403, 404, 405, 500]) assert.isFalse(Transfer.isTransient(Errors.fromStatus(status, "", ctx)), String(status))
    assert.isFalse(Transfer.isTransient(new Errors.MalformedResponse({ description: "bad" })))
    assert.isFalse(Transfer.isTransient(Transfer.localError("ENOENT", "x")))
  })

  it("localError: the errno's class, without an HTTP status", () => {
    const table: ReadonlyArray<readonly [string, string]> = [
      ["ENOENT", "FileNotFound"],
      ["EEXIST", "FileExists"],
      ["EISDIR", "IsADirectory"],
      ["ENOTDIR", "NotADirectory"],
      ["EACCES", "PermissionDenied"],
      ["EPERM", "PermissionDenied"],
      ["EIO", "OSError"]
    ]
    for (const [errno, tag] of table) {
      const e = Transfer.localError(errno, "where")
      assert.strictEqual(e._tag, tag)
      assert.strictEqual(e.errno, errno)
      assert.isUndefined(e.status)
      assert.strictEqual(e.message, `[${errno}] where`)
    }
  })

  it("clockSample: the Date header against the request's send and receive times", () => {
    const request = HttpClientRequest.get("https://storage.example.org/x")
    const server = new Date(Date.now() - 60_000)
    server.setMilliseconds(0)
    const t0 = Date.now() / 1000
    const withDate = HttpClientResponse.fromWeb(request, new Response("", { headers: { date: server.toUTCString() } }))
    const sample = Transfer.clockSample(t0, withDate)
    assert.isDefined(sample)
    assert.closeTo(sample!.min, t0 - server.getTime() / 1000 - 1, 1e-6)
    assert.isAtLeast(sample!.max, sample!.min + 1)
    assert.closeTo(sample!.max, 60, 2)
    assert.isUndefined(Transfer.clockSample(t0, HttpClientResponse.fromWeb(request, new Response(""))))
    assert.isUndefined(Transfer.clockSample(t0, HttpClientResponse.fromWeb(request, new Response("", { headers: { date: "yesterday" } }))))
  })
})

// ---------------------------------------------------------------------------------------------
// the limiter
// ---------------------------------------------------------------------------------------------

describe("makeLimiter", () => {
  it.live("never runs more than its permits at once", () =>
    Effect.gen(function*() {
      const slots = yield* Transfer.makeLimiter(3)
      let running = 0
      let peak = 0
      const task = slots.withPermits(1)(Effect.gen(function*() {
        running++
        peak = Math.max(peak, running)
        yield* Effect.sleep("2 millis")
        running--
      }))
      yield* Effect.all(Array.from({ length: 20 }, () => task), { concurrency: "unbounded", discard: true })
      assert.strictEqual(peak, 3)
      assert.strictEqual(running, 0)
    }))

  it.live("wakes waiters first in, first out; an interrupted waiter gives its turn away", () =>
    Effect.gen(function*() {
      const slots = yield* Transfer.makeLimiter(1)
      const gate = yield* Deferred.make<void>()
      const order: Array<number> = []
      const holder = yield* Effect.fork(slots.withPermits(1)(Deferred.await(gate)))
      yield* Effect.sleep("5 millis")
      const waiters: Array<Fiber.RuntimeFiber<number>> = []
      for (const n of [1, 2, 3, 4]) {
        waiters.push(yield* Effect.fork(slots.withPermits(1)(Effect.sync(() => order.push(n)))))
        yield* Effect.sleep("2 millis")
      }
      yield* Fiber.interrupt(waiters[1]!)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      for (const w of [waiters[0]!, waiters[2]!, waiters[3]!]) yield* Fiber.join(w)
      assert.deepStrictEqual(order, [1, 3, 4])
      // the permit count is intact: still one at a time
      let running = 0
      let peak = 0
      const task = slots.withPermits(1)(Effect.gen(function*() {
        running++
        peak = Math.max(peak, running)
        yield* Effect.sleep("1 millis")
        running--
      }))
      yield* Effect.all([task, task, task], { concurrency: "unbounded", discard: true })
      assert.strictEqual(peak, 1)
    }))
})

// ---------------------------------------------------------------------------------------------
// one file
// ---------------------------------------------------------------------------------------------

describe("downloadFile", () => {
  it.scoped("writes a temporary file and renames it when complete, with Start/Step/Complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      fake.put("f.bin", bytes(10), 0)
      const { events, progress } = recorder(dir)
      const emit = yield* Transfer.serialized(progress)
      yield* engine.downloadFile(fake.remote(), "f.bin", join(dir, "f.bin"), 10, 0, emit)
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f.bin"))), bytes(10))
      assert.deepStrictEqual(noPart(dir), [])
      assert.deepStrictEqual(events, ["Start R:f.bin -> L:/f.bin 10", "Step 3/10", "Step 10/10", "Complete R:f.bin -> L:/f.bin 10"])
    }).pipe(Effect.provide(platform)))

  it.live("resumes from the bytes written after a transient failure", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      fake.put("f.bin", bytes(100), 0)
      fake.faults.push({ after: 40, error: transient() }, { after: 0, error: transient() })
      yield* engine.downloadFile(fake.remote(), "f.bin", join(dir, "f.bin"), 100, 0, yield* Transfer.serialized(undefined))
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f.bin"))), bytes(100))
      assert.deepStrictEqual(fake.reads, [["f.bin", 0], ["f.bin", 40], ["f.bin", 40]])
      assert.deepStrictEqual(noPart(dir), [])
    })).pipe(Effect.provide(platform)))

  it.live("gives up after readRetries failures without progress; the old file stays, the temporary goes", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(join(dir, "f.bin"), "old")
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      fake.put("f.bin", bytes(100), 0)
      for (let i = 0; i < 4; i++) fake.faults.push({ after: i === 0 ? 10 : 0, error: transient() })
      const error = yield* Effect.flip(engine.downloadFile(fake.remote({ readRetries: 2 }), "f.bin", join(dir, "f.bin"), 100, 0, yield* Transfer.serialized(undefined)))
      assert.strictEqual(error._tag, "NetworkError")
      // first read made progress (10 bytes), then 3 reads without: the third is one too many
      assert.deepStrictEqual(fake.reads.map(([, o]) => o), [0, 10, 10, 10])
      assert.strictEqual(fs.readFileSync(join(dir, "f.bin"), "utf8"), "old")
      assert.deepStrictEqual(noPart(dir), [])
    })).pipe(Effect.provide(platform)))

  it.scoped("fails at once on an error that is not transient", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      fake.put("f.bin", bytes(100), 0)
      fake.faults.push({ after: 5, error: new Errors.ResourceNotFound({ description: "gone", status: 404 }) })
      const error = yield* Effect.flip(engine.downloadFile(fake.remote(), "f.bin", join(dir, "f.bin"), 100, 0, yield* Transfer.serialized(undefined)))
      assert.strictEqual(error._tag, "ResourceNotFound")
      assert.strictEqual(fake.reads.length, 1)
      assert.isFalse(fs.existsSync(join(dir, "f.bin")))
      assert.deepStrictEqual(noPart(dir), [])
    }).pipe(Effect.provide(platform)))

  it.scoped("continue appends to the existing file from the offset; an empty file needs no read", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      fake.put("f.bin", bytes(50), 0)
      fake.put("empty", new Uint8Array(0), 0)
      fs.writeFileSync(join(dir, "f.bin"), bytes(50).subarray(0, 20))
      const emit = yield* Transfer.serialized(undefined)
      yield* engine.downloadFile(fake.remote(), "f.bin", join(dir, "f.bin"), 50, 20, emit)
      yield* engine.downloadFile(fake.remote(), "empty", join(dir, "empty"), 0, 0, emit)
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(join(dir, "f.bin"))), bytes(50))
      assert.strictEqual(fs.readFileSync(join(dir, "empty")).length, 0)
      assert.deepStrictEqual(fake.reads, [["f.bin", 20]])
    }).pipe(Effect.provide(platform)))

  it.scoped("uploadFile: Start, the remote's own steps, Complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(join(dir, "up.txt"), "hello")
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      const { events, progress } = recorder(dir)
      yield* engine.uploadFile(fake.remote(), join(dir, "up.txt"), "x/up.txt", 5, 0, yield* Transfer.serialized(progress))
      assert.deepStrictEqual(events, ["Start L:/up.txt -> R:x/up.txt 5", "Step 5/5", "Complete L:/up.txt -> R:x/up.txt 5"])
      assert.strictEqual(new TextDecoder().decode(fake.files.get("x/up.txt")!.data), "hello")
    }).pipe(Effect.provide(platform)))
})

// ---------------------------------------------------------------------------------------------
// trees
// ---------------------------------------------------------------------------------------------

describe("uploadTree", () => {
  it.scoped("ignore files of the tree and its ancestors, the user's filter, symlink loops and special files", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = join(base, "project")
      fs.mkdirSync(join(root, "sub", "deep"), { recursive: true })
      fs.mkdirSync(join(root, "skipped"))
      fs.writeFileSync(join(base, ".neuroignore"), "secret*\n")
      fs.writeFileSync(join(root, ".neuroignore"), "*.log\n!keep.log\n")
      fs.writeFileSync(join(root, "a.txt"), "a")
      fs.writeFileSync(join(root, "b.log"), "b")
      fs.writeFileSync(join(root, "keep.log"), "k")
      fs.writeFileSync(join(root, "secret.txt"), "s")
      fs.writeFileSync(join(root, "skipped", "x"), "x")
      fs.writeFileSync(join(root, "sub", ".neuroignore"), "deep/\n")
      fs.writeFileSync(join(root, "sub", "c.txt"), "c")
      fs.writeFileSync(join(root, "sub", "deep", "d.txt"), "d")
      fs.symlinkSync(root, join(root, "sub", "loop"))
      fs.symlinkSync(join(root, "missing"), join(root, "broken"))
      const engine = yield* Transfer.make
      const fake = new FakeRemote()
      const { events, progress } = recorder(base)
      const dir = yield* engine.localDir(root)
      yield* engine.uploadTree(fake.remote(), dir, "dst", {
        ...(yield* Transfer.treeOptions({
          progress,
          ignoreFileNames: [".neuroignore"],
          filter: (rel) => Effect.succeed(rel !== "skipped/"),
          concurrency: 2
        }, 64))
      })
      assert.deepStrictEqual([...fake.files.keys()].sort(), [
        "dst/.neuroignore",
        "dst/a.txt",
        "dst/keep.log",
        "dst/sub/.neuroignore",
        "dst/sub/c.txt"
      ])
      assert.include(events, "Fail L:/project/broken -> R:dst/broken: Cannot upload " + join(root, "broken") + ", not regular file/directory")
      assert.include(events, "Fail L:/project/sub/loop -> R:dst/sub/loop: Cannot upload " + join(root, "sub", "loop") + ", a symlink loop")
      assert.strictEqual(events[0], "EnterDir L:/project -> R:dst")
      assert.strictEqual(events[events.length - 1], "LeaveDir L:/project -> R:dst")
      assert.strictEqual(events.filter((e) => e.startsWith("EnterDir")).length, events.filter((e) => e.startsWith("LeaveDir")).length)
      assert.deepStrictEqual(fake.prepared, [["dst", false], ["dst/sub", false]])
    }).pipe(Effect.provide(platform)))

  it.scoped("update skips files the remote has newer; a folder the remote lacks is not compared below", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      fs.mkdirSync(join(root, "new", "inner"), { recursive: true })
      for (const name of ["old.txt", "fresh.txt", "only-local.txt", "new/inner/x.txt"]) fs.writeFileSync(join(root, name), name)
      const now = Date.now() / 1000
      const fake = new FakeRemote()
      fake.put("dst/old.txt", enc.encode("remote, newer"), now + 100)
      fake.put("dst/fresh.txt", enc.encode("remote, older"), now - 100)
      const engine = yield* Transfer.make
      yield* engine.uploadTree(fake.remote(), yield* engine.localDir(root), "dst", yield* Transfer.treeOptions({ update: true }, 4))
      assert.strictEqual(new TextDecoder().decode(fake.files.get("dst/old.txt")!.data), "remote, newer")
      assert.strictEqual(new TextDecoder().decode(fake.files.get("dst/fresh.txt")!.data), "fresh.txt")
      assert.strictEqual(new TextDecoder().decode(fake.files.get("dst/only-local.txt")!.data), "only-local.txt")
      assert.strictEqual(new TextDecoder().decode(fake.files.get("dst/new/inner/x.txt")!.data), "new/inner/x.txt")
      assert.deepStrictEqual(fake.prepared, [["dst", true], ["dst/new", true], ["dst/new/inner", false]])
    }).pipe(Effect.provide(platform)))

  it.scoped("a local file for a root, a missing root and a remote file in the folder's place are errors", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      fs.writeFileSync(join(root, "file"), "x")
      fs.mkdirSync(join(root, "tree"))
      const engine = yield* Transfer.make
      assert.strictEqual((yield* Effect.flip(engine.localDir(join(root, "file"))))._tag, "NotADirectory")
      assert.strictEqual((yield* Effect.flip(engine.localDir(join(root, "absent"))))._tag, "FileNotFound")
      const fake = new FakeRemote()
      fake.put("taken", enc.encode("x"), 0)
      const error = yield* Effect.flip(engine.uploadTree(fake.remote(), yield* engine.localDir(join(root, "tree")), "taken", yield* Transfer.treeOptions({}, 4)))
      assert.strictEqual(error._tag, "NotADirectory")
    }).pipe(Effect.provide(platform)))
})

describe("downloadTree", () => {
  it.scoped("children by the remote's order, Fail entries, the user's filter and continue", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const dst = join(base, "out")
      const fake = new FakeRemote()
      fake.put("src/a.txt", enc.encode("aaaa"), 0)
      fake.put("src/sub/b.txt", enc.encode("bbbbbbbb"), 0)
      fake.put("src/sub/c.txt", enc.encode("c"), 0)
      fake.put("src/filtered/z", enc.encode("z"), 0)
      fake.put("src/link", enc.encode(""), 0)
      fake.put("src/hidden-link", enc.encode(""), 0)
      fake.bad.push(["src", undefined], ["src", "link"], ["src", "hidden-link"])
      fs.mkdirSync(join(dst, "sub"), { recursive: true })
      // a partial copy, newer than the source: continued from its size
      fs.writeFileSync(join(dst, "sub", "b.txt"), "bbb")
      const engine = yield* Transfer.make
      const { events, progress } = recorder(base)
      yield* engine.downloadTree(fake.remote(), "src", dst, yield* Transfer.treeOptions({
        continue: true,
        progress,
        filter: (rel) => Effect.succeed(rel !== "filtered/" && rel !== "hidden-link")
      }, 1))
      assert.strictEqual(fs.readFileSync(join(dst, "a.txt"), "utf8"), "aaaa")
      assert.strictEqual(fs.readFileSync(join(dst, "sub", "b.txt"), "utf8"), "bbbbbbbb")
      assert.strictEqual(fs.readFileSync(join(dst, "sub", "c.txt"), "utf8"), "c")
      assert.isFalse(fs.existsSync(join(dst, "filtered")))
      assert.deepStrictEqual(fake.reads.filter(([p]) => p === "src/sub/b.txt"), [["src/sub/b.txt", 3]])
      assert.deepStrictEqual(events.filter((e) => e.startsWith("Fail")), [
        "Fail R:src//x -> L:/out: bad key",
        "Fail R:src/link -> L:/out/link: Cannot download link"
      ])
      // one slot: the walk is sequential, so the order is the remote's
      assert.deepStrictEqual(events.filter((e) => e.startsWith("Enter") || e.startsWith("Leave") || e.startsWith("Start")), [
        "EnterDir R:src -> L:/out",
        "Start R:src/a.txt -> L:/out/a.txt 4",
        "EnterDir R:src/sub -> L:/out/sub",
        "Start R:src/sub/b.txt -> L:/out/sub/b.txt 8",
        "Start R:src/sub/c.txt -> L:/out/sub/c.txt 1",
        "LeaveDir R:src/sub -> L:/out/sub",
        "LeaveDir R:src -> L:/out"
      ])
    }).pipe(Effect.provide(platform)))

  it.scoped("a local file where a folder goes is FileExists (neuro-sdk: FileExistsError)", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      fs.writeFileSync(join(base, "sub"), "in the way")
      const fake = new FakeRemote()
      fake.put("src/sub/x", enc.encode("x"), 0)
      const engine = yield* Transfer.make
      const error = yield* Effect.flip(engine.downloadTree(fake.remote(), "src", base, yield* Transfer.treeOptions({}, 4)))
      assert.strictEqual(error._tag, "FileExists")
      assert.strictEqual(fs.readFileSync(join(base, "sub"), "utf8"), "in the way")
    }).pipe(Effect.provide(platform)))
})

describe("localPath", () => {
  it.effect("plain paths resolve; file: URIs only, without a host", () =>
    Effect.gen(function*() {
      const engine = yield* Transfer.make
      assert.strictEqual(yield* engine.localPath("rel/x"), join(process.cwd(), "rel", "x"))
      assert.strictEqual(yield* engine.localPath("file:///tmp/a%20b"), "/tmp/a b")
      assert.strictEqual(yield* engine.localPath(new URL("file:///tmp/c")), "/tmp/c")
      for (const bad of ["http://host/x", "file://host/x", "storage:x"]) {
        const e = yield* Effect.flip(engine.localPath(new URL(bad)))
        assert.strictEqual(e._tag, "InvalidInputError", bad)
      }
    }).pipe(Effect.provide(platform)))
})

// ---------------------------------------------------------------------------------------------
// P3-3: list, rm and open map a connection broken mid-answer the same way
// ---------------------------------------------------------------------------------------------

describe("streamed storage answers broken mid-way", () => {
  const reset = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })

  /** Headers and a first line, then the connection resets. */
  const breaking = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) => {
      const op = request.urlParams.find(([k]) => k === "op")?.[1]
      const first = op === "LISTSTATUS"
        ? `{"FileStatus": {"path": "a", "type": "FILE", "length": 1, "modificationTime": 0, "permission": "read"}}\n`
        : op === "DELETE"
        ? `{"path": "/alice/d/a", "is_dir": false}\n`
        : "some bytes"
      const contentType = op === "OPEN" ? "application/octet-stream" : "application/x-ndjson"
      let sent = false
      const body = new ReadableStream<Uint8Array>({
        pull: (c) => {
          if (sent) c.error(reset())
          else {
            sent = true
            c.enqueue(enc.encode(first))
          }
        }
      })
      return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers: { "content-type": contentType } })))
    })
  )

  const storage = Storage.layer.pipe(
    Layer.provide(Layer.mergeAll(
      ApiClient.layer({ retry: false }).pipe(Layer.provide(Layer.mergeAll(
        breaking,
        AuthToken.layerStatic(Redacted.make("token")),
        Endpoints.layer({ apiUrl: API, clusters, clusterName: "c1" }),
        Layer.succeed(
          WebSocket.WebSocketDialer,
          WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
        )
      ))),
      Layer.succeed(Config.Config, configStub({ username: "alice", orgName: null })),
      platform
    ))
  )

  it.effect("list, rm and open all fail with a NetworkError (Transport)", () =>
    Effect.gen(function*() {
      const s = yield* Storage.Storage
      const deleted: Array<string> = []
      const errors = [
        yield* Effect.flip(Stream.runCollect(s.list("storage:d"))),
        yield* Effect.flip(s.rm("storage:d", { recursive: true, progress: (e) => Effect.sync(() => deleted.push(e._tag)) })),
        yield* Effect.flip(Stream.runCollect(s.open("storage:d/a")))
      ]
      for (const e of errors) {
        assert.strictEqual(e._tag, "NetworkError", e.message)
        assert.strictEqual((e as Errors.NetworkError).reason, "Transport")
        assert.include(e.message, "ECONNRESET")
      }
      assert.deepStrictEqual(deleted, ["StorageProgressDelete"])
    }).pipe(Effect.provide(storage)))
})
