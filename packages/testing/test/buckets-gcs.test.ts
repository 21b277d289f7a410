/**
 * Google Cloud Storage buckets: LocalPlatform's GCS endpoint driven by the official
 * `@google-cloud/storage` client (pointed at it with `apiEndpoint`), then the SDK's GCS provider
 * against the same endpoint: the shared blob suite, and a service-account key (`key_data`) turned
 * into tokens at the endpoint's token URI. Last, Azure and GCS buckets over the in-process transport.
 */
import { Storage } from "@google-cloud/storage"
import { assert, describe, layer } from "@effect/vitest"
import { Buckets } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { OAuth2Client } from "google-auth-library"
import { randomBytes } from "node:crypto"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { fullSuite, type Target } from "./blobSuite.js"

const localTarget = (platform: LocalPlatform.LocalPlatform): Target => ({
  bucket: (name) => Effect.map(Effect.flatMap(Buckets.Buckets, (b) => b.create({ name })), (b) => ({ uri: `blob:${b.name}`, name: b.name! })),
  faults: { platform, path: /^\/gcs\// }
})

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

describe("GCS buckets on LocalPlatform", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], clusters: [{ name: "default", bucketProvider: "gcp" }] }), { excludeTestServices: true })((it) => {
    it.effect("@google-cloud/storage drives the endpoint with the token the platform hands out", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const b = yield* buckets.create({ name: "official" })
        assert.strictEqual(b.provider, "gcp")
        const c = yield* buckets.requestTmpCredentials("official")
        const value = (k: string) => Redacted.value(c.credentials[k]!)
        assert.sameMembers(Object.keys(c.credentials), ["bucket_name", "project", "access_token", "expire_time", "endpoint_url"])
        const auth = new OAuth2Client()
        auth.setCredentials({ access_token: value("access_token"), expiry_date: Date.parse(value("expire_time")) })
        const storage = new Storage({ apiEndpoint: value("endpoint_url"), projectId: value("project"), authClient: auth, useAuthWithCustomEndpoint: true })
        const bucket = storage.bucket(value("bucket_name"))
        const big = randomBytes(3 * 2 ** 20 + 5)
        yield* Effect.promise(async () => {
          await bucket.file("dir/small.txt").save(Buffer.from("hello from @google-cloud/storage"), { resumable: false })
          // a resumable upload in chunks of 1 MiB, checked with CRC32C and MD5 by the client
          // (8.4.0 does not authenticate a save's session creation at a custom endpoint, although
          // createResumableUpload does: the session is made first, and is its own authorization)
          const [session] = await bucket.file("dir/big.bin").createResumableUpload()
          await bucket.file("dir/big.bin").save(big, { resumable: true, uri: session, chunkSize: 2 ** 20, validation: "crc32c" })
          for (let i = 0; i < 7; i++) await bucket.file(`many/m${i}`).save(Buffer.from(String(i)), { resumable: false })
          const [metadata] = await bucket.file("dir/big.bin").getMetadata()
          assert.strictEqual(Number(metadata.size), big.length)
          const [whole] = await bucket.file("dir/big.bin").download({ validation: "crc32c" })
          assert.isTrue(whole.equals(big))
          const [part] = await bucket.file("dir/big.bin").download({ start: 1000, end: 5999 })
          assert.isTrue(part.equals(big.subarray(1000, 6000)))
          // listing pages of 3, and by delimiter
          const pages: Array<Array<string>> = []
          type Query = { prefix: string; maxResults: number; autoPaginate: false; pageToken?: string }
          let query: Query | undefined = { prefix: "many/", maxResults: 3, autoPaginate: false }
          while (query !== undefined) {
            const answer: [Array<{ name: string }>, unknown, unknown] = await bucket.getFiles(query)
            pages.push(answer[0].map((f) => f.name))
            query = (answer[1] as Query | null) ?? undefined
          }
          assert.deepStrictEqual(pages, [["many/m0", "many/m1", "many/m2"], ["many/m3", "many/m4", "many/m5"], ["many/m6"]])
          const [top, , api] = await bucket.getFiles({ delimiter: "/", autoPaginate: false })
          assert.deepStrictEqual(top, [])
          assert.deepStrictEqual((api as { prefixes?: Array<string> }).prefixes, ["dir/", "many/"])
          assert.deepStrictEqual((await bucket.file("absent").exists())[0], false)
          await bucket.file("dir/small.txt").delete()
          assert.deepStrictEqual((await bucket.file("dir/small.txt").exists())[0], false)
          const missing = await bucket.file("dir/small.txt").delete().then(() => undefined, (e: unknown) => e)
          assert.strictEqual((missing as { code?: number }).code, 404)
          // a token that is not the platform's is refused
          const other = new OAuth2Client()
          other.setCredentials({ access_token: "ya29.forged", expiry_date: Date.now() + 3600_000 })
          const forged = new Storage({ apiEndpoint: value("endpoint_url"), projectId: value("project"), authClient: other, useAuthWithCustomEndpoint: true, retryOptions: { autoRetry: false } })
          const refused = await forged.bucket(value("bucket_name")).file("dir/big.bin").getMetadata().then(() => undefined, (e: unknown) => e)
          assert.strictEqual((refused as { code?: number }).code, 401)
        })
        // what the official client wrote, our provider reads
        assert.strictEqual((yield* buckets.headBlob("official", "dir/big.bin")).size, big.length)
        const back = yield* Effect.map(collect(buckets.fetchBlob("official", "dir/big.bin", { offset: 10 })), (cs) => Buffer.concat(cs.map((x) => Buffer.from(x))))
        assert.isTrue(back.equals(big.subarray(10)))
        const signed = yield* buckets.makeSignedUrl("blob:official/many/m3")
        const fetched = yield* Effect.promise(() => fetch(signed).then(async (r) => [r.status, await r.text()] as const))
        assert.deepStrictEqual(fetched, [200, "3"])
        const tampered = yield* Effect.promise(() => fetch(signed.href.replace("many%2Fm3", "many%2Fm4").replace("many/m3", "many/m4")).then((r) => r.status))
        assert.strictEqual(tampered, 403)
      }), { timeout: 60_000 })

    it.effect("persistent credentials carry a service-account key; its tokens come from the token URI", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const b = yield* buckets.create({ name: "keyed" })
        yield* buckets.putBlob("keyed", "a/b.txt", new TextEncoder().encode("by key"))
        const persistent = yield* buckets.persistentCredentialsCreate([b.id], { name: "reader", readOnly: true })
        const creds = persistent.credentials[0]!.credentials
        assert.sameMembers(Object.keys(creds), ["bucket_name", "project", "key_data", "endpoint_url"])
        const plain = Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, Redacted.value(v)]))
        const imported = yield* buckets.importExternal("gcp", plain["bucket_name"]!, plain, { name: "by-key" })
        assert.deepStrictEqual((yield* collect(buckets.listBlobs("blob:by-key/", { recursive: true }))).map((e) => e.key), ["a/b.txt"])
        const text = yield* Effect.map(collect(buckets.fetchBlob("by-key", "a/b.txt")), (cs) => Buffer.concat(cs.map((x) => Buffer.from(x))).toString())
        assert.strictEqual(text, "by key")
        // a public bucket is read without a token; a private one is refused
        const anonymous = `${plain["endpoint_url"]}/storage/v1/b/${plain["bucket_name"]}/o/${encodeURIComponent("a/b.txt")}?alt=media`
        assert.strictEqual(yield* Effect.promise(() => fetch(anonymous).then((r) => r.status)), 401)
        yield* buckets.setPublicAccess("keyed", true)
        assert.deepStrictEqual(yield* Effect.promise(() => fetch(anonymous).then(async (r) => [r.status, await r.text()])), [200, "by key"])
        assert.strictEqual(yield* Effect.promise(() => fetch(anonymous.replace("?alt=media", ""), { method: "DELETE" }).then((r) => r.status)), 401)
        // read only: writing is refused
        const denied = yield* Effect.flip(buckets.putBlob("by-key", "x", new Uint8Array(1)))
        assert.strictEqual(denied._tag, "AuthorizationError")
        // once the credential is gone, its key gets no token
        yield* buckets.persistentCredentialsRm(persistent.id)
        const gone = yield* Effect.flip(buckets.headBlob(imported.id, "a/b.txt"))
        assert.strictEqual(gone._tag, "IllegalArgumentError")
      }), { timeout: 60_000 })

    it.effect("the blob suite: 500 files, 100 MB, pages, faults", () =>
      Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => fullSuite(localTarget(p))), { timeout: 300_000 })
  })
})

describe("Azure and GCS buckets in-process (no socket)", () => {
  for (const provider of ["azure", "gcp"] as const) {
    layer(NeuroTest.layer({ transport: "in-process", users: ["alice"], clusters: [{ name: "default", bucketProvider: provider }] }))((it) => {
      it.effect(`${provider}: put, list, fetch from an offset, rm`, () =>
        Effect.gen(function*() {
          const buckets = yield* Buckets.Buckets
          yield* buckets.create({ name: "inproc" })
          yield* buckets.putBlob("inproc", "d/k.txt", new TextEncoder().encode("in-process"))
          assert.deepStrictEqual((yield* collect(buckets.listBlobs("blob:inproc/d/"))).map((e) => e.key), ["d/k.txt"])
          const tail = yield* Effect.map(collect(buckets.fetchBlob("inproc", "d/k.txt", { offset: 3 })), (cs) => Buffer.concat(cs.map((x) => Buffer.from(x))).toString())
          assert.strictEqual(tail, "process")
          yield* buckets.blobRm("blob:inproc/d", { recursive: true })
          assert.deepStrictEqual(yield* collect(buckets.listBlobs("blob:inproc/", { recursive: true })), [])
        }))
    })
  }
})
