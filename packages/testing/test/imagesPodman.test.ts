/**
 * `Images.push`/`pull` against a real container engine: Podman's Docker-compatible Engine API
 * (`podman system service`), reached by `NodeDockerDaemon` on its Unix socket, pushing to and
 * pulling from LocalPlatform's registry over loopback. Podman and its storage live in a temporary
 * folder; `.ci/run` installs Podman where it is missing.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Image, Images } from "@neuro-sdk/core"
import { NodeDockerDaemon } from "@neuro-sdk/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { podman, podmanHome, PodmanHomeTag, podmanService, registryImage as remote, runCommand, tarOf, writeLayout } from "./containerTools.js"

/** LocalPlatform (alice, bob) and a Podman whose Engine API is `NodeDockerDaemon`'s engine. */
const withPodman = Layer.scopedDiscard(
  Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => podmanService(new URL(p.url).host))
).pipe(
  Layer.provideMerge(
    NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }).pipe(
      Layer.provideMerge(
        Layer.unwrapEffect(Effect.map(PodmanHomeTag, (h) => NodeDockerDaemon.layer({ host: `unix://${h.socketPath}`, env: {} })))
      )
    )
  ),
  Layer.provideMerge(podmanHome)
)

/** `podman import` of a one-layer image: busybox (when installed) and a file unique to this run. */
const importImage = (name: string) =>
  Effect.gen(function*() {
    const home = yield* PodmanHomeTag
    const files = [
      { name: "hello.txt", data: new Uint8Array(randomBytes(64 * 1024)) },
      ...(fs.existsSync("/bin/busybox") ? [{ name: "bin/busybox", data: fs.readFileSync("/bin/busybox"), mode: 0o755 }] : [])
    ]
    const tar = join(home.dir, `${randomBytes(4).toString("hex")}.tar`)
    fs.writeFileSync(tar, tarOf(files))
    yield* podman("import", tar, name)
    fs.rmSync(tar)
  })

interface PodmanInspect {
  readonly Id: string
  readonly Digest: string
  readonly RepoTags: ReadonlyArray<string> | null
  readonly RepoDigests: ReadonlyArray<string> | null
  readonly RootFS: { readonly Layers: ReadonlyArray<string> }
}

const podmanResult = (...args: ReadonlyArray<string>) =>
  Effect.flatMap(PodmanHomeTag, (home) => runCommand("podman", [...home.flags, ...args], home.env))

/** A manifest as LocalPlatform's registry stores it (raw HTTP, as alice). */
const registryManifest = (repo: string, reference: string) =>
  Effect.gen(function*() {
    const p = yield* LocalPlatform.LocalPlatformTag
    const auth = Buffer.from(`alice:${Redacted.value(p.token("alice"))}`).toString("base64")
    const res = yield* Effect.promise(() =>
      fetch(`${p.url}/v2/${repo}/manifests/${reference}`, {
        headers: { Authorization: `Basic ${auth}`, Accept: Images.MANIFEST_ACCEPT }
      })
    )
    const bytes = new Uint8Array(yield* Effect.promise(() => res.arrayBuffer()))
    assert.strictEqual(res.status, 200)
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { layers: ReadonlyArray<{ size: number }> }
    return { ...doc, mediaType: res.headers.get("content-type"), digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` }
  })

/** Podman's own `image inspect` (the CLI, on the same storage). */
const inspect = (name: string) =>
  Effect.map(podman("image", "inspect", name), (out) => (JSON.parse(out) as ReadonlyArray<PodmanInspect>)[0]!)


describe("Images over Podman's Engine API and LocalPlatform's registry", () => {
  layer(withPodman, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("push with progress; list/tags/tagInfo/size/digest see it; pull under another name has the same digest and layers; rm", () =>
      Effect.gen(function*() {
        yield* importImage("localhost/podman-hello:v1")
        const images = yield* Images.Images
        const events: Array<Images.ImageProgress> = []
        const progress = (e: Images.ImageProgress) => Effect.sync(() => void events.push(e))
        const target = yield* images.push(new Image.LocalImage({ name: "podman-hello", tag: "v1" }), undefined, { progress })
        assert.strictEqual(target.toString(), "image://default/alice/podman-hello:v1")
        assert.deepStrictEqual(events.map((e) => e._tag), ["ImageProgressPush"])
        const pushed = events[0] as Images.ImageProgressPush
        assert.strictEqual(pushed.dst.toString(), target.toString())

        const listed = (yield* images.list()).map(String)
        assert.include(listed, "image://default/alice/podman-hello")
        assert.deepStrictEqual((yield* images.tags(yield* remote("alice", "podman-hello"))).map((i) => i.tag), ["v1"])
        const digest = yield* images.digest(target)
        assert.match(digest, /^sha256:[0-9a-f]{64}$/)
        const original = yield* inspect("localhost/podman-hello:v1")
        // what Podman stored: an OCI manifest (without a mediaType field), which a registry refuses to a
        // schema-2-only client such as neuro-sdk
        const stored = yield* registryManifest("alice/podman-hello", "v1")
        assert.strictEqual(stored.mediaType, Images.MANIFEST_OCI)
        assert.strictEqual(stored.digest, digest)
        const info = yield* images.tagInfo(target)
        assert.strictEqual(info.name, "v1")
        assert.strictEqual(info.size, stored.layers.reduce((sum, l) => sum + l.size, 0))
        assert.isAbove(info.size ?? 0, 64 * 1024 / 2)
        assert.strictEqual(yield* images.size(target), info.size)

        const pulled: Array<Images.ImageProgress> = []
        const local = yield* images.pull(target, new Image.LocalImage({ name: "podman-hello-copy", tag: "1" }), {
          progress: (e) => Effect.sync(() => void pulled.push(e))
        })
        assert.strictEqual(local.toString(), "podman-hello-copy:1")
        assert.strictEqual(pulled[0]!._tag, "ImageProgressPull")
        const steps = pulled.filter((e): e is Images.ImageProgressStep => e._tag === "ImageProgressStep")
        assert.isAbove(steps.length, 0)
        for (const s of steps) assert.strictEqual(s.message, `${s.layerId}: ${s.status}`)
        const copy = yield* inspect("podman-hello-copy:1")
        assert.strictEqual(copy.Id, original.Id)
        assert.deepStrictEqual(copy.RootFS.Layers, original.RootFS.Layers)
        // the pulled image is the manifest whose digest the registry reports
        assert.include(copy.RepoDigests ?? [], `${target.asDockerUrl().replace(/:v1$/, "")}@${digest}`)

        // the registry name a pull creates is untagged when the Images layer's scope closes; the local name stays
        const registryName = target.asDockerUrl()
        yield* Effect.scoped(
          Effect.flatMap(Layer.build(Images.layer), (ctx) =>
            Context.get(ctx, Images.Images).pull(target, new Image.LocalImage({ name: "podman-hello-scoped", tag: "1" })))
        )
        assert.strictEqual((yield* inspect("podman-hello-scoped:1")).Id, original.Id)
        const after = yield* podmanResult("image", "exists", registryName)
        assert.strictEqual(after.code, 1, after.stderr)
        assert.strictEqual((yield* inspect("localhost/podman-hello:v1")).Id, original.Id)

        yield* images.rm(target, digest)
        assert.deepStrictEqual(yield* images.tags(yield* remote("alice", "podman-hello")), [])
        const gone = yield* Effect.flip(images.pull(target))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        assert.strictEqual(gone.message, `Not found: Image ${target} was not found in registry (404)`)
      }))

    it.effect("a missing local image, a missing remote image or repository, another user's repository", () =>
      Effect.gen(function*() {
        const images = yield* Images.Images
        const noLocal = yield* Effect.flip(images.push(new Image.LocalImage({ name: "podman-absent", tag: "1" })))
        assert.strictEqual(noLocal._tag, "ResourceNotFound")
        assert.include(noLocal.message, "Image podman-absent:1 was not found in your local docker images")
        const noRepo = yield* Effect.flip(images.pull(yield* remote("alice", "podman-never-pushed", "1")))
        assert.strictEqual(noRepo._tag, "ResourceNotFound")

        yield* importImage("localhost/podman-mine:1")
        const mine = yield* images.push(new Image.LocalImage({ name: "podman-mine", tag: "1" }))
        const noTag = yield* Effect.flip(images.pull(yield* remote("alice", "podman-mine", "nope")))
        assert.strictEqual(noTag._tag, "ResourceNotFound")
        // alice may not write into bob's namespace, nor bob read alice's
        const denied = yield* Effect.flip(images.push(new Image.LocalImage({ name: "podman-mine", tag: "1" }), yield* remote("bob", "stolen", "1")))
        assert.strictEqual(denied._tag, "AuthorizationError")
        assert.strictEqual(denied.message, `Permission denied: Access denied ${yield* remote("bob", "stolen", "1")} (403)`)
        // Podman answers 200 and reports the registry's refusal in the stream (Docker: an HTTP 404/403)
        const p = yield* LocalPlatform.LocalPlatformTag
        const d = yield* Images.DockerDaemon
        const asBob = d.pull(mine.asDockerUrl().replace(/:1$/, ""), {
          tag: "1",
          auth: { username: "token", password: p.token("bob"), serveraddress: new URL(p.url).host }
        })
        const refused = (yield* Stream.runCollect(asBob)).pipe(Chunk.toReadonlyArray)
        assert.strictEqual(refused.length, 1)
        assert.match(String(refused[0]!["error"]), /403/)
      }))

    it.scoped("a two-layer image: both layers uploaded; pushed again under another name, Podman mounts them", () =>
      Effect.gen(function*() {
        // Podman names an image pulled from an OCI layout after its path, which must be lowercase
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => join(tmpdir(), `neuro-layout-${randomBytes(6).toString("hex")}`)),
          (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
        )
        const layout = writeLayout(dir)
        const id = (yield* podman("pull", "-q", `oci:${layout.dir}:v1`)).trim()
        yield* podman("tag", id, "localhost/podman-two:1")
        const images = yield* Images.Images
        const first = yield* images.push(new Image.LocalImage({ name: "podman-two", tag: "1" }))
        const stored = yield* registryManifest("alice/podman-two", "1")
        assert.strictEqual(stored.layers.length, 2)
        assert.strictEqual(yield* images.size(first), stored.layers.reduce((sum, l) => sum + l.size, 0))
        const p = yield* LocalPlatform.LocalPlatformTag
        const again = yield* images.push(new Image.LocalImage({ name: "podman-two", tag: "1" }), yield* remote("alice", "podman-two-again", "1"))
        const mounts = (yield* p.requests).filter((r) =>
          r.method === "POST" && r.path === "/v2/alice/podman-two-again/blobs/uploads/" && new URLSearchParams(r.query).get("from") === "alice/podman-two"
        )
        assert.strictEqual(mounts.length, 2)
        assert.deepStrictEqual((yield* registryManifest("alice/podman-two-again", "1")).layers, stored.layers)
        assert.strictEqual(yield* images.digest(again), yield* images.digest(first))
      }))

    it.effect("without DOCKER_HOST, NodeDockerDaemon finds Podman's rootless socket under XDG_RUNTIME_DIR", () =>
      Effect.gen(function*() {
        const home = yield* PodmanHomeTag
        const earlier = ["/run/docker.sock", "/var/run/docker.sock", join(homedir(), ".docker", "run", "docker.sock"), "/run/podman/podman.sock"]
        const runtimeDir = join(home.dir, "xdg")
        fs.mkdirSync(join(runtimeDir, "podman"), { recursive: true })
        fs.symlinkSync(home.socketPath, join(runtimeDir, "podman", "podman.sock"))
        yield* importImage("localhost/podman-found:1")
        const found = NodeDockerDaemon.make({ env: { XDG_RUNTIME_DIR: runtimeDir } })
        const none = NodeDockerDaemon.make({ env: { XDG_RUNTIME_DIR: join(home.dir, "elsewhere") } })
        if (earlier.some((p) => fs.existsSync(p))) {
          // a Docker (or rootful Podman) socket on this machine comes first: only the order can be checked here
          assert.strictEqual((yield* Effect.either(none.inspect("localhost/podman-found:1")))._tag, "Left")
          return
        }
        assert.deepStrictEqual((yield* found.inspect("localhost/podman-found:1")).repoTags, ["localhost/podman-found:1"])
        const missing = yield* Effect.flip(none.inspect("localhost/podman-found:1"))
        assert.strictEqual(missing.status, 900)
        assert.include(missing.message, "Docker engine is not available")
      }))

    // formerly skipped unless a Docker daemon was reachable: the same round trip, on Podman
    it.effect("pushes a tiny imported image under its default name and pulls it back: same image id through the Engine API", () =>
      Effect.gen(function*() {
        const home = yield* PodmanHomeTag
        const name = `neuro-sdk-ts-test-${randomBytes(3).toString("hex")}`
        const tar = join(home.dir, "tiny.tar")
        fs.writeFileSync(tar, tarOf([{ name: "hello.txt", data: new TextEncoder().encode("hello from neuro-sdk-ts\n") }]))
        yield* podman("import", tar, `${name}:tiny`)
        const images = yield* Images.Images
        const target = yield* images.push(new Image.LocalImage({ name, tag: "tiny" }))
        assert.strictEqual(target.toString(), `image://default/alice/${name}:tiny`)
        assert.isAbove(yield* images.size(target), 0)
        assert.match(yield* images.digest(target), /^sha256:[0-9a-f]{64}$/)
        const local = yield* images.pull(target, new Image.LocalImage({ name: `${name}-pulled`, tag: "tiny" }))
        const d = yield* Images.DockerDaemon
        const pulled = yield* d.inspect(local.toString())
        assert.strictEqual(pulled.id, (yield* d.inspect(`${name}:tiny`)).id)
        assert.include(pulled.repoTags, `docker.io/library/${name}-pulled:tiny`)
        // the versioned paths of the Engine API (`/v1.41/...`) reach the same engine
        const versioned = NodeDockerDaemon.make({ host: `unix://${home.socketPath}`, apiVersion: "1.41", env: {} })
        assert.strictEqual((yield* versioned.inspect(local.toString())).id, pulled.id)
        yield* d.remove(`${name}-pulled:tiny`)
        assert.strictEqual((yield* Effect.flip(d.inspect(`${name}-pulled:tiny`))).status, 404)
      }))
  })
})
