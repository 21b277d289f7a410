/**
 * The blob suite every bucket provider runs unchanged (LocalPlatform's `aws`, `azure` and `gcp`
 * buckets, the Azure provider on Azurite, the S3 provider on s3rver): a tree of 500 files and a
 * 100 MB blob up and down byte-identical, the blob primitives over more than one listing page, and,
 * where the server can inject them, faults during transfers.
 */
import { assert } from "@effect/vitest"
import { Buckets } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { LocalPlatform } from "../src/index.js"
import { tempDirNamed } from "./transferHelpers.js"

const MiB = 2 ** 20

/** Where the suite's buckets come from. */
export interface Target {
  /** A fresh empty bucket: its `blob:` URI without a trailing slash, and its name or id for the `*Blob` calls. */
  readonly bucket: (name: string) => Effect.Effect<{ readonly uri: string; readonly name: string }, unknown, Buckets.Buckets>
  /** The platform and the path of the provider's endpoint, when the server injects faults. */
  readonly faults?: { readonly platform: LocalPlatform.LocalPlatform; readonly path: RegExp } | undefined
}

export const tempDir = tempDirNamed("neuro-blob-suite-")

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

export const readAll = <E, R>(s: Stream.Stream<Uint8Array, E, R>) => Effect.map(collect(s), (chunks) => Buffer.concat(chunks.map((c) => Buffer.from(c))))

/** Deterministic pseudo-random bytes (a linear congruential sequence from `seed`). */
export const seeded = (size: number, seed: number) => {
  let x = seed
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    out[i] = x & 0xff
  }
  return out
}

/** Every file (hash) and folder of a local tree, by relative path. */
export const snapshot = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        out.set(rel + e.name + "/", "dir")
        walk(p, rel + e.name + "/")
      } else out.set(rel + e.name, createHash("sha256").update(fs.readFileSync(p)).digest("hex"))
    }
  }
  walk(dir, "")
  return out
}

/** 10 folders × 5 sub-folders × 10 files = 500 files (a few empty, some with spaces), and an empty folder. */
const makeTree = (dir: string) => {
  let n = 0
  for (let d = 0; d < 10; d++) {
    for (let s = 0; s < 5; s++) {
      const sub = join(dir, `d${d}`, s === 4 ? "sub four" : `s${s}`)
      fs.mkdirSync(sub, { recursive: true })
      for (let f = 0; f < 10; f++) fs.writeFileSync(join(sub, `f${f}.bin`), seeded(n % 97 === 0 ? 0 : (n * 131) % 3000, ++n))
    }
  }
  fs.mkdirSync(join(dir, "empty"))
  return n
}

const fileHash = (path: string) => createHash("sha256").update(fs.readFileSync(path)).digest("hex")

/** The tree up and down: byte-identical, listed, measured, then removed. */
export const treeRoundTrip = (target: Target) =>
  Effect.gen(function*() {
    const buckets = yield* Buckets.Buckets
    const { uri } = yield* target.bucket("tree")
    const src = yield* tempDir
    const back = yield* tempDir
    const files = makeTree(src)
    assert.strictEqual(files, 500)
    let completed = 0
    yield* buckets.uploadDir(pathToFileURL(src), `${uri}/tree`, {
      progress: (e) => Effect.sync(() => void (e._tag === "StorageProgressComplete" && completed++))
    })
    assert.strictEqual(completed, 500)
    const listed = yield* collect(buckets.listBlobs(`${uri}/tree/`, { recursive: true }))
    assert.strictEqual(listed.filter((e) => e.isFile()).length, 500)
    assert.isTrue(yield* buckets.blobIsDir(`${uri}/tree/empty`))
    yield* buckets.downloadDir(`${uri}/tree`, pathToFileURL(back))
    assert.deepStrictEqual(snapshot(back), snapshot(src))
    const globbed = yield* collect(buckets.globBlobs(`${uri}/tree/d3/s[0-9]/f1.bin`))
    assert.sameMembers(globbed.map((e) => e.key), ["tree/d3/s0/f1.bin", "tree/d3/s1/f1.bin", "tree/d3/s2/f1.bin", "tree/d3/s3/f1.bin"])
    yield* buckets.blobRm(`${uri}/tree`, { recursive: true })
    assert.deepStrictEqual(yield* collect(buckets.listBlobs(`${uri}/`, { recursive: true })), [])
  }).pipe(Effect.scoped)

/** One 100 MB blob up and down (byte-identical), and a read from an offset near its end. */
export const bigBlob = (target: Target, size = 100 * MiB) =>
  Effect.gen(function*() {
    const buckets = yield* Buckets.Buckets
    const { name: bucketName, uri } = yield* target.bucket("big")
    const dir = yield* tempDir
    fs.writeFileSync(join(dir, "big.bin"), randomBytes(size))
    const steps: Array<number> = []
    yield* buckets.uploadFile(pathToFileURL(join(dir, "big.bin")), `${uri}/data/big.bin`, {
      progress: (e) => Effect.sync(() => void (e._tag === "StorageProgressStep" && steps.push(e.current)))
    })
    assert.strictEqual(steps[steps.length - 1], size)
    assert.isAbove(steps.length, 1)
    const head = yield* buckets.headBlob(bucketName, "data/big.bin")
    assert.strictEqual(head.size, size)
    yield* buckets.downloadFile(`${uri}/data/big.bin`, pathToFileURL(join(dir, "back.bin")))
    assert.strictEqual(fileHash(join(dir, "back.bin")), fileHash(join(dir, "big.bin")))
    const tail = yield* readAll(buckets.fetchBlob(bucketName, "data/big.bin", { offset: size - 1000 }))
    assert.isTrue(tail.equals(fs.readFileSync(join(dir, "big.bin")).subarray(size - 1000)))
    yield* buckets.deleteBlob(bucketName, "data/big.bin")
  }).pipe(Effect.scoped)

/** The primitives: put/head/fetch/delete, listings over more than one page, limits, glob, usage, rm. */
export const primitives = (target: Target) =>
  Effect.gen(function*() {
    const buckets = yield* Buckets.Buckets
    const { name, uri } = yield* target.bucket("prims")
    const keys = Array.from({ length: 1050 }, (_, i) => `page/k${String(i).padStart(4, "0")}`)
    yield* Effect.forEach(keys, (k) => buckets.putBlob(name, k, new TextEncoder().encode(k)), { concurrency: 16, discard: true })
    yield* buckets.putBlob(name, "top.txt", new TextEncoder().encode("hello, blob"))
    const all = yield* collect(buckets.listBlobs(`${uri}/page/`, { recursive: true }))
    assert.deepStrictEqual(all.map((e) => e.key), keys)
    assert.strictEqual((yield* collect(buckets.listBlobs(`${uri}/page/`, { limit: 7 }))).length, 7)
    const root = yield* collect(buckets.listBlobs(`${uri}/`))
    // GCS lists a page's objects before its prefixes (neuro-sdk does the same)
    assert.sameDeepMembers(root.map((e) => [e.key, e.isDir()]), [["page/", true], ["top.txt", false]])
    const head = yield* buckets.headBlob(name, "top.txt")
    assert.strictEqual(head.size, 11)
    assert.isNotNull(head.modifiedAt)
    assert.strictEqual((yield* readAll(buckets.fetchBlob(name, "top.txt", { offset: 7 }))).toString(), "blob")
    const globbed = yield* collect(buckets.globBlobs(`${uri}/page/k104*`))
    assert.deepStrictEqual(globbed.map((e) => e.key), keys.slice(1040, 1050))
    const usage = yield* collect(buckets.getDiskUsage(name))
    assert.deepStrictEqual([usage[usage.length - 1]!.objectCount, usage[usage.length - 1]!.totalBytes], [1051, 1050 * 10 + 11])
    assert.strictEqual((yield* Effect.flip(buckets.headBlob(name, "absent")))._tag, "ResourceNotFound")
    assert.strictEqual((yield* Effect.flip(Stream.runDrain(buckets.fetchBlob(name, "absent"))))._tag, "ResourceNotFound")
    yield* buckets.deleteBlob(name, "top.txt")
    assert.strictEqual((yield* Effect.flip(buckets.headBlob(name, "top.txt")))._tag, "ResourceNotFound")
    yield* buckets.blobRm(`${uri}/page`, { recursive: true })
    assert.deepStrictEqual(yield* collect(buckets.listBlobs(`${uri}/`, { recursive: true })), [])
  })

/** Injected 503s and dropped connections during an upload (in parts) and a download: the bytes arrive intact. */
export const faults = (target: Target) =>
  Effect.gen(function*() {
    if (target.faults === undefined) return
    const { path, platform } = target.faults
    const buckets = yield* Buckets.Buckets
    const { uri } = yield* target.bucket("faults")
    const dir = yield* tempDir
    const data = seeded(25 * MiB + 3, 7)
    fs.writeFileSync(join(dir, "f.bin"), data)
    yield* platform.faults.failNext(503, { method: "PUT", path, times: 2 })
    yield* platform.faults.dropNext({ method: "PUT", path, times: 1 })
    yield* buckets.uploadFile(pathToFileURL(join(dir, "f.bin")), `${uri}/f.bin`)
    yield* platform.faults.failNext(503, { method: "GET", path, times: 1 })
    yield* platform.faults.dropNext({ method: "GET", path, times: 1 })
    yield* buckets.downloadFile(`${uri}/f.bin`, pathToFileURL(join(dir, "back.bin")))
    yield* platform.faults.clear
    assert.isTrue(fs.readFileSync(join(dir, "back.bin")).equals(data))
  }).pipe(Effect.scoped)

/** The whole suite, one part after the other (a 100 MB blob once per provider). */
export const fullSuite = (target: Target) =>
  Effect.gen(function*() {
    yield* primitives(target)
    yield* treeRoundTrip(target)
    yield* bigBlob(target)
    yield* faults(target)
  })
