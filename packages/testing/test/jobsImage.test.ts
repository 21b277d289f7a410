/**
 * Images of LocalPlatform's registry as the root file systems of jobs (issue 16 item 2). A small
 * image is built here from Debian's busybox-static: two layers, the second deleting a file of the
 * first with a whiteout and hiding a folder with an opaque whiteout, and its own entrypoint, cmd,
 * env and working dir. It is pushed with skopeo (OCI and Docker schema 2) and over the registry
 * API; then the unpacking is checked file by file (whiteouts, links, modes, cache by digest,
 * digests checked, hostile entries refused or kept inside the root), and jobs started with the
 * SDK over a real socket get it as `JobSpec.imageRoot` (a recording runner shows what reaches the
 * runner), fail as the platform does when the image is missing from the registry, and say so when
 * their image is not in the registry at all.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Jobs, Parser } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { imageRoot, parseImage } from "../src/internal/jobs/imageRoot.js"
import { JobRunner, LocalPlatform, NeuroTest } from "../src/index.js"
import { skopeo } from "./containerTools.js"
import * as oci from "./ociImages.js"
import { waitFinished } from "./jobWait.js"

const ENTRY_SH = `#!/bin/sh
echo "entry GREETING=$GREETING MODE=$MODE PWD=$(pwd) ARGS=$*"
if [ -e /etc/os-release ]; then echo "os-release present"; else echo "no os-release"; fi
cat /etc/marker
`

const applets = ["sh", "cat", "ls", "echo", "pwd", "env", "test", "["]

/** The busybox image: layer 1 a small system, layer 2 whiteouts and changes. */
const busyboxLayers = (): ReadonlyArray<ReadonlyArray<oci.Entry>> => [
  [
    oci.dir("bin/"),
    oci.dir("etc/"),
    oci.dir("app/"),
    oci.dir("data/"),
    oci.dir("opq/"),
    oci.dir("locked/", 0o555),
    oci.file("bin/busybox", fs.readFileSync("/bin/busybox"), 0o755),
    ...applets.map((a) => oci.symlink(`bin/${a}`, "busybox")),
    oci.hardlink("bin/bb", "bin/busybox"),
    oci.file("bin/suid", "not really\n", 0o4755),
    oci.file("etc/marker", "from layer 1\n"),
    oci.file("data/old.txt", "old\n"),
    oci.file("data/keep.txt", "keep\n", 0o600),
    oci.file("opq/lower.txt", "lower\n"),
    oci.file("locked/inside.txt", "inside\n"),
    oci.file("app/entry.sh", ENTRY_SH, 0o755)
  ],
  [
    oci.file("data/.wh.old.txt", ""),
    oci.dir("opq/"),
    oci.file("opq/.wh..wh..opq", ""),
    oci.file("opq/upper.txt", "upper\n"),
    oci.file("etc/marker", "from the image\n"),
    oci.file("app/new.txt", "new\n")
  ]
]

const busyboxConfig = {
  Entrypoint: ["/bin/sh", "/app/entry.sh"],
  Cmd: ["default", "args"],
  Env: ["PATH=/bin", "GREETING=hello", "MODE=image"],
  WorkingDir: "/app"
}

/** Scratch space: an OCI layout for skopeo and a folder standing for "outside the image root". */
class Work extends Effect.Service<Work>()("test/JobsImageWork", {
  scoped: Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(join(tmpdir(), "neuro-jobs-image-"))
      const outside = join(dir, "outside")
      fs.mkdirSync(outside)
      fs.writeFileSync(join(outside, "target.txt"), "host file\n")
      return { dir, outside }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
}) {}

/** Every spec the platform gave its runner; the containers are simulated (they exit at once). */
const recorded: Array<JobRunner.JobSpec> = []
const simulated = JobRunner.makeSimulated({ script: () => "echo started" })
const recordingRunner: JobRunner.JobRunner.Service = {
  start: (spec) => Effect.suspend(() => (recorded.push(spec), simulated.start(spec)))
}

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** A registry client of alice and the registry host. */
const registry = Effect.map(LocalPlatform.LocalPlatformTag, (p) => ({
  host: new URL(p.url).host,
  dataDir: p.dataDir,
  client: oci.registryClient(p.url, "alice", Redacted.value(p.token("alice"))),
  creds: `alice:${Redacted.value(p.token("alice"))}`
}))

/** Push the image `repo:tag` built from these layers and config; its manifest digest. */
const push = (repo: string, tag: string, layers: ReadonlyArray<ReadonlyArray<oci.Entry>>, config: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const r = yield* registry
    const image = yield* promise(() => oci.buildImage(layers, config))
    yield* promise(() => r.client.pushImage(repo, tag, image))
    return image.manifest.digest
  })

const unpack = (repo: string, reference: string) =>
  Effect.flatMap(registry, (r) => imageRoot(r.dataDir, { repo, reference }))

const read = (root: string, path: string) => fs.readFileSync(join(root, path), "utf8")
const exists = (root: string, path: string) => fs.existsSync(join(root, path))
const mode = (root: string, path: string) => fs.lstatSync(join(root, path)).mode & 0o7777


describe("which images are of LocalPlatform's registry", () => {
  it("the registry host and a slash start them; the digest wins over the tag, which defaults to latest", () => {
    const host = "127.0.0.1:8080"
    const digest = `sha256:${"a".repeat(64)}`
    assert.deepStrictEqual(parseImage(`${host}/alice/bb:v1`, host), { repo: "alice/bb", reference: "v1" })
    assert.deepStrictEqual(parseImage(`${host}/org/proj/bb`, host), { repo: "org/proj/bb", reference: "latest" })
    assert.deepStrictEqual(parseImage(`${host}/alice/bb@${digest}`, host), { repo: "alice/bb", reference: digest })
    assert.deepStrictEqual(parseImage(`${host}/alice/bb:v1@${digest}`, host), { repo: "alice/bb", reference: digest })
    for (const other of ["ubuntu:22.04", "127.0.0.1:80/alice/bb", "127.0.0.1:8080", "127.0.0.1:80801/alice/bb", "docker.io/alice/bb"]) {
      assert.isUndefined(parseImage(other, host), other)
    }
  })
})

describe("images of LocalPlatform's registry as job root file systems", () => {
  layer(
    Layer.merge(NeuroTest.layer({ transport: "socket", users: ["alice"], jobs: { runner: recordingRunner } }), Work.Default),
    { excludeTestServices: true, timeout: 120_000 }
  )((it) => {
    it.effect("the busybox image pushed by skopeo (OCI) unpacks with its whiteouts, links, modes and config", () =>
      Effect.gen(function*() {
        const { dir } = yield* Work
        const r = yield* registry
        const image = yield* promise(() => oci.buildImage(busyboxLayers(), busyboxConfig))
        oci.writeOciLayout(join(dir, "layout"), "v1", image)
        const copied = yield* skopeo("copy", "--dest-tls-verify=false", "--dest-creds", r.creds, `oci:${join(dir, "layout")}:v1`, `docker://${r.host}/alice/bb:v1`)
        assert.strictEqual(copied.code, 0, copied.stderr)
        const root = yield* unpack("alice/bb", "v1")
        assert.strictEqual(root.digest, image.manifest.digest)
        assert.deepStrictEqual(root.entrypoint, ["/bin/sh", "/app/entry.sh"])
        assert.deepStrictEqual(root.cmd, ["default", "args"])
        assert.deepStrictEqual(root.env, { PATH: "/bin", GREETING: "hello", MODE: "image" })
        assert.strictEqual(root.workingDir, "/app")
        const fsRoot = root.dir
        // the whiteout deleted layer 1's file; the opaque folder kept only layer 2's
        assert.isFalse(exists(fsRoot, "data/old.txt"))
        assert.strictEqual(read(fsRoot, "data/keep.txt"), "keep\n")
        assert.deepStrictEqual(fs.readdirSync(join(fsRoot, "opq")), ["upper.txt"])
        assert.strictEqual(read(fsRoot, "etc/marker"), "from the image\n")
        assert.isFalse(exists(fsRoot, "data/.wh.old.txt"))
        // links, modes (set-user-id dropped), a read-only folder with its file, mount points
        assert.strictEqual(fs.readlinkSync(join(fsRoot, "bin/sh")), "busybox")
        assert.strictEqual(fs.statSync(join(fsRoot, "bin/bb")).ino, fs.statSync(join(fsRoot, "bin/busybox")).ino)
        assert.strictEqual(mode(fsRoot, "bin/busybox"), 0o755)
        assert.strictEqual(mode(fsRoot, "data/keep.txt"), 0o600)
        assert.strictEqual(mode(fsRoot, "bin/suid"), 0o755)
        assert.strictEqual(mode(fsRoot, "locked"), 0o755) // the owner's rwx kept: the cache can be removed
        assert.strictEqual(read(fsRoot, "locked/inside.txt"), "inside\n")
        for (const m of ["proc", "dev", "sys", "tmp"]) assert.isTrue(fs.lstatSync(join(fsRoot, m)).isDirectory(), m)
        assert.strictEqual(fs.readFileSync(join(fsRoot, "bin/busybox")).length, fs.statSync("/bin/busybox").size)
      }))

    it.effect("the same image converted by skopeo to Docker schema 2 unpacks to the same tree", () =>
      Effect.gen(function*() {
        const r = yield* registry
        const copied = yield* skopeo(
          "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", r.creds, "--dest-creds", r.creds,
          "--format", "v2s2", `docker://${r.host}/alice/bb:v1`, `docker://${r.host}/alice/bb-docker:v1`
        )
        assert.strictEqual(copied.code, 0, copied.stderr)
        const root = yield* unpack("alice/bb-docker", "v1")
        const oci = yield* unpack("alice/bb", "v1")
        assert.notStrictEqual(root.digest, oci.digest)
        assert.deepStrictEqual(root.entrypoint, oci.entrypoint)
        assert.deepStrictEqual(fs.readdirSync(root.dir).sort(), fs.readdirSync(oci.dir).sort())
        assert.isFalse(exists(root.dir, "data/old.txt"))
        assert.strictEqual(read(root.dir, "etc/marker"), "from the image\n")
      }))

    it.effect("an OCI index is unpacked from its linux/amd64 image; plain tar layers are read", () =>
      Effect.gen(function*() {
        const r = yield* registry
        const amd64 = yield* promise(() => oci.buildImage([[oci.file("arch", "amd64\n")]], {}, { gzip: false }))
        const arm64 = yield* promise(() => oci.buildImage([[oci.file("arch", "arm64\n")]], {}, { architecture: "arm64" }))
        yield* promise(() => r.client.pushImage("alice/multi", undefined, amd64))
        yield* promise(() => r.client.pushImage("alice/multi", undefined, arm64))
        yield* promise(() => r.client.putManifest("alice/multi", "v1", oci.indexOf({ amd64, arm64 })))
        const root = yield* unpack("alice/multi", "v1")
        assert.strictEqual(root.digest, amd64.manifest.digest)
        assert.strictEqual(read(root.dir, "arch"), "amd64\n")
        const byDigest = yield* unpack("alice/multi", arm64.manifest.digest)
        assert.strictEqual(read(byDigest.dir, "arch"), "arm64\n")
      }))

    it.effect("unpacked once per manifest digest: later and concurrent uses share one folder", () =>
      Effect.gen(function*() {
        const r = yield* registry
        const digest = yield* push("alice/cached", "v1", [[oci.file("a.txt", "a\n")]])
        const [first, ...others] = yield* Effect.all(Array.from({ length: 4 }, () => unpack("alice/cached", "v1")), {
          concurrency: "unbounded"
        })
        assert.strictEqual(first!.dir, join(r.dataDir, "images", "sha256", digest.slice(7), "rootfs"))
        for (const o of others) assert.strictEqual(o.dir, first!.dir)
        fs.writeFileSync(join(first!.dir, "probe"), "still here")
        // another tag of the same manifest: the same folder, not unpacked again
        const manifest = manifestOf(r, "alice/cached", "v1")
        yield* promise(() => r.client.putManifest("alice/cached", "again", manifest))
        const again = yield* unpack("alice/cached", "again")
        assert.strictEqual(again.dir, first!.dir)
        assert.strictEqual(read(again.dir, "probe"), "still here")
        assert.deepStrictEqual(fs.readdirSync(join(r.dataDir, "images")).filter((n) => n !== "sha256"), [])
      }))

    it.effect("a blob that does not match its digest is refused, and nothing is left behind", () =>
      Effect.gen(function*() {
        const r = yield* registry
        const image = yield* promise(() => oci.buildImage([[oci.file("tampered.txt", "t\n")]], {}))
        yield* promise(() => r.client.pushImage("alice/corrupt", "v1", image))
        const blob = join(r.dataDir, "registry", "blobs", "sha256", image.layers[0]!.digest.slice(7))
        fs.appendFileSync(blob, "tampered")
        const error = yield* Effect.flip(unpack("alice/corrupt", "v1"))
        assert.strictEqual(error.reason, "Corrupt")
        assert.include(error.description, image.layers[0]!.digest)
        assert.isFalse(fs.existsSync(join(r.dataDir, "images", "sha256", image.manifest.digest.slice(7))))
        assert.deepStrictEqual(fs.readdirSync(join(r.dataDir, "images")).filter((n) => n.startsWith(".")), [])
      }))

    it.effect("entries named outside the root (.., absolute, hard links) refuse the layer; zstd is refused", () =>
      Effect.gen(function*() {
        const r = yield* registry
        const cases: ReadonlyArray<readonly [string, oci.Entry]> = [
          ["dotdot", oci.file("../escape.txt", "x")],
          ["deep-dotdot", oci.file("a/../../escape.txt", "x")],
          ["absolute", oci.file("/abs.txt", "x")],
          ["hardlink-dotdot", oci.hardlink("h", "../../etc/passwd")],
          ["hardlink-absolute", oci.hardlink("h", "/etc/passwd")]
        ]
        for (const [name, entry] of cases) {
          yield* push(`alice/evil-${name}`, "v1", [[oci.file("ok.txt", "ok\n"), entry]])
          const error = yield* Effect.flip(unpack(`alice/evil-${name}`, "v1"))
          assert.strictEqual(error.reason, "Unsafe", `${name}: ${error.description}`)
        }
        const zstd = { digest: "", data: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" }
        const zstdImage = oci.imageOfBlobs([{ ...zstd, digest: oci.sha256(zstd.data) }], {})
        yield* promise(() => r.client.pushImage("alice/zstd", "v1", zstdImage))
        const error = yield* Effect.flip(unpack("alice/zstd", "v1"))
        assert.strictEqual(error.reason, "Unsupported")
        assert.include(error.description, "zstd")
      }))

    it.effect("a symlink out of the root, then entries through it: they land inside the root, never outside", () =>
      Effect.gen(function*() {
        const { outside } = yield* Work
        const up = "../".repeat(12)
        yield* push("alice/evil-links", "v1", [
          [
            oci.symlink("abs", outside),
            oci.file("abs/pwned", "through an absolute link\n"),
            oci.symlink("rel", up),
            oci.file(`rel${outside}/pwned2`, "through a relative link\n"),
            oci.symlink("hostfile", join(outside, "target.txt")),
            oci.file("hostfile", "replaces the link, not its target\n")
          ],
          [
            // a later layer writing through a link of an earlier one, and a hard link through it
            oci.file("abs/pwned3", "layer 2\n"),
            oci.symlink("abs2", outside)
          ],
          [oci.dir("abs2/"), oci.file("abs2/pwned4", "x")]
        ])
        const root = yield* unpack("alice/evil-links", "v1")
        assert.deepStrictEqual(fs.readdirSync(outside), ["target.txt"])
        assert.strictEqual(fs.readFileSync(join(outside, "target.txt"), "utf8"), "host file\n")
        assert.strictEqual(read(root.dir, `${outside}/pwned`), "through an absolute link\n")
        assert.strictEqual(read(root.dir, `${outside}/pwned2`), "through a relative link\n")
        assert.strictEqual(read(root.dir, `${outside}/pwned3`), "layer 2\n")
        assert.strictEqual(read(root.dir, "hostfile"), "replaces the link, not its target\n")
        assert.isFalse(fs.lstatSync(join(root.dir, "hostfile")).isSymbolicLink())
        // a folder entry where a link was replaces the link
        assert.isTrue(fs.lstatSync(join(root.dir, "abs2")).isDirectory())
        assert.strictEqual(read(root.dir, "abs2/pwned4"), "x")
        // a hard link through a link out of the root names nothing inside it: refused
        yield* push("alice/evil-hardlink-link", "v1", [[oci.symlink("out", outside), oci.hardlink("h", "out/target.txt")]])
        const error = yield* Effect.flip(unpack("alice/evil-hardlink-link", "v1"))
        assert.strictEqual(error.reason, "Corrupt")
        assert.strictEqual(fs.statSync(join(outside, "target.txt")).nlink, 1)
      }))

    it.effect("a job of a registry image gets it as imageRoot; the SDK's image: reference reaches the registry", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const parser = yield* Parser.Parser
        const image = yield* parser.remoteImage("image:bb:v1")
        const job = yield* jobs.start({ image, presetName: "cpu-small", command: "echo hi", env: { MODE: "job" } })
        const done = yield* waitFinished(job.id)
        assert.strictEqual(done.status, "succeeded")
        const spec = recorded.find((s) => s.id === job.id)!
        assert.isDefined(spec.imageRoot)
        const expected = yield* unpack("alice/bb", "v1")
        assert.deepStrictEqual(spec.imageRoot, expected)
        assert.strictEqual(spec.env["MODE"], "job")
        const running = done.history.transitions.find((t) => t.status === "running")!
        assert.strictEqual(running.description, "")
      }))

    it.effect("an image missing from the registry fails the job as the platform collects it", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const parser = yield* Parser.Parser
        const r = yield* registry
        const before = recorded.length
        for (const ref of ["image:nope:v1", "image:bb:no-such-tag"]) {
          const image = yield* parser.remoteImage(ref)
          const job = yield* jobs.start({ image, presetName: "cpu-small", command: "echo hi" })
          const done = yield* waitFinished(job.id)
          const name = `${r.host}/alice/${ref.slice("image:".length)}`
          assert.strictEqual(done.status, "failed")
          assert.strictEqual(done.history.reason, "Collected")
          assert.strictEqual(done.history.description, `Image '${name}' can not be pulled`)
          assert.isUndefined(done.history.exitCode)
          const pull = done.history.transitions.find((t) => t.reason === "ErrImagePull")
          assert.strictEqual(pull?.status, "pending")
        }
        assert.strictEqual(recorded.length, before)
        // a reference that is not one (upper case): the kubelet's InvalidImageName, then collected
        const p = yield* LocalPlatform.LocalPlatformTag
        const bad = `${r.host}/alice/BB:v1`
        const res = yield* promise(() =>
          fetch(`${p.apiUrl.href}/jobs?from_preset`, {
            method: "POST",
            headers: { Authorization: `Bearer ${Redacted.value(p.token("alice"))}`, "Content-Type": "application/json" },
            body: JSON.stringify({ image: bad, preset_name: "cpu-small", cluster_name: "default", pass_config: false, command: "true" })
          }).then((x) => x.json() as Promise<{ readonly id: string }>)
        )
        const done = yield* waitFinished(res.id)
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.reason, "Collected")
        assert.strictEqual(done.history.description, `Invalid image name '${bad}'`)
        assert.strictEqual(done.history.transitions.find((t) => t.status === "pending" && t.reason === "InvalidImageName")?.status, "pending")
        // a reference that climbs out of the registry's folders never names a file there
        for (const escape of [`${r.host}/alice/../../../etc:v1`, `${r.host}/alice/bb:..%2F..%2Fpasswd`]) {
          const sent = yield* promise(() =>
            fetch(`${p.apiUrl.href}/jobs?from_preset`, {
              method: "POST",
              headers: { Authorization: `Bearer ${Redacted.value(p.token("alice"))}`, "Content-Type": "application/json" },
              body: JSON.stringify({ image: escape, preset_name: "cpu-small", cluster_name: "default", pass_config: false, command: "true" })
            }).then((x) => x.json() as Promise<{ readonly id: string }>)
          )
          const refused = yield* waitFinished(sent.id)
          assert.strictEqual(refused.status, "failed", escape)
          assert.strictEqual(refused.history.description, `Invalid image name '${escape}'`)
        }
        assert.strictEqual(recorded.length, before)
      }))

    it.effect("an image of another registry runs on the host, and the running status says so", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "echo hi" })
        const done = yield* waitFinished(job.id)
        assert.strictEqual(done.status, "succeeded")
        assert.isUndefined(recorded.find((s) => s.id === job.id)!.imageRoot)
        const running = done.history.transitions.find((t) => t.status === "running")!
        assert.strictEqual(
          running.description,
          "image ubuntu:22.04 is not in LocalPlatform's registry: running on this machine's file system"
        )
      }))
  })
})

const sandbox = JobRunner.sandboxAvailable()
if (!sandbox.available) console.warn(`jobsImage.test.ts: the bubblewrap cases are skipped: ${sandbox.reason}`)

/** Runs a job of `image:bb:v1` to its end in a sandbox; its final status and log. */
const runBusybox = (options: Omit<Jobs.StartOptions, "image" | "presetName"> = {}) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs.Jobs
    const parser = yield* Parser.Parser
    const job = yield* jobs.start({ image: yield* parser.remoteImage("image:bb:v1"), presetName: "cpu-small", ...options })
    const done = yield* waitFinished(job.id)
    const log = yield* jobs.monitor(job.id).pipe(Stream.decodeText(), Stream.mkString)
    return { done, log }
  })

describe.skipIf(!sandbox.available)("jobs of a registry image in bubblewrap sandboxes (SDK over a real socket)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], jobs: { runner: JobRunner.makeSandbox() } }), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.effect("the image's entrypoint, cmd, env and working dir on its own root file system", () =>
      Effect.gen(function*() {
        yield* push("alice/bb", "v1", busyboxLayers(), busyboxConfig)
        const { done, log } = yield* runBusybox()
        assert.strictEqual(done.status, "succeeded", log)
        assert.strictEqual(log, "entry GREETING=hello MODE=image PWD=/app ARGS=default args\nno os-release\nfrom the image\n")
      }))

    it.effect("the job's command replaces the cmd, its env is laid over the image's, its working dir wins", () =>
      Effect.gen(function*() {
        const { done, log } = yield* runBusybox({ command: "one two", env: { MODE: "job" }, workingDir: "/data" })
        assert.strictEqual(done.status, "succeeded", log)
        assert.strictEqual(log, "entry GREETING=hello MODE=job PWD=/data ARGS=one two\nno os-release\nfrom the image\n")
      }))

    it.effect("the job's entrypoint replaces the image's and drops its cmd; the host's files are not there", () =>
      Effect.gen(function*() {
        const { done, log } = yield* runBusybox({
          entrypoint: `sh -c 'ls /data /opq; ls /usr /etc/os-release 2>/dev/null || echo "no host files"; echo "$# $PATH"'`
        })
        assert.strictEqual(done.status, "succeeded", log)
        assert.strictEqual(log, "/data:\nkeep.txt\n\n/opq:\nupper.txt\nno host files\n0 /bin\n")
      }))
  })
})

describe("a registry image under the process runner (no sandbox)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"], jobs: { runner: JobRunner.makeProcess() } }), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.effect("is refused: ContainerCannotRun, saying the sandbox runner is needed; nothing of it runs on the host", () =>
      Effect.gen(function*() {
        yield* push("alice/bb", "v1", busyboxLayers(), busyboxConfig)
        const { done, log } = yield* runBusybox({ command: "echo ran" })
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.reason, "ContainerCannotRun")
        assert.strictEqual(done.history.exitCode, 128)
        assert.include(done.history.description, "needs the sandbox runner (bubblewrap)")
        assert.strictEqual(log, "")
      }))
  })
})

/** The manifest `repo:tag` as stored (to push it again under another tag). */
const manifestOf = (r: { readonly dataDir: string }, repo: string, tag: string): oci.Blob => {
  const digest = fs.readFileSync(join(r.dataDir, "registry", "repositories", ...repo.split("/"), "_manifests", "tags", tag), "utf8").trim()
  const data = fs.readFileSync(join(r.dataDir, "registry", "blobs", "sha256", digest.slice(7)))
  return { digest, data, mediaType: oci.OCI_MANIFEST }
}
