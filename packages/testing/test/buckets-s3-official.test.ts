/**
 * S3 buckets checked against code we did not write: LocalPlatform's `/s3` driven by the official
 * `@aws-sdk/client-s3` (objects, ranges, listing pages, multipart uploads, presigned URLs), our S3
 * provider against s3rver (a third-party S3 emulator started here), and the shared blob suite on
 * both s3rver and LocalPlatform's `aws` buckets.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { assert, describe, layer } from "@effect/vitest"
import { Buckets } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { fullSuite, type Target } from "./blobSuite.js"
import { s3rver } from "./thirdParty.js"

const MiB = 2 ** 20

const localTarget = (platform: LocalPlatform.LocalPlatform): Target => ({
  bucket: (name) => Effect.map(Effect.flatMap(Buckets.Buckets, (b) => b.create({ name })), (b) => ({ uri: `blob:${b.name}`, name: b.name! })),
  faults: { platform, path: /^\/s3\// }
})

const body = async (out: { Body?: { transformToByteArray: () => Promise<Uint8Array> } | undefined }) =>
  Buffer.from(await out.Body!.transformToByteArray())

describe("LocalPlatform's S3 endpoint and @aws-sdk/client-s3", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], clusters: [{ name: "default", bucketProvider: "aws" }] }), { excludeTestServices: true })((it) => {
    it.effect("objects, ranges, listing pages, multipart uploads, presigned URLs", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const b = yield* buckets.create({ name: "official" })
        assert.strictEqual(b.provider, "aws")
        const c = yield* buckets.requestTmpCredentials("official")
        const value = (k: string) => Redacted.value(c.credentials[k]!)
        const client = new S3Client({
          endpoint: value("endpoint_url"),
          region: value("region_name"),
          forcePathStyle: true,
          credentials: { accessKeyId: value("access_key_id"), secretAccessKey: value("secret_access_key"), sessionToken: value("session_token") },
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED"
        })
        const Bucket = value("bucket_name")
        const big = randomBytes(11 * MiB + 3)
        yield* Effect.promise(async () => {
          await client.send(new PutObjectCommand({ Bucket, Key: "dir/small.txt", Body: "hello from @aws-sdk/client-s3" }))
          for (let i = 0; i < 7; i++) await client.send(new PutObjectCommand({ Bucket, Key: `many/m${i}`, Body: String(i) }))
          const head = await client.send(new HeadObjectCommand({ Bucket, Key: "dir/small.txt" }))
          assert.strictEqual(head.ContentLength, 29)
          assert.instanceOf(head.LastModified, Date)
          const ranged = await client.send(new GetObjectCommand({ Bucket, Key: "dir/small.txt", Range: "bytes=6-9" }))
          assert.strictEqual(ranged.ContentRange, "bytes 6-9/29")
          assert.strictEqual((await body(ranged)).toString(), "from")
          // pages of 3, then by delimiter
          const pages: Array<Array<string>> = []
          let token: string | undefined
          do {
            const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: "many/", MaxKeys: 3, ContinuationToken: token }))
            pages.push((page.Contents ?? []).map((o) => o.Key!))
            token = page.NextContinuationToken
          } while (token !== undefined)
          assert.deepStrictEqual(pages, [["many/m0", "many/m1", "many/m2"], ["many/m3", "many/m4", "many/m5"], ["many/m6"]])
          const level = await client.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }))
          assert.deepStrictEqual((level.CommonPrefixes ?? []).map((p) => p.Prefix), ["dir/", "many/"])
          // multipart: two parts, completed; another aborted
          const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: "dir/big.bin" }))
          const parts = []
          for (const [i, slice] of [big.subarray(0, 6 * MiB), big.subarray(6 * MiB)].entries()) {
            const part = await client.send(new UploadPartCommand({ Bucket, Key: "dir/big.bin", UploadId, PartNumber: i + 1, Body: slice }))
            parts.push({ ETag: part.ETag!, PartNumber: i + 1 })
          }
          await client.send(new CompleteMultipartUploadCommand({ Bucket, Key: "dir/big.bin", UploadId, MultipartUpload: { Parts: parts } }))
          assert.isTrue((await body(await client.send(new GetObjectCommand({ Bucket, Key: "dir/big.bin" })))).equals(big))
          const aborted = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: "dir/never" }))
          await client.send(new AbortMultipartUploadCommand({ Bucket, Key: "dir/never", UploadId: aborted.UploadId }))
          const missing = await client.send(new HeadObjectCommand({ Bucket, Key: "dir/never" })).then(() => undefined, (e: unknown) => e)
          assert.instanceOf(missing, S3ServiceException)
          assert.strictEqual((missing as S3ServiceException).$metadata.httpStatusCode, 404)
          await client.send(new DeleteObjectCommand({ Bucket, Key: "dir/small.txt" }))
          const gone = await client.send(new GetObjectCommand({ Bucket, Key: "dir/small.txt" })).then(() => undefined, (e: unknown) => e)
          assert.strictEqual((gone as S3ServiceException).name, "NoSuchKey")
          // a wrong secret is refused
          const forged = new S3Client({
            endpoint: value("endpoint_url"),
            region: value("region_name"),
            forcePathStyle: true,
            credentials: { accessKeyId: value("access_key_id"), secretAccessKey: "wrong", sessionToken: value("session_token") },
            maxAttempts: 1
          })
          const refused = await forged.send(new GetObjectCommand({ Bucket, Key: "many/m1" })).then(() => undefined, (e: unknown) => e)
          assert.strictEqual((refused as S3ServiceException).name, "SignatureDoesNotMatch")
        })
        // what the official client wrote, our provider reads; the platform's presigned URL reads it with a plain GET
        assert.strictEqual((yield* buckets.headBlob("official", "dir/big.bin")).size, big.length)
        const signed = yield* buckets.makeSignedUrl("blob:official/many/m3")
        const fetched = yield* Effect.promise(() => fetch(signed).then(async (r) => [r.status, await r.text()] as const))
        assert.deepStrictEqual(fetched, [200, "3"])
      }), { timeout: 60_000 })

    it.effect("the blob suite on LocalPlatform's aws buckets: 500 files, 100 MB, pages, faults", () =>
      Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => fullSuite(localTarget(p))), { timeout: 300_000 })
  })
})

describe("Our S3 provider against s3rver", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"] }), { excludeTestServices: true })((it) => {
    /** A bucket made in s3rver, imported with s3rver's static keys. */
    const s3rverTarget = (url: string): Target => ({
      bucket: (name) =>
        Effect.gen(function*() {
          const bucketName = `${name}-${randomBytes(4).toString("hex")}`
          const client = new S3Client({ endpoint: url, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } })
          yield* Effect.promise(() => client.send(new CreateBucketCommand({ Bucket: bucketName })))
          const buckets = yield* Buckets.Buckets
          const bucket = yield* buckets.importExternal("aws", bucketName, {
            endpoint_url: url,
            region_name: "us-east-1",
            access_key_id: "S3RVER",
            secret_access_key: "S3RVER"
          }, { name: bucketName })
          return { uri: `blob:${bucket.name}`, name: bucket.name! }
        })
    })
    it.effect("the blob suite: 500 files, 100 MB, pages", () =>
      Effect.scoped(Effect.flatMap(s3rver, (s) => fullSuite(s3rverTarget(`http://${s.url}`)))), { timeout: 300_000 })
  })
})
