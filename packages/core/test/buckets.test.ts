import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Buckets, Config, Endpoints, ServerConfig, WebSocket } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { makeConfigStub } from "./configStub.js"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createHash, createHmac } from "node:crypto"
import { inspect } from "node:util"
import { amzDate, canonicalQuery, signHeaders } from "../src/internal/buckets/sigV4.js"
import { parseXml } from "../src/internal/buckets/xml.js"

// ---------------------------------------------------------------------------------------------
// a fake platform + S3 endpoint
// ---------------------------------------------------------------------------------------------

const API = "https://api.example.org/api/v1"
const S3 = "https://s3.test.example/store"
const SECRET = "t0p-s3cret-value-NEVER-LOGGED"
const TOKEN = "sess10n-t0ken-NEVER-LOGGED"

interface Recorded {
  readonly method: string
  readonly url: URL
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
const text = (body: string, status = 200, headers: Record<string, string> = {}) => new Response(body, { status, headers })
const xml = (body: string, status = 200) => text(`<?xml version="1.0" encoding="UTF-8"?>${body}`, status, { "content-type": "application/xml" })

const cluster = (name: string) =>
  new ServerConfig.Cluster({
    name,
    orgs: [null],
    registryUrl: `https://registry.${name}.example.org`,
    storageUrl: `https://${name}.example.org/api/v1/storage`,
    usersUrl: `https://${name}.example.org/api/v1/users`,
    monitoringUrl: `https://${name}.example.org/api/v1/jobs`,
    secretsUrl: `https://${name}.example.org/api/v1/secrets`,
    disksUrl: `https://${name}.example.org/api/v1/disk`,
    bucketsUrl: `https://${name}.example.org/api/v1/buckets`,
    presets: new Map()
  })

const clusters = [cluster("c1"), cluster("c2")]

const configStub = (orgName: string | null) => makeConfigStub({ apiUrl: API, clusters, orgName })

const fake = (handler: (r: Recorded) => Response, orgName: string | null = null) => {
  const requests: Array<Recorded> = []
  const http = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const recorded: Recorded = { method: request.method, url, body, headers: request.headers }
      requests.push(recorded)
      return HttpClientResponse.fromWeb(request, handler(recorded))
    })
  )
  const infra = Layer.mergeAll(
    Layer.succeed(HttpClient.HttpClient, http),
    AuthToken.layerStatic(Redacted.make("token")),
    Endpoints.layer({ apiUrl: API, clusters, clusterName: "c1" }),
    Layer.succeed(
      WebSocket.WebSocketDialer,
      WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
    )
  )
  const api = ApiClient.layer({ retry: false }).pipe(Layer.provide(infra))
  const layer = Buckets.layer.pipe(
    Layer.provide(Layer.mergeAll(api, Layer.succeed(Config.Config, configStub(orgName)), NodeFileSystem.layer, NodePath.layer))
  )
  return { requests, layer }
}

const wire = {
  id: "bucket-3f9c2a1e-7b1d-4a55-9d3e-0c6f1b2a9e77",
  owner: "alice",
  name: "training-data",
  org_name: null,
  provider: "minio",
  created_at: "2023-02-14T09:31:07.412938+00:00",
  imported: false,
  public: false
}

const credentialsWire = (provider = "minio", extra: Record<string, string> = {}) => ({
  bucket_id: wire.id,
  provider,
  read_only: false,
  credentials: {
    bucket_name: "neuro-pl-1a2b3c4d5e-alice-training-data9c41d0e2b7aa",
    endpoint_url: S3,
    region_name: "us-east-1",
    access_key_id: "TMPKEY7Q2X",
    secret_access_key: SECRET,
    session_token: TOKEN,
    expiration: new Date(Date.now() + 3600_000).toISOString(),
    ...extra
  }
})

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const isPlatform = (r: Recorded) => r.url.host === "c1.example.org" || r.url.host === "c2.example.org"

/** Platform answers: the bucket on find/by_path and get, credentials on make_tmp_credentials. */
const platform = (r: Recorded, bucket: Record<string, unknown> = wire, creds: unknown = credentialsWire()) => {
  if (r.url.pathname.endsWith("/make_tmp_credentials")) return json(creds)
  return json(bucket)
}

// ---------------------------------------------------------------------------------------------
// models and the platform API
// ---------------------------------------------------------------------------------------------

describe("Buckets (wire)", () => {
  it.effect("decodes buckets (JSON list and NDJSON), defaults and derived URIs", () => {
    const lines = [
      wire,
      { id: "bucket-2", owner: "bob", provider: "aws", created_at: "2023-02-14T09:31:07", project_name: "ignored" },
      { ...wire, id: "bucket-3", org_name: "acme", imported: true, public: true, provider: "open_stack" }
    ]
    const answers = [
      json(lines),
      text(lines.map((l) => JSON.stringify(l)).join("\n") + "\n", 200, { "content-type": "application/x-ndjson" })
    ]
    const p = fake(() => answers.shift()!)
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      for (const clusterName of [undefined, "c2"]) {
        const all = yield* collect(buckets.list(clusterName === undefined ? {} : { clusterName }))
        assert.strictEqual(all.length, 3)
        const [a, b, c] = all
        assert.strictEqual(a!.id, wire.id)
        assert.strictEqual(a!.provider, Buckets.Bucket.Provider.MINIO)
        assert.strictEqual(a!.createdAt.toISOString(), "2023-02-14T09:31:07.412Z")
        assert.isFalse(a!.imported)
        assert.strictEqual(a!.clusterName, clusterName ?? "c1")
        assert.strictEqual(a!.uri.href, `blob://${clusterName ?? "c1"}/alice/training-data`)
        assert.isNull(b!.name)
        assert.isNull(b!.orgName)
        assert.isFalse(b!.public)
        assert.strictEqual(b!.uri.href, `blob://${clusterName ?? "c1"}/bob/bucket-2`)
        assert.isTrue(c!.imported && c!.public)
        assert.strictEqual(c!.uri.href, `blob://${clusterName ?? "c1"}/acme/alice/training-data`)
      }
      assert.strictEqual(p.requests[0]!.url.href, "https://c1.example.org/api/v1/buckets/buckets")
      assert.strictEqual(p.requests[0]!.headers["accept"], "application/x-ndjson")
      assert.strictEqual(p.requests[1]!.url.href, "https://c2.example.org/api/v1/buckets/buckets")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("create, import, get, set public, rm, credentials: paths, queries and bodies of neuro-sdk 23.2", () => {
    const p = fake((r) => {
      if (r.url.pathname.endsWith("/make_tmp_credentials")) return json(credentialsWire())
      if (r.method === "DELETE") return new Response(null, { status: 204 })
      if (r.url.pathname.endsWith("/sign_blob_url")) return json({ url: "https://s3.test.example/signed?X-Amz-Signature=abc" })
      if (r.url.pathname.endsWith("/by_path")) return json({ ...wire, org_name: "acme" })
      return json(wire, r.method === "POST" ? 201 : 200)
    }, "acme")
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      yield* buckets.create({ name: "training-data" })
      yield* buckets.create({ orgName: null, clusterName: "c2" })
      yield* buckets.importExternal("aws", "my-company-raw", { access_key_id: "AK", secret_access_key: Redacted.make("sk") }, { name: "ext" })
      yield* buckets.get("training-data", { bucketOwner: "bob" })
      yield* buckets.get(wire.id)
      yield* buckets.setPublicAccess("training-data", true, { bucketOwner: "bob" })
      yield* buckets.rm("training-data", { clusterName: "c2" })
      const creds = yield* buckets.requestTmpCredentials("training-data", { bucketOwner: "bob" })
      const url = yield* buckets.makeSignedUrl("blob:training-data/folder/file.bin", { expiresInSeconds: 60 })
      const r = p.requests
      assert.deepStrictEqual([r[0]!.method, r[0]!.url.href, JSON.parse(r[0]!.body)], [
        "POST",
        "https://c1.example.org/api/v1/buckets/buckets",
        { name: "training-data", org_name: "acme" }
      ])
      assert.deepStrictEqual(JSON.parse(r[1]!.body), { name: null, org_name: null })
      assert.strictEqual(r[1]!.url.host, "c2.example.org")
      assert.strictEqual(r[2]!.url.pathname, "/api/v1/buckets/buckets/import/external")
      assert.deepStrictEqual(JSON.parse(r[2]!.body), {
        name: "ext",
        provider: "aws",
        provider_bucket_name: "my-company-raw",
        credentials: { access_key_id: "AK", secret_access_key: "sk" },
        org_name: "acme"
      })
      assert.strictEqual(r[3]!.url.href, "https://c1.example.org/api/v1/buckets/buckets/training-data?owner=bob")
      assert.strictEqual(r[4]!.url.href, `https://c1.example.org/api/v1/buckets/buckets/${wire.id}`)
      assert.deepStrictEqual([r[5]!.method, r[5]!.url.search, JSON.parse(r[5]!.body)], ["PATCH", "?owner=bob", { public: true }])
      assert.deepStrictEqual([r[6]!.method, r[6]!.url.href], ["DELETE", "https://c2.example.org/api/v1/buckets/buckets/training-data"])
      assert.deepStrictEqual([r[7]!.method, r[7]!.url.href, r[7]!.body], [
        "POST",
        "https://c1.example.org/api/v1/buckets/buckets/training-data/make_tmp_credentials?owner=bob",
        ""
      ])
      assert.strictEqual(creds.bucketId, wire.id)
      assert.strictEqual(Redacted.value(creds.credentials["access_key_id"]!), "TMPKEY7Q2X")
      // make_signed_url: find/by_path with the org-qualified path, then sign with the bucket's id and owner
      assert.strictEqual(r[8]!.url.pathname, "/api/v1/buckets/buckets/find/by_path")
      assert.strictEqual(r[8]!.url.searchParams.get("path"), "acme/alice/training-data/folder/file.bin")
      assert.strictEqual(r[9]!.url.href, `https://c1.example.org/api/v1/buckets/buckets/${wire.id}/sign_blob_url?owner=alice`)
      assert.deepStrictEqual(JSON.parse(r[9]!.body), { key: "folder/file.bin", expires_in_sec: 60 })
      assert.strictEqual(url.href, "https://s3.test.example/signed?X-Amz-Signature=abc")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("persistent credentials: list, create, get, rm", () => {
    const item = {
      id: "bucket-credentials-0b7e6f3a",
      name: "ci-reader",
      owner: "alice",
      read_only: true,
      credentials: [credentialsWire()]
    }
    const p = fake((r) => (r.method === "DELETE" ? new Response(null, { status: 204 }) : json(r.method === "GET" && r.url.pathname.endsWith("credentials") ? [item] : item)))
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const all = yield* collect(buckets.persistentCredentialsList({ clusterName: "c2" }))
      assert.strictEqual(all[0]!.clusterName, "c2")
      assert.isTrue(all[0]!.readOnly)
      assert.strictEqual(all[0]!.credentials[0]!.provider, "minio")
      const made = yield* buckets.persistentCredentialsCreate(new Set([wire.id]), { name: "ci-reader", readOnly: true })
      yield* buckets.persistentCredentialsCreate([wire.id])
      yield* buckets.persistentCredentialsGet("ci-reader")
      yield* buckets.persistentCredentialsRm("ci-reader")
      assert.strictEqual(made.name, "ci-reader")
      const r = p.requests
      assert.strictEqual(r[0]!.url.href, "https://c2.example.org/api/v1/buckets/persistent_credentials")
      assert.deepStrictEqual(JSON.parse(r[1]!.body), { name: "ci-reader", bucket_ids: [wire.id], read_only: true })
      assert.deepStrictEqual(JSON.parse(r[2]!.body), { name: null, bucket_ids: [wire.id], read_only: false })
      assert.strictEqual(r[3]!.url.href, "https://c1.example.org/api/v1/buckets/persistent_credentials/ci-reader")
      assert.strictEqual(r[4]!.method, "DELETE")
    }).pipe(Effect.provide(p.layer))
  })

  const bad: ReadonlyArray<readonly [string, () => Response, string]> = [
    ["an unknown provider (emc_ecs)", () => json({ ...wire, provider: "emc_ecs" }), "MalformedResponse"],
    ["a missing id", () => json({ ...wire, id: undefined }), "MalformedResponse"],
    ["a bad date", () => json({ ...wire, created_at: "yesterday" }), "MalformedResponse"],
    ["not JSON", () => text("<html>oops</html>", 200, { "content-type": "text/html" }), "MalformedResponse"],
    ["a 404 text", () => text("Bucket x not found", 404), "ResourceNotFound"],
    ["a 403 missing-permissions body", () => json({ missing: [{ uri: "blob://c1/bob/x", action: "read" }] }, 403), "AuthorizationError"],
    ["a 409 unique", () => json({ code: "unique", description: "Bucket with given name exists" }, 409), "IllegalArgumentError"],
    ["a 422 disabled", () => json({ code: "disabled", description: "disabled" }, 422), "IllegalArgumentError"],
    ["a 502", () => text("bad gateway", 502), "ServerNotAvailable"]
  ]
  for (const [what, answer, tag] of bad) {
    it.effect(`get: ${what} → ${tag}`, () => {
      const p = fake(answer)
      return Effect.gen(function*() {
        const e = yield* Effect.flip((yield* Buckets.Buckets).get("x"))
        assert.strictEqual(e._tag, tag)
        if (tag === "AuthorizationError") assert.include(e.message, "blob://c1/bob/x")
      }).pipe(Effect.provide(p.layer))
    })
  }

  it.effect("bad answers elsewhere are typed errors", () => {
    const answers = [
      text(`${JSON.stringify(wire)}\n{"error": "storage exploded"}\n`, 200, { "content-type": "application/x-ndjson" }),
      json({ ...credentialsWire(), credentials: { access_key_id: 5 } }),
      json({ id: "c", owner: "alice", credentials: [{ bucket_id: "b", provider: "minio" }] }),
      json(wire),
      json({ url: "not a url" }),
      json({ nope: true })
    ]
    const p = fake(() => answers.shift()!)
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const listed = yield* Effect.flip(collect(buckets.list()))
      assert.strictEqual(listed._tag, "NDJSONError")
      assert.include(listed.message, "storage exploded")
      assert.strictEqual((yield* Effect.flip(buckets.requestTmpCredentials("x")))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(buckets.persistentCredentialsGet("c")))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(buckets.makeSignedUrl("blob:training-data/k")))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(collect(buckets.persistentCredentialsList())))._tag, "MalformedResponse")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("URIs: other schemes and bad blob URIs are refused before any request", () => {
    const p = fake(() => json(wire))
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      for (const uri of ["storage:x", "https://c1/bucket/object", "blob://c1/alice/b/o?x=1", "blob://c1:1234/alice/b"]) {
        assert.strictEqual((yield* Effect.flip(collect(buckets.listBlobs(uri))))._tag, "InvalidInputError", uri)
      }
      assert.strictEqual(p.requests.length, 0)
      // a trailing slash answers without a request (neuro-sdk)
      assert.isTrue(yield* buckets.blobIsDir("blob:training-data/dir/"))
      assert.strictEqual(p.requests.length, 0)
    }).pipe(Effect.provide(p.layer))
  })
})

describe("Bucket.getKeyForUri (uris.md O1, with our two fixes)", () => {
  const bucket = (name: string | null, org: string | null = null) =>
    new Buckets.Bucket({
      id: "bucket-123",
      owner: "user",
      clusterName: "default",
      orgName: org,
      provider: "aws",
      createdAt: new Date(0),
      imported: false,
      public: false,
      name
    })
  const rows: ReadonlyArray<readonly [string, string | undefined]> = [
    ["blob://default/user/my-bucket/path/to/key", "path/to/key"],
    ["blob://default/user/bucket-123/a/b", "a/b"],
    ["blob://default/user/my-bucket", ""],
    ["blob://default/user/my-bucket//x", "x"],
    // fixed: neuro-sdk keeps `a%20b`
    ["blob://default/user/my-bucket/a%20b", "a b"],
    // fixed: neuro-sdk answers `-other/x` (plain string prefix)
    ["blob://default/user/my-bucket-other/x", undefined],
    ["blob://default/user/other/x", undefined],
    ["blob://default/user/my-bucket/dir/", "dir/"]
  ]
  for (const [uri, key] of rows) {
    it(`${uri} → ${key ?? "error"}`, () => {
      const result = bucket("my-bucket").getKeyForUri(uri)
      if (key === undefined) {
        assert.isTrue(Either.isLeft(result))
        assert.include(Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value.message : "")), "not related to bucket blob://default/user/my-bucket")
      } else assert.deepStrictEqual(result, Either.right(key))
    })
  }
  it("org and unnamed buckets", () => {
    const b = bucket(null, "org")
    assert.strictEqual(b.uri.href, "blob://default/org/user/bucket-123")
    assert.deepStrictEqual(b.getKeyForUri("blob://default/org/user/bucket-123/k"), Either.right("k"))
    assert.isTrue(Either.isLeft(b.getKeyForUri("blob://default/user/bucket-123/k")))
  })
  it("entries: name, uri, isDir", () => {
    const b = bucket("my-bucket")
    const marker = new Buckets.BlobObject({ key: "a/b/", bucket: b, size: 0, createdAt: null, modifiedAt: null })
    const withData = new Buckets.BlobObject({ key: "a/b/", bucket: b, size: 3, createdAt: null, modifiedAt: null })
    const prefix = new Buckets.BlobCommonPrefix({ key: "a/c d/", bucket: b, size: 0, createdAt: null, modifiedAt: null })
    assert.strictEqual(marker.name, "b")
    assert.isTrue(marker.isDir() && !marker.isFile())
    assert.isTrue(withData.isFile())
    assert.isTrue(prefix.isDir())
    assert.strictEqual(prefix.uri.href, "blob://default/user/my-bucket/a/c%20d/")
  })
})

// ---------------------------------------------------------------------------------------------
// SigV4 and XML
// ---------------------------------------------------------------------------------------------

describe("SigV4 (AWS documentation examples)", () => {
  const key = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Redacted.make("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") }
  const date = new Date(Date.UTC(2013, 4, 24))
  const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  const base = { host: "examplebucket.s3.amazonaws.com", region: "us-east-1", service: "s3", date }
  const cases = [
    {
      name: "GET Object with Range",
      req: { ...base, method: "GET", path: "/test.txt", query: [], headers: { range: "bytes=0-9" }, payloadHash: empty },
      signed: "host;range;x-amz-content-sha256;x-amz-date",
      signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    },
    {
      name: "GET Bucket lifecycle",
      req: { ...base, method: "GET", path: "/", query: [["lifecycle", ""]] as const, headers: {}, payloadHash: empty },
      signed: "host;x-amz-content-sha256;x-amz-date",
      signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    },
    {
      name: "GET Bucket (list objects)",
      req: { ...base, method: "GET", path: "/", query: [["max-keys", "2"], ["prefix", "J"]] as const, headers: {}, payloadHash: empty },
      signed: "host;x-amz-content-sha256;x-amz-date",
      signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    }
  ]
  for (const c of cases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const headers = yield* signHeaders(key, c.req)
        assert.strictEqual(headers["x-amz-date"], "20130524T000000Z")
        assert.strictEqual(
          headers["authorization"],
          `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=${c.signed}, Signature=${c.signature}`
        )
      }))
  }
  it.effect("PUT Object (payload hash, extra headers) agrees with an independent node:crypto signer", () =>
    Effect.gen(function*() {
      const body = "Welcome to Amazon S3."
      const payloadHash = createHash("sha256").update(body).digest("hex")
      assert.strictEqual(payloadHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
      const headers = yield* signHeaders({ ...key, sessionToken: Redacted.make("tok") }, {
        ...base,
        method: "PUT",
        path: "/test%24file.text",
        query: [],
        headers: { date: "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY" },
        payloadHash
      })
      const signedNames = "date;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-storage-class"
      const canonical = [
        "PUT",
        "/test%24file.text",
        "",
        `date:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:${payloadHash}\n` +
        `x-amz-date:20130524T000000Z\nx-amz-security-token:tok\nx-amz-storage-class:REDUCED_REDUNDANCY\n`,
        signedNames,
        payloadHash
      ].join("\n")
      const scope = "20130524/us-east-1/s3/aws4_request"
      const toSign = ["AWS4-HMAC-SHA256", "20130524T000000Z", scope, createHash("sha256").update(canonical).digest("hex")].join("\n")
      let k: Buffer = createHmac("sha256", "AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").update("20130524").digest()
      for (const part of ["us-east-1", "s3", "aws4_request"]) k = createHmac("sha256", k).update(part).digest()
      const expected = createHmac("sha256", k).update(toSign).digest("hex")
      assert.strictEqual(headers["authorization"], `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/${scope}, SignedHeaders=${signedNames}, Signature=${expected}`)
      assert.strictEqual(headers["x-amz-security-token"], "tok")
    }))
  it("canonical query and dates", () => {
    assert.strictEqual(canonicalQuery([["prefix", "a b/c~*"], ["list-type", "2"], ["uploads", ""]]), "list-type=2&prefix=a%20b%2Fc~%2A&uploads=")
    assert.strictEqual(amzDate(new Date(Date.UTC(2023, 1, 14, 9, 31, 7, 412))), "20230214T093107Z")
  })
})

describe("S3 XML", () => {
  it("parses elements, entities and CDATA; reports bad documents", () => {
    const doc = parseXml(`<?xml version="1.0"?><!-- c --><R a="1"><K>a &amp; b &#x41;&#66;</K><E/><C><![CDATA[<x>]]></C></R>`)
    assert.isFalse(typeof doc === "string")
    if (typeof doc !== "string") {
      assert.strictEqual(doc.name, "R")
      assert.deepStrictEqual(doc.children.map((c) => [c.name, c.text]), [["K", "a & b AB"], ["E", ""], ["C", "<x>"]])
    }
    for (const badDoc of ["", "<a><b></a>", "<a>", "<a/><b/>", "x<a/>", "<a>&bogus;</a>"]) {
      assert.isTrue(typeof parseXml(badDoc) === "string", badDoc)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// the S3 provider against a fake endpoint
// ---------------------------------------------------------------------------------------------

const listXml = (opts: { contents?: ReadonlyArray<readonly [string, number]>; prefixes?: ReadonlyArray<string>; next?: string; url?: boolean }) =>
  xml(
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>` +
      (opts.url === true ? "<EncodingType>url</EncodingType>" : "") +
      `<IsTruncated>${opts.next !== undefined}</IsTruncated>` +
      (opts.next !== undefined ? `<NextContinuationToken>${opts.next}</NextContinuationToken>` : "") +
      (opts.contents ?? []).map(([k, s]) => `<Contents><Key>${k}</Key><LastModified>2023-02-14T09:31:07.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>${s}</Size></Contents>`).join("") +
      (opts.prefixes ?? []).map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join("") +
      "</ListBucketResult>"
  )

describe("Buckets over S3 (fake endpoint)", () => {
  it.effect("list pages with continuation, url-decoded keys, prefixes first, limit", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r)
      if (r.url.searchParams.get("continuation-token") === "page2") return listXml({ contents: [["z+z%2B.txt", 3]], url: true })
      return listXml({ contents: [["a%20b", 1]], prefixes: ["dir%2F/"], next: "page2", url: true })
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const all = yield* collect(buckets.listBlobs("blob:training-data/", { recursive: false }))
      assert.deepStrictEqual(all.map((e) => [e._tag, e.key]), [
        ["BlobCommonPrefix", "dir//"],
        ["BlobObject", "a b"],
        ["BlobObject", "z z+.txt"]
      ])
      assert.strictEqual(all[1]!.modifiedAt!.toISOString(), "2023-02-14T09:31:07.000Z")
      const s3 = p.requests.filter((r) => !isPlatform(r))
      assert.strictEqual(s3[0]!.url.pathname, "/store/neuro-pl-1a2b3c4d5e-alice-training-data9c41d0e2b7aa")
      assert.strictEqual(s3[0]!.url.search, "?delimiter=%2F&encoding-type=url&list-type=2&prefix=")
      assert.match(s3[0]!.headers["authorization"]!, /^AWS4-HMAC-SHA256 Credential=TMPKEY7Q2X\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/)
      assert.strictEqual(s3[0]!.headers["x-amz-security-token"], TOKEN)
      assert.notInclude(s3[0]!.headers["authorization"]!, "Bearer")
      assert.strictEqual(s3[1]!.url.searchParams.get("continuation-token"), "page2")
      const limited = yield* collect(buckets.listBlobs("blob:training-data/", { limit: 1 }))
      assert.strictEqual(limited.length, 1)
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("missing objects are ResourceNotFound (head and fetch); other S3 errors keep their code", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r)
      if (r.method === "HEAD") return text("", 404)
      if (r.url.pathname.endsWith("/denied")) return xml("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", 403)
      return xml("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>", 404)
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const head = yield* Effect.flip(buckets.headBlob("training-data", "nope"))
      assert.strictEqual(head._tag, "ResourceNotFound")
      assert.include(head.message, "There is no object with key nope in bucket training-data")
      const fetched = yield* Effect.flip(collect(buckets.fetchBlob("training-data", "nope")))
      assert.strictEqual(fetched._tag, "ResourceNotFound")
      const denied = yield* Effect.flip(collect(buckets.fetchBlob("training-data", "denied")))
      assert.strictEqual(denied._tag, "AuthorizationError")
      assert.include(denied.message, "AccessDenied: Access Denied")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("bad S3 answers are MalformedResponse", () => {
    const answers = [
      xml("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
      xml("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>"),
      xml("<NotAList/>"),
      text("<ListBucketResult><Contents>", 200),
      text("", 200, { "last-modified": "Tue, 14 Feb 2023 09:31:07 GMT" })
    ]
    const p = fake((r) => (isPlatform(r) ? platform(r) : answers.shift()!))
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      for (let i = 0; i < 4; i++) {
        assert.strictEqual((yield* Effect.flip(collect(buckets.listBlobs("blob:training-data/"))))._tag, "MalformedResponse", String(i))
      }
      assert.strictEqual((yield* Effect.flip(buckets.headBlob("training-data", "k")))._tag, "MalformedResponse")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("bad or incomplete credentials are MalformedResponse, for every provider", () => {
    const of = (provider: string, credentials: Record<string, string>) => ({ bucket_id: wire.id, provider, credentials })
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ ...credentialsWire(), credentials: { bucket_name: "b", access_key_id: "a" } }, "MalformedResponse"],
      [credentialsWire("minio", { expiration: "soon" }), "MalformedResponse"],
      [credentialsWire("minio", { endpoint_url: "ftp://x" }), "MalformedResponse"],
      [of("azure", { bucket_name: "b", sas_token: "sv=2021-12-02&sig=x" }), "MalformedResponse"],
      [of("azure", { bucket_name: "b", storage_endpoint: "http://127.0.0.1:1/a" }), "MalformedResponse"],
      [of("azure", { bucket_name: "b", storage_endpoint: "http://127.0.0.1:1/a", sas_token: "sig=x", expiry: "later" }), "MalformedResponse"],
      [of("gcp", { bucket_name: "b", project: "p" }), "MalformedResponse"],
      [of("gcp", { bucket_name: "b", key_data: "not base64 of a key" }), "MalformedResponse"],
      [of("gcp", { bucket_name: "b", access_token: "t", expire_time: "later" }), "MalformedResponse"]
    ]
    return Effect.gen(function*() {
      for (const [creds, tag] of cases) {
        const provider = (creds as { provider: string }).provider
        const p = fake((r) => (isPlatform(r) ? platform(r, { ...wire, provider }, creds) : listXml({})))
        const e = yield* Effect.flip(collect(Effect.flatMap(Buckets.Buckets, (b) => Effect.succeed(b.listBlobs("blob:training-data/"))).pipe(Stream.unwrap))).pipe(
          Effect.provide(p.layer)
        )
        assert.strictEqual(e._tag, tag, JSON.stringify(creds))
        // nothing was sent to a provider
        assert.isTrue(p.requests.every(isPlatform))
      }
    })
  })

  it.effect("temporary credentials close to expiry are renewed before the next S3 request", () => {
    const issued = [
      credentialsWire("minio", { access_key_id: "OLDKEY", expiration: new Date(Date.now() + 5 * 60_000).toISOString() }),
      credentialsWire("minio", { access_key_id: "NEWKEY" })
    ]
    const p = fake((r) => (isPlatform(r) ? (r.url.pathname.endsWith("make_tmp_credentials") ? json(issued.shift()) : json(wire)) : listXml({})))
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      yield* collect(buckets.listBlobs("blob:training-data/"))
      const s3 = p.requests.filter((r) => !isPlatform(r))
      assert.strictEqual(p.requests.filter((r) => r.url.pathname.endsWith("make_tmp_credentials")).length, 2)
      assert.match(s3[0]!.headers["authorization"]!, /Credential=NEWKEY\//)
      // static keys (no expiration) are used as they are, without a session token
      const staticKeys = fake((r) =>
        isPlatform(r)
          ? platform(r, wire, { ...credentialsWire(), credentials: { bucket_name: "b", endpoint_url: S3, access_key_id: "STATIC", secret_access_key: "s" } })
          : listXml({})
      )
      yield* collect(Stream.unwrap(Effect.map(Buckets.Buckets, (b) => b.listBlobs("blob:training-data/")))).pipe(Effect.provide(staticKeys.layer))
      const req = staticKeys.requests.find((r) => !isPlatform(r))!
      assert.match(req.headers["authorization"]!, /Credential=STATIC\/\d{8}\/us-east-1\//)
      assert.isUndefined(req.headers["x-amz-security-token"])
      assert.strictEqual(req.url.pathname, "/store/b")
    }).pipe(Effect.provide(p.layer))
  })

  it.live("a failing streamed upload aborts its multipart upload (a part answered 500 is sent 4 times)", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r)
      if (r.method === "POST" && r.url.searchParams.has("uploads")) {
        return xml("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>")
      }
      if (r.method === "PUT") return xml("<Error><Code>InternalError</Code><Message>boom</Message></Error>", 500)
      return new Response(null, { status: 204 })
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const e = yield* Effect.flip(buckets.putBlob("training-data", "k", Stream.make(new Uint8Array([1, 2, 3]))))
      assert.include(e.message, "InternalError: boom")
      const s3 = p.requests.filter((r) => !isPlatform(r))
      const part = "PUT ?partNumber=1&uploadId=U1"
      assert.deepStrictEqual(s3.map((r) => `${r.method} ${r.url.search}`), ["POST ?uploads=", part, part, part, part, "DELETE ?uploadId=U1"])
      assert.strictEqual(s3[1]!.headers["x-amz-content-sha256"], createHash("sha256").update(Buffer.from([1, 2, 3])).digest("hex"))
      // keys with dot segments cannot go through a URL
      assert.strictEqual((yield* Effect.flip(buckets.putBlob("training-data", "a/../b", new Uint8Array(1))))._tag, "InvalidInputError")
    }).pipe(Effect.provide(p.layer))
  })
})

// ---------------------------------------------------------------------------------------------
// credentials never leak
// ---------------------------------------------------------------------------------------------

describe("Bucket credentials stay secret", () => {
  it.effect("not in JSON.stringify, String, inspect, errors or logs", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message, cause }) => {
      logs.push(inspect(message, { depth: 10 }) + String(cause))
    })
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r)
      return xml("<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>", 403)
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const creds = yield* buckets.requestTmpCredentials("training-data")
      const persistent = new Buckets.PersistentBucketCredentials({
        id: "c",
        owner: "alice",
        clusterName: "c1",
        name: null,
        readOnly: false,
        credentials: [creds]
      })
      const e = yield* Effect.flip(collect(buckets.listBlobs("blob:training-data/")))
      yield* Effect.logDebug("credentials", creds, persistent)
      yield* Effect.logError("failed", e)
      const texts = [
        JSON.stringify(creds),
        JSON.stringify(persistent),
        String(creds),
        inspect(creds, { depth: 10 }),
        inspect(persistent, { depth: 10 }),
        e.message,
        JSON.stringify(e),
        String(e),
        ...logs
      ]
      assert.isAbove(logs.length, 1)
      for (const t of texts) {
        assert.notInclude(t, SECRET)
        assert.notInclude(t, TOKEN)
      }
      assert.include(JSON.stringify(creds), "<redacted>")
      // the values are there for who asks explicitly
      assert.strictEqual(Redacted.value(creds.credentials["secret_access_key"]!), SECRET)
      assert.strictEqual(Redacted.value(Buckets.redactCredentials({ a: "x" })["a"]!), "x")
    }).pipe(
      Effect.provide(p.layer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Azure Blob and GCS providers on the wire (formats from the services' REST documentation)
// ---------------------------------------------------------------------------------------------

const AZURE = "https://acct.blob.core.windows.net"
const SAS = "sv=2021-12-02&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwdl&sig=c2VjcmV0LXNpZw%3D%3D"
const GCS = "https://gcs.test.example"

const azureCreds = (extra: Record<string, string> = {}) => ({
  bucket_id: wire.id,
  provider: "azure",
  credentials: { bucket_name: "container-1", storage_endpoint: AZURE, sas_token: SAS, expiry: "2030-01-01T00:00:00+00:00", ...extra }
})

const azureList = (blobs: ReadonlyArray<string>, prefixes: ReadonlyArray<string>, next: string) =>
  xml(
    `<EnumerationResults ServiceEndpoint="${AZURE}/" ContainerName="container-1"><Blobs>` +
      prefixes.map((p) => `<BlobPrefix><Name>${p}</Name></BlobPrefix>`).join("") +
      blobs.map((b) =>
        `<Blob><Name${b.includes("%") ? " Encoded=\"true\"" : ""}>${b}</Name><Properties><Creation-Time>Tue, 14 Feb 2023 09:31:07 GMT</Creation-Time>` +
        `<Last-Modified>Wed, 15 Feb 2023 10:00:00 GMT</Last-Modified><Content-Length>5</Content-Length></Properties></Blob>`
      ).join("") +
      `</Blobs><NextMarker>${next}</NextMarker></EnumerationResults>`
  )

describe("Buckets over Azure Blob Storage (fake endpoint)", () => {
  it.effect("List Blobs pages by marker with the SAS in the query, names decoded, dates read", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r, { ...wire, provider: "azure" }, azureCreds())
      return r.url.searchParams.get("marker") === "m2" ? azureList(["dir/b%20c"], [], "") : azureList(["a.txt"], ["dir/"], "m2")
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const all = yield* collect(buckets.listBlobs("blob:training-data/", { recursive: true }))
      assert.deepStrictEqual(all.map((e) => [e.key, e._tag]), [["dir/", "BlobCommonPrefix"], ["a.txt", "BlobObject"], ["dir/b c", "BlobObject"]])
      assert.deepStrictEqual(all[1]!.createdAt, new Date("2023-02-14T09:31:07Z"))
      assert.deepStrictEqual(all[1]!.modifiedAt, new Date("2023-02-15T10:00:00Z"))
      const azure = p.requests.filter((r) => !isPlatform(r))
      assert.strictEqual(azure.length, 2)
      assert.strictEqual(azure[0]!.url.origin + azure[0]!.url.pathname, `${AZURE}/container-1`)
      assert.deepStrictEqual(
        [...azure[1]!.url.searchParams.entries()].filter(([k]) => !["sv", "se", "sr", "sp", "sig"].includes(k)),
        [["restype", "container"], ["comp", "list"], ["prefix", ""], ["marker", "m2"]]
      )
      assert.strictEqual(azure[0]!.url.searchParams.get("sig"), "c2VjcmV0LXNpZw==")
      assert.strictEqual(azure[0]!.headers["x-ms-version"], "2021-12-02")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a streamed upload stages blocks and commits their list; errors carry no SAS", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r, { ...wire, provider: "azure" }, azureCreds())
      if (r.method === "GET") return text(`<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.</Message></Error>`, 404)
      return text("", 201)
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      yield* buckets.putBlob("training-data", "k/big.bin", Stream.make(new Uint8Array(6 * 2 ** 20), new Uint8Array(6 * 2 ** 20), new Uint8Array(3)))
      const puts = p.requests.filter((r) => !isPlatform(r))
      assert.deepStrictEqual(puts.map((r) => r.url.searchParams.get("comp")), ["block", "block", "blocklist"])
      const ids = puts.slice(0, 2).map((r) => r.url.searchParams.get("blockid")!)
      assert.strictEqual(ids[0]!.length, ids[1]!.length)
      assert.strictEqual(puts[2]!.body, `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>${ids[0]}</Latest><Latest>${ids[1]}</Latest></BlockList>`)
      assert.strictEqual(puts[0]!.url.pathname, "/container-1/k/big.bin")
      const e = yield* Effect.flip(Stream.runDrain(buckets.fetchBlob("training-data", "k/absent")))
      assert.strictEqual(e._tag, "ResourceNotFound")
      assert.notInclude(JSON.stringify(e) + e.message, "c2VjcmV0LXNpZw")
      const missing = yield* Effect.flip(buckets.headBlob("training-data", "k/absent"))
      assert.include(missing.message, "k/absent")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a SAS about to expire is asked for again before the next request", () => {
    const issued = [azureCreds({ expiry: new Date(Date.now() + 5 * 60_000).toISOString() }), azureCreds({ sas_token: SAS.replace("c2VjcmV0LXNpZw", "bmV3") })]
    const p = fake((r) => (isPlatform(r) ? (r.url.pathname.endsWith("make_tmp_credentials") ? json(issued.shift()) : json({ ...wire, provider: "azure" })) : azureList([], [], "")))
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      yield* collect(buckets.listBlobs("blob:training-data/"))
      const azure = p.requests.filter((r) => !isPlatform(r))
      assert.strictEqual(azure[0]!.url.searchParams.get("sig"), "bmV3==")
    }).pipe(Effect.provide(p.layer))
  })
})

describe("Buckets over Google Cloud Storage (fake endpoint)", () => {
  const gcsCreds = { bucket_id: wire.id, provider: "gcp", credentials: { bucket_name: "gb", project: "p", access_token: TOKEN, expire_time: "2030-01-01T00:00:00Z", endpoint_url: GCS } }
  const object = (name: string, size: number) => ({ kind: "storage#object", name, bucket: "gb", size: String(size), timeCreated: "2023-02-14T09:31:07.412Z" })

  it.effect("objects list by page token (objects, then prefixes), metadata and media with the bearer token", () => {
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r, { ...wire, provider: "gcp" }, gcsCreds)
      if (r.url.pathname === "/storage/v1/b/gb/o") {
        return r.url.searchParams.get("pageToken") === "t2"
          ? json({ kind: "storage#objects", items: [object("z", 2)] })
          : json({ kind: "storage#objects", prefixes: ["dir/"], items: [object("a b", 1)], nextPageToken: "t2" })
      }
      if (r.url.searchParams.get("alt") === "media") return new Response("bytes", { status: 206, headers: { "content-range": "bytes 3-7/8" } })
      return json(object("dir/x y", 8))
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      const all = yield* collect(buckets.listBlobs("blob:training-data/"))
      assert.deepStrictEqual(all.map((e) => e.key), ["a b", "dir/", "z"])
      assert.deepStrictEqual(all[0]!.modifiedAt, new Date("2023-02-14T09:31:07.412Z"))
      const head = yield* buckets.headBlob("training-data", "dir/x y")
      assert.strictEqual(head.size, 8)
      const bytes = yield* collect(buckets.fetchBlob("training-data", "dir/x y", { offset: 3 }))
      assert.strictEqual(new TextDecoder().decode(bytes[0]), "bytes")
      const gcs = p.requests.filter((r) => !isPlatform(r))
      assert.deepStrictEqual(gcs.map((r) => r.url.pathname), ["/storage/v1/b/gb/o", "/storage/v1/b/gb/o", "/storage/v1/b/gb/o/dir%2Fx%20y", "/storage/v1/b/gb/o/dir%2Fx%20y"])
      assert.strictEqual(gcs[1]!.url.searchParams.get("pageToken"), "t2")
      assert.strictEqual(gcs[0]!.url.searchParams.get("delimiter"), "/")
      assert.isTrue(gcs.every((r) => r.headers["authorization"] === `Bearer ${TOKEN}`))
      assert.strictEqual(gcs[3]!.headers["range"], "bytes=3-")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("a resumable upload sends 256 KiB multiples, resends what a 308 did not keep, ends with the total", () => {
    const chunk = 8 * 2 ** 20
    let kept = 0
    const p = fake((r) => {
      if (isPlatform(r)) return platform(r, { ...wire, provider: "gcp" }, gcsCreds)
      if (r.method === "POST") return new Response(null, { status: 200, headers: { location: `${GCS}/upload/storage/v1/b/gb/o?uploadType=resumable&name=k&upload_id=SESSION` } })
      const m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(r.headers["content-range"]!)!
      if (m[3] !== "*") return json(object("k", Number(m[3])))
      // the first time, keep one 256 KiB granule less than was sent
      kept = kept === 0 ? Number(m[2]) + 1 - 256 * 1024 : Number(m[2]) + 1
      return new Response(null, { status: 308, headers: { range: `bytes=0-${kept - 1}` } })
    })
    return Effect.gen(function*() {
      const buckets = yield* Buckets.Buckets
      yield* buckets.putBlob("training-data", "k", Stream.make(new Uint8Array(chunk + 5), new Uint8Array(chunk)))
      const puts = p.requests.filter((r) => !isPlatform(r) && r.method === "PUT")
      assert.deepStrictEqual(puts.map((r) => r.headers["content-range"]), [
        `bytes 0-${chunk - 1}/*`,
        `bytes ${chunk - 256 * 1024}-${2 * chunk - 256 * 1024 - 1}/*`,
        `bytes ${2 * chunk - 256 * 1024}-${2 * chunk + 4}/${2 * chunk + 5}`
      ])
      // the session id is the upload's credential: chunks carry no bearer token
      assert.isTrue(puts.every((r) => r.headers["authorization"] === undefined && r.url.searchParams.get("upload_id") === "SESSION"))
    }).pipe(Effect.provide(p.layer))
  })
})
