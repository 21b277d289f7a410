/**
 * `neuro service-account create|ls|get|rm`.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { ServiceAccount } from "@neuro-sdk/core/ServiceAccounts"
import { ServiceAccounts } from "@neuro-sdk/core/ServiceAccounts"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { formatWhen } from "../output/format.js"
import * as Table from "../output/table.js"
import { paint, print, TermTag } from "../output/term.js"
import { globals, withClient } from "../root.js"

const accountLines = (account: ServiceAccount) =>
  Effect.gen(function*() {
    const g = yield* globals
    const term = yield* TermTag
    return Table.keyValues([
      ["Id", account.id],
      ["Name", account.name ?? ""],
      ["Role", account.role],
      ["Owner", account.owner],
      ["Default cluster", account.defaultCluster],
      ["Created at", formatWhen(account.createdAt, g.isoDatetime)]
    ], term)
  })

/** The auth token inside a service-account token (base64 JSON with `token`), when it is one. */
const innerToken = (full: string): string | undefined => {
  try {
    const data = JSON.parse(Buffer.from(full, "base64").toString("utf8")) as { token?: unknown }
    return typeof data.token === "string" ? data.token : undefined
  } catch {
    return undefined
  }
}

const ls = Command.make("ls", {}, () =>
  withClient(Effect.gen(function*() {
    const term = yield* TermTag
    const g = yield* globals
    const list = Chunk.toReadonlyArray(yield* Stream.runCollect(Effect.flatMap(ServiceAccounts, (s) => Effect.succeed(s.list())).pipe(Stream.unwrap)))
    if (term.verbosity < 0) {
      for (const a of list) yield* print(a.id)
      return
    }
    const rows = list.map((a) => [a.id, a.name ?? "", a.role, a.defaultCluster, formatWhen(a.createdAt, g.isoDatetime)])
    const columns = ["Id", "Name", "Role", "Default cluster", "Created At"].map((title) => ({ title }))
    for (const line of Table.render(columns, rows, { width: term.width, term })) yield* print(line)
  }))).pipe(Command.withDescription("List service accounts."))

const create = Command.make(
  "create",
  {
    name: Options.text("name").pipe(Options.optional, Options.withDescription("Optional service account name.")),
    defaultCluster: Options.text("default-cluster").pipe(Options.optional, Options.withDescription("Service account default cluster (the current cluster by default)."))
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const term = yield* TermTag
      const created = yield* Effect.flatMap(ServiceAccounts, (s) =>
        s.create({ name: Option.getOrUndefined(o.name), defaultCluster: Option.getOrUndefined(o.defaultCluster) }))
      const token = Redacted.value(created.token)
      if (term.verbosity < 0) return yield* print(token)
      for (const line of yield* accountLines(created.account)) yield* print(line)
      yield* print("")
      yield* print("Full token with cluster and API url embedded (this value can be used as NEURO_PASSED_CONFIG environment variable):\n")
      yield* print(token)
      const inner = innerToken(token)
      if (inner !== undefined) {
        yield* print("\nJust auth token (this value can be passed to neuro config login-with-token):\n")
        yield* print(inner)
      }
      yield* print(`\n${paint(term, "red", "Save it to some secure place, you will be unable to retrieve it later!")}`)
    }))
).pipe(Command.withDescription("Create a service account."))

const get = Command.make("get", { account: Args.text({ name: "SERVICE_ACCOUNT" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const account = yield* Effect.flatMap(ServiceAccounts, (s) => s.get(o.account))
    for (const line of yield* accountLines(account)) yield* print(line)
  }))).pipe(Command.withDescription("Get service account SERVICE_ACCOUNT."))

const rm = Command.make("rm", { accounts: Args.text({ name: "SERVICE_ACCOUNTS" }).pipe(Args.atLeast(1)) }, (o) =>
  withClient(Effect.gen(function*() {
    const sa = yield* ServiceAccounts
    const term = yield* TermTag
    for (const account of o.accounts) {
      yield* sa.rm(account)
      if (term.verbosity >= 0) yield* print(`Service account '${account}' was successfully removed.`)
    }
  }))).pipe(Command.withDescription("Remove service accounts SERVICE_ACCOUNT."))

/**
 * @since 1.0.0
 * @category commands
 */
export const serviceAccountCommand = Command.make("service-account").pipe(
  Command.withDescription("Operations with service accounts."),
  Command.withSubcommands([ls, create, get, rm])
)
