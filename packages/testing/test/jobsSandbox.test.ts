import { assert, describe, it, layer } from "@effect/vitest"
import { Disks, Jobs, Secrets, Volume } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import { join } from "node:path"
import { parseArgs } from "../src/bin.js"
import { JobRunner, NeuroTest } from "../src/index.js"
import { finished, waitFor } from "./jobWait.js"

const sandbox = JobRunner.sandboxAvailable()
if (!sandbox.available) console.warn(`jobsSandbox.test.ts skipped: ${sandbox.reason}`)

const dec = new TextDecoder()

type Start = Omit<Jobs.StartOptions, "image" | "presetName">

/** Runs a job to its end; its final status and log. */
const run = (command: string, options: Start = {}) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs.Jobs
    const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command, ...options })
    const done = yield* waitFor(job.id, finished)
    const log = yield* jobs.monitor(job.id).pipe(Stream.decodeText(), Stream.mkString)
    return { done, log }
  })

/** A port nothing listens on now (the job's server takes it). */
const freePort = Effect.async<number>((resume) => {
  const srv = net.createServer()
  srv.listen(0, "127.0.0.1", () => {
    const port = (srv.address() as net.AddressInfo).port
    srv.close(() => resume(Effect.succeed(port)))
  })
})

/** Host processes whose command line is exactly `argv`. */
const hostProcesses = (argv: ReadonlyArray<string>) =>
  fs.readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p)) return false
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8") === argv.join("\0") + "\0"
    } catch {
      return false
    }
  })

describe.skipIf(!sandbox.available)("jobs in bubblewrap sandboxes (SDK over a real socket)", () => {
  layer(
    NeuroTest.layer({ users: ["alice"], jobs: { runner: JobRunner.makeSandbox(), killGracePeriod: "1 second" } }),
    { excludeTestServices: true, timeout: 60_000 }
  )((it) => {
    it.scoped("a disk volume at /mnt/d: a job writes to it, a second job reads it; exec sees it too", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const jobs = yield* Jobs.Jobs
        const disk = yield* disks.create(2 ** 30)
        const diskVolumes = [new Volume.DiskVolume({ diskUri: disk.uri, containerPath: "/mnt/d", readOnly: false })]
        const wrote = yield* run(`sh -c 'echo from the first job > /mnt/d/f && ls /mnt; touch /mnt/x /x'`, { diskVolumes })
        assert.strictEqual(wrote.done.status, "failed", "/mnt and / stay read-only")
        assert.include(wrote.log.split("\n"), "d", "the mount point is made in /mnt")
        assert.match(wrote.log, /touch: cannot touch '\/mnt\/x': Read-only file system\ntouch: cannot touch '\/x': Read-only file system\n$/)
        const read = yield* run("cat /mnt/d/f", { diskVolumes })
        assert.strictEqual(read.log, "from the first job\n")
        // exec enters the running job's sandbox: its mounts and its processes
        const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "sleep 300", diskVolumes })
        yield* waitFor(job.id, (j) => j.status === "running")
        const out = yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* jobs.exec(job.id, `sh -c 'cat /mnt/d/f; ps -e -o comm='`, { stdout: true, stderr: true })
          let text = ""
          while (true) {
            const msg = yield* stream.readOut.pipe(Effect.catchTag("StdStreamError", () => Effect.succeed(Option.none())))
            if (Option.isNone(msg)) return text
            text += dec.decode(msg.value.data)
          }
        }))
        assert.strictEqual(out, "from the first job\nsleep\nsh\nps\n")
        yield* jobs.kill(job.id)
      }))

    it.scoped("a read-only storage volume refuses writes", () =>
      Effect.gen(function*() {
        const rw = [new Volume.Volume({ storageUri: new URL("storage:shared"), containerPath: "/data", readOnly: false })]
        const ro = [new Volume.Volume({ storageUri: new URL("storage:shared"), containerPath: "/data", readOnly: true })]
        const wrote = yield* run(`sh -c 'echo kept > /data/file'`, { volumes: rw })
        assert.strictEqual(wrote.done.status, "succeeded", wrote.log)
        const refused = yield* run(`sh -c 'cat /data/file; mount -o remount,rw,bind /data 2>/dev/null; echo changed > /data/file'`, {
          volumes: ro
        })
        assert.strictEqual(refused.done.status, "failed")
        assert.match(refused.log, /^kept\n.*Read-only file system/s)
        const after = yield* run("cat /data/file", { volumes: ro })
        assert.strictEqual(after.log, "kept\n")
      }))

    it.scoped("the job sees only its own processes, its own /tmp and its host name; this machine's / is read-only", () =>
      Effect.gen(function*() {
        fs.writeFileSync(join(os.tmpdir(), "jobsSandbox-host-file"), "host")
        const { done, log } = yield* run(
          `sh -c 'ps -e -o pid=,comm=; ls /proc | grep -c "^[0-9]"; ls /tmp | wc -l; hostname; touch /usr/x'`
        )
        assert.strictEqual(done.status, "failed", "/usr cannot be written")
        const lines = log.split("\n")
        assert.deepStrictEqual(lines.slice(0, 2).map((l) => l.trim().replace(/\s+/g, " ")), ["1 sh", "2 ps"])
        assert.deepStrictEqual(lines.slice(2, 5), ["3", "0", done.id], "/proc has sh, ls and grep; /tmp is empty")
        assert.match(lines[5]!, /Read-only file system/)
      }))

    it.scoped("a secret file is at its path with mode 0600; the rest of its folder is still there", () =>
      Effect.gen(function*() {
        const secrets = yield* Secrets.Secrets
        yield* secrets.add("sandbox-token", Redacted.make("s3cr3t"))
        const secretFiles = [new Volume.SecretFile({ secretUri: new URL("secret:sandbox-token"), containerPath: "/etc/neuro/token" })]
        const { done, log } = yield* run(`sh -c 'stat -c "%a %s" /etc/neuro/token; cat /etc/neuro/token; echo; test -f /etc/passwd && echo passwd'`, {
          secretFiles
        })
        assert.strictEqual(done.status, "succeeded", log)
        assert.strictEqual(log, "600 6\ns3cr3t\npasswd\n")
      }))

    it.scoped("working_dir is honoured (created when missing, as container runtimes do)", () =>
      Effect.gen(function*() {
        const existing = yield* run("pwd", { workingDir: "/usr/share" })
        assert.strictEqual(existing.log, "/usr/share\n")
        const volumes = [new Volume.Volume({ storageUri: new URL("storage:app-data"), containerPath: "/srv/app/run/data", readOnly: false })]
        const created = yield* run(`sh -c 'pwd; touch here && echo writable; echo kept > data/f'`, { workingDir: "/srv/app/run", volumes })
        assert.strictEqual(created.log, "/srv/app/run\nwritable\n")
        const again = yield* run("cat /srv/app/run/data/f", { volumes })
        assert.strictEqual(again.log, "kept\n", "a volume inside the made working directory is there")
      }))

    it.scoped("kill ends every process of the job, a background child included", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: `sh -c 'sleep 4242 & sleep 4343'` })
        yield* waitFor(job.id, (j) => j.status === "running")
        yield* Effect.sync(() => hostProcesses(["sleep", "4242"])).pipe(
          Effect.filterOrFail((p) => p.length === 1 && hostProcesses(["sleep", "4343"]).length === 1),
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 })
        )
        yield* jobs.kill(job.id)
        yield* waitFor(job.id, finished)
        yield* jobs.monitor(job.id).pipe(Stream.runDrain, Effect.timeout("5 seconds"))
        assert.deepStrictEqual([...hostProcesses(["sleep", "4242"]), ...hostProcesses(["sleep", "4343"])], [])
        assert.strictEqual((yield* jobs.status(job.id)).status, "cancelled")
      }))

    it.scoped("attach reaches the sandboxed command's stdin and output; port forward reaches its server", () =>
      Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const cat = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "cat" })
        yield* waitFor(cat.id, (j) => j.status === "running")
        const echoed = yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* jobs.attach(cat.id, { stdin: true, stdout: true, stderr: true })
          yield* stream.writeIn(new TextEncoder().encode("ping\n"))
          return Option.map(yield* stream.readOut, (m) => `${m.fileno}:${dec.decode(m.data)}`)
        }))
        assert.deepStrictEqual(echoed, Option.some("1:ping\n"))
        yield* jobs.kill(cat.id)
        const port = yield* freePort
        const server = yield* jobs.start({
          image: "ubuntu:22.04",
          presetName: "cpu-small",
          command: `node -e "require('http').createServer((q, s) => s.end('from the sandbox ' + q.url)).listen(${port}, '127.0.0.1')"`
        })
        yield* waitFor(server.id, (j) => j.status === "running")
        const body = yield* Effect.scoped(Effect.gen(function*() {
          const local = yield* jobs.portForward(server.id, 0, port)
          return yield* Effect.tryPromise(() => fetch(`http://127.0.0.1:${local.port}/x`).then((r) => r.text())).pipe(
            Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 25 })
          )
        }))
        assert.strictEqual(body, "from the sandbox /x")
        yield* jobs.kill(server.id)
      }))

    it.scoped("a command that does not exist: ContainerCannotRun, as the process runner says it", () =>
      Effect.gen(function*() {
        const { done } = yield* run("no-such-binary-xyz --flag")
        assert.strictEqual(done.status, "failed")
        assert.strictEqual(done.history.reason, "ContainerCannotRun")
        assert.match(done.history.description, /executable file not found/)
        // bubblewrap cannot make the working directory in a read-only volume
        const ro = [new Volume.Volume({ storageUri: new URL("storage:ro-empty"), containerPath: "/data", readOnly: true })]
        const refused = yield* run("pwd", { volumes: ro, workingDir: "/data/missing" })
        assert.strictEqual(refused.done.status, "failed")
        assert.strictEqual(refused.done.history.reason, "ContainerCannotRun")
        assert.match(refused.done.history.description, /^failed to create containerd task: .*\/data\/missing.*Read-only file system/)
        assert.strictEqual(refused.log, "", "the container never ran")
      }))
  })
})

/** A root folder made by hand: busybox (static) and its applets, as an unpacked image would be. */
const busyboxRoot = (): string => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), "sandbox-image-"))
  fs.mkdirSync(join(dir, "bin"))
  fs.copyFileSync("/bin/busybox", join(dir, "bin", "busybox"))
  fs.chmodSync(join(dir, "bin", "busybox"), 0o755)
  for (const applet of ["sh", "echo", "cat", "ls", "env", "pwd", "touch"]) fs.symlinkSync("busybox", join(dir, "bin", applet))
  fs.mkdirSync(join(dir, "etc"))
  fs.writeFileSync(join(dir, "etc", "image-release"), "busybox test image\n")
  fs.symlinkSync("/bin", join(dir, "sbin"))
  return dir
}

const spec = (imageRoot: JobRunner.ImageRoot, overrides: Partial<JobRunner.JobSpec> = {}): JobRunner.JobSpec => ({
  id: "job-image-test",
  owner: "alice",
  cluster: "default",
  org: null,
  name: undefined,
  image: "image://default/alice/busybox:1",
  entrypoint: undefined,
  command: undefined,
  workingDir: undefined,
  env: { NEURO_JOB_ID: "job-image-test" },
  mounts: [],
  secretFiles: [],
  tty: false,
  memoryBytes: 2 ** 30,
  rootDir: fs.mkdtempSync(join(os.tmpdir(), "sandbox-job-")),
  attempt: 0,
  imageRoot,
  ...overrides
})

/** Starts the container of `s` and waits for its end: its exit code and output. */
const runSpec = (s: JobRunner.JobSpec) =>
  Effect.gen(function*() {
    const proc = yield* JobRunner.makeSandbox().start(s)
    const out = yield* proc.output.pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
    const exit = yield* proc.exit
    return { exitCode: exit.exitCode, out: out.map((c) => dec.decode(c.data)).join("") }
  })

describe.skipIf(!sandbox.available)("the sandbox runner with an image's root folder", () => {
  const dir = busyboxRoot()
  const image: JobRunner.ImageRoot = {
    dir,
    digest: "sha256:" + "0".repeat(64),
    entrypoint: ["/bin/sh", "-c"],
    cmd: ["echo image cmd $GREETING; pwd; ls /; cat /etc/image-release"],
    env: { PATH: "/bin", GREETING: "from the image", LEFT: "as is" },
    workingDir: "/app"
  }

  it.effect("the image's root, entrypoint, cmd, env and working dir", () =>
    Effect.gen(function*() {
      const { exitCode, out } = yield* runSpec(spec(image))
      assert.strictEqual(exitCode, 0, out)
      const [first, pwd, ...rest] = out.split("\n")
      assert.strictEqual(first, "image cmd from the image")
      assert.strictEqual(pwd, "/app")
      assert.includeMembers(rest, ["bin", "etc", "sbin", "busybox test image"])
      assert.notInclude(rest, "usr", "this machine's folders are not there")
    }))

  it.effect("the job's command replaces the cmd, its env is laid over the image's, its working dir wins; mounts at their paths", () =>
    Effect.gen(function*() {
      const volume = fs.mkdtempSync(join(os.tmpdir(), "sandbox-volume-"))
      const { exitCode, out } = yield* runSpec(spec(image, {
        command: `'echo $GREETING / $LEFT; pwd; echo w > /mnt/v/f; touch /bin/x || echo read-only'`,
        env: { GREETING: "from the job" },
        workingDir: "/mnt/v",
        mounts: [{ containerPath: "/mnt/v", hostPath: volume, readOnly: false }]
      }))
      assert.strictEqual(exitCode, 0, out)
      assert.match(out, /^from the job \/ as is\n\/mnt\/v\n/)
      assert.include(out, "read-only\n", "the image's folders cannot be written")
      assert.strictEqual(fs.readFileSync(join(volume, "f"), "utf8"), "w\n")
    }))

  it.effect("the job's entrypoint replaces the image's and drops its cmd", () =>
    Effect.gen(function*() {
      const { out } = yield* runSpec(spec(image, { entrypoint: "env" }))
      const lines = out.split("\n")
      assert.includeMembers(lines, ["GREETING=from the image", "NEURO_JOB_ID=job-image-test", "HOME=/root", "PATH=/bin"])
    }))
})

describe.skipIf(!sandbox.available)("the sandbox runner on this machine's root", () => {
  const hostSpec = (command: string, memoryBytes: number): JobRunner.JobSpec => {
    const { imageRoot: _, ...rest } = spec(undefined as never, { command, memoryBytes })
    return rest
  }

  it.effect("telemetry counts the job's processes; above its memory limit the job is OOMKilled", () =>
    Effect.gen(function*() {
      const command = `node -e "const a = []; setInterval(() => a.push(Buffer.alloc(16 * 2 ** 20, 1)), 50)"`
      const proc = yield* JobRunner.makeSandbox().start(hostSpec(command, 128 * 2 ** 20))
      const sample = yield* proc.telemetry.pipe(
        Effect.filterOrFail((t) => Option.isSome(t) && t.value.memoryBytes > 16 * 2 ** 20),
        Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 })
      )
      assert.isTrue(Option.isSome(sample))
      const exit = yield* proc.exit.pipe(Effect.timeout("20 seconds"))
      assert.deepStrictEqual(exit, { exitCode: 137, reason: "OOMKilled" })
    }))
})

describe("neuro-local-platform --runner", () => {
  it("takes sandbox, process or simulated", () => {
    const parsed = (argv: ReadonlyArray<string>) => {
      const args = parseArgs(argv)
      return typeof args === "string" ? args : args.runner
    }
    assert.strictEqual(parsed(["--runner", "process"]), "process")
    assert.strictEqual(parsed(["--runner=sandbox"]), "sandbox")
    assert.strictEqual(parsed(["--runner", "simulated"]), "simulated")
    assert.isUndefined(parsed([]), "default: the sandbox where it works, else the process runner")
    assert.strictEqual(parsed(["--runner", "docker"]), "invalid runner docker (sandbox, process or simulated)")
  })
})
