/**
 * LocalPlatform's registry driven by a registry client we did not write: skopeo (containers/image,
 * the library Podman and CRI-O use) copies images in (OCI and Docker schema 2), out (OCI layout,
 * docker-archive), between repositories (cross-repository mount), lists tags and deletes, with the
 * platform token as the Basic password. The source image is an OCI layout (`writeLayout`).
 * `.ci/run` installs skopeo where it is missing.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Images } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import { registryImage as image, shareFromAlice as share, skopeo, writeLayout } from "./containerTools.js"

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
const DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"

const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`

/** A temporary folder with the source layout, removed with the scope. */
class Work extends Effect.Service<Work>()("test/SkopeoWork", {
  scoped: Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(join(tmpdir(), "neuro-skopeo-"))
      return { dir, source: writeLayout(join(dir, "source")) }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
}) {}

/** skopeo against LocalPlatform's registry as `user`: `docker://host/<repo>` and the credential flags. */
const client = (user: string) =>
  Effect.map(LocalPlatform.LocalPlatformTag, (p) => {
    const host = new URL(p.url).host
    const creds = `${user}:${Redacted.value(p.token(user))}`
    return {
      ref: (repo: string) => `docker://${host}/${repo}`,
      src: ["--src-tls-verify=false", "--src-creds", creds],
      dest: ["--dest-tls-verify=false", "--dest-creds", creds],
      plain: ["--tls-verify=false", "--creds", creds]
    }
  })

const ok = (r: { readonly code: number; readonly stderr: string }) => assert.strictEqual(r.code, 0, r.stderr)

interface Inspected {
  readonly Digest: string
  readonly Layers: ReadonlyArray<string>
}



describe("LocalPlatform's registry driven by skopeo", () => {
  layer(Layer.merge(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }), Work.Default), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.effect("copy in as OCI and as Docker schema 2, inspect, list tags; the SDK reads both", () =>
      Effect.gen(function*() {
        const { source } = yield* Work
        const a = yield* client("alice")
        const src = `oci:${source.dir}:v1`
        ok(yield* skopeo("copy", ...a.dest, "--format", "oci", src, a.ref("alice/sk:oci")))
        ok(yield* skopeo("copy", ...a.dest, "--format", "v2s2", src, a.ref("alice/sk:v2s2")))
        const raw = (tag: string) => Effect.map(skopeo("inspect", "--raw", ...a.plain, a.ref(`alice/sk:${tag}`)), (r) => {
          ok(r)
          return JSON.parse(r.stdout) as { mediaType: string; config: { digest: string }; layers: ReadonlyArray<{ digest: string }> }
        })
        const oci = yield* raw("oci")
        assert.strictEqual(oci.mediaType, OCI_MANIFEST)
        assert.strictEqual(oci.config.digest, source.config)
        assert.deepStrictEqual(oci.layers.map((l) => l.digest), source.layers)
        const v2 = yield* raw("v2s2")
        assert.strictEqual(v2.mediaType, DOCKER_V2)
        assert.deepStrictEqual(v2.layers.map((l) => l.digest), source.layers)
        const tags = yield* skopeo("list-tags", ...a.plain, a.ref("alice/sk"))
        ok(tags)
        assert.deepStrictEqual(JSON.parse(tags.stdout), { Repository: a.ref("alice/sk").slice("docker://".length), Tags: ["oci", "v2s2"] })

        const images = yield* Images.Images
        for (const tag of ["oci", "v2s2"]) {
          const inspected = yield* skopeo("inspect", ...a.plain, a.ref(`alice/sk:${tag}`))
          ok(inspected)
          const digest = (JSON.parse(inspected.stdout) as Inspected).Digest
          assert.strictEqual(yield* images.digest(yield* image("alice", "sk", tag)), digest)
          assert.isAbove(yield* images.size(yield* image("alice", "sk", tag)), 150_000)
        }
        assert.deepStrictEqual((yield* images.tags(yield* image("alice", "sk"))).map((i) => i.tag), ["oci", "v2s2"])
      }))

    it.effect("multi-platform: an OCI index and a Docker manifest list with all their images (children PUT by digest)", () =>
      Effect.gen(function*() {
        const { source } = yield* Work
        const a = yield* client("alice")
        const src = `oci:${source.dir}:multi`
        ok(yield* skopeo("copy", ...a.dest, "--all", src, a.ref("alice/multi:oci")))
        ok(yield* skopeo("copy", ...a.dest, "--all", "--format", "v2s2", src, a.ref("alice/multi:docker")))
        for (const [tag, type] of [["oci", OCI_INDEX], ["docker", DOCKER_LIST]] as const) {
          const raw = yield* skopeo("inspect", "--raw", ...a.plain, a.ref(`alice/multi:${tag}`))
          ok(raw)
          const list = JSON.parse(raw.stdout) as { mediaType: string; manifests: ReadonlyArray<{ digest: string; platform: { architecture: string } }> }
          assert.strictEqual(list.mediaType, type)
          assert.deepStrictEqual(list.manifests.map((m) => m.platform.architecture), ["amd64", "arm64"])
          for (const arch of ["amd64", "arm64"]) {
            // skopeo picks the platform's manifest from the list and fetches it by digest
            const chosen = yield* skopeo("inspect", "--override-arch", arch, ...a.plain, a.ref(`alice/multi:${tag}`))
            ok(chosen)
            const info = JSON.parse(chosen.stdout) as Inspected & { Architecture: string }
            assert.strictEqual(info.Architecture, arch)
            assert.strictEqual(info.Digest, sha256(raw.stdout))
            if (arch === "amd64") assert.deepStrictEqual(info.Layers, source.layers)
          }
        }
        // the OCI index keeps the OCI manifests' digests
        const ociRaw = yield* skopeo("inspect", "--raw", ...a.plain, a.ref("alice/multi:oci"))
        assert.deepStrictEqual(
          (JSON.parse(ociRaw.stdout) as { manifests: ReadonlyArray<{ digest: string }> }).manifests.map((m) => m.digest),
          [source.platforms["amd64"], source.platforms["arm64"]]
        )
      }))

    it.effect("copy out to an OCI layout and a docker-archive; the blobs are the ones copied in", () =>
      Effect.gen(function*() {
        const { dir, source } = yield* Work
        const a = yield* client("alice")
        ok(yield* skopeo("copy", ...a.dest, `oci:${source.dir}:v1`, a.ref("alice/out:1")))
        const out = join(dir, "out-oci")
        ok(yield* skopeo("copy", ...a.src, a.ref("alice/out:1"), `oci:${out}:copy`))
        for (const digest of [source.config, ...source.layers]) {
          const bytes = fs.readFileSync(join(out, "blobs", "sha256", digest.slice(7)))
          assert.strictEqual(sha256(bytes), digest)
        }
        const archive = join(dir, "out.tar")
        ok(yield* skopeo("copy", ...a.src, a.ref("alice/out:1"), `docker-archive:${archive}:out:1`))
        // and back in from the archive (Docker schema 2, uncompressed layers in the archive)
        ok(yield* skopeo("copy", ...a.dest, `docker-archive:${archive}`, a.ref("alice/from-archive:1")))
        const back = yield* skopeo("inspect", ...a.plain, a.ref("alice/from-archive:1"))
        ok(back)
        assert.strictEqual((JSON.parse(back.stdout) as Inspected).Layers.length, 2)
      }))

    it.effect("a copy between repositories mounts the blobs instead of uploading them again", () =>
      Effect.gen(function*() {
        const { source } = yield* Work
        const a = yield* client("alice")
        ok(yield* skopeo("copy", ...a.dest, `oci:${source.dir}:v1`, a.ref("alice/mount-src:1")))
        const copied = yield* skopeo("--debug", "copy", ...a.src, ...a.dest, a.ref("alice/mount-src:1"), a.ref("alice/mount-dst:1"))
        ok(copied)
        const mounts = copied.stderr.split("\n").filter((l) => /POST .*\/v2\/alice\/mount-dst\/blobs\/uploads\/\?from=alice%2Fmount-src&mount=/.test(l))
        assert.strictEqual(mounts.length, source.layers.length, copied.stderr)
        assert.strictEqual(copied.stderr.split("\n").filter((l) => l.includes("mount OK")).length, source.layers.length)
        // only the config (a blob skopeo reads, not a layer) is uploaded: POST, PATCH, PUT ?digest=
        assert.isTrue(copied.stderr.split("\n").some((l) => /PATCH .*\/v2\/alice\/mount-dst\/blobs\/uploads\/[0-9a-f-]+"/.test(l)))
        const inspected = yield* skopeo("inspect", ...a.plain, a.ref("alice/mount-dst:1"))
        ok(inspected)
        assert.deepStrictEqual((JSON.parse(inspected.stdout) as Inspected).Layers, source.layers)
      }))

    it.effect("delete a tag's manifest; the tag is gone and the other tag stays", () =>
      Effect.gen(function*() {
        const { source } = yield* Work
        const a = yield* client("alice")
        ok(yield* skopeo("copy", ...a.dest, "--format", "v2s2", `oci:${source.dir}:v1`, a.ref("alice/del:keep")))
        ok(yield* skopeo("copy", ...a.dest, "--format", "oci", `oci:${source.dir}:v1`, a.ref("alice/del:drop")))
        ok(yield* skopeo("delete", ...a.plain, a.ref("alice/del:drop")))
        const tags = yield* skopeo("list-tags", ...a.plain, a.ref("alice/del"))
        ok(tags)
        assert.deepStrictEqual((JSON.parse(tags.stdout) as { Tags: ReadonlyArray<string> }).Tags, ["keep"])
        const gone = yield* skopeo("inspect", ...a.plain, a.ref("alice/del:drop"))
        assert.notStrictEqual(gone.code, 0)
        assert.include(gone.stderr, "manifest unknown")
        ok(yield* skopeo("inspect", ...a.plain, a.ref("alice/del:keep")))
      }))

    it.effect("ACL: bob cannot list, read or write alice's repository until she shares it", () =>
      Effect.gen(function*() {
        const { dir, source } = yield* Work
        const a = yield* client("alice")
        const b = yield* client("bob")
        ok(yield* skopeo("copy", ...a.dest, `oci:${source.dir}:v1`, a.ref("alice/private:1")))
        const refusals = [
          yield* skopeo("list-tags", ...b.plain, a.ref("alice/private")),
          yield* skopeo("inspect", ...b.plain, a.ref("alice/private:1")),
          yield* skopeo("copy", ...b.src, a.ref("alice/private:1"), `oci:${join(dir, "bob-oci")}:x`),
          yield* skopeo("copy", ...b.dest, `oci:${source.dir}:v1`, a.ref("alice/private:bob")),
          yield* skopeo("delete", ...b.plain, a.ref("alice/private:1"))
        ]
        for (const r of refusals) {
          assert.notStrictEqual(r.code, 0)
          assert.match(r.stderr, /403|Forbidden/)
        }
        const wrongToken = yield* skopeo("list-tags", "--tls-verify=false", "--creds", "alice:not-a-token", a.ref("alice/private"))
        assert.notStrictEqual(wrongToken.code, 0)
        assert.match(wrongToken.stderr, /401|unauthorized|authentication required/i)

        yield* share("bob", "image://default/alice/private", "read")
        ok(yield* skopeo("copy", ...b.src, a.ref("alice/private:1"), `oci:${join(dir, "bob-oci")}:x`))
        const stillNoWrite = yield* skopeo("copy", ...b.dest, `oci:${source.dir}:v1`, a.ref("alice/private:bob"))
        assert.notStrictEqual(stillNoWrite.code, 0)
        assert.match(stillNoWrite.stderr, /403|Forbidden|denied/)
      }))
  })
})
