/**
 * `neuro secret add|ls|rm`.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Secrets } from "@neuro-sdk/core/Secrets"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import { valueError } from "../output/errors.js"
import * as Table from "../output/table.js"
import { print, TermTag, verbose } from "../output/term.js"
import { withClient } from "../root.js"
import { uriFormatter } from "./common.js"

const cluster = Options.text("cluster").pipe(Options.optional, Options.withDescription("Perform on a specified cluster (the current cluster by default)."))
const org = Options.text("org").pipe(Options.optional, Options.withDescription("Perform on a specified org (the current org by default; NO_ORG for none)."))

/** `--org` as the SDK takes it: absent = current org, NO_ORG = none. */
export const orgOption = (value: Option.Option<string>) =>
  Option.match(value, { onNone: () => ({}), onSome: (o) => ({ orgName: o === "NO_ORG" ? null : o }) })

const ls = Command.make(
  "ls",
  { cluster, fullUri: Options.boolean("full-uri").pipe(Options.withDescription("Output full secret URI.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const secrets = yield* Secrets
      const term = yield* TermTag
      const list = Chunk.toReadonlyArray(yield* Stream.runCollect(secrets.list({ clusterName: Option.getOrUndefined(o.cluster) })))
      if (term.verbosity < 0) {
        for (const s of list) yield* print(s.key)
        return
      }
      const fmt = yield* uriFormatter(o.fullUri)
      const rows: Array<Array<string>> = []
      for (const s of list) rows.push([s.key, s.orgName ?? "NO_ORG", yield* fmt(s.uri)])
      for (const line of Table.render([{ title: "Key" }, { title: "Org" }, { title: "Uri" }], rows, { width: term.width, term })) yield* print(line)
    }))
).pipe(Command.withDescription("List secrets."))

const add = Command.make(
  "add",
  { cluster, org, key: Args.text({ name: "KEY" }), value: Args.text({ name: "VALUE" }).pipe(Args.withDescription("The value; @FILE reads it from a file.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      let data: Uint8Array
      if (o.value.startsWith("@")) {
        const path = o.value.slice(1).replace(/^~(?=\/|$)/, os.homedir())
        const read = yield* Effect.try({ try: () => fs.readFileSync(path), catch: () => valueError(`Cannot read the file ${path}`) })
        data = new Uint8Array(read)
      } else {
        data = new TextEncoder().encode(o.value)
      }
      yield* Effect.flatMap(Secrets, (s) => s.add(o.key, Redacted.make(data), { clusterName: Option.getOrUndefined(o.cluster), ...orgOption(o.org) }))
    }))
).pipe(Command.withDescription("Add secret KEY with data VALUE (VALUE starting with @ names a file to read it from)."))

const rm = Command.make(
  "rm",
  { cluster, org, key: Args.text({ name: "KEY" }) },
  (o) =>
    withClient(Effect.gen(function*() {
      yield* Effect.flatMap(Secrets, (s) => s.rm(o.key, { clusterName: Option.getOrUndefined(o.cluster), ...orgOption(o.org) }))
      yield* verbose(`Secret with key '${o.key}' was successfully removed`)
    }))
).pipe(Command.withDescription("Remove secret KEY."))

/**
 * @since 1.0.0
 * @category commands
 */
export const secretCommand = Command.make("secret").pipe(
  Command.withDescription("Operations with secrets."),
  Command.withSubcommands([ls, add, rm])
)
