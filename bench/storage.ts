/**
 * Storage benchmark: upload and download through `Storage` against a LocalPlatform on loopback,
 * (a) many small files in nested directories, (b) one big file; then the same transfers with
 * `curl` (parallel, keep-alive) against the same server as the ceiling. Prints files/s, MB/s, the
 * ratio to curl and peak RSS.
 *
 *   npm run bench -- storage
 *   STORAGE_BENCH_FILES=2000 STORAGE_BENCH_BIG_MB=256 STORAGE_BENCH_CONCURRENCY=8,32,64 npm run bench -- storage
 *
 * The LocalPlatform runs in this process (like the transport benchmark), so our client shares its
 * CPU with the server while curl does not: the ratio is a lower bound.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Storage } from "@neuro-sdk/core"
import { LocalPlatform, NeuroTest } from "@neuro-sdk/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const FILES = Number(process.env["STORAGE_BENCH_FILES"] ?? 10_000)
const FILE_SIZE = 4096
const BIG_MB = Number(process.env["STORAGE_BENCH_BIG_MB"] ?? 1024)
const CONCURRENCY = (process.env["STORAGE_BENCH_CONCURRENCY"] ?? "20,64").split(",").map(Number)
const CURL_PARALLEL = 32

const work = fs.mkdtempSync(join(tmpdir(), "neuro-storage-bench-"))

const makeTree = (root: string) => {
  const block = randomBytes(FILE_SIZE)
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `a${i % 10}`, `b${Math.floor(i / 10) % 10}`)
    fs.mkdirSync(dir, { recursive: true })
    block.writeUInt32LE(i, 0)
    fs.writeFileSync(join(dir, `f${i}.bin`), block)
  }
}

const makeBig = (file: string) => {
  const fd = fs.openSync(file, "w")
  const block = randomBytes(1024 * 1024)
  for (let i = 0; i < BIG_MB; i++) {
    block.writeUInt32LE(i, 0)
    fs.writeSync(fd, block)
  }
  fs.closeSync(fd)
}

const relFiles = (root: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`)
      else out.push(rel + e.name)
    }
  }
  walk(root, "")
  return out
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* effect
    return (performance.now() - start) / 1000
  })

/** Run curl (asynchronously: the server answering it lives in this process) and time it. */
const curl = (args: ReadonlyArray<string>, config: string) =>
  Effect.async<number, Error>((resume) => {
    const file = join(work, `curl-${Math.random().toString(36).slice(2)}.cfg`)
    fs.writeFileSync(file, config)
    const start = performance.now()
    const child = spawn("curl", ["-sS", "--no-progress-meter", "--fail", ...args, "-K", file], { stdio: ["ignore", "ignore", "inherit"] })
    child.on("error", (e) => resume(Effect.fail(e)))
    child.on("exit", (code) =>
      resume(code === 0 ? Effect.succeed((performance.now() - start) / 1000) : Effect.fail(new Error(`curl exited with ${code}`))))
  })

const line = (label: string, seconds: number, files: number, bytes: number, ceiling?: number) =>
  Console.log(
    `${label.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s  ${(files / seconds).toFixed(0).padStart(7)} files/s  ${
      (bytes / seconds / 1e6).toFixed(1).padStart(7)
    } MB/s${ceiling === undefined ? "" : `  ${(ceiling / seconds * 100).toFixed(0).padStart(4)}% of curl`}`
  )

const program = Effect.gen(function*() {
  const storage = yield* Storage.Storage
  const platform = yield* LocalPlatform.LocalPlatformTag
  const token = Redacted.value(platform.token("bench"))
  const base = `${platform.apiUrl.href}/clusters/default/storage/bench`
  const auth = `header = "Authorization: Bearer ${token}"\n`
  yield* Console.log(`storage benchmark: ${FILES} files of ${FILE_SIZE} B, one file of ${BIG_MB} MiB; loopback LocalPlatform in-process`)

  const tree = join(work, "tree")
  makeTree(tree)
  const files = relFiles(tree)
  const treeBytes = files.length * FILE_SIZE

  // curl ceiling: every file one request, CURL_PARALLEL at once over keep-alive connections
  const upCfg = auth + files.map((f) => `upload-file = "${join(tree, f)}"\nurl = "${base}/curl-tree/${f}?op=CREATE"\n`).join("")
  const curlUp = yield* curl(["--parallel", "--parallel-max", String(CURL_PARALLEL)], upCfg)
  fs.mkdirSync(join(work, "curl-down"))
  const downCfg = auth +
    files.map((f) => `url = "${base}/curl-tree/${f}?op=OPEN"\noutput = "${join(work, "curl-down", f)}"\n`).join("")
  const curlDown = yield* curl(["--parallel", "--parallel-max", String(CURL_PARALLEL), "--create-dirs"], downCfg)
  yield* line("curl tree upload", curlUp, files.length, treeBytes)
  yield* line("curl tree download", curlDown, files.length, treeBytes)

  for (const c of CONCURRENCY) {
    const up = yield* timed(storage.uploadDir(tree, `storage:bench/tree-${c}`, { concurrency: c }))
    const down = yield* timed(storage.downloadDir(`storage:bench/tree-${c}`, join(work, `down-${c}`), { concurrency: c }))
    const copied = relFiles(join(work, `down-${c}`)).length
    if (copied !== files.length) return yield* Effect.dieMessage(`downloaded ${copied} of ${files.length} files`)
    yield* line(`Storage tree upload (concurrency ${c})`, up, files.length, treeBytes, curlUp)
    yield* line(`Storage tree download (concurrency ${c})`, down, files.length, treeBytes, curlDown)
    fs.rmSync(join(work, `down-${c}`), { recursive: true })
  }
  fs.rmSync(join(work, "curl-down"), { recursive: true })
  fs.rmSync(tree, { recursive: true })

  const big = join(work, "big.bin")
  makeBig(big)
  const bigBytes = BIG_MB * 1024 * 1024
  const cUp = yield* curl([], `${auth}upload-file = "${big}"\nurl = "${base}/curl-big.bin?op=CREATE"\n`)
  const cDown = yield* curl([], `${auth}url = "${base}/curl-big.bin?op=OPEN"\noutput = "${join(work, "curl-big.out")}"\n`)
  fs.rmSync(join(work, "curl-big.out"))
  yield* line("curl big upload", cUp, 1, bigBytes)
  yield* line("curl big download", cDown, 1, bigBytes)
  const up = yield* timed(storage.uploadFile(big, "storage:bench/big.bin"))
  const down = yield* timed(storage.downloadFile("storage:bench/big.bin", join(work, "big.out")))
  if (fs.statSync(join(work, "big.out")).size !== bigBytes) return yield* Effect.dieMessage("big download has the wrong size")
  yield* line("Storage big upload", up, 1, bigBytes, cUp)
  yield* line("Storage big download", down, 1, bigBytes, cDown)
  yield* Console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (client and server in one process)`)
}).pipe(
  Effect.ensuring(Effect.sync(() => fs.rmSync(work, { recursive: true, force: true }))),
  Effect.provide(NeuroTest.layer({ transport: "socket", users: ["bench"] }))
)

NodeRuntime.runMain(program)
