import { assert, describe, layer } from "@effect/vitest"
import { Image, Images } from "@neuro-sdk/core"
import { NodeDockerDaemon } from "@neuro-sdk/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { registryImage as image, shareFromAlice as share } from "./containerTools.js"

// ---------------------------------------------------------------------------------------------
// raw registry client (what the Docker Engine sends)
// ---------------------------------------------------------------------------------------------

const V2 = Images.MANIFEST_V2
const CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
const LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`
const enc = new TextEncoder()

interface Raw {
  readonly base: string
  readonly auth: string
  readonly fetch: (method: string, path: string, init?: { body?: Uint8Array | string; headers?: Record<string, string> }) => Effect.Effect<Response>
}

const rawFor = (platform: LocalPlatform.LocalPlatform, user: string): Raw => {
  const auth = `Basic ${Buffer.from(`${user}:${Redacted.value(platform.token(user))}`).toString("base64")}`
  return {
    base: platform.url,
    auth,
    fetch: (method, path, init = {}) =>
      Effect.promise(() =>
        fetch(new URL(path, platform.url), {
          method,
          headers: { Authorization: auth, ...init.headers },
          ...(init.body !== undefined ? { body: init.body } : {})
        })
      )
  }
}

const raw = (user: string) => Effect.map(LocalPlatform.LocalPlatformTag, (p) => rawFor(p, user))

/** Upload one blob the way the engine does: POST, PATCH, PUT ?digest= (or one monolithic POST). */
const uploadBlob = (r: Raw, repo: string, data: Uint8Array, monolithic = false) =>
  Effect.gen(function*() {
    const digest = sha256(data)
    if (monolithic) {
      const res = yield* r.fetch("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: data })
      assert.strictEqual(res.status, 201, yield* Effect.promise(() => res.text()))
      return digest
    }
    const start = yield* r.fetch("POST", `/v2/${repo}/blobs/uploads/`)
    assert.strictEqual(start.status, 202, yield* Effect.promise(() => start.text()))
    assert.strictEqual(start.headers.get("range"), "0-0")
    const location = start.headers.get("location")!
    assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\/v2\/.+\/blobs\/uploads\/[0-9a-f-]+$/)
    const half = Math.floor(data.length / 2)
    const patch = yield* r.fetch("PATCH", location, { body: data.slice(0, half), headers: { "Content-Type": "application/octet-stream" } })
    assert.strictEqual(patch.status, 202)
    assert.strictEqual(patch.headers.get("range"), `0-${Math.max(0, half - 1)}`)
    const put = new URL(patch.headers.get("location")!)
    put.searchParams.set("digest", digest)
    const done = yield* r.fetch("PUT", put.href, { body: data.slice(half) })
    assert.strictEqual(done.status, 201, yield* Effect.promise(() => done.text()))
    assert.strictEqual(done.headers.get("docker-content-digest"), digest)
    return digest
  })

interface Seeded {
  readonly digest: string
  readonly size: number
  readonly manifest: string
}

const manifestOf = (config: Uint8Array, layers: ReadonlyArray<Uint8Array>) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: V2,
    config: { mediaType: CONFIG_TYPE, size: config.length, digest: sha256(config) },
    layers: layers.map((l) => ({ mediaType: LAYER_TYPE, size: l.length, digest: sha256(l) }))
  })

/** Push an image (config + layers + schema-2 manifest) to `repo:tag` over the registry API. */
const seed = (r: Raw, repo: string, tags: ReadonlyArray<string>, layerSizes: ReadonlyArray<number> = [3000, 1234]) =>
  Effect.gen(function*() {
    const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", repo }))
    const layers = layerSizes.map((n) => new Uint8Array(randomBytes(n)))
    yield* uploadBlob(r, repo, config, true)
    for (const l of layers) yield* uploadBlob(r, repo, l)
    const manifest = manifestOf(config, layers)
    for (const tag of tags) {
      const res = yield* r.fetch("PUT", `/v2/${repo}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": V2 } })
      assert.strictEqual(res.status, 201, yield* Effect.promise(() => res.text()))
      assert.strictEqual(res.headers.get("docker-content-digest"), sha256(manifest))
    }
    return { digest: sha256(manifest), size: layerSizes.reduce((a, b) => a + b, 0), manifest } satisfies Seeded
  })



const errorCode = (res: Response) =>
  Effect.promise(async () => ((await res.json()) as { errors: ReadonlyArray<{ code: string }> }).errors[0]!.code)

// ---------------------------------------------------------------------------------------------
// the registry front and the Registry v2 subset, raw
// ---------------------------------------------------------------------------------------------

describe("LocalPlatform registry (raw HTTP, as the Docker Engine)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }), { excludeTestServices: true })((it) => {
    it.effect("auth: 401 with a Basic challenge, 400 for a malformed header, any user name with the token as password", () =>
      Effect.gen(function*() {
        const p = yield* LocalPlatform.LocalPlatformTag
        const get = (headers: Record<string, string>) => Effect.promise(() => fetch(`${p.url}/v2/`, { headers }))
        const none = yield* get({})
        assert.strictEqual(none.status, 401)
        assert.strictEqual(none.headers.get("www-authenticate"), `Basic realm="Docker Registry"`)
        assert.strictEqual(none.headers.get("docker-distribution-api-version"), "registry/2.0")
        assert.strictEqual((yield* get({ Authorization: "Basic ab" })).status, 400)
        assert.strictEqual((yield* get({ Authorization: `Bearer ${Redacted.value(p.token("alice"))}` })).status, 400)
        const badToken = yield* get({ Authorization: `Basic ${Buffer.from("alice:not-a-token").toString("base64")}` })
        assert.strictEqual(badToken.status, 401)
        assert.strictEqual(badToken.headers.get("www-authenticate"), `Basic realm="Docker Registry"`)
        const ok = yield* get({ Authorization: `Basic ${Buffer.from(`token:${Redacted.value(p.token("alice"))}`).toString("base64")}` })
        assert.strictEqual(ok.status, 200)
        assert.match(ok.headers.get("x-service-version") ?? "", /^platform-registry-api\//)
        assert.strictEqual((yield* (yield* raw("alice")).fetch("GET", "/v2/_catalog")).status, 200)
      }))

    it.effect("blobs: upload flow (chunked, or whole in the closing PUT), HEAD/GET, ranges, digest mismatch, cross-repo mount", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const data = new Uint8Array(randomBytes(5000))
        const digest = sha256(data)
        const before = yield* r.fetch("HEAD", `/v2/alice/blobs-test/blobs/${digest}`)
        assert.strictEqual(before.status, 404)
        yield* uploadBlob(r, "alice/blobs-test", data)
        const head = yield* r.fetch("HEAD", `/v2/alice/blobs-test/blobs/${digest}`)
        assert.strictEqual(head.status, 200)
        assert.strictEqual(head.headers.get("content-length"), "5000")
        assert.strictEqual(head.headers.get("docker-content-digest"), digest)
        const got = yield* r.fetch("GET", `/v2/alice/blobs-test/blobs/${digest}`)
        const body = new Uint8Array(yield* Effect.promise(() => got.arrayBuffer()))
        assert.strictEqual(sha256(body), digest)
        const part = yield* r.fetch("GET", `/v2/alice/blobs-test/blobs/${digest}`, { headers: { Range: "bytes=10-19" } })
        assert.strictEqual(part.status, 206)
        assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => part.arrayBuffer())), data.slice(10, 20))
        // a blob of another repository is not visible here until mounted
        assert.strictEqual((yield* r.fetch("HEAD", `/v2/alice/other/blobs/${digest}`)).status, 404)
        const mount = yield* r.fetch("POST", `/v2/alice/other/blobs/uploads/?mount=${digest}&from=alice/blobs-test`)
        assert.strictEqual(mount.status, 201)
        assert.strictEqual(mount.headers.get("docker-content-digest"), digest)
        assert.strictEqual((yield* r.fetch("HEAD", `/v2/alice/other/blobs/${digest}`)).status, 200)
        // POST, then the whole blob in the closing PUT (as containerd pushes)
        const other = new Uint8Array(randomBytes(3000))
        const session = yield* r.fetch("POST", `/v2/alice/blobs-test/blobs/uploads/`)
        assert.strictEqual(session.status, 202)
        const whole = new URL(session.headers.get("location")!)
        whole.searchParams.set("digest", sha256(other))
        const closed = yield* r.fetch("PUT", whole.href, { body: other, headers: { "Content-Type": "application/octet-stream" } })
        assert.strictEqual(closed.status, 201)
        assert.strictEqual(closed.headers.get("docker-content-digest"), sha256(other))
        const back = yield* r.fetch("GET", `/v2/alice/blobs-test/blobs/${sha256(other)}`)
        assert.strictEqual(sha256(new Uint8Array(yield* Effect.promise(() => back.arrayBuffer()))), sha256(other))
        // wrong digest at the end of an upload
        const start = yield* r.fetch("POST", `/v2/alice/blobs-test/blobs/uploads/`)
        const url = new URL(start.headers.get("location")!)
        url.searchParams.set("digest", sha256("something else"))
        const bad = yield* r.fetch("PUT", url.href, { body: data })
        assert.strictEqual(bad.status, 400)
        assert.strictEqual(yield* errorCode(bad), "DIGEST_INVALID")
        const gone = yield* r.fetch("PATCH", start.headers.get("location")!, { body: data })
        assert.strictEqual(gone.status, 404)
        assert.strictEqual(yield* errorCode(gone), "BLOB_UPLOAD_UNKNOWN")
      }))

    it.effect("manifests: PUT by tag, GET/HEAD by tag and digest with the stored bytes, unknown blobs refused, delete by digest", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const s = yield* seed(r, "alice/app", ["v1", "latest"])
        for (const ref of ["v1", s.digest]) {
          const res = yield* r.fetch("GET", `/v2/alice/app/manifests/${ref}`, { headers: { Accept: V2 } })
          assert.strictEqual(res.status, 200)
          assert.strictEqual(res.headers.get("content-type"), V2)
          assert.strictEqual(res.headers.get("docker-content-digest"), s.digest)
          assert.strictEqual(yield* Effect.promise(() => res.text()), s.manifest)
        }
        const head = yield* r.fetch("HEAD", `/v2/alice/app/manifests/latest`, { headers: { Accept: V2 } })
        assert.strictEqual(head.headers.get("content-length"), String(enc.encode(s.manifest).length))
        const unknownBlob = JSON.stringify({
          schemaVersion: 2,
          mediaType: V2,
          config: { mediaType: CONFIG_TYPE, size: 1, digest: sha256("nope") },
          layers: []
        })
        const refused = yield* r.fetch("PUT", `/v2/alice/app/manifests/v2`, { body: unknownBlob, headers: { "Content-Type": V2 } })
        assert.strictEqual(refused.status, 400)
        assert.strictEqual(yield* errorCode(refused), "MANIFEST_BLOB_UNKNOWN")
        const notJson = yield* r.fetch("PUT", `/v2/alice/app/manifests/v2`, { body: "{", headers: { "Content-Type": V2 } })
        assert.strictEqual(yield* errorCode(notJson), "MANIFEST_INVALID")
        const missing = yield* r.fetch("GET", `/v2/alice/app/manifests/nope`)
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(yield* errorCode(missing), "MANIFEST_UNKNOWN")
        const unknownRepo = yield* r.fetch("GET", `/v2/alice/unknown/tags/list`)
        assert.strictEqual(unknownRepo.status, 404)
        assert.deepStrictEqual(yield* Effect.promise(() => unknownRepo.json()), {
          errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry", detail: { name: "alice/unknown" } }]
        })
        const byTag = yield* r.fetch("DELETE", `/v2/alice/app/manifests/v1`)
        assert.strictEqual(byTag.status, 405)
        assert.strictEqual(yield* errorCode(byTag), "UNSUPPORTED")
      }))

    it.effect("catalog and tags: n/last paging with an absolute Link to the next page", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        yield* seed(r, "alice/paging", ["c", "a", "b"], [10])
        const first = yield* r.fetch("GET", `/v2/alice/paging/tags/list?n=2`)
        assert.deepStrictEqual(yield* Effect.promise(() => first.json()), { name: "alice/paging", tags: ["a", "b"] })
        const link = first.headers.get("link")!
        assert.match(link, /^<http:\/\/127\.0\.0\.1:\d+\/v2\/alice\/paging\/tags\/list\?n=2&last=b>; rel="next"$/)
        const next = yield* r.fetch("GET", link.slice(1, link.indexOf(">")))
        assert.deepStrictEqual(yield* Effect.promise(() => next.json()), { name: "alice/paging", tags: ["c"] })
        assert.isNull(next.headers.get("link"))
        const cat = yield* r.fetch("GET", `/v2/_catalog?n=1`)
        const page = (yield* Effect.promise(() => cat.json())) as { repositories: ReadonlyArray<string> }
        assert.strictEqual(page.repositories.length, 1)
        assert.match(cat.headers.get("link")!, /\/v2\/_catalog\?n=1&last=/)
        assert.strictEqual((yield* r.fetch("GET", `/v2/_catalog?n=0`)).status, 400)
      }))
  })
})

// ---------------------------------------------------------------------------------------------
// the SDK over LocalPlatform
// ---------------------------------------------------------------------------------------------

describe("Images over LocalPlatform (SDK)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }), { excludeTestServices: true })((it) => {
    it.effect("list, tags, tagInfo, size, digest, rm", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const s = yield* seed(r, "alice/app", ["v1", "latest"], [3000, 1234])
        yield* seed(r, "alice/library/ubuntu", ["22.04"], [10])
        const images = yield* Images.Images
        const listed = (yield* images.list()).map(String)
        assert.includeMembers(listed, ["image://default/alice/app", "image://default/alice/library/ubuntu"])
        const app = yield* image("alice", "app")
        assert.deepStrictEqual((yield* images.tags(app)).map((i) => i.toString()), [
          "image://default/alice/app:latest",
          "image://default/alice/app:v1"
        ])
        const v1 = yield* image("alice", "app", "v1")
        assert.deepStrictEqual(yield* images.tagInfo(v1), new Images.Tag({ name: "v1", size: s.size }))
        assert.strictEqual(yield* images.size(v1), 4234)
        const digest = yield* images.digest(v1)
        assert.strictEqual(digest, s.digest)
        yield* images.rm(v1, digest)
        assert.deepStrictEqual(yield* images.tags(app), [])
        const gone = yield* Effect.flip(images.digest(v1))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        const unknown = yield* Effect.flip(images.tags(yield* image("alice", "never-pushed")))
        assert.strictEqual(unknown._tag, "ResourceNotFound")
        assert.include(unknown.message, "NAME_UNKNOWN")
      }))

    it.effect("tags and catalog page through n=30 and the Link header", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const tags = Array.from({ length: 33 }, (_, i) => `t${String(i).padStart(2, "0")}`)
        yield* seed(r, "alice/many-tags", tags, [5])
        for (let i = 0; i < 31; i++) {
          yield* seed(r, `alice/repo${String(i).padStart(2, "0")}`, ["x"], [1])
        }
        const p = yield* LocalPlatform.LocalPlatformTag
        const before = (yield* p.requests).length
        const images = yield* Images.Images
        const all = yield* images.tags(yield* image("alice", "many-tags"))
        assert.deepStrictEqual(all.map((i) => i.tag), tags)
        const repos = yield* images.list()
        assert.isAtLeast(repos.length, 32)
        assert.strictEqual(new Set(repos.map(String)).size, repos.length)
        const sent = (yield* p.requests).slice(before)
        const tagPages = sent.filter((q) => q.path === "/v2/alice/many-tags/tags/list")
        assert.deepStrictEqual(tagPages.map((q) => new URLSearchParams(q.query).get("n")), ["30", "30"])
        assert.strictEqual(new URLSearchParams(tagPages[1]!.query).get("last"), "t29")
        assert.isAtLeast(sent.filter((q) => q.path === "/v2/_catalog").length, 2)
        assert.isTrue(sent.every((q) => q.headers["authorization"]?.startsWith("Basic ") ?? false))
      }))

    it.effect("OCI manifests are read; registry answers the SDK cannot use are typed errors", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const s = yield* seed(r, "alice/oci", [], [7])
        const cfg = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", repo: "alice/oci" }))
        const oci = JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", size: cfg.length, digest: sha256(cfg) },
          layers: (JSON.parse(s.manifest) as { layers: ReadonlyArray<{ size: number; digest: string }> }).layers.map((l) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            size: l.size,
            digest: l.digest
          }))
        })
        const put = yield* r.fetch("PUT", `/v2/alice/oci/manifests/oci`, { body: oci, headers: { "Content-Type": OCI_MANIFEST } })
        assert.strictEqual(put.status, 201)
        const images = yield* Images.Images
        // Distribution does not serve an OCI manifest to a client accepting only schema 2 (as neuro-sdk)...
        const v2only = yield* r.fetch("GET", `/v2/alice/oci/manifests/oci`, { headers: { Accept: V2 } })
        assert.strictEqual(v2only.status, 404)
        assert.include(yield* Effect.promise(() => v2only.text()), "OCI manifest found")
        // ...so the SDK accepts OCI manifests too (Podman pushes them)
        assert.deepStrictEqual(yield* images.tagInfo(yield* image("alice", "oci", "oci")), new Images.Tag({ name: "oci", size: 7 }))
        assert.strictEqual(yield* images.digest(yield* image("alice", "oci", "oci")), sha256(oci))
        const p = yield* LocalPlatform.LocalPlatformTag
        yield* p.faults.failNext(500, { path: "/v2/alice/oci/tags/list" })
        const injected = yield* Effect.flip(images.tags(yield* image("alice", "oci")))
        assert.strictEqual(injected._tag, "IllegalArgumentError")
        yield* p.faults.failNext(401, { path: "/v2/_catalog" })
        assert.strictEqual((yield* Effect.flip(images.list()))._tag, "AuthenticationError")
      }))

    it.effect("a manifest list by tag is resolved to its linux/amd64 image for a schema-2 client", () =>
      Effect.gen(function*() {
        const r = yield* raw("alice")
        const s = yield* seed(r, "alice/multi", ["amd64"], [100, 200])
        const list = JSON.stringify({
          schemaVersion: 2,
          mediaType: DOCKER_LIST,
          manifests: [{ mediaType: V2, size: s.manifest.length, digest: s.digest, platform: { architecture: "amd64", os: "linux" } }]
        })
        const put = yield* r.fetch("PUT", `/v2/alice/multi/manifests/latest`, { body: list, headers: { "Content-Type": DOCKER_LIST } })
        assert.strictEqual(put.status, 201)
        const images = yield* Images.Images
        const latest = yield* image("alice", "multi", "latest")
        assert.strictEqual(yield* images.size(latest), 300)
        assert.strictEqual(yield* images.digest(latest), s.digest)
        const asList = yield* r.fetch("GET", `/v2/alice/multi/manifests/latest`, { headers: { Accept: `${DOCKER_LIST}, ${V2}` } })
        assert.strictEqual(asList.headers.get("docker-content-digest"), sha256(list))
      }))
  })

  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"], user: "bob" }), { excludeTestServices: true })((it) => {
    it.effect("bob sees, reads and writes alice's images only as far as they are shared", () =>
      Effect.gen(function*() {
        const alice = yield* raw("alice")
        const bob = yield* raw("bob")
        const s = yield* seed(alice, "alice/private", ["v1"], [50])
        yield* seed(alice, "alice/other", ["v1"], [5])
        yield* seed(bob, "bob/mine", ["v1"], [5])
        const images = yield* Images.Images
        const mine = (yield* images.list()).map(String)
        assert.deepStrictEqual(mine, ["image://default/bob/mine"])
        const privateRepo = yield* image("alice", "private")
        const privateV1 = yield* image("alice", "private", "v1")
        assert.strictEqual((yield* Effect.flip(images.tags(privateRepo)))._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(images.tagInfo(privateV1)))._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(images.digest(privateV1)))._tag, "AuthorizationError")
        const pushInto = yield* bob.fetch("POST", `/v2/alice/private/blobs/uploads/`)
        assert.strictEqual(pushInto.status, 403)
        const mountFrom = yield* bob.fetch("POST", `/v2/bob/mine/blobs/uploads/?mount=${s.digest}&from=alice/private`)
        assert.strictEqual(mountFrom.status, 403)

        yield* share("bob", "image://default/alice/private", "read")
        assert.deepStrictEqual((yield* images.list()).map(String), ["image://default/alice/private", "image://default/bob/mine"])
        assert.deepStrictEqual((yield* images.tags(privateRepo)).map((i) => i.tag), ["v1"])
        assert.strictEqual(yield* images.digest(privateV1), s.digest)
        assert.strictEqual(yield* images.size(privateV1), 50)
        const rm = yield* Effect.flip(images.rm(privateV1, s.digest))
        assert.strictEqual(rm._tag, "AuthorizationError")

        yield* share("bob", "image://default/alice", "write")
        assert.strictEqual((yield* images.list()).length, 3)
        yield* images.rm(privateV1, s.digest)
        assert.deepStrictEqual(yield* images.tags(privateRepo), [])
      }))
  })
})

// ---------------------------------------------------------------------------------------------
// push / pull through NodeDockerDaemon and a fake Docker Engine on a Unix socket
// ---------------------------------------------------------------------------------------------

interface EngineImage {
  readonly config: Uint8Array
  readonly layers: ReadonlyArray<Uint8Array>
}

/**
 * A Docker Engine stand-in: keeps images in memory and pushes/pulls them to/from the registry
 * named in the image reference the way dockerd does (challenge, Basic credentials from
 * `X-Registry-Auth`, blob uploads, manifest PUT), streaming progress JSON in split chunks.
 */
const startFakeEngine = (socketPath: string) => {
  const images = new Map<string, EngineImage>()
  const requests: Array<{ method: string; path: string; auth: unknown }> = []
  const full = (name: string, tag: string | null) => (tag !== null && tag !== "" ? `${name}:${tag}` : name.includes(":") && !name.endsWith("]") && name.lastIndexOf(":") > name.lastIndexOf("/") ? name : `${name}:latest`)

  const registryCall = async (registry: string, auth: string, method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}) =>
    fetch(new URL(path, `http://${registry}`), { method, headers: { Authorization: auth, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) })

  const login = async (registry: string, header: string | undefined) => {
    const creds = header === undefined ? undefined : (JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { username: string; password: string; serveraddress: string })
    const challenge = await fetch(`http://${registry}/v2/`)
    if (challenge.status !== 401 || !/^Basic /.test(challenge.headers.get("www-authenticate") ?? "")) throw new Error("no Basic challenge")
    return { creds, auth: `Basic ${Buffer.from(`${creds?.username ?? ""}:${creds?.password ?? ""}`).toString("base64")}` }
  }

  const writeLines = (res: http.ServerResponse, objects: ReadonlyArray<unknown>) => {
    // two objects in one write, then one split across two writes
    const text = objects.map((o) => JSON.stringify(o) + "\r\n").join("")
    const cut = Math.floor(text.length / 2)
    res.write(text.slice(0, cut))
    res.write(text.slice(cut))
  }

  const push = async (name: string, tag: string, header: string | undefined, res: http.ServerResponse) => {
    if (name === "broken-stream") {
      res.writeHead(200, { "Content-Type": "application/json" })
      writeLines(res, [{ status: "Preparing", id: "aa" }])
      res.end("this is not json\r\n")
      return
    }
    const img = images.get(`${name}:${tag}`)
    if (img === undefined) {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `An image does not exist locally with the tag: ${name}` }))
      return
    }
    const [registry, ...rest] = name.split("/")
    const repo = rest.join("/")
    const { auth, creds } = await login(registry!, header)
    requests[requests.length - 1]!.auth = creds
    res.writeHead(200, { "Content-Type": "application/json" })
    writeLines(res, [{ status: `The push refers to repository [${name}]` }])
    for (const blob of [img.config, ...img.layers]) {
      const digest = sha256(blob)
      const id = digest.slice(7, 19)
      const head = await registryCall(registry!, auth, "HEAD", `/v2/${repo}/blobs/${digest}`)
      if (head.status === 200) {
        writeLines(res, [{ status: "Layer already exists", progressDetail: {}, id }])
        continue
      }
      const start = await registryCall(registry!, auth, "POST", `/v2/${repo}/blobs/uploads/`)
      if (start.status !== 202) {
        const message = start.status === 403 ? "denied: requested access to the resource is denied" : `upload failed: ${start.status}`
        writeLines(res, [{ errorDetail: { message }, error: message }])
        res.end()
        return
      }
      writeLines(res, [{ status: "Preparing", progressDetail: {}, id }])
      const patch = await registryCall(registry!, auth, "PATCH", start.headers.get("location")!, { body: blob, headers: { "Content-Type": "application/octet-stream" } })
      writeLines(res, [{ status: "Pushing", progressDetail: { current: blob.length, total: blob.length }, progress: "[==================================================>]", id }])
      const put = new URL(patch.headers.get("location")!)
      put.searchParams.set("digest", digest)
      await registryCall(registry!, auth, "PUT", put.href)
      writeLines(res, [{ status: "Pushed", progressDetail: {}, id }])
    }
    const manifest = manifestOf(img.config, img.layers)
    const put = await registryCall(registry!, auth, "PUT", `/v2/${repo}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": V2 } })
    const digest = put.headers.get("docker-content-digest")
    writeLines(res, [
      { status: `${tag}: digest: ${digest} size: ${manifest.length}` },
      { progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifest.length } }
    ])
    res.end()
  }

  const pull = async (name: string, tag: string, header: string | undefined, res: http.ServerResponse) => {
    const [registry, ...rest] = name.split("/")
    const repo = rest.join("/")
    const { auth, creds } = await login(registry!, header)
    requests[requests.length - 1]!.auth = creds
    const m = await registryCall(registry!, auth, "GET", `/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: [V2, DOCKER_LIST, OCI_MANIFEST].join(", ") }
    })
    if (m.status !== 200) {
      res.writeHead(m.status === 404 ? 404 : m.status === 403 ? 403 : 500, { "Content-Type": "application/json" })
        .end(JSON.stringify({ message: `manifest for ${name}:${tag} not found: ${m.status}` }))
      return
    }
    const manifest = (await m.json()) as { config: { digest: string }; layers: ReadonlyArray<{ digest: string }> }
    res.writeHead(200, { "Content-Type": "application/json" })
    writeLines(res, [{ status: `Pulling from ${repo}`, id: tag }])
    const blob = async (digest: string) => {
      const data = new Uint8Array(await (await registryCall(registry!, auth, "GET", `/v2/${repo}/blobs/${digest}`)).arrayBuffer())
      if (sha256(data) !== digest) throw new Error("digest mismatch")
      return data
    }
    const layers: Array<Uint8Array> = []
    for (const l of manifest.layers) {
      layers.push(await blob(l.digest))
      writeLines(res, [{ status: "Pull complete", progressDetail: {}, id: l.digest.slice(7, 19) }])
    }
    images.set(`${name}:${tag}`, { config: await blob(manifest.config.digest), layers })
    writeLines(res, [{ status: `Digest: ${m.headers.get("docker-content-digest")}` }, { status: `Status: Downloaded newer image for ${name}:${tag}` }])
    res.end()
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://docker")
    const path = decodeURIComponent(url.pathname)
    requests.push({ method: req.method ?? "", path: `${path}${url.search}`, auth: undefined })
    const header = req.headers["x-registry-auth"] as string | undefined
    const fail = (e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" })
      res.end(JSON.stringify({ message: String(e) }))
    }
    let m: RegExpExecArray | null
    if (req.method === "POST" && (m = /^\/images\/(.+)\/tag$/.exec(path)) !== null) {
      const source = images.get(full(m[1]!, null))
      if (source === undefined) {
        res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `No such image: ${m[1]}` }))
        return
      }
      images.set(full(url.searchParams.get("repo")!, url.searchParams.get("tag")), source)
      res.writeHead(201).end()
    } else if (req.method === "POST" && (m = /^\/images\/(.+)\/push$/.exec(path)) !== null) {
      push(m[1]!, url.searchParams.get("tag") ?? "latest", header, res).catch(fail)
    } else if (req.method === "POST" && path === "/images/create") {
      pull(url.searchParams.get("fromImage")!, url.searchParams.get("tag") ?? "latest", header, res).catch(fail)
    } else if (req.method === "GET" && (m = /^\/images\/(.+)\/json$/.exec(path)) !== null) {
      const img = images.get(full(m[1]!, null))
      if (img === undefined) res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `No such image: ${m[1]}` }))
      else {
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({
          Id: sha256(img.config),
          RepoTags: [...images].filter(([, v]) => v === img).map(([k]) => k),
          RepoDigests: null,
          Size: img.layers.reduce((a, l) => a + l.length, 0),
          Architecture: "amd64",
          Os: "linux"
        }))
      }
    } else if (req.method === "DELETE" && (m = /^\/images\/(.+)$/.exec(path)) !== null) {
      const key = full(m[1]!, null)
      if (!images.delete(key)) res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `No such image: ${m[1]}` }))
      else res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify([{ Untagged: key }]))
    } else {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: "page not found" }))
    }
  })
  return { images, requests, server }
}

type FakeEngine = ReturnType<typeof startFakeEngine>

class FakeEngineTag extends Context.Tag("test/FakeEngine")<FakeEngineTag, FakeEngine & { readonly socketPath: string }>() {}

/** A fake engine on a fresh socket, and a `NodeDockerDaemon` pointed at it. */
const daemonLayer = Layer.unwrapScoped(
  Effect.gen(function*() {
    const socketPath = join(tmpdir(), `neuro-fake-docker-${process.pid}-${randomBytes(4).toString("hex")}.sock`)
    const engine = yield* Effect.acquireRelease(
      Effect.async<FakeEngine>((resume) => {
        const e = startFakeEngine(socketPath)
        e.server.listen(socketPath, () => resume(Effect.succeed(e)))
      }),
      (e) =>
        Effect.async<void>((resume) => {
          e.server.closeAllConnections()
          e.server.close(() => resume(Effect.void))
        }).pipe(Effect.zipRight(Effect.sync(() => fs.rmSync(socketPath, { force: true }))))
    )
    return Layer.merge(
      NodeDockerDaemon.layer({ host: `unix://${socketPath}` }),
      Layer.succeed(FakeEngineTag, Object.assign(engine, { socketPath }))
    )
  })
)

describe("NodeDockerDaemon against a fake engine", () => {
  layer(daemonLayer, { excludeTestServices: true })((it) => {
    it.effect("tag/inspect/remove, engine errors with their status, broken streams and a missing engine", () =>
      Effect.gen(function*() {
        const d = yield* Images.DockerDaemon
        const engine = yield* FakeEngineTag
        engine.images.set("tiny:1", { config: enc.encode("{}"), layers: [enc.encode("abc")] })
        yield* d.tag("tiny:1", "copy", "2")
        const info = yield* d.inspect("copy:2")
        assert.strictEqual(info.id, sha256("{}"))
        assert.includeMembers([...info.repoTags], ["tiny:1", "copy:2"])
        assert.deepStrictEqual(info.repoDigests, [])
        yield* d.remove("copy:2")
        const missing = yield* Effect.flip(d.inspect("copy:2"))
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.description, "No such image: copy:2")
        const noTag = yield* Effect.flip(d.tag("nope:1", "x"))
        assert.strictEqual(noTag.status, 404)
        const del = engine.requests.find((r) => r.method === "DELETE")!
        assert.strictEqual(del.path, "/images/copy:2?force=false&noprune=false")
        const absent = NodeDockerDaemon.make({ host: `unix://${engine.socketPath}.missing` })
        const down = yield* Effect.flip(absent.inspect("x"))
        assert.strictEqual(down.status, 900)
        assert.include(down.message, "Docker engine is not available")
        const seen: Array<Images.DockerStreamObject> = []
        const broken = yield* Effect.flip(Stream.runForEach(d.push("broken-stream", {}), (o) => Effect.sync(() => void seen.push(o))))
        assert.deepStrictEqual(seen, [{ status: "Preparing", id: "aa" }])
        assert.strictEqual(broken.status, 900)
        assert.include(broken.description, "not a JSON object")
        const nothing = NodeDockerDaemon.make({ env: {}, host: undefined })
        // no DOCKER_HOST: a local socket if one exists, else unavailable — never a defect
        const either = yield* Effect.either(nothing.inspect("surely-not-an-image:0"))
        assert.strictEqual(either._tag, "Left")
      }))

    it.effect("X-Registry-Auth is padded base64url JSON with the token as password", () =>
      Effect.sync(() => {
        const value = NodeDockerDaemon.encodeRegistryAuth({
          username: "token",
          password: Redacted.make("a?b>c~~~"),
          serveraddress: "127.0.0.1:5000"
        })
        assert.notMatch(value, /[+/]/)
        assert.deepStrictEqual(JSON.parse(Buffer.from(value, "base64url").toString("utf8")), {
          username: "token",
          password: "a?b>c~~~",
          serveraddress: "127.0.0.1:5000"
        })
      }))
  })

  layer(
    NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }).pipe(Layer.provideMerge(daemonLayer)),
    { excludeTestServices: true }
  )((it) => {
    it.effect("push a local image into LocalPlatform's registry, read it back with the registry calls, pull it", () =>
      Effect.gen(function*() {
        const images = yield* Images.Images
        const engine = yield* FakeEngineTag
        const layers = [new Uint8Array(randomBytes(2048)), new Uint8Array(randomBytes(100))]
        engine.images.set("hello:v1", { config: enc.encode(JSON.stringify({ os: "linux" })), layers })
        const events: Array<Images.ImageProgress> = []
        const progress = (e: Images.ImageProgress) => Effect.sync(() => void events.push(e))
        const target = yield* images.push(new Image.LocalImage({ name: "hello", tag: "v1" }), undefined, { progress })
        assert.strictEqual(target.toString(), "image://default/alice/hello:v1")
        assert.strictEqual(events[0]!._tag, "ImageProgressPush")
        const steps = events.filter((e): e is Images.ImageProgressStep => e._tag === "ImageProgressStep")
        assert.includeMembers(steps.map((s) => s.status), ["Preparing", "Pushing", "Pushed"])
        assert.isTrue(steps.some((s) => s.current === 2048 && s.total === 2048))
        const pushReq = engine.requests.find((r) => r.path.includes("/push"))!
        assert.match(pushReq.path, /^\/images\/127\.0\.0\.1:\d+\/alice\/hello\/push\?tag=v1$/)
        const creds = pushReq.auth as { username: string; serveraddress: string }
        assert.strictEqual(creds.username, "token")
        assert.match(creds.serveraddress, /^127\.0\.0\.1:\d+$/)

        assert.strictEqual(yield* images.size(target), 2148)
        assert.deepStrictEqual((yield* images.tags(yield* image("alice", "hello"))).map((i) => i.tag), ["v1"])

        const rec: Array<Images.ImageProgress> = []
        const local = yield* images.pull(target, new Image.LocalImage({ name: "hello-copy", tag: "1" }), {
          progress: (e) => Effect.sync(() => void rec.push(e))
        })
        assert.deepStrictEqual(local, new Image.LocalImage({ name: "hello-copy", tag: "1" }))
        assert.strictEqual(rec[0]!._tag, "ImageProgressPull")
        assert.strictEqual(rec.filter((e) => e._tag === "ImageProgressStep").length, 2)
        const copy = engine.images.get("hello-copy:1")!
        assert.deepStrictEqual(copy.layers.map((l) => sha256(l)), layers.map((l) => sha256(l)))

        const missing = yield* Effect.flip(images.pull(yield* image("alice", "hello", "nope")))
        assert.strictEqual(missing._tag, "ResourceNotFound")
        const noLocal = yield* Effect.flip(images.push(new Image.LocalImage({ name: "absent", tag: "1" })))
        assert.strictEqual(noLocal._tag, "ResourceNotFound")
        const denied = yield* Effect.flip(images.push(new Image.LocalImage({ name: "hello", tag: "v1" }), yield* image("bob", "stolen", "v1")))
        // the engine quotes the registry's refusal in the stream: the SDK's AuthorizationError, as for an HTTP 403
        assert.strictEqual(denied._tag, "AuthorizationError")
        assert.include(denied.message, "Access denied image://default/bob/stolen:v1")
      }))
  })
})
