/**
 * `neuro acl grant|revoke|ls|list-roles|add-role|remove-role` and the `neuro share` shortcut.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import { Parser } from "@neuro-sdk/core/Parser"
import type { Action } from "@neuro-sdk/core/Users"
import { Users } from "@neuro-sdk/core/Users"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Table from "../output/table.js"
import type { Term } from "../output/term.js"
import { paint, print, printErr, TermTag } from "../output/term.js"
import { withClient } from "../root.js"
import { uriFormatter } from "./common.js"

const ACTION_STYLE = { read: "blue", write: "green", manage: "yellow" } as const
const paintAction = (term: Term, action: Action) => paint(term, ACTION_STYLE[action], action)
const RANK = { read: 1, write: 2, manage: 3 } as const

/** A resource URI for sharing: short forms completed (`storage:x`, `image:x`, `job:x`, ...). */
const resourceUri = (text: string) => Effect.flatMap(Parser, (p) => p.strToUri(text))

const grantArgs = {
  uri: Args.text({ name: "URI" }).pipe(Args.withDescription("The shared resource: storage:..., image:..., job:..., secret:..., disk:...")),
  user: Args.text({ name: "USER" }).pipe(Args.withDescription("User or role to share the resource with.")),
  permission: Args.choice([["read", "read"], ["write", "write"], ["manage", "manage"]] as const, { name: "PERMISSION" })
}

const grantHandler = (o: { readonly uri: string; readonly user: string; readonly permission: Action }) =>
  withClient(Effect.gen(function*() {
    const users = yield* Users
    const uri = yield* resourceUri(o.uri)
    const actual = yield* users.share(o.user, { uri, action: o.permission })
    if (RANK[actual.action] > RANK[o.permission]) yield* printErr(`WARNING: User already has higher permission: ${actual.action}`)
  }))

const grant = Command.make("grant", grantArgs, grantHandler).pipe(Command.withDescription("Share resource URI with USER (read, write or manage)."))

/**
 * `neuro share URI USER PERMISSION`, the shortcut of `acl grant`.
 *
 * @since 1.0.0
 * @category commands
 */
export const shareCommand = Command.make("share", grantArgs, grantHandler).pipe(Command.withDescription("Share resource URI with USER (alias of `acl grant`)."))

const revoke = Command.make("revoke", { uri: grantArgs.uri, user: grantArgs.user }, (o) =>
  withClient(Effect.gen(function*() {
    const uri = yield* resourceUri(o.uri)
    yield* Effect.flatMap(Users, (u) => u.revoke(o.user, uri))
  }))).pipe(Command.withDescription("Revoke USER's access to URI."))

const makeLs = (name: string) =>
  Command.make(
    name,
    {
      uri: Args.text({ name: "URI" }).pipe(Args.optional),
      user: Options.text("u").pipe(Options.optional, Options.withDescription("Use specified user or role.")),
      shared: Options.boolean("shared").pipe(Options.withDescription("Output the resources shared by the user (with others).")),
      fullUri: Options.boolean("full-uri").pipe(Options.withDescription("Output full URI."))
    },
    (o) =>
      withClient(Effect.gen(function*() {
        const users = yield* Users
        const term = yield* TermTag
        const me = yield* Effect.flatMap(Config, (c) => c.username)
        const user = Option.getOrElse(o.user, () => me)
        const filter = Option.getOrUndefined(o.uri)
        const fmt = yield* uriFormatter(o.fullUri)
        const rows: Array<Array<string>> = []
        if (!o.shared) {
          const acl = [...yield* users.getAcl(user, filter)].sort((a, b) => (a.uri.href < b.uri.href ? -1 : a.uri.href > b.uri.href ? 1 : 0))
          for (const p of acl) rows.push([yield* fmt(p.uri), paintAction(term, p.action)])
        } else {
          const shares = [...yield* users.getShares(user, filter)].sort((a, b) => (a.permission.uri.href < b.permission.uri.href ? -1 : 1))
          for (const s of shares) rows.push([yield* fmt(s.permission.uri), paintAction(term, s.permission.action), s.user])
        }
        const columns = rows[0]?.map(() => ({ title: "" })) ?? []
        for (const line of Table.render(columns, rows, { header: false })) yield* print(line)
      }))
  ).pipe(Command.withDescription("List resources available to a user (--shared: shared by the user with others)."))

const listRoles = Command.make("list-roles", { user: Options.text("u").pipe(Options.optional, Options.withDescription("Fetch roles of specified user or role.")) }, (o) =>
  withClient(Effect.gen(function*() {
    const me = yield* Effect.flatMap(Config, (c) => c.username)
    const roles = yield* Effect.flatMap(Users, (u) => u.getSubroles(Option.getOrElse(o.user, () => me)))
    for (const role of [...roles].sort()) yield* print(role)
  }))).pipe(Command.withDescription("List roles."))

const addRole = Command.make("add-role", { role: Args.text({ name: "ROLE_NAME" }) }, (o) =>
  withClient(Effect.flatMap(Users, (u) => u.add(o.role)))).pipe(Command.withDescription("Add new role."))

const removeRole = Command.make("remove-role", { role: Args.text({ name: "ROLE_NAME" }) }, (o) =>
  withClient(Effect.flatMap(Users, (u) => u.remove(o.role)))).pipe(Command.withDescription("Remove existing role."))

/**
 * @since 1.0.0
 * @category commands
 */
export const aclCommand = Command.make("acl").pipe(
  Command.withDescription("Access Control List management."),
  Command.withSubcommands([grant, revoke, makeLs("ls"), makeLs("list"), listRoles, addRole, removeRole])
)
