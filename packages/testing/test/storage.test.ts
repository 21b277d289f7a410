import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { Config, Storage } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const enc = new TextEncoder()
const dec = new TextDecoder()

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-storage-test-"))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const readAll = (s: Stream.Stream<Uint8Array, Storage.StorageError>) =>
  Effect.map(collect(s), (chunks) => dec.decode(Buffer.concat(chunks.map((c) => Buffer.from(c)))))

const names = (s: Stream.Stream<Storage.FileStatus, Storage.StorageError>) => Effect.map(collect(s), (a) => a.map((f) => f.name).sort())

const recorder = () => {
  const events: Array<Storage.StorageProgress> = []
  return { events, progress: (e: Storage.StorageProgress) => Effect.sync(() => void events.push(e)) }
}

/** Every file under `dir` with its sha256, by relative path. */
const snapshot = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p, rel + e.name + "/")
      else out.set(rel + e.name, createHash("sha256").update(fs.readFileSync(p)).digest("hex"))
    }
  }
  walk(dir, "")
  return out
}

const makeTree = (dir: string, files: number, seed: number) => {
  let x = seed
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648
    return x
  }
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 7}`, `e${i % 5}`, i % 3 === 0 ? "f" : "")
    fs.mkdirSync(sub, { recursive: true })
    const size = rnd() % 3000
    const data = Buffer.alloc(size)
    for (let k = 0; k < size; k++) data[k] = rnd() & 0xff
    fs.writeFileSync(join(sub, `file-${i}.bin`), data)
  }
}

const assertSameTree = (a: string, b: string) => {
  const sa = snapshot(a)
  const sb = snapshot(b)
  assert.strictEqual(sb.size, sa.size)
  for (const [k, v] of sa) assert.strictEqual(sb.get(k), v, k)
}

const basics = () =>
  Effect.gen(function*() {
    const storage = yield* Storage.Storage
    yield* storage.mkdir("storage:basic/sub", { parents: true })
    yield* storage.create("storage:basic/a.txt", enc.encode("hello world"))
    yield* storage.create("storage:basic/b.txt", Stream.make(enc.encode("streamed "), enc.encode("body")))
    const st = yield* storage.stat("storage:basic/a.txt")
    assert.strictEqual(st.type, "FILE")
    assert.strictEqual(st.size, 11)
    assert.strictEqual(st.permission, "manage")
    assert.strictEqual(st.uri.href, "storage://default/alice/basic/a.txt")
    assert.strictEqual(st.path, "/alice/basic/a.txt")
    assert.deepStrictEqual(yield* names(storage.list("storage:basic")), ["a.txt", "b.txt", "sub"])
    const listed = yield* collect(storage.list("storage:basic"))
    assert.strictEqual(listed.find((f) => f.name === "sub")?.uri.href, "storage://default/alice/basic/sub")
    assert.strictEqual(yield* readAll(storage.open("storage:basic/b.txt")), "streamed body")
    assert.strictEqual(yield* readAll(storage.open("storage:basic/a.txt", { offset: 6 })), "world")
    assert.strictEqual(yield* readAll(storage.open("storage:basic/a.txt", { offset: 2, size: 3 })), "llo")
    assert.strictEqual(yield* readAll(storage.open("storage:basic/a.txt", { size: 0 })), "")
    yield* storage.write("storage:basic/a.txt", enc.encode("WORLD!"), 6)
    assert.strictEqual(yield* readAll(storage.open("storage:basic/a.txt")), "hello WORLD!")
    yield* storage.rename("storage:basic/a.txt", "storage:basic/a2.txt")
    yield* storage.mv("storage:basic/a2.txt", "storage:basic/sub/c.txt")
    assert.deepStrictEqual(yield* names(storage.list("storage:basic/sub")), ["c.txt"])
    const du = yield* storage.diskUsage()
    assert.strictEqual(du.clusterName, "default")
    assert.isTrue(du.total > 0 && du.free >= 0 && du.used >= 0)
    const duUri = yield* storage.diskUsage({ uri: "storage:basic" })
    assert.strictEqual(duUri.uri?.href, "storage:basic")
    assert.strictEqual(duUri.orgName, null)
    const empty = yield* Effect.flip(storage.write("storage:basic/sub/c.txt", new Uint8Array(0), 0))
    assert.strictEqual(empty._tag, "InvalidInputError")
  })

describe("Storage over a socket", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"], testHooks: true }), { excludeTestServices: true })((it) => {
    it.effect("mkdir, create, stat, list, open, write, mv, diskUsage", basics)

    it.effect("maps errors to typed file-system errors", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        yield* storage.create("storage:errs/file", enc.encode("x"))
        assert.strictEqual((yield* Effect.flip(storage.stat("storage:errs/missing")))._tag, "ResourceNotFound")
        assert.strictEqual((yield* Effect.flip(storage.mkdir("storage:errs/file", { existOk: true })))._tag, "FileExists")
        assert.strictEqual((yield* Effect.flip(storage.mkdir("storage:errs/file")))._tag, "FileExists")
        assert.strictEqual((yield* Effect.flip(storage.mkdir("storage:errs/file/sub", { parents: true, existOk: true })))._tag, "NotADirectory")
        assert.strictEqual((yield* Effect.flip(storage.mkdir("storage:errs/no/such")))._tag, "FileNotFound")
        assert.strictEqual((yield* Effect.flip(collect(storage.list("storage:errs/file"))))._tag, "NotADirectory")
        assert.strictEqual((yield* Effect.flip(storage.create("storage:errs", enc.encode("x"))))._tag, "IsADirectory")
        assert.strictEqual((yield* Effect.flip(storage.create("storage:errs/file/x", enc.encode("x"))))._tag, "NotADirectory")
        assert.strictEqual((yield* Effect.flip(storage.rm("storage:errs")))._tag, "IsADirectory")
        assert.strictEqual((yield* Effect.flip(readAll(storage.open("storage:errs"))))._tag, "IsADirectory")
        assert.strictEqual((yield* Effect.flip(storage.write("storage:errs/none", enc.encode("x"), 0)))._tag, "ResourceNotFound")
        assert.strictEqual((yield* Effect.flip(storage.stat("storage:/bob")))._tag, "ResourceNotFound")
        assert.strictEqual((yield* Effect.flip(storage.stat("file:///etc")))._tag, "InvalidInputError")
        assert.strictEqual((yield* Effect.flip(storage.mv("storage:errs/file", "storage://other/alice/x")))._tag, "InvalidInputError")
      }))

    it.effect("rm -r of a 3-level tree reports every entry, children first", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        for (const p of ["t/a.txt", "t/l1/b.txt", "t/l1/l2/c.txt", "t/l1/l2/l3/d.txt"]) yield* storage.create(`storage:rmtree/${p}`, enc.encode(p))
        const rec = recorder()
        yield* storage.rm("storage:rmtree/t", { recursive: true, progress: rec.progress })
        const deleted = rec.events.map((e) => (e._tag === "StorageProgressDelete" ? `${e.uri.pathname}${e.isDir ? "/" : ""}` : e._tag))
        assert.strictEqual(deleted.length, 8)
        assert.strictEqual(deleted[7], "/alice/rmtree/t/")
        const index = (p: string) => deleted.indexOf(`/alice/rmtree/t/${p}`)
        assert.isTrue(index("l1/l2/l3/d.txt") < index("l1/l2/l3/"))
        assert.isTrue(index("l1/l2/l3/") < index("l1/l2/"))
        assert.isTrue(index("l1/l2/") < index("l1/"))
        assert.isTrue(index("a.txt") >= 0)
        assert.deepStrictEqual(yield* names(storage.list("storage:rmtree")), [])
        yield* storage.create("storage:rmtree/single", enc.encode("1"))
        yield* storage.rm("storage:rmtree/single")
        assert.strictEqual((yield* Effect.flip(storage.stat("storage:rmtree/single")))._tag, "ResourceNotFound")
      }))

    it.effect("glob with *, [..], ** and dironly", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        for (const p of ["foo", "bar/baz", ".hidden", ".hdir/x", "bar/deep/q.txt"]) yield* storage.create(`storage:g/folder/${p}`, enc.encode(p))
        const g = (p: string, dironly = false) => Effect.map(collect(storage.glob(p, { dironly })), (us) => us.map((u) => u.href).sort())
        assert.deepStrictEqual(yield* g("storage:g/folder"), ["storage:g/folder"])
        assert.deepStrictEqual(yield* g("storage:g/folder/*"), ["storage:g/folder/bar", "storage:g/folder/foo"])
        assert.deepStrictEqual(yield* g("storage:g/folder/*/"), ["storage:g/folder/bar/"])
        assert.deepStrictEqual(yield* g("storage:g/folder/.*"), ["storage:g/folder/.hdir", "storage:g/folder/.hidden"])
        assert.deepStrictEqual(yield* g("storage:g/folder/[!f]*"), ["storage:g/folder/bar"])
        assert.deepStrictEqual(yield* g("storage:g/folder/**"), [
          "storage:g/folder",
          "storage:g/folder/bar",
          "storage:g/folder/bar/baz",
          "storage:g/folder/bar/deep",
          "storage:g/folder/bar/deep/q.txt",
          "storage:g/folder/foo"
        ])
        assert.deepStrictEqual(yield* g("storage:g/folder/**/*.txt"), ["storage:g/folder/bar/deep/q.txt"])
        assert.deepStrictEqual(yield* g("storage:g/**", true), ["storage:g", "storage:g/folder", "storage:g/folder/bar", "storage:g/folder/bar/deep"])
        assert.deepStrictEqual(yield* g("storage://default/alice/g/folder/f*"), ["storage://default/alice/g/folder/foo"])
        assert.strictEqual((yield* Effect.flip(collect(storage.glob("storage:g/nothere/*"))))._tag, "ResourceNotFound")
      }))

    it.scoped("uploadFile / downloadFile with progress events in order", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const dir = yield* tempDir
        const big = Buffer.alloc(Storage.CHUNK_SIZE + 1234, 7)
        fs.writeFileSync(join(dir, "big.bin"), big)
        fs.writeFileSync(join(dir, "small.txt"), "small")
        fs.writeFileSync(join(dir, "empty"), "")
        yield* storage.mkdir("storage:files", { existOk: true })
        const up = recorder()
        yield* storage.uploadFile(pathToFileURL(join(dir, "big.bin")), "storage:files/big.bin", { progress: up.progress })
        // a step per chunk sent; a slow request also reports its progress within it (every 100 ms at
        // most, uploadProgress.test.ts), so a loaded machine may add steps in between
        const tags = up.events.map((e) => e._tag)
        assert.strictEqual(tags[0], "StorageProgressStart")
        assert.strictEqual(tags[tags.length - 1], "StorageProgressComplete")
        const upSteps = up.events.flatMap((e) => e._tag === "StorageProgressStep" ? [e.current] : [])
        assert.deepStrictEqual(upSteps, [...new Set(upSteps)].sort((a, b) => a - b))
        assert.include(upSteps, Storage.CHUNK_SIZE)
        assert.strictEqual(upSteps[upSteps.length - 1], big.length)
        assert.isTrue(up.events.every((e) => e._tag !== "StorageProgressStep" || e.size === big.length))
        const start = up.events[0]
        assert.isTrue(start?._tag === "StorageProgressStart" && start.size === big.length && start.dst.href === "storage://default/alice/files/big.bin")
        assert.strictEqual((yield* storage.stat("storage:files/big.bin")).size, big.length)
        yield* storage.uploadFile(join(dir, "empty"), "storage:files/empty")
        assert.strictEqual((yield* storage.stat("storage:files/empty")).size, 0)
        const down = recorder()
        yield* storage.downloadFile("storage:files/big.bin", pathToFileURL(join(dir, "copy.bin")), { progress: down.progress })
        assert.isTrue(fs.readFileSync(join(dir, "copy.bin")).equals(big))
        assert.strictEqual(down.events[0]?._tag, "StorageProgressStart")
        assert.strictEqual(down.events[down.events.length - 1]?._tag, "StorageProgressComplete")
        const steps = down.events.filter((e) => e._tag === "StorageProgressStep").map((e) => e.current)
        assert.deepStrictEqual(steps, [...steps].sort((a, b) => a - b))
        assert.strictEqual(steps[steps.length - 1], big.length)
        const e0 = recorder()
        yield* storage.downloadFile("storage:files/empty", join(dir, "empty.copy"), { progress: e0.progress })
        assert.deepStrictEqual(e0.events.map((e) => e._tag), ["StorageProgressStart", "StorageProgressComplete"])
        assert.strictEqual(fs.statSync(join(dir, "empty.copy")).size, 0)
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes("neuro-part")), [])
        assert.strictEqual((yield* Effect.flip(storage.uploadFile(dir, "storage:files/x")))._tag, "IsADirectory")
        assert.strictEqual((yield* Effect.flip(storage.uploadFile(join(dir, "nope"), "storage:files/x")))._tag, "FileNotFound")
        assert.strictEqual((yield* Effect.flip(storage.uploadFile(join(dir, "small.txt"), "storage:nodir/x")))._tag, "NotADirectory")
        assert.strictEqual((yield* Effect.flip(storage.downloadFile("storage:files", join(dir, "x"))))._tag, "IsADirectory")
      }))

    it.scoped("update skips newer destinations, in both directions", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const dir = yield* tempDir
        const local = join(dir, "f.txt")
        yield* storage.create("storage:upd/f.txt", enc.encode("remote newer"))
        fs.writeFileSync(local, "local old")
        const past = new Date(Date.now() - 3600_000)
        fs.utimesSync(local, past, past)
        yield* storage.uploadFile(local, "storage:upd/f.txt", { update: true })
        assert.strictEqual(yield* readAll(storage.open("storage:upd/f.txt")), "remote newer")
        yield* storage.uploadDir(dir, "storage:upd", { update: true })
        assert.strictEqual(yield* readAll(storage.open("storage:upd/f.txt")), "remote newer")
        const future = new Date(Date.now() + 3600_000)
        fs.utimesSync(local, future, future)
        yield* storage.uploadFile(local, "storage:upd/f.txt", { update: true })
        assert.strictEqual(yield* readAll(storage.open("storage:upd/f.txt")), "local old")
        // download: the local file is newer → kept
        fs.writeFileSync(local, "local newest")
        fs.utimesSync(local, future, future)
        yield* storage.downloadFile("storage:upd/f.txt", local, { update: true })
        assert.strictEqual(fs.readFileSync(local, "utf8"), "local newest")
        yield* storage.downloadDir("storage:upd", dir, { update: true })
        assert.strictEqual(fs.readFileSync(local, "utf8"), "local newest")
        fs.utimesSync(local, past, past)
        yield* storage.downloadFile("storage:upd/f.txt", local, { update: true })
        assert.strictEqual(fs.readFileSync(local, "utf8"), "local old")
      }))

    it.scoped("continue resumes a half-uploaded and a half-downloaded file", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const platform = yield* LocalPlatform.LocalPlatformTag
        const dir = yield* tempDir
        const content = Buffer.from("0123456789".repeat(1000))
        const local = join(dir, "data.bin")
        fs.writeFileSync(local, content)
        const past = new Date(Date.now() - 3600_000)
        fs.utimesSync(local, past, past)
        // a half-uploaded remote file: the first half, newer than the local one
        yield* storage.create("storage:cont/data.bin", content.subarray(0, 4000))
        const rec = recorder()
        yield* storage.uploadFile(local, "storage:cont/data.bin", { continue: true, progress: rec.progress })
        assert.isTrue(Buffer.from(yield* Effect.map(collect(storage.open("storage:cont/data.bin")), (c) => Buffer.concat(c))).equals(content))
        const firstStep = rec.events.find((e) => e._tag === "StorageProgressStep")
        assert.isTrue(firstStep?._tag === "StorageProgressStep" && firstStep.current === 4000)
        const writes = (yield* platform.requests).filter((r) => r.path.endsWith("/cont/data.bin") && r.method === "PATCH")
        assert.strictEqual(writes.length, 1)
        assert.strictEqual(writes[0]?.headers["content-range"], `bytes 4000-${content.length - 1}/*`)
        // a half-downloaded local file, newer than the remote one
        const target = join(dir, "down.bin")
        fs.writeFileSync(target, content.subarray(0, 2500))
        const future = new Date(Date.now() + 3600_000)
        fs.utimesSync(target, future, future)
        yield* storage.downloadFile("storage:cont/data.bin", target, { continue: true })
        assert.isTrue(fs.readFileSync(target).equals(content))
        const opens = (yield* platform.requests).filter((r) => r.path.endsWith("/cont/data.bin") && r.query.includes("OPEN"))
        assert.strictEqual(opens[opens.length - 1]?.headers["range"], "bytes=2500-")
        // same size: skipped
        yield* storage.downloadDir("storage:cont", dir, { continue: true })
        assert.isTrue(fs.readFileSync(target).equals(content))
      }))

    it.scoped("ignoreFileNames with nested and ancestor ignore files", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const base = yield* tempDir
        const folder = join(base, "parent", "folder")
        for (const d of [folder, join(folder, "nested")]) {
          fs.mkdirSync(d, { recursive: true })
          for (const n of ["one", "two", "three"]) fs.writeFileSync(join(d, n), n)
        }
        fs.writeFileSync(join(folder, ".neuroignore"), "one\n")
        fs.writeFileSync(join(folder, "nested", ".gitignore"), "two\n")
        yield* storage.uploadDir(folder, "storage:ign1", { ignoreFileNames: [".neuroignore", ".gitignore"] })
        assert.deepStrictEqual(yield* names(storage.list("storage:ign1")), [".neuroignore", "nested", "three", "two"])
        assert.deepStrictEqual(yield* names(storage.list("storage:ign1/nested")), [".gitignore", "three"])
        fs.rmSync(join(folder, ".neuroignore"))
        fs.rmSync(join(folder, "nested", ".gitignore"))
        fs.writeFileSync(join(base, ".neuroignore"), "one\n")
        fs.writeFileSync(join(base, "parent", ".gitignore"), "*/two\n")
        yield* storage.uploadDir(folder, "storage:ign2", { ignoreFileNames: [".neuroignore", ".gitignore"] })
        assert.deepStrictEqual(yield* names(storage.list("storage:ign2")), ["nested", "three"])
        assert.deepStrictEqual(yield* names(storage.list("storage:ign2/nested")), ["three", "two"])
        yield* storage.uploadDir(folder, "storage:ign3", { filter: (p) => Effect.succeed(!p.startsWith("nested")) })
        assert.deepStrictEqual(yield* names(storage.list("storage:ign3")), ["one", "three", "two"])
      }))

    it.scoped("directory transfers report events in order; special entries become Fail events", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const platform = yield* LocalPlatform.LocalPlatformTag
        const dir = yield* tempDir
        const src = join(dir, "src")
        fs.mkdirSync(join(src, "sub"), { recursive: true })
        fs.writeFileSync(join(src, "a"), "12345")
        fs.writeFileSync(join(src, "sub", "b"), "")
        fs.symlinkSync(join(dir, "missing"), join(src, "broken"))
        const up = recorder()
        yield* storage.uploadDir(src, "storage:ev", { progress: up.progress })
        const tags = up.events.map((e) => e._tag)
        assert.strictEqual(tags[0], "StorageProgressEnterDir")
        assert.strictEqual(tags[tags.length - 1], "StorageProgressLeaveDir")
        const fail = up.events.find((e) => e._tag === "StorageProgressFail")
        assert.isTrue(fail?._tag === "StorageProgressFail" && fail.dst.href.endsWith("/ev/broken"))
        const forA = up.events.filter((e) => "src" in e && e.src.pathname.endsWith("/src/a")).map((e) => e._tag)
        assert.deepStrictEqual(forA, ["StorageProgressStart", "StorageProgressStep", "StorageProgressComplete"])
        // a symlink on the server side is reported, not followed
        const remoteDir = join(platform.dataDir, "storage", "default", "alice", "ev")
        fs.symlinkSync("/etc/passwd", join(remoteDir, "link"))
        const down = recorder()
        yield* storage.downloadDir("storage:ev", join(dir, "out"), { progress: down.progress })
        assert.deepStrictEqual(fs.readdirSync(join(dir, "out")).sort(), ["a", "sub"])
        assert.strictEqual(fs.readFileSync(join(dir, "out", "a"), "utf8"), "12345")
        assert.isTrue(down.events.some((e) => e._tag === "StorageProgressFail" && e.src.href.endsWith("/ev/link")))
        const leaves = down.events.filter((e) => e._tag === "StorageProgressLeaveDir")
        assert.strictEqual(leaves.length, 2)
        assert.strictEqual(down.events[down.events.length - 1]?._tag, "StorageProgressLeaveDir")
      }))

    it.scoped("a failed download leaves neither a truncated file nor a temporary one", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const platform = yield* LocalPlatform.LocalPlatformTag
        const dir = yield* tempDir
        yield* storage.create("storage:tmpname/f.bin", new Uint8Array(100_000).fill(1))
        fs.writeFileSync(join(dir, "f.bin"), "previous content")
        yield* platform.faults.failNext(500, { path: "/api/v1/clusters/default/storage/alice/tmpname/f.bin", method: "GET" })
        const error = yield* Effect.flip(storage.downloadFile("storage:tmpname/f.bin", join(dir, "f.bin")))
        assert.strictEqual(error._tag, "IllegalArgumentError")
        assert.deepStrictEqual(fs.readdirSync(dir), ["f.bin"])
        assert.strictEqual(fs.readFileSync(join(dir, "f.bin"), "utf8"), "previous content")
        yield* storage.downloadFile("storage:tmpname/f.bin", join(dir, "f.bin"))
        assert.strictEqual(fs.statSync(join(dir, "f.bin")).size, 100_000)
        assert.deepStrictEqual(fs.readdirSync(dir), ["f.bin"])
        // a symlink loop in the local tree is reported once, not followed forever
        fs.mkdirSync(join(dir, "loop", "inner"), { recursive: true })
        fs.symlinkSync(join(dir, "loop"), join(dir, "loop", "inner", "back"))
        const rec = recorder()
        yield* storage.uploadDir(join(dir, "loop"), "storage:tmpname/loop", { progress: rec.progress })
        assert.strictEqual(rec.events.filter((e) => e._tag === "StorageProgressFail").length, 1)
      }))

    it.scoped("a hostile listing writes nothing outside the destination", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const platform = yield* LocalPlatform.LocalPlatformTag
        const http = yield* HttpClient.HttpClient
        const dir = yield* tempDir
        yield* storage.create("storage:evil/ok.txt", enc.encode("ok"))
        yield* http.execute(
          HttpClientRequest.post(`${platform.url}/_local/storage/hostile`).pipe(
            HttpClientRequest.bearerToken(platform.token("alice")),
            HttpClientRequest.bodyUnsafeJson({ cluster: "default", path: "/alice/evil", names: ["../escape", "a/b", "/etc/x", ".."] })
          )
        ).pipe(Effect.scoped)
        const out = join(dir, "out")
        const error = yield* Effect.flip(storage.downloadDir("storage:evil", out))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.deepStrictEqual(fs.readdirSync(dir), ["out"])
        assert.deepStrictEqual(fs.readdirSync(out), [])
        assert.strictEqual((yield* Effect.flip(collect(storage.list("storage:evil"))))._tag, "MalformedResponse")
        assert.isFalse(fs.existsSync(join(dir, "escape")))
      }))

    it.scoped("a 2,000-file tree round-trips byte-identical", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const dir = yield* tempDir
        makeTree(join(dir, "src"), 2000, 1)
        yield* storage.uploadDir(join(dir, "src"), "storage:tree")
        yield* storage.downloadDir("storage:tree", join(dir, "dst"))
        assertSameTree(join(dir, "src"), join(dir, "dst"))
      }), 120_000)
  })
})

describe("Storage under faults", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], apiClient: { retry: { baseDelay: "10 millis", jitter: true } } }), {
    excludeTestServices: true
  })((it) => {
    it.scoped("the 2,000-file round trip survives 10% 502s and dropped connections", () =>
      Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const platform = yield* LocalPlatform.LocalPlatformTag
        const config = yield* Config.Config
        assert.strictEqual(yield* config.username, "alice")
        const dir = yield* tempDir
        makeTree(join(dir, "src"), 2000, 2)
        yield* platform.faults.failRandomly({ probability: 0.1, status: 502, path: "/api/v1/clusters/default/storage" })
        yield* platform.faults.failRandomly({ probability: 0.02, drop: true, path: "/api/v1/clusters/default/storage" })
        yield* storage.uploadDir(join(dir, "src"), "storage:faulty")
        yield* storage.downloadDir("storage:faulty", join(dir, "dst"))
        yield* platform.faults.clear
        assertSameTree(join(dir, "src"), join(dir, "dst"))
        const requests = yield* platform.requests
        const creates = requests.filter((r) => r.method === "PUT" && r.query.includes("op=CREATE") && r.path.includes("/faulty/")).length
        const opens = requests.filter((r) => r.method === "GET" && r.query.includes("op=OPEN") && r.path.includes("/faulty/")).length
        // some requests failed and were sent again, yet every file arrived exactly once
        assert.isTrue(creates > 2000, `CREATE requests: ${creates}`)
        assert.isTrue(opens > 2000, `OPEN requests: ${opens}`)
      }), 180_000)
  })
})

describe("Storage in-process", () => {
  layer(NeuroTest.layer({ transport: "in-process", users: ["alice"] }))((it) => {
    it.effect("the same calls work without a socket", basics)
  })
})
