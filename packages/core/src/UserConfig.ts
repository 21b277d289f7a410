/**
 * The user's TOML configuration, as neuro-sdk 23.2 reads it: the global `user.toml` in the config
 * directory and the project's `.neuro.toml`, found from the working directory upward. Each file is
 * validated on its own against the parameters the plugins define (`Plugins`), then the two are
 * merged, the local file winning (tables merge key by key).
 *
 * Validation, in neuro-sdk's order, fails with a `ConfigError` whose `path` is the file:
 * - the global file may not pin `[job] cluster-name` / `org-name` (they are switched with
 *   `neuro config switch-cluster` / `switch-org` instead);
 * - top-level keys must be a defined section or `alias`, and each must be a table;
 * - keys of a section must be parameters defined for the file's scope (`ConfigScope.GLOBAL` for
 *   `user.toml`, every scope for `.neuro.toml`), with values of the defined type (lists: every item);
 * - alias names match `[A-Za-z][A-Za-z0-9-]*` and each alias is a table.
 *
 * Integers come back as numbers (`bigint` beyond 2^53), floats as numbers, datetimes as `Date`s.
 *
 * @since 1.0.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { UserConfigData } from "./Config.js"
import type { ConfigError } from "./Errors.js"
import * as internal from "./internal/userConfig.js"
import type { Plugins } from "./Plugins.js"

/**
 * File name of the global user config, inside the config directory.
 *
 * @since 1.0.0
 * @category constants
 */
export const GLOBAL_FILE_NAME: string = internal.GLOBAL_FILE_NAME

/**
 * File name of the local (project) user config; its directory is the project root.
 *
 * @since 1.0.0
 * @category constants
 */
export const PROJECT_FILE_NAME: string = internal.PROJECT_FILE_NAME

/**
 * Options of `load`.
 *
 * @since 1.0.0
 * @category models
 */
export interface LoadOptions {
  /** The config directory (neuro-sdk's `~/.neuro`, already expanded); `user.toml` is read from it. */
  readonly configDir: string
  /** Where the search for `.neuro.toml` starts; default the current directory. */
  readonly cwd?: string | undefined
}

/**
 * The nearest directory, from `cwd` (default: the current directory) upward, that contains a
 * `.neuro.toml`. The filesystem root itself is never checked. Fails with
 * `ConfigError("Project root is not found for <cwd>")` when there is none.
 *
 * @since 1.0.0
 * @category functions
 */
export const findProjectRoot: (cwd?: string) => Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =
  internal.findProjectRoot

/**
 * Read, validate and merge `<configDir>/user.toml` (missing = empty; not a regular file = error)
 * and the project's `.neuro.toml` (none found = empty). The files are read on every run.
 *
 * @since 1.0.0
 * @category functions
 */
export const load: (options: LoadOptions) => Effect.Effect<UserConfigData, ConfigError, FileSystem.FileSystem | Path.Path | Plugins> =
  internal.load

/**
 * What a platform offers to watch directories for user-config changes (`NodeUserConfig.watch` on
 * Node). It calls `changed` when an entry that may be `user.toml` or `.neuro.toml` changes in one of
 * `dirs`, `lost` when it can no longer watch, and succeeds with `false` when it cannot watch them all.
 *
 * @since 1.0.0
 * @category models
 */
export type WatchDirectories = (
  dirs: ReadonlyArray<string>,
  listener: { readonly changed: () => void; readonly lost: () => void }
) => Effect.Effect<boolean, never, Scope.Scope>

/**
 * `load`, remembered until `watch` reports a change in the config directory or in a directory
 * from `cwd` upward (where a `.neuro.toml` may appear): calls while nothing changed touch no file.
 * When watching is impossible every call reads the files, as `load` does. The watchers live as
 * long as the scope.
 *
 * @since 1.0.0
 * @category functions
 */
export const loadWatched = (
  options: LoadOptions & { readonly watch: WatchDirectories }
): Effect.Effect<
  Effect.Effect<UserConfigData, ConfigError, FileSystem.FileSystem | Path.Path | Plugins>,
  never,
  Path.Path | Scope.Scope
> =>
  Effect.flatMap(
    internal.watchedDirectories(options),
    (dirs) => internal.cachedLoader(internal.load(options), dirs, options.watch)
  )

/**
 * Read and validate one file; `local: true` validates it as a `.neuro.toml`, else as a `user.toml`.
 *
 * @since 1.0.0
 * @category functions
 */
export const loadFile: (
  filename: string,
  options: { readonly local: boolean }
) => Effect.Effect<UserConfigData, ConfigError, FileSystem.FileSystem | Plugins> = internal.loadFile

/**
 * Parse and validate TOML text as the file `filename` (used in messages).
 *
 * @since 1.0.0
 * @category functions
 */
export const parse = (
  plugins: Plugins.Service,
  text: string,
  options: { readonly filename: string; readonly local: boolean }
): Either.Either<UserConfigData, ConfigError> =>
  Either.flatMap(internal.parse(text, options.filename), (data) => {
    const error = internal.validate(plugins, data, options)
    return error === undefined ? Either.right(internal.normalize(data) as UserConfigData) : Either.left(error)
  })

/**
 * neuro-sdk's merge of two user configs: for a key in both, two tables merge recursively,
 * otherwise `newer` wins; keys of `older` come first, then the keys only `newer` has.
 *
 * @since 1.0.0
 * @category functions
 */
export const merge: (older: UserConfigData, newer: UserConfigData) => UserConfigData = internal.merge

/**
 * A service that loads the user config of fixed directories, for code that wants it as a
 * dependency rather than as an effect with requirements.
 *
 * @since 1.0.0
 * @category tags
 */
export class UserConfig extends Context.Tag("@neuro-sdk/core/UserConfig")<UserConfig, UserConfig.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace UserConfig {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The merged user config, re-read on each run. */
    readonly load: Effect.Effect<UserConfigData, ConfigError>
  }
}

/**
 * @since 1.0.0
 * @category layers
 */
export const layer = (
  options: LoadOptions
): Layer.Layer<UserConfig, never, FileSystem.FileSystem | Path.Path | Plugins> =>
  Layer.effect(UserConfig, internal.service(options))
