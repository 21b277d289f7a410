/**
 * `neuro config ...`: logging in and out, the current settings, clusters and orgs.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import { DEFAULT_API_URL, Factory } from "@neuro-sdk/core/Factory"
import { Jobs } from "@neuro-sdk/core/Jobs"
import type { Cluster, Preset } from "@neuro-sdk/core/ServerConfig"
import * as Decimal from "@neuro-sdk/core/Decimal"
import type * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as readline from "node:readline"
import { usageError, valueError } from "../output/errors.js"
import { formatSize } from "../output/format.js"
import * as Table from "../output/table.js"
import { paint, print, TermTag } from "../output/term.js"
import { withClient, withFactory } from "../root.js"

const NO_ORG = "NO_ORG"

const urlArg = Args.text({ name: "URL" }).pipe(Args.withDefault(DEFAULT_API_URL), Args.withDescription("The platform's API URL."))

/** The lines after a login: who, where, which cluster and org. */
const welcome = (url: string) =>
  withClient(Effect.gen(function*() {
    const config = yield* Config
    const term = yield* TermTag
    const username = yield* config.username
    const clusters = yield* config.clusters
    if (clusters.size > 0) {
      const cluster = yield* config.clusterName
      const org = yield* config.orgName
      yield* print(
        `Logged into ${url} as ${paint(term, "underline", username)}, current cluster is ${paint(term, "bold", cluster)}, org is ${
          paint(term, "bold", org ?? NO_ORG)
        }`
      )
    } else {
      yield* print(`Logged into ${url} as ${paint(term, "underline", username)}`)
    }
    yield* print("Read the docs at https://docs.neu.ro or run `neuro --help` to see the reference")
  }))

/** Runs a login; when a login is already stored, logs out first (like the Python CLI). */
const relogin = <E, R>(login: Effect.Effect<void, E, R>) =>
  login.pipe(
    Effect.catchIf(
      (e): e is E => typeof e === "object" && e !== null && (e as { _tag?: string })._tag === "ConfigError",
      () =>
        Effect.gen(function*() {
          yield* Effect.flatMap(Factory, (f) => f.logout())
          yield* print("You were successfully logged out.")
          yield* login
        })
    )
  )

const loginWithToken = Command.make(
  "login-with-token",
  { token: Args.text({ name: "TOKEN" }).pipe(Args.withDescription("Authentication token provided by the administration team.")), url: urlArg },
  ({ token, url }) =>
    Effect.zipRight(
      withFactory(relogin(Effect.flatMap(Factory, (f) => f.loginWithToken(Redacted.make(token), { url })))),
      welcome(url)
    )
).pipe(Command.withDescription("Log into Neuro Platform with a token."))

const openBrowser = (url: URL) =>
  Effect.async<void>((resume) => {
    import("node:child_process").then(({ spawn }) => {
      const opener = process.platform === "darwin" ? "open" : "xdg-open"
      const child = spawn(opener, [url.toString()], { stdio: "ignore", detached: true })
      child.on("error", () => resume(Effect.void))
      child.unref()
      resume(Effect.void)
    })
  })

const makeLogin = (name: string) => Command.make(name, { url: urlArg }, ({ url }) =>
  Effect.zipRight(
    withFactory(relogin(Effect.flatMap(Factory, (f) => f.login({ url })))),
    welcome(url)
  )).pipe(Command.withDescription("Log into Neuro Platform in a browser."))

const askLine = (question: string) =>
  Effect.async<string>((resume) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
    rl.question(question, (answer) => {
      rl.close()
      // a piped stdin would keep the process alive once the command is done
      process.stdin.pause()
      ;(process.stdin as { unref?: () => void }).unref?.()
      resume(Effect.succeed(answer.trim()))
    })
  })

const loginHeadless = Command.make("login-headless", { url: urlArg }, ({ url }) =>
  Effect.zipRight(
    withFactory(Effect.flatMap(TermTag, (term) =>
      relogin(Effect.flatMap(Factory, (f) =>
        f.loginHeadless((authUrl) =>
          Effect.gen(function*() {
            term.out(`Open ${authUrl} in a browser\nPut the code displayed in a browser after successful login\n`)
            const code = yield* askLine("Code (empty for exit)-> ")
            if (code === "") return yield* Effect.fail(usageError("no code given"))
            return code
          }), { url }))))),
    welcome(url)
  )).pipe(Command.withDescription("Log into Neuro Platform without a local browser: open the printed URL anywhere, paste the code."))

const makeLogout = (name: string) => Command.make(name, {}, () =>
  withFactory(Effect.gen(function*() {
    const factory = yield* Factory
    yield* factory.logout({ showBrowser: openBrowser })
    yield* print("Logged out")
  }))).pipe(Command.withDescription("Log out."))

const showToken = Command.make("show-token", {}, () =>
  withClient(Effect.gen(function*() {
    const config = yield* Config
    yield* print(Redacted.value(yield* config.token))
  }))).pipe(Command.withDescription("Print the current authorization token."))

/** A decimal as neuro-cli prints it (`str(Decimal)`). */
const decimal = (value: BigDecimal.BigDecimal): string => Decimal.format(value)

/** A cluster's presets by name (a map, or the list older models carried). */
const presetMap = (presets: ReadonlyMap<string, Preset> | ReadonlyArray<Preset>): ReadonlyMap<string, Preset> =>
  "get" in presets ? presets : new Map(presets.map((p) => [p.name, p]))

const presetsTable = (presets: ReadonlyMap<string, Preset>, capacity: Readonly<Record<string, number>> | undefined) =>
  Effect.map(TermTag, (term) => {
    const hasTpu = [...presets.values()].some((p) => p.tpuType !== undefined && p.tpuType !== null)
    const columns: Array<Table.Column> = [
      { title: "Name" },
      { title: "#CPU", align: "right" },
      { title: "Memory", align: "right" },
      { title: "Round Robin", align: "center" },
      { title: "Preemptible Node", align: "center" },
      { title: "GPU" },
      ...(capacity !== undefined ? [{ title: "Jobs Avail", align: "right" as const }] : []),
      ...(hasTpu ? [{ title: "TPU" }] : []),
      { title: "Credits per hour" }
    ]
    const rows = [...presets.entries()].map(([name, p]) => [
      name,
      String(p.cpu),
      formatSize(p.memory),
      p.schedulerEnabled ? "√" : "×",
      p.preemptibleNode ? "√" : "×",
      p.gpu ? `${p.gpu} x ${p.gpuModel ?? ""}` : "",
      ...(capacity !== undefined ? [capacity[name] !== undefined ? String(capacity[name]) : ""] : []),
      ...(hasTpu ? [p.tpuType ? `${p.tpuType}/${p.tpuSoftwareVersion ?? ""}` : ""] : []),
      decimal(p.creditsPerHour)
    ])
    return ["Resource Presets:", ...Table.render(columns, rows, { width: term.width, term })]
  })

const show = Command.make("show", {}, () =>
  withClient(Effect.gen(function*() {
    const config = yield* Config
    const term = yield* TermTag
    yield* config.fetch
    const cluster = yield* config.clusterName
    const capacity = yield* Effect.flatMap(Jobs, (jobs) => jobs.getCapacity({ clusterName: cluster })).pipe(
      Effect.orElseSucceed(() => ({}))
    )
    const registry = yield* config.registryUrl
    yield* print("User Configuration:")
    const lines = Table.keyValues([
      ["User Name", yield* config.username],
      ["Current Cluster", cluster],
      ["Current Org", (yield* config.orgName) ?? "<no-org>"],
      ["API URL", config.apiUrl.toString()],
      ["Docker Registry URL", registry.toString()]
    ], term)
    for (const line of lines) yield* print(`  ${line}`)
    for (const line of yield* presetsTable(yield* config.presets, capacity)) yield* print(line)
  }))).pipe(Command.withDescription("Print the current settings."))

const clusterLines = (clusters: ReadonlyMap<string, Cluster>, current: string | undefined, currentOrg: string | null) =>
  Effect.gen(function*() {
    const term = yield* TermTag
    const lines = [paint(term, "italic", "Available clusters:")]
    for (const cluster of clusters.values()) {
      const isCurrent = cluster.name === current
      const orgs = cluster.orgs.map((org) => {
        const label = org ?? NO_ORG
        return isCurrent && org === currentOrg ? paint(term, "underline", label) : label
      })
      lines.push(`${isCurrent ? "* " : "  "}Name: ${isCurrent ? paint(term, "underline", cluster.name) : cluster.name}`)
      lines.push(`  Orgs: ${orgs.join(", ")}`)
      for (const line of yield* presetsTable(presetMap(cluster.presets), undefined)) lines.push(`  ${line}`)
    }
    return lines
  })

const currentClusterOrg = Effect.gen(function*() {
  const config = yield* Config
  const cluster = yield* config.clusterName.pipe(Effect.option)
  const org = yield* config.orgName.pipe(Effect.orElseSucceed(() => null))
  return { cluster: Option.getOrUndefined(cluster), org }
})

const getClusters = Command.make("get-clusters", {}, () =>
  withClient(Effect.gen(function*() {
    const config = yield* Config
    yield* config.fetch
    const { cluster, org } = yield* currentClusterOrg
    for (const line of yield* clusterLines(yield* config.clusters, cluster, org)) yield* print(line)
  }))).pipe(Command.withDescription("List the available clusters and their orgs (re-fetched from the platform)."))

const switchCluster = Command.make(
  "switch-cluster",
  { cluster: Args.text({ name: "CLUSTER_NAME" }).pipe(Args.optional) },
  ({ cluster }) =>
    withClient(Effect.gen(function*() {
      const config = yield* Config
      const term = yield* TermTag
      yield* config.fetch
      let name = Option.getOrUndefined(cluster)
      if (name === undefined) {
        if (!term.tty || !process.stdin.isTTY) {
          return yield* Effect.fail(usageError("Interactive mode is disabled for non-TTY mode, please specify the CLUSTER_NAME"))
        }
        const { cluster: current, org } = yield* currentClusterOrg
        const clusters = yield* config.clusters
        for (const line of yield* clusterLines(clusters, current, org)) yield* print(line)
        while (name === undefined) {
          const answer = (yield* askLine(`Select cluster to switch [${current ?? ""}]: `)) || current || ""
          if (clusters.has(answer)) name = answer
          else yield* print(`Selected cluster ${answer} doesn't exist, please try again.`)
        }
      }
      yield* config.switchCluster(name)
      yield* print(`The current cluster is ${paint(term, "underline", name)}`)
    }))
).pipe(Command.withDescription("Switch the active cluster (asks when CLUSTER_NAME is omitted on a terminal)."))

const switchOrg = Command.make(
  "switch-org",
  { org: Args.text({ name: "ORG_NAME" }).pipe(Args.withDescription(`The org to select; ${NO_ORG} for none.`)) },
  ({ org }) =>
    withClient(Effect.gen(function*() {
      const config = yield* Config
      const term = yield* TermTag
      yield* config.fetch
      const name = org === NO_ORG ? null : org
      yield* config.switchOrg(name)
      yield* print(`The current org_name is ${paint(term, "underline", name ?? "<no-org>")}`)
    }))
).pipe(Command.withDescription("Switch the active organization."))

const docker = Command.make(
  "docker",
  { dockerConfig: Options.text("docker-config").pipe(Options.optional, Options.withDescription("Docker client configuration folder (default $DOCKER_CONFIG or ~/.docker).")) },
  ({ dockerConfig }) =>
    withClient(Effect.gen(function*() {
      const config = yield* Config
      const fs = yield* Effect.promise(() => import("node:fs"))
      const path = yield* Effect.promise(() => import("node:path"))
      const os = yield* Effect.promise(() => import("node:os"))
      const dir = Option.getOrElse(dockerConfig, () => process.env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"))
      fs.mkdirSync(dir, { recursive: true })
      const file = path.join(dir, "config.json")
      const payload = yield* Effect.try({
        try: (): Record<string, unknown> => {
          if (!fs.existsSync(file)) return {}
          const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"))
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object")
          return parsed as Record<string, unknown>
        },
        catch: (e) => valueError(`${file} is not a Docker configuration file (${e instanceof Error ? e.message : String(e)}); it was left as it is`)
      })
      const existing = payload.credHelpers
      const helpers: Record<string, unknown> = typeof existing === "object" && existing !== null && !Array.isArray(existing) ? { ...existing } : {}
      const registry = (yield* config.registryUrl).host
      helpers[registry] = "neuro"
      payload.credHelpers = helpers
      fs.writeFileSync(file, JSON.stringify(payload, null, 2))
      yield* print(`Configuration file ${file} updated.`)
      yield* print(`You can use docker client with neuro registry: ${registry}`)
    }))
).pipe(Command.withDescription("Configure the local docker client to use the platform's registry."))

/**
 * @since 1.0.0
 * @category commands
 */
export const configCommand = Command.make("config").pipe(
  Command.withDescription("Client configuration."),
  Command.withSubcommands([makeLogin("login"), loginWithToken, loginHeadless, show, showToken, getClusters, switchCluster, switchOrg, docker, makeLogout("logout")])
)

/**
 * `neuro login`, the shortcut of `config login`.
 *
 * @since 1.0.0
 * @category commands
 */
export const loginCommand = makeLogin("login")

/**
 * `neuro logout`, the shortcut of `config logout`.
 *
 * @since 1.0.0
 * @category commands
 */
export const logoutCommand = makeLogout("logout")
