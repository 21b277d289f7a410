/**
 * Side-by-side benchmark: ONE LocalPlatform process (the built `neuro-local-platform`) and, as
 * separate processes against it, our SDK from the BUILT packages (plain `node` on
 * bench/clients/*.mjs), curl (and Node's global fetch for per-call latency) as the anchors, and
 * the Python neuro-sdk 23.2 (bench/python/*.py) when it is installed. Repetitions are interleaved
 * (A B C A B C ...); each figure is the median of its runs; peak RSS and CPU seconds are per client
 * process, server CPU seconds are read from /proc/<server pid>/stat around each run.
 *
 *   npm run build && npm run bench -- compare                     # every measure at goal sizes
 *   npm run bench -- compare status monitor --reps 5              # some measures
 *   npm run bench -- compare --files 2000 --size-mib 256 --jobs 20000 --log-mib 50 --reps 3
 *   NEURO_PEER_ENV=$HOME/.cache/neuro-sdk-peer/env.sh npm run bench -- compare   # + Python column
 *
 * The output is also written to bench/out/compare-<time>[-label].txt (and .json with every run).
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { summarizeFile } from "./compare/cpuprofile.js"
import { type ClientId, type MeasureName, type Options, parseOptions } from "./compare/options.js"
import { ClientFailed, commandExists, hasGnuTime, processPeakRssMb, type RunResult, runMeasured } from "./compare/proc.js"
import { fixed, type Goal, goal, num, ratio, type Row, table, toRow, verdict } from "./compare/report.js"
import { type Server, startServer } from "./compare/server.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const clientsDir = join(root, "bench", "clients")
const pythonDir = join(root, "bench", "python")
const USER = "bench"
const MB = 1e6
const MiB = 1024 * 1024

// ------------------------------------------------------------------------------------- output

const parsed = parseOptions(process.argv.slice(2), process.env)
if (typeof parsed === "string") {
  console.error(parsed)
  process.exit(parsed.startsWith("usage") ? 0 : 2)
}
const opts: Options = parsed
const outDir = join(root, "bench", "out")
fs.mkdirSync(outDir, { recursive: true })
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)
const outBase = join(outDir, `compare-${stamp}${opts.label === undefined ? "" : `-${opts.label}`}`)
const log = (line = ""): void => {
  console.log(line)
  fs.appendFileSync(`${outBase}.txt`, line + "\n")
}
const progress = (line: string): void => {
  process.stderr.write(line + "\n")
}
const raw: Array<{ measure: string; client: string; rep: number; run: RunResult }> = []

// ------------------------------------------------------------------------------------- setup

const sh = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv = nodeEnv, cwd = work): string => {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 64 * MiB })
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status ?? r.signal}):\n${r.stderr}${r.error?.message ?? ""}`)
  return r.stdout
}

/** The environment of Node clients: no NODE_OPTIONS (tsx's loader, `source` condition) from ours. */
const nodeEnv: NodeJS.ProcessEnv = (() => {
  const env = { ...process.env }
  delete env["NODE_OPTIONS"]
  return env
})()

interface Python {
  readonly exe: string
  readonly env: NodeJS.ProcessEnv
  readonly version: string
}

/** The Python neuro-sdk, from NEURO_PEER_PYTHONPATH or the env.sh of NEURO_PEER_ENV. */
const findPython = (): Python | string => {
  if (!opts.python) return "--no-python"
  if (!opts.clients.has("python")) return "not in --clients"
  let pythonPath = process.env["NEURO_PEER_PYTHONPATH"]
  const envFile = process.env["NEURO_PEER_ENV"]
  if (pythonPath === undefined && envFile !== undefined) {
    if (!fs.existsSync(envFile)) return `NEURO_PEER_ENV=${envFile} does not exist`
    const r = spawnSync("bash", ["-c", ". \"$1\" && printf %s \"$PYTHONPATH\"", "_", envFile], { encoding: "utf8" })
    if (r.status !== 0) return `sourcing ${envFile} failed: ${r.stderr}`
    pythonPath = r.stdout
  }
  if (pythonPath === undefined) {
    return "NEURO_PEER_ENV / NEURO_PEER_PYTHONPATH not set (see /work/shared/peer/setup.sh)"
  }
  const exe = process.env["NEURO_PEER_PYTHON"] ?? "/usr/bin/python3"
  // bytecode of neuro_sdk and of our scripts goes to bench/out/pycache (git-ignored), compiled by
  // this check rather than by the first measured run
  const env = { ...nodeEnv, PYTHONPATH: pythonPath, PYTHONPYCACHEPREFIX: join(outDir, "pycache") }
  const r = spawnSync(exe, ["-c", "import sys, neuro_sdk, aiohttp; print(neuro_sdk.__version__, 'on Python', sys.version.split()[0], 'aiohttp', aiohttp.__version__)"], {
    env,
    encoding: "utf8"
  })
  if (r.status !== 0) return `${exe} cannot import neuro_sdk: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`
  spawnSync(exe, ["-m", "compileall", "-q", pythonDir], { env })
  return { exe, env, version: r.stdout.trim() }
}

const checkBuild = (): string => {
  for (const pkg of ["core", "node", "testing"]) {
    const entry = join(root, "packages", pkg, "build", "esm", "index.js")
    if (!fs.existsSync(entry)) {
      console.error(`${relative(root, entry)} is missing: run \`npm run build\` first (the clients use the built packages)`)
      process.exit(2)
    }
  }
  const resolved = spawnSync(process.execPath, ["--input-type=module", "-e", "console.log(import.meta.resolve('@neuro-sdk/core'))"], {
    cwd: clientsDir,
    env: nodeEnv,
    encoding: "utf8"
  }).stdout.trim()
  if (!resolved.includes("/build/esm/")) {
    console.error(`@neuro-sdk/core resolves to ${resolved}, not to a build: the clients must run on built code`)
    process.exit(2)
  }
  return resolved
}

const work = fs.mkdtempSync(join(tmpdir(), "neuro-compare-"))

interface Context {
  readonly server: Server
  readonly storageUrl: string
  readonly monitoringUrl: string
  /** The user's storage home on the server's disk (for checks and clean-up, never measured). */
  readonly storageHome: string
  readonly oursConfig: string
  readonly pyConfig: string | undefined
  readonly python: Python | undefined
  readonly testHooks: boolean
}

/** A curl config with the auth header (kept out of argv) and `Expect:` off (neither SDK waits for 100-continue). */
const curlConfig = (name: string, server: Server, lines: ReadonlyArray<string>): string => {
  const file = join(work, `curl-${name}.cfg`)
  fs.writeFileSync(file, [`header = "Authorization: Bearer ${server.token}"`, `header = "Expect:"`, ...lines, ""].join("\n"))
  return file
}
const curl = (cfg: string, ...args: ReadonlyArray<string>): Array<string> => ["curl", "-sS", "--fail", ...args, "-K", cfg]
const nodeClient = (script: string, ...args: ReadonlyArray<string>): Array<string> => [process.execPath, join(clientsDir, script), ...args]

const walkFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`)
      else if (e.isFile()) out.push(rel + e.name)
    }
  }
  if (fs.existsSync(dir)) walk(dir, "")
  return out
}

const findFile = (dir: string, name: string, depth: number): string | undefined => {
  if (depth < 0) return undefined
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === name && e.isFile()) return join(dir, e.name)
    if (e.isDirectory()) {
      const found = findFile(join(dir, e.name), name, depth - 1)
      if (found !== undefined) return found
    }
  }
  return undefined
}

const setUp = async (python: Python | undefined): Promise<Context> => {
  const server = await startServer(root, work, USER)
  const auth = { Authorization: `Bearer ${server.token}` }
  const config = await (await fetch(`${server.apiUrl}/config`, { headers: auth })).json() as {
    clusters: Array<{ storage_url: string; monitoring_url: string }>
  }
  const cluster = config.clusters[0]!
  // where the user's storage lives on the server's disk
  const probe = await fetch(`${cluster.storage_url}/${USER}/.bench-probe?op=CREATE`, { method: "PUT", headers: auth, body: "x" })
  if (!probe.ok) throw new Error(`storage probe: ${probe.status} ${await probe.text()}`)
  const probeFile = findFile(server.dataDir, ".bench-probe", 8)
  if (probeFile === undefined) throw new Error(`cannot find the user's storage folder under ${server.dataDir}`)
  fs.rmSync(probeFile)
  const seed = await fetch(`${server.apiUrl.replace(/\/api\/v1$/, "")}/_local/jobs/seed`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ count: 0 })
  })
  await seed.arrayBuffer()
  const oursConfig = join(work, "config-ours")
  sh(nodeClient("login.mjs", oursConfig, server.apiUrl, server.token))
  let pyConfig: string | undefined
  if (python !== undefined) {
    pyConfig = join(work, "config-python")
    sh([python.exe, join(pythonDir, "login.py"), pyConfig, server.apiUrl, server.token], python.env)
  }
  return {
    server,
    storageUrl: cluster.storage_url,
    monitoringUrl: cluster.monitoring_url,
    storageHome: dirname(probeFile),
    oursConfig,
    pyConfig,
    python,
    testHooks: seed.ok
  }
}

// ------------------------------------------------------------------------------------- measures

interface Contender {
  readonly id: ClientId
  readonly label: string
  /** Seconds and CPU from the client's RESULT line (else: wall time and whole-process CPU). */
  readonly selfTimed: boolean
  readonly argv: (rep: number) => ReadonlyArray<string>
  readonly env?: NodeJS.ProcessEnv
  /** Check what the run did and clean up (not measured); throws when the run was wrong. */
  readonly after?: (rep: number, run: RunResult) => void
}

interface Prepared {
  readonly contenders: ReadonlyArray<Contender>
  readonly notes: ReadonlyArray<string>
  readonly teardown?: () => void
}

interface Measure {
  readonly name: MeasureName
  readonly title: string
  readonly reps: number
  readonly prepare: (ctx: Context) => Promise<Prepared | string>
  /** Rate columns of a row. */
  readonly columns: (row: Row) => ReadonlyArray<readonly [string, string]>
  /** Higher is better; the "vs" column divides by the anchor's. */
  readonly speed: (row: Row) => number
  /** The first of these present is the anchor of the "vs" column. */
  readonly anchors: ReadonlyArray<ClientId>
  readonly goals: (rows: ReadonlyMap<ClientId, Row>, ctx: Context) => ReadonlyArray<Goal>
  /** Extra lines after the table. */
  readonly extra?: (rows: ReadonlyMap<ClientId, Row>) => ReadonlyArray<string>
}

const oursLabel = "ours (@neuro-sdk, built)"
const pyLabel = "python neuro-sdk 23.2"

const ours = (ctx: Context, script: string, args: (rep: number) => ReadonlyArray<string>, after?: Contender["after"]): Contender => ({
  id: "ours",
  label: oursLabel,
  selfTimed: true,
  argv: (rep) => nodeClient(script, ctx.oursConfig, ...args(rep)),
  env: nodeEnv,
  ...(after === undefined ? {} : { after })
})

const python = (ctx: Context, script: string, args: (rep: number) => ReadonlyArray<string>, after?: Contender["after"]): Array<Contender> =>
  ctx.python === undefined || ctx.pyConfig === undefined ? [] : [{
    id: "python",
    label: pyLabel,
    selfTimed: true,
    argv: (rep) => [ctx.python!.exe, join(pythonDir, script), ctx.pyConfig!, ...args(rep)],
    env: ctx.python.env,
    ...(after === undefined ? {} : { after })
  }]

const noPython = "n/a (no Python SDK)"
const expect = (what: string, actual: number, wanted: number): void => {
  if (actual !== wanted) throw new Error(`${what}: ${actual}, expected ${wanted}`)
}

// -- trees and big files

const fileBytes = opts.fileKib * 1024
const treeBytes = opts.files * fileBytes
const bigBytes = Math.round(opts.sizeMib * MiB)
const leafOf = (i: number): string => {
  const k = i % opts.dirs
  return `d${Math.floor(k / 10)}/e${k % 10}`
}
let treeFiles: Array<string> | undefined
/** The local tree (made once): `files` files of `file-kib` KiB in `dirs` leaf folders two levels deep. */
const localTree = (): { dir: string; files: ReadonlyArray<string> } => {
  const dir = join(work, "tree")
  if (treeFiles === undefined) {
    const block = randomBytes(fileBytes)
    treeFiles = []
    for (let i = 0; i < opts.files; i++) {
      const rel = `${leafOf(i)}/f${i}.bin`
      fs.mkdirSync(join(dir, leafOf(i)), { recursive: true })
      block.writeUInt32LE(i, 0)
      fs.writeFileSync(join(dir, rel), block)
      treeFiles.push(rel)
    }
  }
  return { dir, files: treeFiles }
}
let bigMade = false
const localBig = (): string => {
  const file = join(work, "big.bin")
  if (!bigMade) {
    const fd = fs.openSync(file, "w")
    const block = randomBytes(MiB)
    for (let done = 0, i = 0; done < bigBytes; done += MiB, i++) {
      block.writeUInt32LE(i, 0)
      fs.writeSync(fd, block, 0, Math.min(MiB, bigBytes - done))
    }
    fs.closeSync(fd)
    bigMade = true
  }
  return file
}

const upCurlConfig = (ctx: Context, name: string, tree: { dir: string; files: ReadonlyArray<string> }, dest: string): string =>
  curlConfig(name, ctx.server, tree.files.flatMap((f) => [`upload-file = "${join(tree.dir, f)}"`, `url = "${ctx.storageUrl}/${USER}/${dest}/${f}?op=CREATE"`]))

const dirMeasureColumns = (row: Row): ReadonlyArray<readonly [string, string]> => [
  ["files/s", num(opts.files / row.seconds)],
  ["MB/s", num(treeBytes / MB / row.seconds)]
]
const dirGoals = (name: string, rows: ReadonlyMap<ClientId, Row>): Array<Goal> => {
  const o = rows.get("ours")
  const c = rows.get("curl")
  const p = rows.get("python")
  return [
    goal(name, "files/s >= 90% of the curl loop's", ratio(c?.seconds, o?.seconds), (v) => v >= 0.9, (v) => `${(v * 100).toFixed(1)}% of curl`, "n/a (no curl or ours)"),
    goal(name, "client CPU <= 1/2 of Python's", ratio(o?.opCpu, p?.opCpu), (v) => v <= 0.5, (v) => `${v.toFixed(3)}x Python's (${fixed(o?.opCpu, 2)} vs ${fixed(p?.opCpu, 2)} s${userSplit(o, p)})`, noPython),
    goal(name, "peak RSS <= 150 MB", o?.rssMb, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`, "n/a")
  ]
}

/**
 * The user-space part of two clients' CPU: the kernel part of a tree transfer is mostly the file
 * system's (creating and removing files), the same work whichever client asks for it.
 */
const userSplit = (o: Row | undefined, p: Row | undefined): string => {
  const ou = o?.result["opUser"]
  const pu = p?.result["opUser"]
  return ou === undefined || pu === undefined ? "" : `; user ${fixed(ou, 2)} vs ${fixed(pu, 2)} s = ${(ou / pu).toFixed(3)}x`
}

/**
 * Why the trees of every run are removed only with the scratch folder, at the end: ext4 without a
 * journal (this machine's root) skips, with a look-up each, inodes freed in the last 5 s (5 min
 * while their table block is dirty) when it allocates one, so the client that ran right after a
 * 10,000-file tree was removed paid seconds of kernel time for it (find_inode_bit,
 * recently_deleted in `perf`), whichever client it was.
 */
const KEEP_TREES = "the trees of every run are kept until the end (removing one made the next client's file creations slow: ext4 without a journal)"

const uploadDir: Measure = {
  name: "uploadDir",
  title: `uploadDir: ${opts.files} files x ${opts.fileKib} KiB in ${opts.dirs} folders`,
  reps: opts.reps,
  anchors: ["curl"],
  prepare: async (ctx) => {
    const tree = localTree()
    // the uploaded trees stay until the end of the run (see KEEP_TREES)
    const check = (dest: string) => (_rep: number, _run: RunResult) => {
      expect(`files uploaded to storage:${dest}`, walkFiles(join(ctx.storageHome, dest)).length, opts.files)
    }
    return {
      contenders: [
        {
          id: "curl",
          label: `curl --parallel-max ${opts.curlParallel}`,
          selfTimed: false,
          argv: (rep) => curl(upCurlConfig(ctx, `up-${rep}`, tree, `up-curl-${rep}`), "--parallel", "--parallel-max", String(opts.curlParallel)),
          after: (rep, run) => check(`up-curl-${rep}`)(rep, run)
        },
        ours(ctx, "upload-dir.mjs", (rep) => [tree.dir, `storage:up-ours-${rep}`], (rep, run) => check(`up-ours-${rep}`)(rep, run)),
        ...python(ctx, "upload_dir.py", (rep) => [tree.dir, `storage:up-python-${rep}`], (rep, run) => check(`up-python-${rep}`)(rep, run))
      ],
      notes: [
        `curl loop: ONE curl process, one PUT ?op=CREATE per file from a config file, --parallel --parallel-max ${opts.curlParallel} (keep-alive);`,
        `  the SDKs use their default concurrency (ours: Storage.DEFAULT_CONCURRENCY, neuro-sdk: 20 files at once) and make folders as they go`,
        KEEP_TREES
      ]
    }
  },
  columns: dirMeasureColumns,
  speed: (row) => 1 / row.seconds,
  goals: (rows) => {
    const c = rows.get("curl")
    return [
      ...dirGoals("uploadDir", rows),
      goal(
        "LocalPlatform",
        `curl-loop ${opts.fileKib} KiB uploads >= 2x the files/s before the work${opts.baselineCurlFiles === undefined ? " (--baseline-curl-files N)" : ` (${opts.baselineCurlFiles})`}`,
        opts.baselineCurlFiles === undefined || c === undefined ? undefined : opts.files / c.seconds / opts.baselineCurlFiles,
        (v) => v >= 2,
        (v) => `${v.toFixed(3)}x (${num(opts.files / c!.seconds)} files/s)`,
        c === undefined ? "n/a" : `${num(opts.files / c.seconds)} files/s, server CPU ${num(c.serverCpu / opts.files * 1000)} ms/file (no baseline given)`
      )
    ]
  },
  extra: (rows) => {
    const lines: Array<string> = []
    for (const [id, r] of rows) {
      lines.push(`server CPU per file (${id}): ${num(r.serverCpu / opts.files * 1000)} ms`)
    }
    const c = rows.get("curl")
    if (c) lines.push(`LocalPlatform record: curl-loop upload ${num(opts.files / c.seconds)} files/s (${opts.fileKib} KiB files)`)
    return lines
  }
}

const downloadDir: Measure = {
  name: "downloadDir",
  title: `downloadDir: the same tree (${opts.files} files x ${opts.fileKib} KiB in ${opts.dirs} folders)`,
  reps: opts.reps,
  anchors: ["curl"],
  prepare: async (ctx) => {
    const tree = localTree()
    progress("  uploading the source tree with curl ...")
    sh(curl(upCurlConfig(ctx, "tree", tree, "tree"), "--parallel", "--parallel-max", String(opts.curlParallel)))
    expect("files of storage:tree", walkFiles(join(ctx.storageHome, "tree")).length, opts.files)
    // the downloaded trees stay until the end of the run (see KEEP_TREES)
    const check = (dir: string) => () => {
      expect(`files downloaded to ${dir}`, walkFiles(dir).length, opts.files)
    }
    const down = (id: string, rep: number) => join(work, "down", `${id}-${rep}`)
    return {
      contenders: [
        {
          id: "curl",
          label: `curl --parallel-max ${opts.curlParallel}`,
          selfTimed: false,
          argv: (rep) =>
            curl(
              curlConfig(
                `down-${rep}`,
                ctx.server,
                tree.files.flatMap((f) => [`url = "${ctx.storageUrl}/${USER}/tree/${f}?op=OPEN"`, `output = "${join(down("curl", rep), f)}"`])
              ),
              "--parallel",
              "--parallel-max",
              String(opts.curlParallel),
              "--create-dirs"
            ),
          after: (rep) => check(down("curl", rep))()
        },
        ours(ctx, "download-dir.mjs", (rep) => ["storage:tree", down("ours", rep)], (rep) => check(down("ours", rep))()),
        ...python(ctx, "download_dir.py", (rep) => ["storage:tree", down("python", rep)], (rep) => check(down("python", rep))())
      ],
      notes: [
        `curl loop: ONE curl process, one GET ?op=OPEN per file (the list of files given, no listing), --parallel --parallel-max ${opts.curlParallel} --create-dirs`,
        KEEP_TREES
      ]
    }
  },
  columns: dirMeasureColumns,
  speed: (row) => 1 / row.seconds,
  goals: (rows) => dirGoals("downloadDir", rows),
  extra: (rows) => [...rows].map(([id, r]) => `server CPU per file (${id}): ${num(r.serverCpu / opts.files * 1000)} ms`)
}

const fileGoals = (name: string, rows: ReadonlyMap<ClientId, Row>): Array<Goal> => {
  const o = rows.get("ours")
  const c = rows.get("curl")
  return [
    goal(name, "MB/s >= 85% of curl's", ratio(c?.seconds, o?.seconds), (v) => v >= 0.85, (v) => `${(v * 100).toFixed(1)}% of curl`, "n/a (no curl or ours)"),
    goal(name, "peak RSS <= 150 MB", o?.rssMb, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`, "n/a")
  ]
}
const fileColumns = (row: Row): ReadonlyArray<readonly [string, string]> => [["MB/s", num(bigBytes / MB / row.seconds)]]

const uploadFile: Measure = {
  name: "uploadFile",
  title: `uploadFile: one file of ${opts.sizeMib} MiB`,
  reps: opts.reps,
  anchors: ["curl"],
  prepare: async (ctx) => {
    const big = localBig()
    const check = (name: string) => () => {
      const at = join(ctx.storageHome, name)
      const size = fs.existsSync(at) ? fs.statSync(at).size : -1
      fs.rmSync(at, { force: true })
      expect(`size of storage:${name}`, size, bigBytes)
    }
    return {
      contenders: [
        {
          id: "curl",
          label: "curl -T",
          selfTimed: false,
          argv: (rep) => curl(curlConfig(`big-up-${rep}`, ctx.server, [`upload-file = "${big}"`, `url = "${ctx.storageUrl}/${USER}/big-curl-${rep}.bin?op=CREATE"`, `output = "/dev/null"`])),
          after: (rep) => check(`big-curl-${rep}.bin`)()
        },
        ours(ctx, "upload-file.mjs", (rep) => [big, `storage:big-ours-${rep}.bin`], (rep) => check(`big-ours-${rep}.bin`)()),
        ...python(ctx, "upload_file.py", (rep) => [big, `storage:big-python-${rep}.bin`], (rep) => check(`big-python-${rep}.bin`)())
      ],
      notes: ["curl: one PUT ?op=CREATE streaming the file"]
    }
  },
  columns: fileColumns,
  speed: (row) => 1 / row.seconds,
  goals: (rows) => fileGoals("uploadFile", rows)
}

const downloadFile: Measure = {
  name: "downloadFile",
  title: `downloadFile: one file of ${opts.sizeMib} MiB`,
  reps: opts.reps,
  anchors: ["curl"],
  prepare: async (ctx) => {
    // the source is copied into the server's storage folder directly: setup, not measured
    fs.copyFileSync(localBig(), join(ctx.storageHome, "big.bin"))
    const out = (id: string, rep: number) => join(work, `big-${id}-${rep}.out`)
    const check = (file: string) => () => {
      const size = fs.existsSync(file) ? fs.statSync(file).size : -1
      fs.rmSync(file, { force: true })
      expect(`size of ${file}`, size, bigBytes)
    }
    return {
      contenders: [
        {
          id: "curl",
          label: "curl -o",
          selfTimed: false,
          argv: (rep) => curl(curlConfig(`big-down-${rep}`, ctx.server, [`url = "${ctx.storageUrl}/${USER}/big.bin?op=OPEN"`, `output = "${out("curl", rep)}"`])),
          after: (rep) => check(out("curl", rep))()
        },
        ours(ctx, "download-file.mjs", (rep) => ["storage:big.bin", out("ours", rep)], (rep) => check(out("ours", rep))()),
        ...python(ctx, "download_file.py", (rep) => ["storage:big.bin", out("python", rep)], (rep) => check(out("python", rep))())
      ],
      notes: ["curl: one GET ?op=OPEN into a file"],
      teardown: () => fs.rmSync(join(ctx.storageHome, "big.bin"), { force: true })
    }
  },
  columns: fileColumns,
  speed: (row) => 1 / row.seconds,
  goals: (rows) => fileGoals("downloadFile", rows)
}

const startJob = (ctx: Context, command: string): string => {
  const out = sh(nodeClient("start-job.mjs", ctx.oursConfig, command)).trim().split(" ")
  if (out[1] !== "succeeded") throw new Error(`setup job ${out[0]} ended ${out[1]}`)
  return out[0]!
}

let statusJob: string | undefined
const status: Measure = {
  name: "status",
  title: `jobs.status: ${opts.calls} sequential calls`,
  reps: opts.reps,
  anchors: ["fetch"],
  prepare: async (ctx) => {
    statusJob ??= startJob(ctx, "true")
    const id = statusJob
    const count = (_rep: number, run: RunResult) => expect("calls made", run.result?.["count"] ?? 0, opts.calls)
    return {
      contenders: [
        {
          id: "fetch",
          label: "node fetch (undici)",
          selfTimed: true,
          argv: () => nodeClient("fetch-status.mjs", ctx.server.apiUrl, ctx.server.token, id, String(opts.calls)),
          env: nodeEnv,
          after: count
        },
        {
          id: "curl",
          label: "curl, one process",
          selfTimed: false,
          argv: () => curl(curlConfig("status", ctx.server, Array.from({ length: opts.calls }, () => [`url = "${ctx.server.apiUrl}/jobs/${id}"`, `output = "/dev/null"`]).flat()))
        },
        ours(ctx, "jobs-status.mjs", () => [id, String(opts.calls)], count),
        ...python(ctx, "jobs_status.py", () => [id, String(opts.calls)], count)
      ],
      notes: [
        "GET {api}/jobs/{id} one after the other over keep-alive; node fetch parses each body (JSON.parse), the SDKs decode a JobDescription;",
        "  curl: one process given every URL (sequential, keep-alive; its time includes starting curl)"
      ]
    }
  },
  columns: (row) => [
    ["us/call", num(row.seconds / opts.calls * 1e6)],
    ["calls/s", num(opts.calls / row.seconds)],
    ["CPU us/call", num(row.opCpu / opts.calls * 1e6)]
  ],
  speed: (row) => 1 / row.seconds,
  goals: (rows) => {
    const o = rows.get("ours")
    const f = rows.get("fetch")
    const p = rows.get("python")
    return [
      goal("status", "time per call <= 1.2x Node fetch's", ratio(o?.seconds, f?.seconds), (v) => v <= 1.2, (v) => `${v.toFixed(3)}x (${num((o?.seconds ?? 0) / opts.calls * 1e6)} vs ${num((f?.seconds ?? 0) / opts.calls * 1e6)} us)`, "n/a (no fetch or ours)"),
      goal("status", "client CPU <= 1/2 of Python's", ratio(o?.opCpu, p?.opCpu), (v) => v <= 0.5, (v) => `${v.toFixed(3)}x Python's (${fixed(o?.opCpu, 2)} vs ${fixed(p?.opCpu, 2)} s${userSplit(o, p)})`, noPython)
    ]
  }
}

const logBytes = Math.round(opts.logMib * MiB)
const monitor: Measure = {
  name: "monitor",
  title: `jobs.monitor: the log of a finished job, ${opts.logMib} MiB`,
  reps: opts.reps,
  anchors: ["python", "curl"],
  prepare: async (ctx) => {
    progress(`  running a job that writes ${opts.logMib} MiB to stdout ...`)
    // 100-byte lines: 99 x's and a newline
    const id = startJob(ctx, `bash -c 'yes ${"x".repeat(99)} | head -c ${logBytes}'`)
    const bytes = (_rep: number, run: RunResult) => expect("log bytes received", run.result?.["bytes"] ?? 0, logBytes)
    return {
      contenders: [
        {
          id: "curl",
          label: "curl GET .../log (HTTP)",
          selfTimed: false,
          argv: () => curl(curlConfig("log", ctx.server, [`url = "${ctx.monitoringUrl}/${id}/log"`, `output = "/dev/null"`]), "-w", "RESULT {\"bytes\":%{size_download}}\\n"),
          after: bytes
        },
        ours(ctx, "jobs-monitor.mjs", () => [id], bytes),
        ...python(ctx, "jobs_monitor.py", () => [id], bytes)
      ],
      notes: ["both SDKs read the log_ws websocket (as neuro-sdk 23.2 does); curl reads the plain HTTP log endpoint (reference only)"]
    }
  },
  columns: (row) => [["MB/s", num(logBytes / MB / row.seconds)]],
  speed: (row) => 1 / row.seconds,
  goals: (rows) => {
    const o = rows.get("ours")
    const p = rows.get("python")
    return [goal("monitor", "MB/s >= 1.5x Python's", ratio(p?.seconds, o?.seconds), (v) => v >= 1.5, (v) => `${v.toFixed(3)}x Python's`, noPython)]
  }
}

const list: Measure = {
  name: "list",
  title: `jobs.list: ${opts.jobs} jobs (NDJSON), consumed one by one`,
  reps: opts.reps,
  anchors: ["python", "curl"],
  prepare: async (ctx) => {
    if (!ctx.testHooks) return "LocalPlatform does not serve the /_local test hooks (jobs cannot be seeded)"
    progress(`  seeding ${opts.jobs} jobs ...`)
    const url = `${ctx.server.apiUrl.replace(/\/api\/v1$/, "")}/_local/jobs/seed`
    for (let done = 0; done < opts.jobs; done += 10_000) {
      const r = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${ctx.server.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ count: Math.min(10_000, opts.jobs - done), status: "succeeded", tags: ["bench"] })
      })
      if (!r.ok) throw new Error(`seeding jobs: ${r.status} ${await r.text()}`)
      await r.arrayBuffer()
    }
    let seen: number | undefined
    const count = (_rep: number, run: RunResult) => {
      const n = run.result?.["count"] ?? 0
      if (n < opts.jobs) throw new Error(`listed ${n} jobs, fewer than the ${opts.jobs} seeded`)
      if (seen !== undefined) expect("jobs listed (same for every client)", n, seen)
      seen = n
    }
    return {
      contenders: [
        {
          id: "curl",
          label: "curl (NDJSON bytes only)",
          selfTimed: false,
          argv: () => curl(curlConfig("list", ctx.server, [`header = "Accept: application/x-ndjson"`, `url = "${ctx.server.apiUrl}/jobs"`, `output = "/dev/null"`]))
        },
        ours(ctx, "jobs-list.mjs", () => [], count),
        ...python(ctx, "jobs_list.py", () => [], count)
      ],
      notes: ["the SDKs decode every job (JobDescription); curl only receives the NDJSON (the server's share of the time)"]
    }
  },
  columns: (row) => [
    ["jobs/s", num(opts.jobs / row.seconds)],
    ["first job ms", fixed(row.result["firstMs"], 1)]
  ],
  speed: (row) => 1 / row.seconds,
  goals: (rows) => {
    const o = rows.get("ours")
    const p = rows.get("python")
    return [
      goal("list", "jobs/s >= 3x Python's", ratio(p?.seconds, o?.seconds), (v) => v >= 3, (v) => `${v.toFixed(3)}x Python's`, noPython),
      goal("list", "peak RSS <= 120 MB", o?.rssMb, (v) => v <= 120, (v) => `${v.toFixed(0)} MB`, "n/a"),
      goal("list", "first job < 50 ms", o?.result["firstMs"], (v) => v < 50, (v) => `${v.toFixed(1)} ms`, "n/a")
    ]
  }
}

const startup: Measure = {
  name: "startup",
  title: "startup: load @neuro-sdk/core + @neuro-sdk/node and read the stored login",
  reps: opts.startupReps,
  anchors: ["node"],
  prepare: async (ctx) => ({
    contenders: [
      { id: "node", label: "node -e 0 (floor)", selfTimed: false, argv: () => [process.execPath, "-e", "0"], env: nodeEnv },
      { id: "ours", label: oursLabel, selfTimed: false, argv: () => nodeClient("startup.mjs", ctx.oursConfig), env: nodeEnv },
      ...(ctx.python === undefined || ctx.pyConfig === undefined ? [] : [{
        id: "python" as const,
        label: pyLabel,
        selfTimed: false,
        argv: () => [ctx.python!.exe, join(pythonDir, "startup.py"), ctx.pyConfig!],
        env: ctx.python.env
      }])
    ],
    notes: ["whole process, spawn to exit: imports, opening the config database, reading the user name"]
  }),
  columns: () => [],
  speed: (row) => 1 / row.seconds,
  goals: (rows) => {
    const o = rows.get("ours")
    return [
      goal("startup", "<= 0.3 s", o?.seconds, (v) => v <= 0.3, (v) => `${v.toFixed(3)} s`, "n/a"),
      goal("startup", "<= 70 MB RSS", o?.rssMb, (v) => v <= 70, (v) => `${v.toFixed(0)} MB`, "n/a")
    ]
  }
}

const ALL: Record<MeasureName, Measure> = { startup, status, monitor, uploadDir, downloadDir, uploadFile, downloadFile, list }

// ------------------------------------------------------------------------------------- running

/** One more run of our client under `node --cpu-prof`, and one under `strace -c -f` when installed. */
const profileOurs = async (m: Measure, c: Contender, ctx: Context, dir: string): Promise<void> => {
  fs.mkdirSync(dir, { recursive: true })
  const run = async (argv: ReadonlyArray<string>, rep: number) => {
    const r = await runMeasured(argv, { cwd: work, env: c.env ?? nodeEnv, timeoutMs: opts.timeoutS * 1000, serverPid: ctx.server.pid, scratch: work })
    c.after?.(rep, r)
  }
  progress(`  [${m.name}] profiling ours with --cpu-prof ...`)
  const argv = c.argv(opts.reps)
  await run([argv[0]!, "--cpu-prof", "--cpu-prof-dir", dir, ...argv.slice(1)], opts.reps)
  const prof = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))
  if (prof !== undefined) {
    const text = summarizeFile(join(dir, prof), 25)
    fs.writeFileSync(join(dir, "summary.txt"), text + "\n")
    log(text.replace(join(dir, prof), `${m.name} (ours), CPU profile ${relative(root, join(dir, prof))}`))
  }
  if (commandExists("strace")) {
    progress(`  [${m.name}] strace -c -f ...`)
    const file = join(dir, "strace.txt")
    const sArgv = c.argv(opts.reps + 1)
    await run(["strace", "-c", "-f", "-o", file, ...sArgv], opts.reps + 1)
    const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "")
    log(`${m.name} (ours), strace -c -f, top syscalls by time (${relative(root, file)}):`)
    for (const l of lines.slice(0, 14)) log(`    ${l}`)
    const total = lines.find((l) => /\btotal\b/.test(l))
    if (total !== undefined && !lines.slice(0, 14).includes(total)) log(`    ${total}`)
  } else {
    log(`${m.name}: strace not installed, no syscall summary`)
  }
  log()
}

const runMeasure = async (m: Measure, ctx: Context): Promise<ReadonlyArray<Goal>> => {
  log(`== ${m.title} ==`)
  progress(`[${m.name}] preparing ...`)
  const prepared = await m.prepare(ctx)
  if (typeof prepared === "string") {
    log(`skipped: ${prepared}`)
    log()
    return []
  }
  const contenders = prepared.contenders.filter((c) => opts.clients.has(c.id))
  const runs = new Map<ClientId, Array<RunResult>>()
  const failed = new Map<ClientId, string>()
  for (let rep = 0; rep < m.reps; rep++) {
    for (const c of contenders) {
      if (failed.has(c.id)) continue
      try {
        const run = await runMeasured(c.argv(rep), {
          cwd: work,
          env: c.env ?? nodeEnv,
          timeoutMs: opts.timeoutS * 1000,
          serverPid: ctx.server.pid,
          scratch: work
        })
        c.after?.(rep, run)
        raw.push({ measure: m.name, client: c.id, rep, run })
        runs.set(c.id, [...(runs.get(c.id) ?? []), run])
        const seconds = c.selfTimed ? run.result?.["seconds"] ?? Number.NaN : run.wall
        progress(`  [${m.name}] rep ${rep + 1}/${m.reps} ${c.id.padEnd(6)} ${seconds.toFixed(3)} s, ${run.rssMb.toFixed(0)} MB, server CPU ${run.serverCpu.toFixed(2)} s`)
      } catch (e) {
        const message = e instanceof ClientFailed || e instanceof Error ? e.message : String(e)
        failed.set(c.id, message)
        progress(`  [${m.name}] ${c.id} FAILED: ${message}`)
      }
    }
  }
  const rows = new Map<ClientId, Row>()
  for (const c of contenders) {
    const r = runs.get(c.id)
    if (r !== undefined && !failed.has(c.id)) rows.set(c.id, toRow(r, c.selfTimed))
  }
  const anchorId = m.anchors.find((a) => rows.has(a))
  const anchor = anchorId === undefined ? undefined : rows.get(anchorId)
  const columnNames = [...(rows.values().next().value === undefined ? [] : m.columns(rows.values().next().value!).map(([h]) => h))]
  const headers = ["client", "runs", "time s", ...columnNames, `vs ${anchorId ?? "-"}`, "op CPU s", "op user s", "proc CPU s", "peak RSS MB", "server CPU s"]
  const body = contenders.filter((c) => rows.has(c.id)).map((c) => {
    const r = rows.get(c.id)!
    return [
      c.label,
      String(r.runs),
      num(r.seconds),
      ...m.columns(r).map(([, v]) => v),
      anchor === undefined ? "-" : `${(m.speed(r) / m.speed(anchor)).toFixed(2)}x`,
      num(r.opCpu),
      r.result["opUser"] === undefined ? "-" : num(r.result["opUser"]),
      num(r.procCpu),
      r.rssMb.toFixed(0),
      num(r.serverCpu)
    ]
  })
  log(table(headers, body))
  for (const [id, message] of failed) log(`FAILED ${id}: ${message.split("\n").slice(0, 6).join(" | ")}`)
  for (const n of prepared.notes) log(n)
  for (const l of m.extra?.(rows) ?? []) log(l)
  const goals = m.goals(rows, ctx)
  for (const g of goals) log(`goal ${g.goal}: ${g.measured} -> ${verdict(g.met)}`)
  log()
  if (opts.profile) {
    const c = contenders.find((x) => x.id === "ours")
    if (c !== undefined) await profileOurs(m, c, ctx, join(outDir, `profile-${stamp}`, m.name))
  }
  prepared.teardown?.()
  return goals
}

const main = async (): Promise<void> => {
  const resolved = checkBuild()
  const py = findPython()
  const python = typeof py === "string" ? undefined : py
  const gitHead = spawnSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim()
  const dirty = spawnSync("git", ["-C", root, "status", "--porcelain", "--", "packages", "bench"], { encoding: "utf8" }).stdout.trim()
  const curlVersion = spawnSync("curl", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]?.split(" ").slice(0, 2).join(" ")
  log(`neuro-sdk-ts side-by-side benchmark, ${new Date().toISOString()}`)
  log(`commit ${gitHead}${dirty === "" ? "" : ` + uncommitted changes in ${dirty.split("\n").length} files of packages/ or bench/`}; ${root}`)
  log(`node ${process.version}; ${curlVersion}; Python: ${python?.version ?? `absent (${py as string})`}`)
  log(`our SDK from ${relative(root, fileURLToPath(resolved))}; ${(await import("node:os")).cpus().length} CPUs; ` +
    `peak RSS/CPU of clients via ${hasGnuTime ? "/usr/bin/time" : "polling /proc"}; MB = 10^6 bytes`)
  log(`reps ${opts.reps} (startup ${opts.startupReps}), interleaved; medians. "op CPU" = CPU seconds of the client during the operation ` +
    `(self-reported; whole process for curl and startup)`)
  const ctx = await setUp(python)
  log(`LocalPlatform pid ${ctx.server.pid} at ${ctx.server.apiUrl} (${ctx.server.testHooksFlag ? "--test-hooks" : "test hooks always on"}); scratch ${work}`)
  log()
  const goals: Array<Goal> = []
  try {
    for (const name of opts.measures) {
      try {
        goals.push(...await runMeasure(ALL[name], ctx))
      } catch (e) {
        log(`${name}: ERROR ${e instanceof Error ? e.message : String(e)}`)
        log()
      }
    }
  } finally {
    log(`server peak RSS ${processPeakRssMb(ctx.server.pid).toFixed(0)} MB`)
    await ctx.server.stop()
  }
  if (goals.length > 0) {
    log()
    log("== goals (ours) ==")
    log(table(["measure", "goal", "measured", "met"], goals.map((g) => [g.measure, g.goal, g.measured, verdict(g.met)]), 4))
  }
  fs.writeFileSync(`${outBase}.json`, JSON.stringify({ options: { ...opts, clients: [...opts.clients] }, runs: raw, goals }, null, 1))
  log()
  log(`written: ${relative(root, outBase)}.txt, .json`)
}

main().then(
  () => {
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true })
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e))
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true })
    process.exit(1)
  }
)
