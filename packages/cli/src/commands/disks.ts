/**
 * `neuro disk create|ls|get|rm`.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import type { Disk } from "@neuro-sdk/core/Disks"
import { Disks } from "@neuro-sdk/core/Disks"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { CliExit, valueError } from "../output/errors.js"
import { formatDuration, formatSize, formatWhen, parseDuration } from "../output/format.js"
import * as Table from "../output/table.js"
import { print, printErr, TermTag } from "../output/term.js"
import { globals, withClient } from "../root.js"
import { parseMemory, uriFormatter } from "./common.js"
import { orgOption } from "./secrets.js"

const cluster = Options.text("cluster").pipe(Options.optional, Options.withDescription("Perform on a specified cluster (the current cluster by default)."))
const fullUri = Options.boolean("full-uri").pipe(Options.withDescription("Output full disk URI."))

const timeoutText = (d: Disk) => (d.timeoutUnused === null ? "" : formatDuration(Duration.toSeconds(d.timeoutUnused)))

const diskLines = (disk: Disk, full: boolean) =>
  Effect.gen(function*() {
    const fmt = yield* uriFormatter(full)
    const g = yield* globals
    const term = yield* TermTag
    return Table.keyValues([
      ["Id", disk.id],
      ["Storage", formatSize(disk.storage)],
      ["Used", formatSize(disk.usedBytes)],
      ["Uri", yield* fmt(disk.uri)],
      ...(disk.name !== null ? [["Name", disk.name] as const] : []),
      ["Org name", disk.orgName ?? "NO_ORG"],
      ["Status", disk.status],
      ["Created at", formatWhen(disk.createdAt, g.isoDatetime)],
      ["Last used", disk.lastUsage !== null ? formatWhen(disk.lastUsage, g.isoDatetime) : ""],
      ["Timeout unused", timeoutText(disk) || "Never"]
    ], term)
  })

const ls = Command.make(
  "ls",
  { cluster, fullUri, long: Options.boolean("long-format").pipe(Options.withDescription("Output all info about disk.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const disks = yield* Disks
      const term = yield* TermTag
      const g = yield* globals
      const list = Chunk.toReadonlyArray(yield* Stream.runCollect(disks.list({ clusterName: Option.getOrUndefined(o.cluster) })))
      if (term.verbosity < 0) {
        for (const d of list) yield* print(d.id)
        return
      }
      const fmt = yield* uriFormatter(o.fullUri)
      const columns: Array<Table.Column> = ["Id", "Name", "Storage", "Used", "Uri", "Status", ...(o.long ? ["Org name", "Created at", "Last used", "Timeout unused"] : [])]
        .map((title) => ({ title }))
      const rows: Array<Array<string>> = []
      for (const d of list) {
        rows.push([
          d.id, d.name ?? "", formatSize(d.storage), formatSize(d.usedBytes), yield* fmt(d.uri), d.status,
          ...(o.long ? [d.orgName ?? "NO_ORG", formatWhen(d.createdAt, g.isoDatetime), d.lastUsage !== null ? formatWhen(d.lastUsage, g.isoDatetime) : "", timeoutText(d)] : [])
        ])
      }
      for (const line of Table.render(columns, rows, { width: term.width, term })) yield* print(line)
    }))
).pipe(Command.withDescription("List disks."))

const create = Command.make(
  "create",
  {
    storage: Args.text({ name: "STORAGE" }).pipe(Args.withDescription("Size: 10G (10^9 bytes), 10Gi (2^30), 500M, ...")),
    cluster,
    org: Options.text("org").pipe(Options.optional, Options.withDescription("Perform in a specified org (the current org by default; NO_ORG for none).")),
    timeoutUnused: Options.text("timeout-unused").pipe(Options.optional, Options.withDescription("Disk lifetime after last usage, '1d2h3m4s'; '0' disables (default 1d, or disk.life-span of the user config).")),
    name: Options.text("name").pipe(Options.optional, Options.withDescription("Optional disk name."))
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const size = parseMemory(o.storage)
      if (Either.isLeft(size)) return yield* Effect.fail(valueError(size.left))
      const user = yield* Effect.flatMap(Config, (c) => c.getUserConfig)
      const fromConfig = ((user.disk ?? {}) as Record<string, unknown>)["life-span"]
      const text = Option.getOrElse(o.timeoutUnused, () => (typeof fromConfig === "string" ? fromConfig : "1d"))
      const seconds = parseDuration(text)
      if (seconds === undefined) return yield* Effect.fail(valueError(`Could not parse time delta '${text}'`))
      const disk = yield* Effect.flatMap(Disks, (d) =>
        d.create(size.right, {
          timeoutUnused: seconds === 0 ? null : Duration.seconds(seconds),
          name: Option.getOrUndefined(o.name),
          clusterName: Option.getOrUndefined(o.cluster),
          ...orgOption(o.org)
        }))
      for (const line of yield* diskLines(disk, true)) yield* print(line)
    }))
).pipe(Command.withDescription("Create a disk of at least STORAGE bytes."))

const get = Command.make(
  "get",
  { cluster, fullUri, disk: Args.text({ name: "DISK" }).pipe(Args.withDescription("Disk id or name.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const disk = yield* Effect.flatMap(Disks, (d) => d.get(o.disk, { clusterName: Option.getOrUndefined(o.cluster) }))
      for (const line of yield* diskLines(disk, o.fullUri)) yield* print(line)
    }))
).pipe(Command.withDescription("Get disk DISK_ID."))

const rm = Command.make(
  "rm",
  { cluster, disks: Args.text({ name: "DISKS" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.gen(function*() {
      const disks = yield* Disks
      const term = yield* TermTag
      let failed = false
      for (const id of o.disks) {
        const result = yield* Effect.either(disks.rm(id, { clusterName: Option.getOrUndefined(o.cluster) }))
        if (Either.isLeft(result)) {
          yield* printErr(`ERROR: cannot remove disk ${id}: ${result.left.message}`)
          failed = true
        } else if (term.verbosity > 0) yield* print(`Disk with id '${id}' was successfully removed.`)
      }
      if (failed) return yield* Effect.fail(new CliExit({ code: 72 }))
    }))
).pipe(Command.withDescription("Remove disks."))

/**
 * @since 1.0.0
 * @category commands
 */
export const diskCommand = Command.make("disk").pipe(
  Command.withDescription("Operations with disks."),
  Command.withSubcommands([ls, create, get, rm])
)
