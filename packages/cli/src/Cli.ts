/**
 * The `neuro` command line: every command group, the global options, and the run that turns a
 * failure into one line on stderr and the Python CLI's exit code.
 *
 * @since 1.0.0
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import type * as Descriptor from "@effect/cli/CommandDescriptor"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { aclCommand, shareCommand } from "./commands/acl.js"
import { blobCommand } from "./commands/blob.js"
import { completionCommand, setCompletionTree } from "./commands/completion.js"
import { configCommand, loginCommand, logoutCommand } from "./commands/config.js"
import { diskCommand } from "./commands/disks.js"
import { imageCommand, imageTopLevelCommands } from "./commands/images.js"
import { secretCommand } from "./commands/secrets.js"
import { serviceAccountCommand } from "./commands/serviceAccounts.js"
import { jobCommand, jobTopLevelCommands } from "./commands/jobs.js"
import { storageCommand, storageTopLevelCommands } from "./commands/storage.js"
import { describe, EX } from "./output/errors.js"
import { groupHelp, helpRequest } from "./output/help.js"
import { stripAnsi } from "./output/term.js"
import { rootCommand } from "./root.js"
import { preprocess } from "./argv.js"

/**
 * The version printed by `neuro --version`.
 *
 * @since 1.0.0
 * @category constants
 */
export const VERSION = "23.2.0-ts.0"

/**
 * The command tree.
 *
 * @since 1.0.0
 * @category commands
 */
export const command = rootCommand.pipe(
  Command.withDescription("Neuro Platform command line."),
  Command.withSubcommands([
    configCommand,
    storageCommand,
    jobCommand,
    imageCommand,
    secretCommand,
    diskCommand,
    serviceAccountCommand,
    aclCommand,
    blobCommand,
    completionCommand,
    // the Python CLI's shortcuts
    ...jobTopLevelCommands,
    loginCommand,
    logoutCommand,
    ...storageTopLevelCommands,
    ...imageTopLevelCommands,
    shareCommand
  ])
)

setCompletionTree(command)

/** The command groups, for the short help of `neuro` and `neuro GROUP`. */
const GROUPS = {
  config: configCommand.descriptor,
  storage: storageCommand.descriptor,
  job: jobCommand.descriptor,
  image: imageCommand.descriptor,
  secret: secretCommand.descriptor,
  disk: diskCommand.descriptor,
  "service-account": serviceAccountCommand.descriptor,
  acl: aclCommand.descriptor,
  blob: blobCommand.descriptor,
  completion: completionCommand.descriptor
} as Record<string, Descriptor.Command<unknown>>

const app = Command.run(command, { name: "neuro", version: VERSION, executable: "neuro" })

/** The console, dropping @effect/cli's colours when ours are off. */
const plainConsole = (console: Console.Console, colors: boolean): Console.Console => {
  if (colors) return console
  const strip = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? stripAnsi(a) : a))
  const unsafe = console.unsafe
  const plainUnsafe: Console.UnsafeConsole = {
    ...unsafe,
    log: (...args: ReadonlyArray<unknown>) => unsafe.log(...strip(args)),
    error: (...args: ReadonlyArray<unknown>) => unsafe.error(...strip(args)),
    info: (...args: ReadonlyArray<unknown>) => unsafe.info(...strip(args))
  }
  return {
    ...console,
    unsafe: plainUnsafe,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => plainUnsafe.log(...args)),
    error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => plainUnsafe.error(...args)),
    info: (...args: ReadonlyArray<unknown>) => Effect.sync(() => plainUnsafe.info(...args))
  }
}

const colorsWanted = (args: ReadonlyArray<string>): boolean => {
  const flag = args.find((a) => a.startsWith("--color="))?.slice(8) ?? (args.includes("--color") ? args[args.indexOf("--color") + 1] : undefined)
  if (flag === "always" || flag === "yes") return true
  if (flag === "never" || flag === "no") return false
  return process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "" && process.env.TERM !== "dumb"
}

/**
 * Run the command line `args` (without the node executable and script) and return the exit code.
 * Failures are printed as one `ERROR: ...` line on stderr; with `--show-traceback` (or
 * `--verbose`), followed by their full cause.
 *
 * @since 1.0.0
 * @category running
 */
export const run = (args: ReadonlyArray<string>): Effect.Effect<number> => {
  const argv = preprocess(args)
  const helpPath = helpRequest(argv)
  const help = helpPath !== undefined ? groupHelp(command.descriptor, GROUPS, helpPath) : undefined
  if (help !== undefined) return Effect.sync(() => process.stdout.write(help)).pipe(Effect.as(EX.OK))
  const colors = colorsWanted(argv)
  const traceback = argv.includes("--show-traceback") || argv.slice(0, argv.findIndex((a) => !a.startsWith("-")) + 1).some((a) => a === "-v" || a === "--verbose")
  return app(["node", "neuro", ...argv]).pipe(
    Effect.provide(NodeContext.layer),
    // -t and -T, -p and -P, -x and -X are different options
    Effect.provide(CliConfig.layer({ isCaseSensitive: true })),
    (effect) => Console.consoleWith((console) => Effect.withConsole(effect, plainConsole(console, colors))),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return EX.OK
      if (Cause.isInterruptedOnly(exit.cause)) return EX.INTERRUPTED
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) {
        // @effect/cli printed it already; --help and --version are not failures
        return ValidationError.isHelpRequested(failure.value) ? EX.OK : EX.USAGE
      }
      const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
      const { code, line } = describe(error)
      if (line !== undefined) process.stderr.write(`ERROR: ${line}\n`)
      if (traceback) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      return code
    })
  )
}
