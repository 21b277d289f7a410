/**
 * Job commands: `run`, `ps`, `status`, `logs`, `kill`, `exec`, `attach`, `port-forward`, `top`,
 * `save`, `bump-life-span` (also under `neuro job`).
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import { NodePortForward } from "@neuro-sdk/node"
import type { JobDescription, JobRestartPolicy, JobStatus as JobStatusType } from "@neuro-sdk/core/Jobs"
import { HTTPPort, Jobs, JobStatus } from "@neuro-sdk/core/Jobs"
import { Parser } from "@neuro-sdk/core/Parser"
import { Users } from "@neuro-sdk/core/Users"
import * as Decimal from "@neuro-sdk/core/Decimal"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { CliExit, EX, usageError, valueError } from "../output/errors.js"
import { formatDuration, formatWhen, parseDateOrDelta, parseDuration } from "../output/format.js"
import * as Table from "../output/table.js"
import { paint, print, printErr, TermTag } from "../output/term.js"
import { flagOnByDefault, globals, withClient } from "../root.js"
import { jobColumns, parseColumns, PS_DEFAULT_FORMAT } from "./jobColumns.js"

const jobArg = Args.text({ name: "JOB" }).pipe(Args.withDescription("Job id or name."))

/** A job id, or the id of the caller's newest job with that name. */
const resolveJob = (text: string) =>
  Effect.gen(function*() {
    if (text.startsWith("job-")) return text
    const jobs = yield* Jobs
    const me = yield* Effect.flatMap(Config, (c) => c.username)
    const found = yield* Stream.runHead(jobs.list({ name: text, owners: [me], reverse: true, limit: 1 }))
    return Option.match(found, { onNone: () => text, onSome: (job) => job.id })
  })

const sleep = (ms: number) => Effect.sleep(`${ms} millis`)

/** Poll until the job is no longer pending. */
const waitStarted = (job: JobDescription) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    let current = job
    while (JobStatus.isPending(current.status)) {
      yield* sleep(200)
      current = yield* jobs.status(current.id)
    }
    return current
  })

/** Poll until the job has finished. */
const waitFinished = (id: string) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    let job = yield* jobs.status(id)
    while (!JobStatus.isFinished(job.status)) {
      yield* sleep(200)
      job = yield* jobs.status(id)
    }
    return job
  })

const exitCodeOf = (job: JobDescription): number =>
  job.status === "failed" ? (job.history.exitCode || EX.PLATFORMERROR) : job.history.exitCode ?? 0

/** Write the job's logs to stdout as they come, until the job ends; then its exit code. */
const followLogs = (id: string) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    const term = yield* TermTag
    yield* Stream.runForEach(jobs.monitor(id), (chunk) => Effect.sync(() => term.out(Buffer.from(chunk).toString("utf8"))))
    const job = yield* waitFinished(id)
    if (job.status !== "succeeded" && term.verbosity >= 0) {
      yield* printErr(`Job ${job.id} ${job.status}${job.history.reason ? ` (${job.history.reason})` : ""}, exit code ${job.history.exitCode ?? "unknown"}`)
    }
    return exitCodeOf(job)
  })

const startLines = (job: JobDescription) => [
  `Job ID: ${job.id}`,
  ...(job.name !== undefined ? [`Name: ${job.name}`] : []),
  `Status: ${job.status}${job.history.reason ? ` (${job.history.reason})` : ""}`,
  ...(job.httpUrl !== undefined ? [`Http URL: ${job.httpUrl}`] : [])
]

// ---------------------------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------------------------

const runOptions = {
  image: Args.text({ name: "IMAGE" }).pipe(Args.withDescription("Docker image to run in the job.")),
  cmd: Args.text({ name: "CMD" }).pipe(Args.repeated, Args.withDescription("Command (and arguments) of the job, after `--`.")),
  cluster: Options.text("cluster").pipe(Options.optional, Options.withDescription("Run the job in a specified cluster.")),
  org: Options.text("org").pipe(Options.optional, Options.withDescription("Run the job in a specified org (NO_ORG for none).")),
  preset: Options.text("preset").pipe(Options.withAlias("s"), Options.optional, Options.withDescription("Predefined resource configuration (the first preset of the cluster by default).")),
  extshm: flagOnByDefault("extshm", "Request extended '/dev/shm' space (-X: --no-extshm).", "X"),
  httpPort: Options.integer("http-port").pipe(Options.withDefault(80), Options.withDescription("Enable HTTP port forwarding to the container (0 to disable).")),
  httpAuth: Options.boolean("http-auth", { negationNames: ["no-http-auth"] }).pipe(Options.optional, Options.withDescription("Enable HTTP authentication for forwarded HTTP port.")),
  name: Options.text("name").pipe(Options.withAlias("n"), Options.optional, Options.withDescription("Optional job name.")),
  tag: Options.text("tag").pipe(Options.repeated, Options.withDescription("Optional job tag, multiple values allowed.")),
  description: Options.text("description").pipe(Options.withAlias("d"), Options.optional, Options.withDescription("Optional job description in free format.")),
  volume: Options.text("volume").pipe(Options.withAlias("v"), Options.repeated, Options.withDescription("Mounts a storage folder, disk or secret: storage:PATH:MOUNT[:ro|rw], disk:NAME:MOUNT, secret:NAME:FILE.")),
  entrypoint: Options.text("entrypoint").pipe(Options.optional, Options.withDescription("Executable entrypoint in the container.")),
  workdir: Options.text("workdir").pipe(Options.withAlias("w"), Options.optional, Options.withDescription("Working directory inside the container.")),
  env: Options.text("env").pipe(Options.withAlias("e"), Options.repeated, Options.withDescription("Set environment variable in container: VAR=VAL (secret:NAME for a secret).")),
  envFile: Options.text("env-file").pipe(Options.repeated, Options.withDescription("File with environment variables to pass.")),
  restart: Options.choice("restart", ["never", "on-failure", "always"]).pipe(Options.withDefault("never" as const), Options.withDescription("Restart policy to apply when a job exits.")),
  lifeSpan: Options.text("life-span").pipe(Options.optional, Options.withDescription("Optional job run-time limit in the format '1d2h3m4s' (default 1d; 0 for none).")),
  scheduleTimeout: Options.text("schedule-timeout").pipe(Options.optional, Options.withDescription("Optional job schedule timeout in the format '3m4s'.")),
  waitStart: flagOnByDefault("wait-start", "Wait for a job start or failure."),
  passConfig: Options.boolean("pass-config", { negationNames: ["no-pass-config"] }).pipe(Options.withDescription("Upload neuro config to the job.")),
  waitForSeat: Options.boolean("wait-for-seat", { negationNames: ["no-wait-for-seat"] }).pipe(Options.withDescription("Wait for a total running jobs quota.")),
  detach: Options.boolean("detach").pipe(Options.withDescription("Don't attach to the job's output; print its id and exit.")),
  privileged: Options.boolean("privileged").pipe(Options.withDescription("Run the job in privileged mode, if it is supported by the cluster.")),
  share: Options.text("share").pipe(Options.repeated, Options.withDescription("Share the job write permissions to a user or role.")),
  priority: Options.choice("priority", ["low", "normal", "high"]).pipe(Options.optional, Options.withDescription("Priority used to specify the job's start order.")),
  energySchedule: Options.text("energy-schedule").pipe(Options.optional, Options.withDescription("Run the job only within a selected energy schedule."))
}

const lifeSpanSeconds = (given: Option.Option<string>) =>
  Effect.gen(function*() {
    const user = yield* Effect.flatMap(Config, (c) => c.getUserConfig)
    const fromConfig = ((user.job ?? {}) as Record<string, unknown>)["life-span"]
    const text = Option.getOrElse(given, () => (typeof fromConfig === "string" ? fromConfig : "1d"))
    const seconds = parseDuration(text)
    if (seconds === undefined) return yield* Effect.fail(valueError(`Could not parse time delta '${text}'`))
    return seconds === 0 ? undefined : seconds
  })

const run = Command.make("run", runOptions, (o) =>
  withClient(Effect.gen(function*() {
    const jobs = yield* Jobs
    const parser = yield* Parser
    const config = yield* Config
    const term = yield* TermTag
    const cmd = o.cmd[0] === "--" ? o.cmd.slice(1) : o.cmd
    const clusterName = Option.isSome(o.cluster) ? o.cluster.value : yield* config.clusterName
    const cluster = yield* config.getCluster(clusterName)
    const presets = [...("get" in cluster.presets ? cluster.presets.keys() : (cluster.presets as ReadonlyArray<{ name: string }>).map((p) => p.name))]
    const preset = Option.getOrElse(o.preset, () => presets[0] ?? "")
    if (Option.isSome(o.httpAuth) && o.httpPort === 0) return yield* Effect.fail(usageError(`--${o.httpAuth.value ? "" : "no-"}http-auth requires --http-port`))
    const env = yield* parser.envs(o.env, o.envFile, { clusterName })
    const volumes = yield* parser.volumes(o.volume, { clusterName })
    const scheduleTimeout = Option.isSome(o.scheduleTimeout) ? parseDuration(o.scheduleTimeout.value) : undefined
    if (Option.isSome(o.scheduleTimeout) && scheduleTimeout === undefined) return yield* Effect.fail(valueError(`Could not parse time delta '${o.scheduleTimeout.value}'`))
    const command = cmd.length === 0 ? undefined : cmd.length === 1 ? cmd[0] : cmd.map(shellQuote).join(" ")
    let job = yield* jobs.start({
      image: o.image,
      presetName: preset,
      clusterName,
      ...(Option.isSome(o.org) ? { orgName: o.org.value === "NO_ORG" ? null : o.org.value } : {}),
      entrypoint: Option.getOrUndefined(o.entrypoint),
      command,
      workingDir: Option.getOrUndefined(o.workdir),
      http: o.httpPort !== 0 ? new HTTPPort({ port: o.httpPort, requiresAuth: Option.getOrElse(o.httpAuth, () => true) }) : undefined,
      env: env.env,
      secretEnv: env.secretEnv,
      volumes: volumes.volumes,
      secretFiles: volumes.secretFiles,
      diskVolumes: volumes.diskVolumes,
      shm: o.extshm,
      passConfig: o.passConfig,
      waitForJobsQuota: o.waitForSeat,
      name: Option.getOrUndefined(o.name),
      tags: o.tag,
      description: Option.getOrUndefined(o.description),
      restartPolicy: o.restart as JobRestartPolicy,
      lifeSpan: yield* lifeSpanSeconds(o.lifeSpan),
      scheduleTimeout,
      privileged: o.privileged,
      priority: Option.isSome(o.priority) ? ({ low: 1, normal: 2, high: 3 } as const)[o.priority.value] : undefined,
      energyScheduleName: Option.getOrUndefined(o.energySchedule)
    })
    const users = yield* Users
    for (const user of o.share) yield* users.share(user, { uri: job.uri, action: "write" })
    const detach = o.detach || !o.waitStart
    const say = (line: string) => (detach ? print(line) : printErr(line))
    if (term.verbosity < 0) {
      if (detach) yield* print(job.id)
    } else {
      for (const line of startLines(job)) yield* say(line)
    }
    if (o.waitStart) {
      job = yield* waitStarted(job)
      if (term.verbosity >= 0) yield* say(`Status: ${job.status}${job.history.reason ? ` (${job.history.reason})` : ""}`)
    }
    if (job.status === "failed" && (detach || job.history.exitCode === undefined)) {
      return yield* Effect.fail(new CliExit({ code: exitCodeOf(job), message: `Job ${job.id} failed: ${job.history.description || job.history.reason}` }))
    }
    if (detach) {
      if (term.verbosity >= 0) {
        yield* print(`\n${paint(term, "dim", "# Observe the output")}\nneuro logs ${job.id}\n${paint(term, "dim", "# Kill the job")}\nneuro kill ${job.id}`)
      }
      return
    }
    const code = yield* followLogs(job.id)
    if (code !== 0) return yield* Effect.fail(new CliExit({ code }))
  }))).pipe(Command.withDescription("Run a job: `neuro run [OPTIONS] IMAGE [-- CMD...]`; follows its output and exits with its exit code."))

const shellQuote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`)

// ---------------------------------------------------------------------------------------------
// ps, status
// ---------------------------------------------------------------------------------------------

const makePs = (name: string) => Command.make(
  name,
  {
    status: Options.choice("status", ["pending", "suspended", "running", "succeeded", "failed", "cancelled"]).pipe(Options.withAlias("s"), Options.repeated, Options.withDescription("Filter out jobs by status (multiple option).")),
    all: Options.boolean("all").pipe(Options.withAlias("a"), Options.withDescription("Show all jobs regardless the status.")),
    cluster: Options.text("cluster").pipe(Options.optional, Options.withDescription("Show jobs on a specified cluster (the current cluster by default).")),
    owner: Options.text("owner").pipe(Options.withAlias("o"), Options.repeated, Options.withDescription("Filter out jobs by owner (multiple option); ME is the current user.")),
    name: Options.text("name").pipe(Options.withAlias("n"), Options.optional, Options.withDescription("Filter out jobs by name.")),
    tag: Options.text("tag").pipe(Options.withAlias("t"), Options.repeated, Options.withDescription("Filter out jobs by tag (multiple option).")),
    description: Options.text("description").pipe(Options.withAlias("d"), Options.optional, Options.withDescription("Filter out jobs by description (exact match).")),
    since: Options.text("since").pipe(Options.optional, Options.withDescription("Show jobs created after a specific date (ISO 8601, or a delta like 1d2h).")),
    until: Options.text("until").pipe(Options.optional, Options.withDescription("Show jobs created before a specific date (ISO 8601, or a delta like 1d2h).")),
    distinct: Options.boolean("distinct").pipe(Options.withDescription("Show only first job if names are same.")),
    recentFirst: Options.boolean("recent-first", { negationNames: ["recent-last"] }).pipe(Options.withDescription("Show newer jobs first or last.")),
    wide: Options.boolean("wide").pipe(Options.withAlias("w"), Options.withDescription("Do not cut long lines for terminal width.")),
    format: Options.text("format").pipe(Options.optional, Options.withDescription(`Output table format, e.g. "${PS_DEFAULT_FORMAT}" (columns: id name tags status when created started finished image owner cluster_name org_name description command life_span workdir preset).`)),
    fullUri: Options.boolean("full-uri").pipe(Options.withDescription("Output full image URI.")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the jobs as JSON lines (the platform's job objects)."))
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      const config = yield* Config
      const term = yield* TermTag
      const g = yield* globals
      const me = yield* config.username
      const dateOf = (text: Option.Option<string>) =>
        Option.match(text, {
          onNone: () => Effect.succeed(undefined),
          onSome: (t) => {
            const d = parseDateOrDelta(t)
            return d === undefined ? Effect.fail(valueError("Date should be either in ISO-8601 format or relative delta of form 1d2h3m4s")) : Effect.succeed(d)
          }
        })
      const statuses = o.all ? [] : o.status.length > 0 ? o.status : [...JobStatus.activeItems()]
      let list = Chunk.toReadonlyArray(yield* Stream.runCollect(jobs.list({
        statuses: statuses as ReadonlyArray<JobStatusType>,
        name: Option.getOrUndefined(o.name),
        owners: o.owner.map((x) => (x === "ME" ? me : x)),
        tags: o.tag,
        since: yield* dateOf(o.since),
        until: yield* dateOf(o.until),
        reverse: o.recentFirst,
        clusterName: Option.getOrUndefined(o.cluster)
      })))
      const description = Option.getOrUndefined(o.description)
      if (description !== undefined) list = list.filter((j) => j.description === description)
      if (o.distinct) {
        const seen = new Set<string>()
        list = list.filter((j) => j.name === undefined || (seen.has(j.name) ? false : (seen.add(j.name), true)))
      }
      if (o.json) {
        for (const job of list) yield* print(JSON.stringify(jobJson(job)))
        return
      }
      if (term.verbosity < 0) {
        for (const job of list) yield* print(job.id)
        return
      }
      const user = yield* config.getUserConfig
      const fromConfig = ((user.job ?? {}) as Record<string, unknown>)["ps-format"]
      const columns = yield* parseColumns(Option.getOrElse(o.format, () => (typeof fromConfig === "string" ? fromConfig : PS_DEFAULT_FORMAT)), jobColumns)
      const context = { me, clusterName: yield* config.clusterName, orgName: yield* config.orgName, fullUri: o.fullUri, iso: g.isoDatetime }
      const rows = list.map((job) => columns.map((c) => c.ids.map((id) => jobColumns[id]!.value(job, context)).join("\n")))
      for (const line of Table.render(columns, rows, { width: o.wide ? undefined : term.width, term })) yield* print(line)
    }))
).pipe(Command.withDescription("List jobs (running and pending ones unless -s or -a is given)."))

const ps = makePs("ps")

/** A job as JSON for `--json` output (our addition; field names as in the SDK model). */
const jobJson = (job: JobDescription) => ({
  id: job.id,
  name: job.name ?? null,
  owner: job.owner,
  cluster_name: job.clusterName,
  org_name: job.orgName,
  status: job.status,
  reason: job.history.reason,
  description: job.description ?? null,
  tags: job.tags,
  image: String(job.container.image),
  command: job.container.command ?? null,
  preset_name: job.presetName ?? null,
  uri: job.uri.href,
  http_url: job.httpUrl?.href ?? null,
  created_at: job.history.createdAt?.toISOString() ?? null,
  started_at: job.history.startedAt?.toISOString() ?? null,
  finished_at: job.history.finishedAt?.toISOString() ?? null,
  exit_code: job.history.exitCode ?? null,
  life_span: job.lifeSpan ?? null
})

const status = Command.make(
  "status",
  { job: jobArg, fullUri: Options.boolean("full-uri").pipe(Options.withDescription("Output full URI.")), json: Options.boolean("json").pipe(Options.withDescription("Print the job as JSON.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      const term = yield* TermTag
      const g = yield* globals
      const job = yield* jobs.status(yield* resolveJob(o.job))
      if (o.json) return yield* print(JSON.stringify(jobJson(job), null, 2))
      const h = job.history
      const pairs: Array<readonly [string, string]> = [
        ["Job", job.id],
        ...(job.name !== undefined ? [["Name", job.name] as const] : []),
        ...(job.tags.length > 0 ? [["Tags", job.tags.join(", ")] as const] : []),
        ["Owner", job.owner],
        ["Cluster", job.clusterName],
        ...(job.orgName !== null ? [["Organization", job.orgName] as const] : []),
        ...(job.description !== undefined ? [["Description", job.description] as const] : []),
        ["Status", `${job.status}${h.reason ? ` (${h.reason})` : ""}`],
        ["Image", o.fullUri ? String(job.container.image) : job.container.image.asDockerUrl()],
        ...(job.container.entrypoint !== undefined ? [["Entrypoint", job.container.entrypoint] as const] : []),
        ...(job.container.command !== undefined ? [["Command", job.container.command] as const] : []),
        ...(job.presetName !== undefined ? [["Preset", job.presetName] as const] : []),
        ["Priority", ({ 1: "Low", 2: "Normal", 3: "High" } as const)[job.priority]],
        // neuro-cli prints f"{price:.4f}"
        ["Price (credits / hour)", Decimal.toFixed(job.priceCreditsPerHour, 4)],
        ["Current cost", Decimal.toFixed(job.totalPriceCredits, 4)],
        ...(job.lifeSpan !== undefined ? [["Life span", formatDuration(job.lifeSpan)] as const] : []),
        ["Restart policy", job.restartPolicy],
        ...(job.httpUrl !== undefined ? [["Http URL", job.httpUrl.href] as const] : []),
        ...(h.createdAt !== undefined ? [["Created", formatWhen(h.createdAt, g.isoDatetime)] as const] : []),
        ...(h.startedAt !== undefined ? [["Started", formatWhen(h.startedAt, g.isoDatetime)] as const] : []),
        ...(h.finishedAt !== undefined ? [["Finished", formatWhen(h.finishedAt, g.isoDatetime)] as const] : []),
        ...(h.exitCode !== undefined ? [["Exit code", String(h.exitCode)] as const] : []),
        ...(h.description ? [["Status description", h.description] as const] : [])
      ]
      for (const line of Table.keyValues(pairs, term)) yield* print(line)
    }))
).pipe(Command.withDescription("Display the status of a job."))

// ---------------------------------------------------------------------------------------------
// logs, kill, bump-life-span, save
// ---------------------------------------------------------------------------------------------

const logs = Command.make(
  "logs",
  {
    job: jobArg,
    since: Options.text("since").pipe(Options.optional, Options.withDescription("Only return logs after a specific date (ISO 8601, or a delta like 1h).")),
    timestamps: Options.boolean("timestamps").pipe(Options.withDescription("Include timestamps on each line in the log output."))
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      const term = yield* TermTag
      const id = yield* resolveJob(o.job)
      const sinceText = Option.getOrUndefined(o.since)
      const since = sinceText !== undefined ? parseDateOrDelta(sinceText) : undefined
      if (sinceText !== undefined && since === undefined) return yield* Effect.fail(valueError(`Invalid date ${sinceText}`))
      yield* Stream.runForEach(
        jobs.monitor(id, { since, timestamps: o.timestamps }),
        (chunk) => Effect.sync(() => term.out(Buffer.from(chunk).toString("utf8")))
      )
    }))
).pipe(Command.withDescription("Print the logs of a job (following them while it runs)."))

const kill = Command.make(
  "kill",
  { jobs: Args.text({ name: "JOBS" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      let failed = false
      for (const text of o.jobs) {
        const result = yield* Effect.either(Effect.flatMap(resolveJob(text), (id) => Effect.as(jobs.kill(id), id)))
        if (result._tag === "Right") yield* print(result.right)
        else {
          yield* printErr(`ERROR: Cannot kill job ${text}: ${(result.left as { message?: string }).message}`)
          failed = true
        }
      }
      if (failed) return yield* Effect.fail(new CliExit({ code: 1 }))
    }))
).pipe(Command.withDescription("Kill jobs."))

const bumpLifeSpan = Command.make(
  "bump-life-span",
  { job: jobArg, additional: Args.text({ name: "TIMEDELTA" }).pipe(Args.withDescription("Time to add, in the format '1d2h3m4s'.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const seconds = parseDuration(o.additional)
      if (seconds === undefined) return yield* Effect.fail(valueError(`Could not parse time delta '${o.additional}'`))
      const id = yield* resolveJob(o.job)
      yield* Effect.flatMap(Jobs, (jobs) => jobs.bumpLifeSpan(id, seconds))
    }))
).pipe(Command.withDescription("Increase the job's run-time limit."))

const save = Command.make(
  "save",
  { job: jobArg, image: Args.text({ name: "IMAGE" }) },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      const parser = yield* Parser
      const term = yield* TermTag
      const image = yield* parser.remoteImage(o.image)
      const id = yield* resolveJob(o.job)
      yield* jobs.save(id, image, {
        progress: (event) =>
          Effect.sync(() => {
            // tag names differ between SDK versions (`Save`, `ImageProgressSave`): match the ends
            const e = event as unknown as { readonly _tag: string } & Record<string, unknown>
            const str = (v: unknown) => String(v)
            if (e._tag.endsWith("Save")) term.out(`Saving ${str(e.jobId)} -> ${str(e.image)}\n`)
            else if (e._tag.endsWith("CommitStarted")) term.out(`Creating image ${str(e.image)} from the job container\n`)
            else if (e._tag.endsWith("CommitFinished")) term.out("Image created\n")
            else if (e._tag.endsWith("Push")) term.out(`Pushing image ${str(e.src)} => ${str(e.dst)}\n`)
          })
      })
      yield* print(`Image ${image} saved`)
    }))
).pipe(Command.withDescription("Save a job's state to an image: `neuro job save JOB image:NAME[:TAG]`."))

// ---------------------------------------------------------------------------------------------
// exec, attach, port-forward, top
// ---------------------------------------------------------------------------------------------

/** Pump a std stream to stdout/stderr (and stdin to it) until it closes; its exit code. */
const pump = (stream: import("@neuro-sdk/core/Jobs").StdStream) =>
  Effect.gen(function*() {
    const term = yield* TermTag
    const onData = (data: Buffer) => Effect.runFork(Effect.ignore(stream.writeIn(new Uint8Array(data))))
    if (!process.stdin.isTTY) process.stdin.on("data", onData)
    const loop: Effect.Effect<number> = Effect.gen(function*() {
      while (true) {
        const next = yield* stream.readOut
        if (Option.isNone(next)) return 0
        const message = next.value
        const text = Buffer.from(message.data).toString("utf8")
        if (message.fileno === 2) term.err(text)
        else term.out(text)
      }
    }).pipe(Effect.catchAll((e) => Effect.succeed(e._tag === "StdStreamError" ? e.exitCode : EX.IOERR)))
    const code = yield* loop
    process.stdin.off("data", onData)
    process.stdin.pause()
    ;(process.stdin as { unref?: () => void }).unref?.()
    return code
  })

const execCmd = Command.make(
  "exec",
  {
    tty: Options.boolean("tty", { negationNames: ["no-tty"], aliases: ["t"] }).pipe(Options.optional, Options.withDescription("Allocate a TTY (-t/-T); on by default when stdin is a terminal.")),
    job: jobArg,
    cmd: Args.text({ name: "CMD" }).pipe(Args.atLeast(1), Args.withDescription("The command, after `--`."))
  },
  (o) =>
    withClient(Effect.scoped(Effect.gen(function*() {
      const jobs = yield* Jobs
      const cmd = o.cmd[0] === "--" ? o.cmd.slice(1) : o.cmd
      const id = yield* resolveJob(o.job)
      const tty = Option.getOrElse(o.tty, () => process.stdin.isTTY === true)
      const stream = yield* jobs.exec(id, cmd.length === 1 ? cmd[0]! : cmd.map(shellQuote).join(" "), { tty, stdin: true, stdout: true, stderr: !tty })
      const code = yield* pump(stream)
      if (code !== 0) return yield* Effect.fail(new CliExit({ code }))
    })))
).pipe(Command.withDescription("Execute a command in a running job: `neuro exec JOB -- CMD...`; exits with the command's exit code."))

const attach = Command.make(
  "attach",
  { job: jobArg },
  (o) =>
    withClient(Effect.scoped(Effect.gen(function*() {
      const jobs = yield* Jobs
      const id = yield* resolveJob(o.job)
      const job = yield* jobs.status(id)
      const stream = yield* jobs.attach(id, { tty: job.container.tty, stdin: true, stdout: true, stderr: !job.container.tty })
      yield* pump(stream)
      const finished = yield* jobs.status(id)
      if (JobStatus.isFinished(finished.status) && exitCodeOf(finished) !== 0) {
        return yield* Effect.fail(new CliExit({ code: exitCodeOf(finished) }))
      }
    })))
).pipe(Command.withDescription("Attach the terminal to a job's main process."))

const portForward = Command.make(
  "port-forward",
  { job: jobArg, ports: Args.text({ name: "LOCAL_PORT:REMOTE_PORT" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.scoped(Effect.gen(function*() {
      const jobs = yield* Jobs
      const id = yield* resolveJob(o.job)
      for (const spec of o.ports) {
        const m = /^(\d+):(\d+)$/.exec(spec)
        if (m === null) return yield* Effect.fail(usageError(`Invalid port pair ${spec}, expected LOCAL_PORT:REMOTE_PORT`))
        const bound = yield* jobs.portForward(id, Number(m[1]), Number(m[2]))
        yield* print(`Port localhost:${bound.port} will be forwarded to port ${m[2]}`)
      }
      yield* print("Press ^C to stop forwarding")
      yield* Effect.never
    }).pipe(Effect.provide(NodePortForward.layer))))
).pipe(Command.withDescription("Forward ports of a job to the local machine until interrupted."))

const top = Command.make(
  "top",
  { job: jobArg },
  (o) =>
    withClient(Effect.gen(function*() {
      const jobs = yield* Jobs
      const id = yield* resolveJob(o.job)
      const job = yield* jobs.status(id)
      yield* print(["ID", "CPU", "MEMORY (MB)", "GPU (%)", "GPU_MEMORY (MB)"].join("\t"))
      yield* Stream.runForEach(jobs.top(id), (t) =>
        print([job.id, t.cpu.toFixed(3), t.memory.toFixed(1), t.gpuDutyCycle ?? "", t.gpuMemoryBytes !== undefined ? (t.gpuMemoryBytes / 2 ** 20).toFixed(1) : ""].join("\t")))
    }))
).pipe(Command.withDescription("Display the resource usage of a running job (a line per sample until it ends)."))

/**
 * @since 1.0.0
 * @category commands
 */
export const jobTopLevelCommands = [run, ps, status, logs, kill, execCmd, attach, portForward, top, save] as const

/**
 * @since 1.0.0
 * @category commands
 */
export const jobCommand = Command.make("job").pipe(
  Command.withDescription("Job operations."),
  Command.withSubcommands([run, makePs("ls"), status, logs, kill, execCmd, attach, portForward, top, save, bumpLifeSpan])
)
