/**
 * A real container engine and a real registry client for the image tests: Podman (its
 * Docker-compatible Engine API served by `podman system service`, no daemon) and skopeo. Each
 * Podman gets a temporary folder with its own storage (`--root`, `--runroot`, `--tmpdir`, the `vfs`
 * driver, which needs no mounts), a `registries.conf` that declares LocalPlatform's loopback
 * registry insecure (plain http), and a socket; the service is killed and the folder removed with
 * the scope. Containers are never run (that fails on these machines: `setrlimit RLIMIT_NOFILE`);
 * import, tag, push, pull, inspect and remove do not need them.
 */
import { assert } from "@effect/vitest"
import { Image } from "@neuro-sdk/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { LocalPlatform } from "../src/index.js"

/** A Podman's folder, flags and environment (the service may not be started yet). */
export interface PodmanHome {
  readonly dir: string
  readonly socketPath: string
  readonly flags: ReadonlyArray<string>
  readonly env: NodeJS.ProcessEnv
}

export class PodmanHomeTag extends Context.Tag("test/PodmanHome")<PodmanHomeTag, PodmanHome>() {}

export interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Run a program to its end (never fails: the exit code is in the result). */
export const runCommand = (file: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) =>
  Effect.async<CommandResult>((resume) => {
    const child = execFile(file, [...args], { env: env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof (e as { code?: unknown }).code === "number" ? (e as { code: number }).code : 1
      resume(Effect.succeed({ code, stdout: String(stdout), stderr: String(stderr) }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Run a program and fail with its stderr unless it exits with 0. */
export const runOk = (file: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) =>
  Effect.flatMap(runCommand(file, args, env), (r) =>
    r.code === 0 ? Effect.succeed(r.stdout) : Effect.die(new Error(`${file} ${args.join(" ")} exited with ${r.code}: ${r.stderr}`)))

/** A temporary folder for one Podman, removed with the scope. */
export const podmanHome: Layer.Layer<PodmanHomeTag> = Layer.scoped(
  PodmanHomeTag,
  Effect.acquireRelease(
    Effect.sync((): PodmanHome => {
      const dir = fs.mkdtempSync(join(tmpdir(), "neuro-podman-"))
      for (const sub of ["root", "runroot", "libpod", "tmp", "runtime"]) fs.mkdirSync(join(dir, sub), { mode: 0o700 })
      fs.writeFileSync(join(dir, "registries.conf"), `unqualified-search-registries = []\n`)
      return {
        dir,
        socketPath: join(dir, "podman.sock"),
        flags: [
          "--root", join(dir, "root"),
          "--runroot", join(dir, "runroot"),
          "--tmpdir", join(dir, "libpod"),
          "--storage-driver", "vfs",
          "--events-backend", "file",
          "--cgroup-manager", "cgroupfs"
        ],
        // rootless Podman wants an XDG_RUNTIME_DIR owned by the user
        env: {
          ...process.env,
          CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
          TMPDIR: join(dir, "tmp"),
          XDG_RUNTIME_DIR: join(dir, "runtime")
        }
      }
    }),
    (home) =>
      Effect.suspend(() => {
        // rootless Podman leaves a pause process (holding its user namespace) that outlives the commands
        const pausePid = join(home.dir, "libpod", "pause.pid")
        if (fs.existsSync(pausePid)) {
          const pid = Number(fs.readFileSync(pausePid, "utf8").trim())
          if (Number.isInteger(pid) && pid > 1) {
            try {
              process.kill(pid, "SIGKILL")
            } catch {
              // already gone
            }
          }
        }
        try {
          fs.rmSync(home.dir, { recursive: true, force: true })
          return Effect.void
        } catch {
          // rootless storage holds files of other user ids: remove them inside Podman's user namespace
          return Effect.asVoid(runCommand("podman", [...home.flags, "unshare", "rm", "-rf", home.dir], home.env))
        }
      })
  )
)

/** Run a `podman` command on this home's storage. */
export const podman = (...args: ReadonlyArray<string>) =>
  Effect.flatMap(PodmanHomeTag, (home) => runOk("podman", [...home.flags, ...args], home.env))

const socketAnswers = (path: string) =>
  Effect.async<boolean>((resume) => {
    const s = net.connect(path)
    s.once("connect", () => {
      s.destroy()
      resume(Effect.succeed(true))
    })
    s.once("error", () => resume(Effect.succeed(false)))
  })

/**
 * Declare `registryHost` (`127.0.0.1:<port>`) an insecure registry, then serve the Engine API on the
 * home's socket until the scope closes (SIGTERM, SIGKILL after 1 s).
 */
export const podmanService = (registryHost: string) =>
  Effect.gen(function*() {
    const home = yield* PodmanHomeTag
    fs.writeFileSync(
      join(home.dir, "registries.conf"),
      `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${registryHost}"\ninsecure = true\n`
    )
    const log = fs.openSync(join(home.dir, "service.log"), "a")
    let spawnError: Error | undefined
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = spawn("podman", [...home.flags, "system", "service", "--time=0", `unix://${home.socketPath}`], {
          env: home.env,
          stdio: ["ignore", log, log]
        })
        c.once("error", (e) => void (spawnError = e))
        return c
      }),
      (c: ChildProcess) =>
        Effect.promise(() =>
          new Promise<void>((done) => {
            fs.closeSync(log)
            if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return done()
            c.once("exit", () => done())
            c.kill("SIGTERM")
            setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill("SIGKILL"), 1000).unref()
          })
        )
    )
    for (let i = 0; i < 200; i++) {
      if (spawnError !== undefined) {
        return yield* Effect.die(new Error(`podman could not be started (.ci/run installs it): ${spawnError.message}`))
      }
      if (child.exitCode !== null) break
      if (fs.existsSync(home.socketPath) && (yield* socketAnswers(home.socketPath))) return home
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(
      new Error(`podman system service did not start: ${fs.readFileSync(join(home.dir, "service.log"), "utf8")}`)
    )
  })

/** `skopeo` with no signature policy file (`--insecure-policy`: these tests copy unsigned images). */
export const skopeo = (...args: ReadonlyArray<string>) => runCommand("skopeo", ["--insecure-policy", ...args])

/** Whether a program runs (`<program> --version`). */
export const installed = (program: string): boolean =>
  spawnSync(program, ["--version"], { stdio: "ignore", timeout: 20_000 }).status === 0

/** A tar archive of regular files (ustar), for `podman import`. */
export const tarOf = (files: ReadonlyArray<{ readonly name: string; readonly data: Uint8Array; readonly mode?: number }>): Buffer => {
  const parts: Array<Buffer> = []
  for (const f of files) {
    const header = Buffer.alloc(512)
    header.write(f.name, 0)
    header.write(`${(f.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100)
    header.write("0000000\0", 108)
    header.write("0000000\0", 116)
    header.write(`${f.data.length.toString(8).padStart(11, "0")}\0`, 124)
    header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`, 136)
    header.write("        ", 148)
    header.write("0", 156)
    header.write("ustar\0", 257)
    header.write("00", 263)
    let sum = 0
    for (const b of header) sum += b
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
    const body = Buffer.alloc(Math.ceil(f.data.length / 512) * 512)
    Buffer.from(f.data).copy(body)
    parts.push(header, body)
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`

export interface Layout {
  readonly dir: string
  readonly config: string
  readonly layers: ReadonlyArray<string>
  /** The manifests of the `multi` index, by architecture. */
  readonly platforms: Readonly<Record<string, string>>
}

/**
 * An OCI image layout: `v1`, an amd64 image with two gzip layers of random files, and `multi`, an
 * image index of that image and an arm64 one.
 */
export const writeLayout = (dir: string): Layout => {
  fs.mkdirSync(join(dir, "blobs", "sha256"), { recursive: true })
  const blob = (data: Uint8Array | string) => {
    const digest = sha256(data)
    fs.writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), data)
    return { digest, size: typeof data === "string" ? Buffer.byteLength(data) : data.length }
  }
  const imageOf = (architecture: string, sizes: ReadonlyArray<number>) => {
    const tars = sizes.map((n, i) => tarOf([{ name: `file-${i}.bin`, data: new Uint8Array(randomBytes(n)) }]))
    const layers = tars.map((t) => ({ mediaType: OCI_LAYER, ...blob(gzipSync(t)) }))
    const config = blob(JSON.stringify({
      architecture,
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: tars.map((t) => sha256(t)) }
    }))
    const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers }))
    return { config, layers, manifest, architecture }
  }
  const amd64 = imageOf("amd64", [150_000, 40_000])
  const arm64 = imageOf("arm64", [20_000])
  const index = blob(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [amd64, arm64].map((i) => ({ mediaType: OCI_MANIFEST, ...i.manifest, platform: { architecture: i.architecture, os: "linux" } }))
  }))
  fs.writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  fs.writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: OCI_MANIFEST, ...amd64.manifest, annotations: { "org.opencontainers.image.ref.name": "v1" } },
        { mediaType: OCI_INDEX, ...index, annotations: { "org.opencontainers.image.ref.name": "multi" } }
      ]
    })
  )
  return {
    dir,
    config: amd64.config.digest,
    layers: amd64.layers.map((l) => l.digest),
    platforms: { amd64: amd64.manifest.digest, arm64: arm64.manifest.digest }
  }
}

/** An image of `owner` in LocalPlatform's registry (cluster `default`, no org). */
export const registryImage = (owner: string, name: string, tag?: string) =>
  Effect.map(LocalPlatform.LocalPlatformTag, (p) =>
    Image.RemoteImage.newNeuroImage(name, new URL(p.url).host, {
      owner,
      clusterName: "default",
      orgName: null,
      ...(tag !== undefined ? { tag } : {})
    }))

/** alice shares `uri` with `user` (`action`: read, write, manage), through the permissions API. */
export const shareFromAlice = (user: string, uri: string, action: string) =>
  Effect.gen(function*() {
    const p = yield* LocalPlatform.LocalPlatformTag
    const res = yield* Effect.promise(() =>
      fetch(`${p.apiUrl.href}/users/${user}/permissions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${Redacted.value(p.token("alice"))}`, "Content-Type": "application/json" },
        body: JSON.stringify([{ uri, action }])
      })
    )
    assert.strictEqual(res.status, 201, yield* Effect.promise(() => res.text()))
  })
