/**
 * The local S3 endpoint on the wire, driven the way botocore (neuro-sdk 23.2's S3 client) drives
 * it: requests signed here with a separate SigV4 implementation over node:crypto, with botocore's
 * habits (`?uploads` without `=`, an empty `Range:` header, `Expect: 100-continue`, CRC32 checksum
 * headers, `encoding-type=url`).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { Buckets } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createHash, createHmac } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const MiB = 2 ** 20

interface Keys {
  readonly endpoint: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secret: string
  readonly token: string | undefined
  readonly region: string
}

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

const stampOf = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

interface Call {
  readonly method: string
  readonly key?: string
  /** The query as sent on the wire (botocore writes `uploads` without `=`). */
  readonly rawQuery?: string
  readonly headers?: Record<string, string>
  readonly body?: Buffer
  readonly unsignedPayload?: boolean
  readonly date?: Date
  readonly region?: string
  readonly omitToken?: boolean
  readonly payloadHashOverride?: string
}

/** A botocore-like signed request: every `x-amz-*` header, `host`, `content-md5` and `range` are signed. */
const s3 = (k: Keys, call: Call) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const base = new URL(k.endpoint)
    const path = base.pathname.replace(/\/$/, "") + "/" + rfc3986(k.bucket) + (call.key === undefined ? "" : "/" + call.key.split("/").map(rfc3986).join("/"))
    const rawQuery = call.rawQuery ?? ""
    const canonicalQuery = rawQuery === ""
      ? ""
      : rawQuery.split("&").map((p) => (p.includes("=") ? p : p + "=")).sort().join("&")
    const date = call.date ?? new Date()
    const stamp = stampOf(date)
    const region = call.region ?? k.region
    const body = call.body ?? Buffer.alloc(0)
    const payload = call.payloadHashOverride ?? (call.unsignedPayload === true ? "UNSIGNED-PAYLOAD" : createHash("sha256").update(body).digest("hex"))
    const headers: Record<string, string> = {
      ...call.headers,
      "x-amz-date": stamp,
      "x-amz-content-sha256": payload
    }
    if (k.token !== undefined && call.omitToken !== true) headers["x-amz-security-token"] = k.token
    const signed: Record<string, string> = { host: base.host }
    for (const [n, v] of Object.entries(headers)) {
      const name = n.toLowerCase()
      if (name.startsWith("x-amz-") || name === "content-md5" || name === "range") signed[name] = v.trim()
    }
    const names = Object.keys(signed).sort()
    const canonical = [call.method, path, canonicalQuery, names.map((n) => `${n}:${signed[n]}\n`).join(""), names.join(";"), payload].join("\n")
    const scope = `${stamp.slice(0, 8)}/${region}/s3/aws4_request`
    const toSign = ["AWS4-HMAC-SHA256", stamp, scope, createHash("sha256").update(canonical).digest("hex")].join("\n")
    let key: Buffer = createHmac("sha256", "AWS4" + k.secret).update(stamp.slice(0, 8)).digest()
    for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest()
    const signature = createHmac("sha256", key).update(toSign).digest("hex")
    headers["authorization"] = `AWS4-HMAC-SHA256 Credential=${k.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`
    let request = HttpClientRequest.make(call.method as "GET")(`${base.origin}${path}${rawQuery === "" ? "" : "?" + rawQuery}`).pipe(
      HttpClientRequest.setHeaders(headers)
    )
    if (call.body !== undefined) request = HttpClientRequest.bodyUint8Array(request, call.body, "binary/octet-stream")
    const response = yield* http.execute(request)
    const bytes = Buffer.from(yield* response.arrayBuffer)
    return { status: response.status, headers: response.headers, body: bytes, text: bytes.toString("utf8") }
  })

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]

const keysOf = (creds: Buckets.BucketCredentials): Keys => {
  const v = (n: string) => {
    const r = creds.credentials[n]
    return r === undefined ? undefined : Redacted.value(r)
  }
  return {
    endpoint: v("endpoint_url")!,
    bucket: v("bucket_name")!,
    accessKeyId: v("access_key_id")!,
    secret: v("secret_access_key")!,
    token: v("session_token"),
    region: v("region_name")!
  }
}

describe("The local S3 endpoint, botocore-style", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], apiClient: { retry: { baseDelay: "10 millis" } } }), {
    excludeTestServices: true
  })((it) => {
    it.effect("objects, ranges, multipart and listings as botocore sends them", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        yield* buckets.create({ name: "boto" })
        const k = keysOf(yield* buckets.requestTmpCredentials("boto"))
        const body = Buffer.from("hello botocore")
        const md5 = createHash("md5").update(body).digest()
        const put = yield* s3(k, {
          method: "PUT",
          key: "dir/a b+c ж.txt",
          body,
          headers: {
            expect: "100-continue",
            "content-md5": md5.toString("base64"),
            "x-amz-checksum-crc32": "AAAAAA==",
            "x-amz-sdk-checksum-algorithm": "CRC32"
          }
        })
        assert.strictEqual(put.status, 200)
        assert.strictEqual(put.headers["etag"], `"${md5.toString("hex")}"`)
        assert.isDefined(put.headers["date"])
        // GetObject without offset carries an empty Range header
        const got = yield* s3(k, { method: "GET", key: "dir/a b+c ж.txt", headers: { range: "", "x-amz-checksum-mode": "ENABLED" } })
        assert.strictEqual(got.status, 200)
        assert.strictEqual(got.text, "hello botocore")
        const ranged = yield* s3(k, { method: "GET", key: "dir/a b+c ж.txt", headers: { range: "bytes=6-" } })
        assert.deepStrictEqual([ranged.status, ranged.text, ranged.headers["content-range"]], [206, "botocore", "bytes 6-13/14"])
        const suffix = yield* s3(k, { method: "GET", key: "dir/a b+c ж.txt", headers: { range: "bytes=-4" } })
        assert.strictEqual(suffix.text, "core")
        const beyond = yield* s3(k, { method: "GET", key: "dir/a b+c ж.txt", headers: { range: "bytes=99-" } })
        assert.strictEqual(beyond.status, 416)
        assert.strictEqual(tag(beyond.text, "Code"), "InvalidRange")
        const head = yield* s3(k, { method: "HEAD", key: "dir/a b+c ж.txt" })
        assert.deepStrictEqual([head.status, head.headers["content-length"], head.body.length], [200, "14", 0])
        assert.isFalse(Number.isNaN(Date.parse(head.headers["last-modified"]!)))
        const missing = yield* s3(k, { method: "HEAD", key: "nope" })
        assert.deepStrictEqual([missing.status, missing.body.length], [404, 0])
        const missingGet = yield* s3(k, { method: "GET", key: "nope" })
        assert.deepStrictEqual([missingGet.status, tag(missingGet.text, "Code")], [404, "NoSuchKey"])

        // multipart: ?uploads, parts (unsigned payload), complete, with the part-size rule
        const created = yield* s3(k, { method: "POST", key: "big.bin", rawQuery: "uploads" })
        const uploadId = tag(created.text, "UploadId")!
        assert.match(uploadId, /^[0-9a-f]{32}$/)
        const part1 = Buffer.alloc(5 * MiB, 1)
        const part2 = Buffer.from("tail")
        const etags: Array<string> = []
        for (const [n, data] of [[1, part1], [2, part2]] as const) {
          const r = yield* s3(k, {
            method: "PUT",
            key: "big.bin",
            rawQuery: `partNumber=${n}&uploadId=${uploadId}`,
            body: data,
            unsignedPayload: true,
            headers: { expect: "100-continue" }
          })
          assert.strictEqual(r.status, 200)
          etags.push(r.headers["etag"]!)
        }
        const wrongOrder = yield* s3(k, {
          method: "POST",
          key: "big.bin",
          rawQuery: `uploadId=${uploadId}`,
          body: Buffer.from(`<CompleteMultipartUpload><Part><ETag>${etags[1]}</ETag><PartNumber>2</PartNumber></Part><Part><ETag>${etags[0]}</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`)
        })
        assert.strictEqual(tag(wrongOrder.text, "Code"), "InvalidPartOrder")
        const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
          etags.map((e, i) => `<Part><ETag>${e.replace(/"/g, "&quot;")}</ETag><PartNumber>${i + 1}</PartNumber></Part>`).join("") +
          "</CompleteMultipartUpload>"
        const done = yield* s3(k, { method: "POST", key: "big.bin", rawQuery: `uploadId=${uploadId}`, body: Buffer.from(xml) })
        assert.strictEqual(done.status, 200)
        assert.match(tag(done.text, "ETag")!, /^&quot;[0-9a-f]{32}-2&quot;$/)
        const whole = yield* s3(k, { method: "GET", key: "big.bin" })
        assert.isTrue(whole.body.equals(Buffer.concat([part1, part2])))
        const gone = yield* s3(k, { method: "DELETE", key: "big.bin", rawQuery: `uploadId=${uploadId}` })
        assert.strictEqual(tag(gone.text, "Code"), "NoSuchUpload")
        // a part under 5 MiB that is not the last one is refused
        const small = yield* s3(k, { method: "POST", key: "small.bin", rawQuery: "uploads" })
        const sid = tag(small.text, "UploadId")!
        const sEtags: Array<string> = []
        for (const n of [1, 2]) {
          sEtags.push((yield* s3(k, { method: "PUT", key: "small.bin", rawQuery: `partNumber=${n}&uploadId=${sid}`, body: Buffer.from("x") })).headers["etag"]!)
        }
        const tooSmall = yield* s3(k, {
          method: "POST",
          key: "small.bin",
          rawQuery: `uploadId=${sid}`,
          body: Buffer.from(`<CompleteMultipartUpload>${sEtags.map((e, i) => `<Part><ETag>${e}</ETag><PartNumber>${i + 1}</PartNumber></Part>`).join("")}</CompleteMultipartUpload>`)
        })
        assert.strictEqual(tag(tooSmall.text, "Code"), "EntityTooSmall")
        const aborted = yield* s3(k, { method: "DELETE", key: "small.bin", rawQuery: `uploadId=${sid}` })
        assert.strictEqual(aborted.status, 204)

        // ListObjectsV2 with encoding-type=url and a delimiter; pages of max-keys
        for (const name of ["dir/x", "dir/y", "dir/sub/z", "other"]) yield* s3(k, { method: "PUT", key: name, body: Buffer.from(name) })
        const listing = yield* s3(k, { method: "GET", rawQuery: "list-type=2&prefix=dir%2F&delimiter=%2F&encoding-type=url" })
        assert.strictEqual(tag(listing.text, "EncodingType"), "url")
        const listedKeys = [...listing.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeURIComponent(m[1]!.replace(/\+/g, " ")))
        assert.deepStrictEqual(listedKeys, ["dir/a b+c ж.txt", "dir/x", "dir/y"])
        assert.deepStrictEqual([...listing.text.matchAll(/<Prefix>([^<]*)<\/Prefix>/g)].map((m) => m[1]), ["dir/", "dir/sub/"])
        const pages: Array<string> = []
        let token: string | undefined
        do {
          const page = yield* s3(k, { method: "GET", rawQuery: `list-type=2&max-keys=2${token === undefined ? "" : `&continuation-token=${encodeURIComponent(token)}`}` })
          pages.push(...[...page.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!))
          token = tag(page.text, "IsTruncated") === "true" ? tag(page.text, "NextContinuationToken") : undefined
        } while (token !== undefined)
        assert.deepStrictEqual(pages, ["big.bin", "dir/a b+c ж.txt", "dir/sub/z", "dir/x", "dir/y", "other"])
        const deleted = yield* s3(k, { method: "DELETE", key: "other" })
        assert.strictEqual(deleted.status, 204)
        assert.strictEqual((yield* s3(k, { method: "DELETE", key: "other" })).status, 204)
        yield* buckets.blobRm("blob:boto", { recursive: true })
        yield* buckets.rm("boto")
      }))

    it.effect("authentication failures", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        yield* buckets.create({ name: "auth" })
        const k = keysOf(yield* buckets.requestTmpCredentials("auth"))
        const code = (r: { readonly status: number; readonly text: string }) => `${r.status} ${tag(r.text, "Code")}`
        assert.strictEqual(code(yield* s3(k, { method: "GET", rawQuery: "list-type=2" })), "200 undefined")
        assert.strictEqual(code(yield* s3({ ...k, secret: k.secret + "x" }, { method: "GET", rawQuery: "list-type=2" })), "403 SignatureDoesNotMatch")
        assert.strictEqual(code(yield* s3(k, { method: "GET", rawQuery: "list-type=2", region: "eu-west-1" })), "400 AuthorizationHeaderMalformed")
        assert.strictEqual(code(yield* s3(k, { method: "GET", rawQuery: "list-type=2", date: new Date(Date.now() - 3600_000) })), "403 RequestTimeTooSkewed")
        assert.strictEqual(code(yield* s3(k, { method: "GET", rawQuery: "list-type=2", omitToken: true })), "400 InvalidToken")
        assert.strictEqual(code(yield* s3({ ...k, accessKeyId: "LPTMPNOPE" }, { method: "GET", rawQuery: "list-type=2" })), "403 InvalidAccessKeyId")
        assert.strictEqual(
          code(yield* s3(k, { method: "PUT", key: "x", body: Buffer.from("data"), payloadHashOverride: createHash("sha256").update("other").digest("hex") })),
          "400 XAmzContentSHA256Mismatch"
        )
        assert.strictEqual(code(yield* s3(k, { method: "PUT", key: "x", body: Buffer.from("data"), payloadHashOverride: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" })), "501 NotImplemented")
        assert.strictEqual(code(yield* s3({ ...k, bucket: "no-such-bucket" }, { method: "GET", rawQuery: "list-type=2" })), "404 NoSuchBucket")
        // a read-only key (bob-less: read-only persistent credentials) cannot write
        const ro = yield* buckets.persistentCredentialsCreate([(yield* buckets.get("auth")).id], { readOnly: true })
        const rk = keysOf(ro.credentials[0]!)
        assert.strictEqual(code(yield* s3(rk, { method: "GET", rawQuery: "list-type=2" })), "200 undefined")
        assert.strictEqual(code(yield* s3(rk, { method: "PUT", key: "x", body: Buffer.from("no") })), "403 AccessDenied")
        yield* buckets.rm("auth")
        // the bucket is gone, and so are the credentials
        assert.strictEqual(code(yield* s3(rk, { method: "GET", rawQuery: "list-type=2" })), "403 InvalidAccessKeyId")
      }))

    it.effect("transfers survive injected 503s and dropped connections", () =>
      Effect.gen(function*() {
        const buckets = yield* Buckets.Buckets
        const platform = yield* LocalPlatform.LocalPlatformTag
        yield* buckets.create({ name: "faulty" })
        const data = Buffer.alloc(12 * MiB + 5)
        for (let i = 0; i < data.length; i += 4096) data[i] = i % 251
        yield* platform.faults.failNext(503, { method: "PUT", path: "/s3/", times: 2 })
        yield* buckets.putBlob("faulty", "big.bin", Stream.make(new Uint8Array(data.subarray(0, 6 * MiB)), new Uint8Array(data.subarray(6 * MiB))))
        const dir = fs.mkdtempSync(join(tmpdir(), "neuro-buckets-faults-"))
        try {
          yield* platform.faults.dropNext({ method: "GET", path: "/s3/", times: 1 })
          yield* buckets.downloadFile("blob:faulty/big.bin", join(dir, "big.bin"))
          assert.isTrue(fs.readFileSync(join(dir, "big.bin")).equals(data))
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
        const got = Buffer.concat(Chunk.toArray(yield* Stream.runCollect(buckets.fetchBlob("faulty", "big.bin", { offset: 12 * MiB }))))
        assert.isTrue(got.equals(data.subarray(12 * MiB)))
        yield* buckets.blobRm("blob:faulty", { recursive: true })
        yield* buckets.rm("faulty")
      }), { timeout: 60_000 })
  })
})
