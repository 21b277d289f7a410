/**
 * Short help for `neuro`, `neuro --help` and `neuro GROUP [--help]`: the commands one level down
 * with their one-line descriptions (the help @effect/cli prints for a group lists the whole tree
 * with every usage line, too wide to read). A command's own `--help` stays @effect/cli's.
 *
 * @since 1.0.0
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import { stripAnsi } from "./term.js"

type Node = Descriptor.Command<unknown>

const children = (node: Node): Array<[string, Node]> =>
  [...Descriptor.getSubcommands(node)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The first paragraph of a command's DESCRIPTION. */
const describe = (node: Node): string => {
  const text = stripAnsi(HelpDoc.toAnsiText(Descriptor.getHelp(node, CliConfig.defaultConfig)))
  const m = /DESCRIPTION\n\n([^\n]+)/.exec(text)
  return m?.[1]?.trim() ?? ""
}

const list = (title: string, entries: ReadonlyArray<[string, Node]>): Array<string> => {
  if (entries.length === 0) return []
  const width = Math.max(...entries.map(([name]) => name.length))
  return ["", `${title}:`, ...entries.map(([name, node]) => `  ${name.padEnd(width)}  ${describe(node)}`)]
}

const GLOBAL_OPTIONS = [
  "  -v, --verbose                 Give more output.",
  "  -q, --quiet                   Give less output.",
  "  --color [auto|always|never]   Colour output (auto: a terminal without NO_COLOR).",
  "  --neuromation-config PATH     The config directory (default: $NEUROMATION_CONFIG, else ~/.neuro).",
  "  --show-traceback              Show the full cause of a failure.",
  "  --iso-datetime-format         Show dates in ISO 8601 format.",
  "  --completions [bash|zsh|fish] Print the shell completion script.",
  "  --version                     Show the version and exit.",
  "  -h, --help                    Show this message and exit."
]

/**
 * The short help of the command at `path` (`[]`: the root), or `undefined` when it is not a group.
 *
 * @since 1.0.0
 * @category help
 */
export const groupHelp = (
  root: Node,
  groups: Readonly<Record<string, Node>>,
  path: ReadonlyArray<string>
): string | undefined => {
  if (path.length > 1) return undefined
  const node = path.length === 0 ? root : groups[path[0]!]
  if (node === undefined) return undefined
  const entries = children(node)
  const prefix = ["neuro", ...path].join(" ")
  return [
    `Usage: ${prefix}${path.length === 0 ? " [OPTIONS]" : ""} COMMAND [ARGS]...`,
    "",
    `  ${describe(node)}`,
    ...(path.length === 0 ? ["", "Options:", ...GLOBAL_OPTIONS] : []),
    ...list(path.length === 0 ? "Command groups" : "Commands", entries.filter(([name]) => path.length > 0 || name in groups)),
    ...(path.length === 0 ? list("Commands", entries.filter(([name]) => !(name in groups))) : []),
    "",
    `Use "${prefix} COMMAND --help" for the options and arguments of a command.`
  ].join("\n") + "\n"
}

/** Options of `neuro` that take a value. */
const VALUED = new Set(["--color", "--neuromation-config", "--log-level"])

/**
 * The command path of a request for a group's help (`neuro`, `neuro --help`, `neuro storage`,
 * `neuro storage -h`, with global options before it), else `undefined`.
 *
 * @since 1.0.0
 * @category help
 */
export const helpRequest = (argv: ReadonlyArray<string>): Array<string> | undefined => {
  const rest: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (rest.length === 0 && arg.startsWith("-") && arg !== "-h" && arg !== "--help") {
      if (VALUED.has(arg)) i++
      if (arg === "--version" || arg === "--completions" || arg === "--wizard") return undefined
      continue
    }
    rest.push(arg)
  }
  const last = rest[rest.length - 1]
  const path = last === "--help" || last === "-h" ? rest.slice(0, -1) : rest
  return path.length <= 1 && path.every((p) => !p.startsWith("-")) ? path : undefined
}
