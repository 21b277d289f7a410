/**
 * The `neuro` root command with the global options, and what every command handler runs inside:
 * the terminal (`TermTag`) and the SDK's services over the config directory.
 *
 * @since 1.0.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NeuroNode from "@neuro-sdk/node/NeuroNode"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Term from "./output/term.js"

/**
 * Options accepted before the command name (`neuro -v ls`).
 *
 * @since 1.0.0
 * @category options
 */
export const globalOptions = {
  verbose: Options.boolean("verbose").pipe(Options.withAlias("v"), Options.withDescription("Give more output.")),
  quiet: Options.boolean("quiet").pipe(Options.withAlias("q"), Options.withDescription("Give less output.")),
  color: Options.choice("color", ["auto", "always", "never", "yes", "no"]).pipe(
    Options.withDefault("auto" as const),
    Options.withDescription("Colour output: auto (a terminal without NO_COLOR), always or never.")
  ),
  config: Options.text("neuromation-config").pipe(
    Options.optional,
    Options.withDescription("Path to the config directory (default: $NEUROMATION_CONFIG, else ~/.neuro).")
  ),
  showTraceback: Options.boolean("show-traceback").pipe(Options.withDescription("Show the full cause of a failure.")),
  isoDatetime: Options.boolean("iso-datetime-format").pipe(Options.withDescription("Show dates in ISO 8601 format.")),
  pypiCheck: Options.boolean("disable-pypi-version-check").pipe(
    Options.withDescription("Accepted for compatibility (this CLI never checks PyPI).")
  )
}

/**
 * The root command; subcommand handlers read the global options by yielding it.
 *
 * @since 1.0.0
 * @category commands
 */
export const rootCommand = Command.make("neuro", globalOptions)

/**
 * @since 1.0.0
 * @category models
 */
export type Globals = Command.Command.ParseConfig<typeof globalOptions>

/**
 * The parsed global options.
 *
 * @since 1.0.0
 * @category accessors
 */
export const globals: Effect.Effect<Globals, never, Command.Command.Context<"neuro">> = rootCommand

const termOf = (g: Globals): Term.Term =>
  Term.make({ color: g.color, verbosity: g.verbose ? 1 : g.quiet ? -1 : 0 })

const configPath = (g: Globals): string | undefined => Option.getOrUndefined(g.config)

/**
 * Run a handler with the terminal only (no SDK).
 *
 * @since 1.0.0
 * @category handlers
 */
export const withTerm = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Term.TermTag> | Command.Command.Context<"neuro">> =>
  Effect.flatMap(globals, (g) => Effect.provideService(effect, Term.TermTag, termOf(g)))

type ClientServices = Layer.Layer.Success<ReturnType<typeof NeuroNode.layer>>
type FactoryServices = Layer.Layer.Success<ReturnType<typeof NeuroNode.layerFactory>>

/**
 * Run a handler with the terminal and every SDK service over the stored login.
 *
 * @since 1.0.0
 * @category handlers
 */
export const withClient = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(globals, (g) =>
    effect.pipe(
      Effect.provide(NeuroNode.layer({ path: configPath(g) })),
      Effect.provideService(Term.TermTag, termOf(g))
    )) as Effect.Effect<
      A,
      E | Layer.Layer.Error<ReturnType<typeof NeuroNode.layer>>,
      Exclude<R, ClientServices | Term.TermTag> | Command.Command.Context<"neuro">
    >

/**
 * Run a handler with the terminal and the login services only (`Factory`), for the commands that
 * work without a login.
 *
 * @since 1.0.0
 * @category handlers
 */
export const withFactory = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(globals, (g) =>
    effect.pipe(
      Effect.provide(NeuroNode.layerFactory({ path: configPath(g) })),
      Effect.provideService(Term.TermTag, termOf(g))
    )) as Effect.Effect<
      A,
      E | Layer.Layer.Error<ReturnType<typeof NeuroNode.layerFactory>>,
      Exclude<R, FactoryServices | Term.TermTag> | Command.Command.Context<"neuro">
    >

/**
 * The config directory given with `--neuromation-config`, if any.
 *
 * @since 1.0.0
 * @category accessors
 */
export const configDir: Effect.Effect<string | undefined, never, Command.Command.Context<"neuro">> = Effect.map(globals, configPath)

/**
 * A flag on by default: `--no-NAME` turns it off, `--NAME` is accepted (an `Options.boolean` is
 * false when absent, whatever its default says).
 *
 * @since 1.0.0
 * @category options
 */
export const flagOnByDefault = (name: string, description: string, alias?: string) =>
  Options.boolean(`no-${name}`, { negationNames: [name], ...(alias !== undefined ? { aliases: [alias] } : {}) }).pipe(
    Options.map((off) => !off),
    Options.withDescription(description)
  )
