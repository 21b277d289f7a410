/**
 * `neuro completion generate SHELL`: the shell completion script (the same as
 * `neuro --completions SHELL`).
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { print } from "../output/term.js"
import { withTerm } from "../root.js"

// The whole command tree includes this command: Cli.ts hands it over once built.
let scripts: Readonly<Record<"bash" | "zsh" | "fish", Effect.Effect<Array<string>>>> | undefined

/**
 * Register the command tree whose completions `completion generate` prints.
 *
 * @since 1.0.0
 * @category commands
 */
export const setCompletionTree = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): void => {
  scripts = {
    bash: Command.getBashCompletions(command, "neuro"),
    zsh: Command.getZshCompletions(command, "neuro"),
    fish: Command.getFishCompletions(command, "neuro")
  }
}

const generate = Command.make(
  "generate",
  { shell: Args.choice([["bash", "bash"], ["zsh", "zsh"], ["fish", "fish"]] as const, { name: "SHELL" }) },
  ({ shell }) =>
    withTerm(Effect.gen(function*() {
      if (scripts === undefined) return
      const lines = yield* scripts[shell]
      yield* print(lines.join("\n"))
    }))
).pipe(Command.withDescription("Print the completion script of SHELL (bash, zsh or fish); e.g. `neuro completion generate bash > ~/.neuro-completion.bash` and source it."))

/**
 * @since 1.0.0
 * @category commands
 */
export const completionCommand = Command.make("completion").pipe(
  Command.withDescription("Output shell completion code."),
  Command.withSubcommands([generate])
)
