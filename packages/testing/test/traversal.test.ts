/**
 * Hostile paths against every LocalPlatform service that maps a URL to files (issue 10, defects 1
 * and 2): storage (every method and operation), S3 object keys, registry repositories, references
 * and uploads, disks; encoded, double-encoded and backslash forms of `..`; a symlink planted in a
 * storage folder; and the `/_local/*` test hooks (off by default, caller's own resources only).
 * Requests go out through `node:http` so that the path reaches the server exactly as written (a
 * WHATWG URL would already fold `%2e%2e`).
 */
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { Buckets, Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"

interface Answer {
  readonly status: number
  readonly body: string
}

/** One request with the path sent byte for byte as given. */
const raw = (base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  Effect.async<Answer>((resume) => {
    const url = new URL(base)
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    if (body !== undefined) req.write(body)
    req.end()
  })

const SECRET = "alice's private words"

/** Every file under `dir` (relative paths), symlinks not followed. */
const walk = (dir: string, prefix = ""): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]
  )

const dotdots = (n: number, sep: string) => Array.from({ length: n }, () => `..${sep}`).join("")

/** Paths (below `/bob/`) that must never reach anything outside bob's folder. */
const hostileTails = [
  "..%2Falice%2Fprivate.txt",
  `${dotdots(9, "%2F")}etc%2Fhostname`,
  "%2e%2e%2Falice%2Fprivate.txt",
  "%2E%2E%2falice%2fprivate.txt",
  "..%5Calice%5Cprivate.txt",
  "..\\alice\\private.txt",
  "%252e%252e%252falice%252fprivate.txt",
  "..%252Falice%252Fprivate.txt",
  "sub%2F..%2F..%2Falice%2Fprivate.txt",
  ".%2F..%2Falice%2Fprivate.txt",
  "x%00%2F..%2F..%2Falice%2Fprivate.txt"
]

const storageOps: ReadonlyArray<readonly [method: string, op: string]> = [
  ["GET", "OPEN"],
  ["HEAD", "OPEN"],
  ["GET", "LISTSTATUS"],
  ["GET", "GETFILESTATUS"],
  ["GET", "GETDISKUSAGE"],
  ["PUT", "MKDIRS"],
  ["PUT", "CREATE"],
  ["PATCH", "WRITE"],
  ["DELETE", "DELETE"],
  ["POST", "RENAME"]
]

/**
 * A private folder holding the platform's data folder, so that "nothing appeared beside the data
 * folder" is checked without walking the shared temporary folder (other tests write there).
 */
const sandbox = fs.mkdtempSync(join(tmpdir(), "neuro-traversal-"))
afterAll(() => fs.rmSync(sandbox, { recursive: true, force: true }))

describe("path traversal", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["bob", "alice"], dataDir: join(sandbox, "data") }), { excludeTestServices: true })((it) => {
    const setUp = Effect.gen(function*() {
      const platform = yield* LocalPlatform.LocalPlatformTag
      const storageBase = `/api/v1/clusters/default/storage`
      const alice = { Authorization: `Bearer ${Redacted.value(platform.token("alice"))}` }
      const bob = { Authorization: `Bearer ${Redacted.value(platform.token("bob"))}` }
      yield* raw(platform.url, "PUT", `${storageBase}/alice/private.txt?op=CREATE`, alice, SECRET)
      yield* raw(platform.url, "PUT", `${storageBase}/bob/mine.txt?op=CREATE`, bob, "bob's file")
      return { platform, storageBase, alice, bob }
    })

    it.effect("storage: every method and operation refuses encoded, double-encoded and backslash `..`", () =>
      Effect.gen(function*() {
        const { bob, platform, storageBase } = yield* setUp
        const before = walk(dirname(platform.dataDir))
        const privateFile = join(platform.dataDir, "storage", "default", "alice", "private.txt")
        for (const tail of hostileTails) {
          for (const [method, op] of storageOps) {
            const extra = op === "RENAME" ? "&destination=%2Fbob%2Fstolen.txt" : ""
            const headers = op === "WRITE" ? { ...bob, "Content-Type": "application/octet-stream", "Content-Range": "bytes 0-3/*" } : bob
            const body = op === "CREATE" || op === "WRITE" ? "OWND" : undefined
            const answer = yield* raw(platform.url, method, `${storageBase}/bob/${tail}?op=${op}${extra}`, headers, body)
            const what = `${method} ${op} /bob/${tail} -> ${answer.status} ${answer.body.slice(0, 80)}`
            assert.isFalse(answer.body.includes(SECRET), what)
            assert.isFalse(answer.body.includes("private.txt"), what)
            assert.isFalse(/FileStatus"?:\s*\{[^}]*"type":"DIRECTORY"/.test(answer.body) && answer.status === 200 && op === "LISTSTATUS", what)
            if (tail.includes("252")) {
              // a double-encoded `..` is the literal name `%2e%2e` inside bob's folder: harmless, or refused
              assert.isTrue(answer.status < 500, what)
            } else {
              assert.isTrue(answer.status === 404 || answer.status === 400, what)
            }
          }
        }
        assert.strictEqual(fs.readFileSync(privateFile, "utf8"), SECRET)
        assert.isFalse(fs.existsSync(join(platform.dataDir, "storage", "default", "bob", "stolen.txt")))
        // nothing appeared outside the data folder, nor anywhere outside bob's own folder
        const after = walk(dirname(platform.dataDir))
        const added = after.filter((p) => !before.includes(p))
        const bobPrefix = join(platform.dataDir.slice(dirname(platform.dataDir).length + 1), "storage", "default", "bob") + "/"
        assert.deepStrictEqual(added.filter((p) => !p.startsWith(bobPrefix)), [])
      }))

    it.effect("storage: a create outside the data folder answers no 2xx and writes nothing", () =>
      Effect.gen(function*() {
        const { bob, platform, storageBase } = yield* setUp
        const name = `owned-${process.pid}-${Date.now()}.txt`
        const answer = yield* raw(platform.url, "PUT", `${storageBase}/bob/${dotdots(4, "%2F")}${name}?op=CREATE`, bob, "x")
        assert.strictEqual(answer.status, 404)
        let dir = platform.dataDir
        for (let i = 0; i < 6; i++) {
          assert.isFalse(fs.existsSync(join(dir, name)), dir)
          dir = dirname(dir)
        }
        const hostname = yield* raw(platform.url, "GET", `${storageBase}/bob/${dotdots(9, "%2F")}etc%2Fhostname?op=OPEN`, bob)
        assert.strictEqual(hostname.status, 404)
      }))

    it.effect("storage: a symlink planted in a user's folder (as a job could) leads nowhere", () =>
      Effect.gen(function*() {
        const { bob, platform, storageBase } = yield* setUp
        const bobDir = join(platform.dataDir, "storage", "default", "bob")
        fs.symlinkSync(join(platform.dataDir, "storage", "default", "alice"), join(bobDir, "link"))
        fs.symlinkSync(join(platform.dataDir, "storage", "default", "alice", "private.txt"), join(bobDir, "leaf.txt"))
        for (const [method, op] of storageOps) {
          const extra = op === "RENAME" ? "&destination=%2Fbob%2Fmoved.txt" : ""
          const headers = op === "WRITE" ? { ...bob, "Content-Type": "application/octet-stream", "Content-Range": "bytes 0-3/*" } : bob
          const body = op === "CREATE" || op === "WRITE" ? "OWND" : undefined
          const through = yield* raw(platform.url, method, `${storageBase}/bob/link/private.txt?op=${op}${extra}`, headers, body)
          assert.strictEqual(through.status, 404, `${method} ${op} through a directory symlink`)
          assert.isFalse(through.body.includes(SECRET))
        }
        // the leaf symlink itself is not followed: reading it is a 404, writing it does not write alice's file
        assert.strictEqual((yield* raw(platform.url, "GET", `${storageBase}/bob/leaf.txt?op=OPEN`, bob)).status, 404)
        const overwrite = yield* raw(platform.url, "PUT", `${storageBase}/bob/leaf.txt?op=CREATE`, bob, "OWND")
        assert.isTrue(overwrite.status >= 400, `create over a symlink: ${overwrite.status}`)
        const patch = yield* raw(platform.url, "PATCH", `${storageBase}/bob/leaf.txt?op=WRITE`, {
          ...bob,
          "Content-Type": "application/octet-stream",
          "Content-Range": "bytes 0-3/*"
        }, "OWND")
        assert.isTrue(patch.status >= 400, `write through a symlink: ${patch.status}`)
        assert.strictEqual(fs.readFileSync(join(platform.dataDir, "storage", "default", "alice", "private.txt"), "utf8"), SECRET)
        fs.rmSync(join(bobDir, "link"))
        fs.rmSync(join(bobDir, "leaf.txt"))
      }))

    it.effect("storage: a rename's destination cannot climb out either", () =>
      Effect.gen(function*() {
        const { bob, platform, storageBase } = yield* setUp
        for (const destination of ["/bob/../alice/taken.txt", "../alice/taken.txt", "/bob/%2e%2e/alice/taken.txt", "/bob/..\\alice"]) {
          const answer = yield* raw(
            platform.url,
            "POST",
            `${storageBase}/bob/mine.txt?op=RENAME&destination=${encodeURIComponent(destination)}`,
            bob
          )
          assert.isTrue(answer.status === 400 || answer.status === 404, `${destination}: ${answer.status}`)
        }
        assert.isTrue(fs.existsSync(join(platform.dataDir, "storage", "default", "bob", "mine.txt")))
        assert.isFalse(fs.existsSync(join(platform.dataDir, "storage", "default", "alice", "taken.txt")))
      }))

    it.effect("storage: the SDK's own `storage://default/bob/..%2Falice%2F...` reaches nothing", () =>
      Effect.gen(function*() {
        yield* setUp
        const storage = yield* Storage.Storage
        const read = yield* Effect.either(Stream.runCollect(storage.open("storage://default/bob/..%2Falice%2Fprivate.txt")))
        assert.strictEqual(read._tag, "Left")
        const rm = yield* Effect.either(storage.rm("storage://default/bob/..%2Falice%2Fprivate.txt"))
        assert.strictEqual(rm._tag, "Left")
        const platform = yield* LocalPlatform.LocalPlatformTag
        assert.strictEqual(fs.readFileSync(join(platform.dataDir, "storage", "default", "alice", "private.txt"), "utf8"), SECRET)
      }))

    // the SDK refuses `.`/`..` key segments (they cannot survive a URL); keys spelling them
    // percent-encoded are sent as literal names and must stay names
    it.effect("S3 keys are names, never paths: encoded `../` keys stay inside the bucket", () =>
      Effect.gen(function*() {
        const { platform } = yield* setUp
        const buckets = yield* Buckets.Buckets
        const bucket = yield* buckets.create({ name: "trav" })
        const before = walk(dirname(platform.dataDir))
        const key = `${dotdots(6, "%2F")}%2e%2e/owned-by-key.txt`
        yield* buckets.putBlob(bucket.id, key, new TextEncoder().encode("key data"))
        const back = yield* Stream.runCollect(buckets.fetchBlob(bucket.id, key)).pipe(
          Effect.map((chunks) => Buffer.concat([...chunks]).toString("utf8"))
        )
        assert.strictEqual(back, "key data")
        const host = yield* Effect.flip(Stream.runCollect(buckets.fetchBlob(bucket.id, `${dotdots(12, "%2F")}etc%2Fhostname`)))
        assert.strictEqual(host._tag, "ResourceNotFound")
        const added = walk(dirname(platform.dataDir)).filter((p) => !before.includes(p))
        const bucketsPrefix = join(platform.dataDir.slice(dirname(platform.dataDir).length + 1), "buckets") + "/"
        assert.isAbove(added.length, 0)
        assert.deepStrictEqual(added.filter((p) => !p.startsWith(bucketsPrefix)), [])
        assert.isFalse(added.some((p) => p.endsWith("owned-by-key.txt")))
      }))

    it.effect("registry: repositories, references, digests and uploads with `..` are refused", () =>
      Effect.gen(function*() {
        const { platform } = yield* setUp
        const auth = { Authorization: `Basic ${Buffer.from(`bob:${Redacted.value(platform.token("bob"))}`).toString("base64")}` }
        const paths: ReadonlyArray<readonly [string, string]> = [
          ["GET", "/v2/bob/..%2Falice%2Fimg/manifests/latest"],
          ["GET", "/v2/bob/..%2F..%2F..%2Fetc/tags/list"],
          ["GET", "/v2/bob/img/manifests/..%2F..%2F..%2F..%2Fetc%2Fhostname"],
          ["PUT", "/v2/bob/img/manifests/..%2F..%2Fowned"],
          ["GET", "/v2/bob/img/blobs/sha256:..%2F..%2F..%2Fetc%2Fhostname"],
          ["HEAD", "/v2/bob/img/blobs/..%2F..%2Fx"],
          ["PATCH", "/v2/bob/img/blobs/uploads/..%2F..%2F..%2Fowned"],
          ["PUT", "/v2/bob/img/blobs/uploads/..%2F..%2Fowned?digest=sha256:" + "0".repeat(64)],
          ["DELETE", "/v2/bob/img/manifests/..%2F..%2Falice"],
          ["GET", "/v2/%2e%2e/alice/img/tags/list"],
          ["GET", "/v2/bob/img%5C..%5C..%5Calice/tags/list"]
        ]
        const before = walk(dirname(platform.dataDir))
        for (const [method, path] of paths) {
          const answer = yield* raw(platform.url, method, path, { ...auth, "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" }, method === "PUT" || method === "PATCH" ? "{}" : undefined)
          assert.isTrue(answer.status >= 400 && answer.status < 500, `${method} ${path}: ${answer.status}`)
        }
        assert.deepStrictEqual(walk(dirname(platform.dataDir)).filter((p) => !before.includes(p)), [])
      }))

    it.effect("disks: ids with `..` are not found, and nothing is removed", () =>
      Effect.gen(function*() {
        const { alice, bob, platform } = yield* setUp
        const created = yield* raw(platform.url, "POST", "/api/v1/clusters/default/disk", { ...alice, "Content-Type": "application/json" }, JSON.stringify({ storage: 1024 }))
        assert.strictEqual(created.status, 201)
        const id = (JSON.parse(created.body) as { id: string }).id
        const diskDir = join(platform.dataDir, "disks", "default", id)
        assert.isTrue(fs.existsSync(diskDir))
        for (const tail of [`..%2F${id}`, `x%2F..%2F${id}`, `..%2F..%2Fstorage`, "..", "%2e%2e", `..%5C${id}`]) {
          for (const method of ["GET", "DELETE"]) {
            const answer = yield* raw(platform.url, method, `/api/v1/clusters/default/disk/${tail}`, bob)
            assert.isTrue(answer.status === 404 || answer.status === 400, `${method} disk/${tail}: ${answer.status}`)
          }
        }
        assert.isTrue(fs.existsSync(diskDir))
        assert.isTrue(fs.existsSync(join(platform.dataDir, "storage", "default", "alice", "private.txt")))
      }))
  })
})

describe("test hooks", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["bob", "alice"] }), { excludeTestServices: true })((it) => {
    it.effect("are off unless the platform is started with them", () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.LocalPlatformTag
        const bob = { Authorization: `Bearer ${Redacted.value(platform.token("bob"))}`, "Content-Type": "application/json" }
        const seed = yield* raw(platform.url, "POST", "/_local/jobs/seed", bob, JSON.stringify({ count: 3 }))
        assert.strictEqual(seed.status, 404)
        const hostile = yield* raw(platform.url, "POST", "/_local/storage/hostile", bob, JSON.stringify({ cluster: "default", path: "/bob", names: [".."] }))
        assert.strictEqual(hostile.status, 404)
        assert.strictEqual((yield* raw(platform.url, "GET", "/_local/ws-echo", bob)).status, 404)
      }))
  })

  layer(NeuroTest.layer({ transport: "socket", users: ["bob", "alice"], testHooks: true }), { excludeTestServices: true })((it) => {
    it.effect("act on the caller's own jobs and folders only", () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.LocalPlatformTag
        const as = (user: string) => ({ Authorization: `Bearer ${Redacted.value(platform.token(user))}`, "Content-Type": "application/json" })
        const foreign = yield* raw(platform.url, "POST", "/_local/jobs/seed", as("bob"), JSON.stringify({ count: 3, owner: "alice" }))
        assert.strictEqual(foreign.status, 403)
        const own = yield* raw(platform.url, "POST", "/_local/jobs/seed", as("bob"), JSON.stringify({ count: 2, owner: "bob" }))
        assert.strictEqual(own.status, 201)
        const aliceJobs = yield* raw(platform.url, "GET", "/api/v1/jobs", as("alice"))
        assert.deepStrictEqual((JSON.parse(aliceJobs.body) as { jobs: Array<unknown> }).jobs, [])
        const bobJobs = yield* raw(platform.url, "GET", "/api/v1/jobs", as("bob"))
        assert.strictEqual((JSON.parse(bobJobs.body) as { jobs: Array<unknown> }).jobs.length, 2)

        yield* raw(platform.url, "PUT", "/api/v1/clusters/default/storage/alice/a.txt?op=CREATE", as("alice"), "a")
        for (const path of ["/alice", "/bob/../alice", "/alice/sub"]) {
          const hostile = yield* raw(platform.url, "POST", "/_local/storage/hostile", as("bob"), JSON.stringify({ cluster: "default", path, names: ["../x"] }))
          assert.strictEqual(hostile.status, 403, path)
        }
        const listing = yield* raw(platform.url, "GET", "/api/v1/clusters/default/storage/alice?op=LISTSTATUS", as("alice"))
        assert.strictEqual(listing.status, 200)
        assert.isFalse(listing.body.includes("../x"))
        const mine = yield* raw(platform.url, "POST", "/_local/storage/hostile", as("bob"), JSON.stringify({ cluster: "default", path: "/bob", names: ["../x"] }))
        assert.strictEqual(mine.status, 204)
      }))
  })
})
