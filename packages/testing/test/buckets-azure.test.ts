/**
 * Azure Blob buckets: the SDK's Azure provider against LocalPlatform's Azure endpoint (the shared
 * blob suite, over a socket), the official `@azure/storage-blob` client against LocalPlatform, and
 * the SDK's Azure provider against Azurite, Microsoft's emulator, started here on a free loopback
 * port.
 */
import {
  ContainerClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  RestError,
  StorageSharedKeyCredential
} from "@azure/storage-blob"
import { assert, describe, layer } from "@effect/vitest"
import { Buckets } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { fullSuite, type Target } from "./blobSuite.js"
import { azurite } from "./thirdParty.js"

/** Azurite's well-known development account. */
const AZURITE_ACCOUNT = "devstoreaccount1"
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

const localTarget = (platform: LocalPlatform.LocalPlatform): Target => ({
  bucket: (name) => Effect.map(Effect.flatMap(Buckets.Buckets, (b) => b.create({ name })), (b) => ({ uri: `blob:${b.name}`, name: b.name! })),
  faults: { platform, path: /^\/azure\// }
})

describe("Azure buckets on LocalPlatform, our provider over a socket", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], clusters: [{ name: "default", bucketProvider: "azure" }] }), { excludeTestServices: true })((it) => {
    it.effect("created buckets are azure ones with SAS credentials", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const b = yield* buckets.create({ name: "shape" })
        assert.strictEqual(b.provider, "azure")
        const c = yield* buckets.requestTmpCredentials("shape")
        assert.sameMembers(Object.keys(c.credentials), ["bucket_name", "storage_endpoint", "sas_token", "expiry"])
      }))
    it.effect("the blob suite: 500 files, 100 MB, pages, faults", () =>
      Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => fullSuite(localTarget(p))), { timeout: 300_000 })

    it.effect("persistent credentials are a SAS naming the credential: it works until the credential is removed", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const b = yield* buckets.create({ name: "kept" })
        yield* buckets.putBlob("kept", "a.txt", new TextEncoder().encode("kept"))
        const persistent = yield* buckets.persistentCredentialsCreate([b.id], { readOnly: true })
        const creds = persistent.credentials[0]!.credentials
        assert.sameMembers(Object.keys(creds), ["bucket_name", "storage_endpoint", "sas_token"])
        const plain = Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, Redacted.value(v)]))
        assert.match(plain["sas_token"]!, new RegExp(`si=${persistent.id}`))
        yield* buckets.importExternal("azure", plain["bucket_name"]!, plain, { name: "by-sas" })
        assert.strictEqual((yield* buckets.headBlob("by-sas", "a.txt")).size, 4)
        assert.strictEqual((yield* Effect.flip(buckets.putBlob("by-sas", "b.txt", new Uint8Array(1))))._tag, "AuthorizationError")
        yield* buckets.persistentCredentialsRm(persistent.id)
        assert.strictEqual((yield* Effect.flip(buckets.headBlob("by-sas", "a.txt")))._tag, "AuthorizationError")
        // a public bucket is read without a SAS; a private one answers 404, as Azure
        const anonymous = `${plain["storage_endpoint"]}/${plain["bucket_name"]}/a.txt`
        assert.strictEqual(yield* Effect.promise(() => fetch(anonymous).then((r) => r.status)), 404)
        yield* buckets.setPublicAccess("kept", true)
        assert.deepStrictEqual(yield* Effect.promise(() => fetch(anonymous).then(async (r) => [r.status, await r.text()])), [200, "kept"])
        assert.strictEqual(yield* Effect.promise(() => fetch(anonymous, { method: "DELETE" }).then((r) => r.status)), 404)
        // the platform's request log keeps no SAS signature
        const sig = new URLSearchParams(plain["sas_token"]!).get("sig")!
        const logged = (yield* (yield* LocalPlatform.LocalPlatformTag).requests).filter((r) => r.path.startsWith("/azure/"))
        assert.isNotEmpty(logged)
        assert.isTrue(logged.some((r) => r.query.includes("sig=%3Credacted%3E")))
        assert.isTrue(logged.every((r) => !r.query.includes(encodeURIComponent(sig)) && !r.query.includes(sig)))
      }))

    it.effect("@azure/storage-blob drives the endpoint with the SAS the platform hands out", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        yield* buckets.create({ name: "official" })
        const c = yield* buckets.requestTmpCredentials("official")
        const value = (k: string) => Redacted.value(c.credentials[k]!)
        const container = new ContainerClient(`${value("storage_endpoint")}/${value("bucket_name")}?${value("sas_token")}`)
        yield* Effect.promise(async () => {
          const small = Buffer.from("hello from @azure/storage-blob")
          await container.getBlockBlobClient("dir/small.txt").uploadData(small)
          // larger than the single-shot size: staged blocks and a block list
          const big = randomBytes(5 * 2 ** 20 + 17)
          await container.getBlockBlobClient("dir/big.bin").uploadData(big, { maxSingleShotSize: 2 ** 20, blockSize: 2 ** 20 })
          for (let i = 0; i < 7; i++) await container.getBlockBlobClient(`many/m${i}`).uploadData(Buffer.from(String(i)))
          const props = await container.getBlobClient("dir/big.bin").getProperties()
          assert.strictEqual(props.contentLength, big.length)
          assert.strictEqual(props.blobType, "BlockBlob")
          assert.isTrue((await container.getBlobClient("dir/big.bin").downloadToBuffer()).equals(big))
          const ranged = await container.getBlobClient("dir/big.bin").downloadToBuffer(1000, 5000)
          assert.isTrue(ranged.equals(big.subarray(1000, 6000)))
          // listing pages of 3, flat and by hierarchy
          const pages: Array<Array<string>> = []
          for await (const page of container.listBlobsFlat({ prefix: "many/" }).byPage({ maxPageSize: 3 })) {
            pages.push(page.segment.blobItems.map((b) => b.name))
          }
          assert.deepStrictEqual(pages, [["many/m0", "many/m1", "many/m2"], ["many/m3", "many/m4", "many/m5"], ["many/m6"]])
          const level: Array<string> = []
          for await (const item of container.listBlobsByHierarchy("/")) level.push(item.kind === "prefix" ? `prefix:${item.name}` : item.name)
          assert.deepStrictEqual(level, ["prefix:dir/", "prefix:many/"])
          assert.isFalse(await container.getBlobClient("absent").exists())
          await container.getBlobClient("dir/small.txt").delete()
          assert.isFalse(await container.getBlobClient("dir/small.txt").exists())
          const missing = await container.getBlobClient("dir/small.txt").delete().then(() => undefined, (e: unknown) => e)
          assert.instanceOf(missing, RestError)
          assert.strictEqual((missing as RestError).statusCode, 404)
          assert.strictEqual((missing as RestError).code, "BlobNotFound")
          // a tampered signature is refused
          const forged = new ContainerClient(`${value("storage_endpoint")}/${value("bucket_name")}?${value("sas_token").replace(/sig=[^&]+/, "sig=AAAA")}`)
          const refused = await forged.getBlobClient("dir/big.bin").getProperties().then(() => undefined, (e: unknown) => e)
          assert.strictEqual((refused as RestError).statusCode, 403)
        })
        // what the official client wrote, our provider reads
        assert.strictEqual((yield* buckets.headBlob("official", "dir/big.bin")).size, 5 * 2 ** 20 + 17)
        const signed = yield* buckets.makeSignedUrl("blob:official/many/m3")
        const fetched = yield* Effect.promise(() => fetch(signed).then(async (r) => [r.status, await r.text()] as const))
        assert.deepStrictEqual(fetched, [200, "3"])
      }), { timeout: 60_000 })
  })
})

describe("Our Azure provider against Azurite", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"] }), { excludeTestServices: true })((it) => {
    /** A container made in Azurite with the account key, imported with a container SAS, as an imported azure bucket would be. */
    const azuriteTarget = (url: string): Target => ({
      bucket: (name) =>
        Effect.gen(function*() {
          const endpoint = `${url}/${AZURITE_ACCOUNT}`
          const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
          const containerName = `${name}-${randomBytes(4).toString("hex")}`
          yield* Effect.promise(() => new ContainerClient(`${endpoint}/${containerName}`, key).create())
          const expiresOn = new Date(Date.now() + 3600_000)
          const sas = generateBlobSASQueryParameters(
            { containerName, permissions: ContainerSASPermissions.parse("racwdl"), expiresOn },
            key
          ).toString()
          const buckets = yield* Buckets.Buckets
          const bucket = yield* buckets.importExternal("azure", containerName, {
            storage_endpoint: endpoint,
            sas_token: sas,
            expiry: expiresOn.toISOString()
          }, { name: containerName })
          return { uri: `blob:${bucket.name}`, name: bucket.name! }
        })
    })
    it.effect("the blob suite: 500 files, 100 MB, pages", () =>
      Effect.scoped(Effect.flatMap(azurite, (a) => fullSuite(azuriteTarget(a.url)))), { timeout: 300_000 })
  })
})
