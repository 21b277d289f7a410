/**
 * `neuro push|pull|images|image ...` against a real container engine: Podman's Docker-compatible
 * Engine API (`podman system service`, storage in a temporary folder) and LocalPlatform's registry.
 * `.ci/run` installs Podman where it is missing; without it these tests are skipped.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Harness } from "./helpers.js"
import { start } from "./helpers.js"

const hasPodman = spawnSync("podman", ["--version"], { stdio: "ignore", timeout: 20_000 }).status === 0

const answers = (path: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(path)
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

describe.skipIf(!hasPodman)("neuro image commands over Podman and LocalPlatform's registry", () => {
  let h: Harness
  let dir: string
  let service: ChildProcess
  let flags: Array<string>
  let env: NodeJS.ProcessEnv
  const podman = (...args: Array<string>) => execFileSync("podman", [...flags, ...args], { env, encoding: "utf8", timeout: 120_000 })

  beforeAll(async () => {
    h = await start({ users: ["user"] })
    await h.login()
    dir = fs.mkdtempSync(join(tmpdir(), "neuro-cli-podman-"))
    for (const sub of ["root", "runroot", "libpod", "tmp"]) fs.mkdirSync(join(dir, sub))
    const registry = new URL(h.platform.url).host
    fs.writeFileSync(join(dir, "registries.conf"), `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${registry}"\ninsecure = true\n`)
    flags = [
      "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "libpod"),
      "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"
    ]
    env = {
      ...process.env,
      CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
      TMPDIR: join(dir, "tmp")
    }
    const socket = join(dir, "podman.sock")
    service = spawn("podman", [...flags, "system", "service", "--time=0", `unix://${socket}`], { env, stdio: "ignore" })
    for (let i = 0; i < 200 && !(fs.existsSync(socket) && (await answers(socket))); i++) await new Promise((r) => setTimeout(r, 50))
    fs.mkdirSync(join(dir, "content"))
    fs.writeFileSync(join(dir, "content", "hello.txt"), "hello from the cli test\n")
    execFileSync("tar", ["-cf", join(dir, "hello.tar"), "-C", join(dir, "content"), "hello.txt"])
    podman("import", join(dir, "hello.tar"), "localhost/cli-hello-oci:v1")
    // committed again in Docker's format: the registry then holds a Docker v2 manifest, the kind
    // neuro-sdk 23.2's size and digest calls ask for (an imported image is OCI)
    const container = podman("create", "localhost/cli-hello-oci:v1", "/hello.txt").trim()
    podman("commit", "--format", "docker", container, "localhost/cli-hello:v1")
  }, 120_000)

  afterAll(async () => {
    service?.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 500))
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      spawnSync("podman", [...flags, "unshare", "rm", "-rf", dir], { env })
    }
    await h.close()
  })

  it("push, images, image tags/size/digest, pull, image rm", async () => {
    const docker = { DOCKER_HOST: `unix://${join(dir, "podman.sock")}` }
    const push = await h.neuro(["push", "cli-hello:v1"], { env: docker, timeoutMs: 120_000 })
    assert.strictEqual(push.code, 0, push.stderr)
    assert.strictEqual(push.stdout, "image://default/user/cli-hello:v1\n")
    const images = await h.neuro(["images"])
    assert.strictEqual(images.stdout, "image:cli-hello\n")
    const long = await h.neuro(["image", "ls", "-l"])
    assert.match(long.stdout, /^Neuro URL\s+Docker URL\nimage:cli-hello\s+\S+\/user\/cli-hello\n$/)
    assert.strictEqual((await h.neuro(["image", "tags", "image:cli-hello"])).stdout, "Tags for image://default/user/cli-hello\nv1\n")
    const size = await h.neuro(["image", "size", "image:cli-hello:v1"])
    assert.match(size.stdout, /^\d+(\.\d)? (Bytes|kB|MB)\n$/, size.stderr)
    const digest = (await h.neuro(["image", "digest", "image:cli-hello:v1"])).stdout.trim()
    assert.match(digest, /^sha256:[0-9a-f]{64}$/)
    const pull = await h.neuro(["pull", "image:cli-hello:v1", "cli-copy:1"], { env: docker, timeoutMs: 120_000 })
    assert.strictEqual(pull.code, 0, pull.stderr)
    assert.strictEqual(pull.stdout, "cli-copy:1\n")
    const local = podman("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert.match(local, /^(localhost\/|docker.io\/library\/)?cli-copy:1$/m, local)
    const rm = await h.neuro(["image", "rm", "image:cli-hello:v1"])
    assert.strictEqual(rm.code, 0, rm.stderr)
    assert.strictEqual(rm.stdout, `Deleting image://default/user/cli-hello:v1 identified by ${digest}\n`)
    assert.strictEqual((await h.neuro(["image", "tags", "image:cli-hello"])).stdout, "Tags for image://default/user/cli-hello\n")
    const missing = await h.neuro(["pull", "image:cli-hello:v1"], { env: docker })
    assert.strictEqual(missing.code, 72)
    assert.match(missing.stderr, /^ERROR: Not found: /)
  }, 240_000)
})
