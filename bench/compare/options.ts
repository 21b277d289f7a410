/**
 * Command line of `npm run bench -- compare [MEASURE...] [--flag value...]`. Every flag can also
 * be given as an environment variable `BENCH_<FLAG>` (`--size-mib 256` = `BENCH_SIZE_MIB=256`);
 * the flag wins.
 */

export const MEASURES = ["startup", "status", "monitor", "uploadDir", "downloadDir", "uploadFile", "downloadFile", "list"] as const
export type MeasureName = typeof MEASURES[number]

export const CLIENTS = ["curl", "fetch", "node", "ours", "python"] as const
export type ClientId = typeof CLIENTS[number]

export interface Options {
  readonly measures: ReadonlyArray<MeasureName>
  readonly clients: ReadonlySet<ClientId>
  /** uploadDir/downloadDir: number of files, their size and the number of leaf folders. */
  readonly files: number
  readonly fileKib: number
  readonly dirs: number
  /** uploadFile/downloadFile: size of the file. */
  readonly sizeMib: number
  /** jobs.list: jobs seeded. */
  readonly jobs: number
  /** jobs.status: sequential calls per run. */
  readonly calls: number
  /** jobs.monitor: size of the log. */
  readonly logMib: number
  readonly reps: number
  readonly startupReps: number
  /** The curl loop's transfers at once (`curl --parallel --parallel-max N`). */
  readonly curlParallel: number
  readonly python: boolean
  /** After the measured runs, profile our client once (`node --cpu-prof`, and `strace -c -f`). */
  readonly profile: boolean
  /** Keep the scratch folder (trees, server data) instead of deleting it. */
  readonly keep: boolean
  /** A label added to the name of the output files in bench/out/. */
  readonly label: string | undefined
  /** Per client run. */
  readonly timeoutS: number
  /** curl-loop files/s of 4 KiB uploads measured before the LocalPlatform work, to print the ratio. */
  readonly baselineCurlFiles: number | undefined
}

const ALIASES: Record<string, MeasureName> = {
  startup: "startup",
  load: "startup",
  status: "status",
  jobsstatus: "status",
  monitor: "monitor",
  jobsmonitor: "monitor",
  uploaddir: "uploadDir",
  downloaddir: "downloadDir",
  uploadfile: "uploadFile",
  downloadfile: "downloadFile",
  list: "list",
  jobslist: "list"
}

const NUMERIC = {
  files: 10_000,
  "file-kib": 4,
  dirs: 100,
  "size-mib": 1024,
  jobs: 100_000,
  calls: 5_000,
  "log-mib": 200,
  reps: 3,
  "startup-reps": 10,
  "curl-parallel": 64,
  "timeout-s": 1800
} as const
type NumericFlag = keyof typeof NUMERIC

export const USAGE = `usage: npm run bench -- compare [MEASURE...] [options]
measures: ${MEASURES.join(", ")} (default: all)
options (or env BENCH_<NAME>, e.g. BENCH_SIZE_MIB=256):
  --files N (10000)  --file-kib N (4)  --dirs N (100)  --size-mib N (1024)  --jobs N (100000)
  --calls N (5000)  --log-mib N (200)  --reps N (3)  --startup-reps N (10)  --curl-parallel N (64)
  --clients curl,fetch,node,ours,python   --no-python   --profile   --keep   --label NAME
  --timeout-s N (1800)   --baseline-curl-files N (curl-loop files/s before the LocalPlatform work)
Python neuro-sdk column: set NEURO_PEER_ENV=<env.sh of /work/shared/peer/setup.sh> or NEURO_PEER_PYTHONPATH
(NEURO_PEER_PYTHON: the interpreter, default /usr/bin/python3).`

export const parseOptions = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Options | string => {
  const flags = new Map<string, string>()
  const measures: Array<MeasureName> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--help" || arg === "-h") return USAGE
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=")
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
      if (["no-python", "profile", "keep"].includes(name)) {
        flags.set(name, "1")
        continue
      }
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined) return `missing value for --${name}\n${USAGE}`
      flags.set(name, value)
      continue
    }
    const m = ALIASES[arg.toLowerCase().replace(/[^a-z]/g, "")]
    if (m === undefined) return `unknown measure ${arg}\n${USAGE}`
    if (!measures.includes(m)) measures.push(m)
  }
  const known = new Set<string>([...Object.keys(NUMERIC), "clients", "no-python", "profile", "keep", "label", "baseline-curl-files"])
  for (const name of flags.keys()) if (!known.has(name)) return `unknown option --${name}\n${USAGE}`
  const get = (name: string): string | undefined => flags.get(name) ?? env[`BENCH_${name.toUpperCase().replace(/-/g, "_")}`]
  const numbers = {} as Record<NumericFlag, number>
  for (const [name, fallback] of Object.entries(NUMERIC) as Array<[NumericFlag, number]>) {
    const raw = get(name)
    const n = raw === undefined ? fallback : Number(raw)
    if (!Number.isFinite(n) || n <= 0) return `invalid --${name} ${raw}`
    numbers[name] = n
  }
  const clientList = (get("clients") ?? CLIENTS.join(",")).split(",").map((c) => c.trim())
  for (const c of clientList) if (!(CLIENTS as ReadonlyArray<string>).includes(c)) return `unknown client ${c} (known: ${CLIENTS.join(", ")})`
  const baseline = get("baseline-curl-files")
  return {
    measures: measures.length === 0 ? MEASURES : measures,
    clients: new Set(clientList as Array<ClientId>),
    files: Math.round(numbers.files),
    fileKib: numbers["file-kib"],
    dirs: Math.round(numbers.dirs),
    sizeMib: numbers["size-mib"],
    jobs: Math.round(numbers.jobs),
    calls: Math.round(numbers.calls),
    logMib: numbers["log-mib"],
    reps: Math.round(numbers.reps),
    startupReps: Math.round(numbers["startup-reps"]),
    curlParallel: Math.round(numbers["curl-parallel"]),
    python: get("no-python") === undefined || get("no-python") === "0",
    profile: get("profile") !== undefined && get("profile") !== "0",
    keep: get("keep") !== undefined && get("keep") !== "0",
    label: get("label"),
    timeoutS: numbers["timeout-s"],
    baselineCurlFiles: baseline === undefined ? undefined : Number(baseline)
  }
}
