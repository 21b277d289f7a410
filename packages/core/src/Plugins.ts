/**
 * Plugins: code that extends the SDK, like neuro-sdk's `neuro_api` entry points. A plugin is a
 * `setup(manager)` function; through `manager.config` it defines the parameters (`section.name`
 * with a type and a scope) that the user TOML files (`user.toml`, `.neuro.toml`) may contain,
 * and through `manager.versionChecker` it registers packages for update notices.
 *
 * The `Plugins` service holds what the plugins registered; `UserConfig` validates the TOML files
 * against it. Without any plugin only `[alias]` is accepted, as in neuro-sdk; `neuroCli` defines
 * the keys of the neuro CLI (`[job]`, `[storage]`), and `layerDefault` registers it.
 * On Node, `NodePlugins` (in `@neuro-sdk/node`) discovers installed plugin packages.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ConfigError } from "./Errors.js"
import * as internal from "./internal/plugins.js"

/**
 * Where a parameter may be set, a bit set like neuro-sdk's `ConfigScope` flag enum: `GLOBAL`
 * (the global `user.toml`), `LOCAL` (the project's `.neuro.toml`), `ALL = GLOBAL | LOCAL`.
 * The global file accepts parameters whose scope includes `GLOBAL`; the local file accepts all.
 *
 * @since 1.0.0
 * @category models
 */
export const ConfigScope = {
  GLOBAL: 1,
  LOCAL: 2,
  ALL: 3
} as const

/**
 * @since 1.0.0
 * @category models
 */
export type ConfigScope = (typeof ConfigScope)[keyof typeof ConfigScope]

/**
 * Value type of a parameter: `int` (TOML integer), `float` (TOML float or integer), `bool`, `str`.
 *
 * @since 1.0.0
 * @category models
 */
export type ParamType = "int" | "float" | "bool" | "str"

/**
 * What a parameter accepts: one value of `type`, or (`list: true`) an array of them.
 *
 * @since 1.0.0
 * @category models
 */
export interface ParamSpec {
  readonly type: ParamType
  readonly list: boolean
}

/**
 * One registered parameter.
 *
 * @since 1.0.0
 * @category models
 */
export interface ConfigParameter extends ParamSpec {
  readonly section: string
  readonly name: string
  readonly scope: ConfigScope
}

/**
 * Options of the `define*` methods.
 *
 * @since 1.0.0
 * @category models
 */
export interface DefineOptions {
  /** Files the parameter may appear in; default `ConfigScope.ALL`. */
  readonly scope?: ConfigScope | undefined
}

/**
 * Defines user-config parameters (neuro-sdk's `ConfigBuilder`). Each method throws a `ConfigError`
 * when `section` is `alias` (aliases cannot be registered) or when `section.name` is already
 * defined; the error then fails the `Plugins` layer.
 *
 * @since 1.0.0
 * @category models
 */
export interface ConfigBuilder {
  readonly defineInt: (section: string, name: string, options?: DefineOptions) => void
  readonly defineBool: (section: string, name: string, options?: DefineOptions) => void
  readonly defineStr: (section: string, name: string, options?: DefineOptions) => void
  readonly defineFloat: (section: string, name: string, options?: DefineOptions) => void
  readonly defineIntList: (section: string, name: string, options?: DefineOptions) => void
  readonly defineBoolList: (section: string, name: string, options?: DefineOptions) => void
  readonly defineStrList: (section: string, name: string, options?: DefineOptions) => void
  readonly defineFloatList: (section: string, name: string, options?: DefineOptions) => void
}

/**
 * A package registered for update notices.
 *
 * @since 1.0.0
 * @category models
 */
export interface VersionRecord {
  readonly packageName: string
  /** The notice for `(current, latest)` versions. */
  readonly updateText: (current: string, latest: string) => string
  readonly exclusive: boolean
  /** Seconds after the release before the notice is shown. */
  readonly delay: number
}

/**
 * Registers packages for update notices (neuro-sdk's `VersionChecker`). An exclusive registration
 * replaces all others and makes later non-exclusive ones no-ops; a second exclusive one throws a
 * `ConfigError`. The SDK records the registrations (`Plugins.Service.versionChecks`) but performs
 * no registry checks itself.
 *
 * @since 1.0.0
 * @category models
 */
export interface VersionChecker {
  readonly register: (
    packageName: string,
    updateText: (current: string, latest: string) => string,
    options?: { readonly exclusive?: boolean | undefined; readonly delay?: number | undefined }
  ) => void
}

/**
 * What a plugin's `setup` receives (neuro-sdk's `PluginManager`).
 *
 * @since 1.0.0
 * @category models
 */
export interface PluginManager {
  readonly config: ConfigBuilder
  readonly versionChecker: VersionChecker
}

/**
 * A plugin: a name (for messages) and its setup function, the counterpart of a `neuro_api` entry
 * point. `setup` runs synchronously (a setup that returns a promise is refused).
 *
 * @since 1.0.0
 * @category models
 */
export interface Plugin {
  readonly name: string
  readonly setup: (manager: PluginManager) => void
}

/**
 * @since 1.0.0
 * @category tags
 */
export class Plugins extends Context.Tag("@neuro-sdk/core/Plugins")<Plugins, Plugins.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace Plugins {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Names of the plugins that were set up, in order. */
    readonly plugins: ReadonlyArray<string>
    /** Every defined parameter, in definition order. */
    readonly parameters: ReadonlyArray<ConfigParameter>
    /**
     * Parameters allowed in a file of the given scope, by section then name. A section whose
     * parameters are all outside the scope is still present (empty): it stays a known section.
     */
    readonly spec: (scope: ConfigScope) => ReadonlyMap<string, ReadonlyMap<string, ParamSpec>>
    /** Update-notice registrations. */
    readonly versionChecks: ReadonlyArray<VersionRecord>
  }
}

/**
 * Run the plugins' setup functions in order and collect their definitions. Fails with the first
 * `ConfigError` a setup throws (any other exception becomes a `ConfigError` naming the plugin).
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: (plugins: Iterable<Plugin>) => Effect.Effect<Plugins.Service, ConfigError> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer = (plugins: Iterable<Plugin>): Layer.Layer<Plugins, ConfigError> => Layer.effect(Plugins, make(plugins))

/**
 * The parameters neuro-cli 23.2 defines, so that `.neuro.toml`/`user.toml` files written for the
 * Python CLI are accepted: `job.ps-format`, `job.top-format`, `job.life-span` (strings),
 * `job.cluster-name`, `job.org-name` (strings, local file only), `storage.cp-exclude`,
 * `storage.cp-exclude-from-files` (lists of strings).
 *
 * @since 1.0.0
 * @category plugins
 */
export const neuroCli: Plugin = internal.neuroCli

/**
 * Only the `neuroCli` definitions.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerDefault: Layer.Layer<Plugins, ConfigError> = layer([neuroCli])

/**
 * No plugins: the user config may contain only `[alias]`, as in a bare neuro-sdk.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerEmpty: Layer.Layer<Plugins, ConfigError> = layer([])
