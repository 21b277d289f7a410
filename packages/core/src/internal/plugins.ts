import * as Effect from "effect/Effect"
import { ConfigError } from "../Errors.js"
import type {
  ConfigBuilder,
  ConfigParameter,
  ConfigScope,
  ParamSpec,
  ParamType,
  Plugin,
  PluginManager,
  Plugins,
  VersionChecker,
  VersionRecord
} from "../Plugins.js"

const SCOPE_LOCAL: ConfigScope = 2
const SCOPE_ALL: ConfigScope = 3

/** @internal */
export const makeConfigBuilder = (): { readonly builder: ConfigBuilder; readonly parameters: Array<ConfigParameter> } => {
  const parameters: Array<ConfigParameter> = []
  const define = (type: ParamType, list: boolean) =>
  (section: string, name: string, options?: { readonly scope?: ConfigScope | undefined }): void => {
    if (section === "alias") {
      throw new ConfigError({ description: "Registering aliases is not supported yet." })
    }
    if (parameters.some((p) => p.section === section && p.name === name)) {
      throw new ConfigError({ description: `Config parameter ${section}.${name} already registered` })
    }
    parameters.push({ section, name, type, list, scope: options?.scope ?? SCOPE_ALL })
  }
  const builder: ConfigBuilder = {
    defineInt: define("int", false),
    defineBool: define("bool", false),
    defineStr: define("str", false),
    defineFloat: define("float", false),
    defineIntList: define("int", true),
    defineBoolList: define("bool", true),
    defineStrList: define("str", true),
    defineFloatList: define("float", true)
  }
  return { builder, parameters }
}

/** @internal */
export const makeVersionChecker = (): { readonly checker: VersionChecker; readonly records: () => Array<VersionRecord> } => {
  let records = new Map<string, VersionRecord>()
  let hasExclusive = false
  const checker: VersionChecker = {
    register: (packageName, updateText, options) => {
      const record: VersionRecord = {
        packageName,
        updateText,
        exclusive: options?.exclusive ?? false,
        delay: options?.delay ?? 0
      }
      if (record.exclusive) {
        if (hasExclusive) {
          const first = records.keys().next().value ?? packageName
          throw new ConfigError({ description: `Exclusive record for package ${first} already exists` })
        }
        records = new Map([[packageName, record]])
        hasExclusive = true
      } else if (!hasExclusive) {
        records.set(packageName, record)
      }
    }
  }
  return { checker, records: () => [...records.values()] }
}

/** @internal */
export const specFor = (
  parameters: ReadonlyArray<ConfigParameter>,
  scope: ConfigScope
): ReadonlyMap<string, ReadonlyMap<string, ParamSpec>> => {
  const spec = new Map<string, Map<string, ParamSpec>>()
  for (const p of parameters) {
    let section = spec.get(p.section)
    if (section === undefined) {
      section = new Map()
      spec.set(p.section, section)
    }
    if ((p.scope & scope) !== 0) section.set(p.name, { type: p.type, list: p.list })
  }
  return spec
}

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** @internal */
export const make = (plugins: Iterable<Plugin>): Effect.Effect<Plugins.Service, ConfigError> =>
  Effect.suspend(() => {
    const { builder, parameters } = makeConfigBuilder()
    const { checker, records } = makeVersionChecker()
    const manager: PluginManager = { config: builder, versionChecker: checker }
    const names: Array<string> = []
    return Effect.forEach(plugins, (plugin) =>
      Effect.try({
        try: () => {
          const result: unknown = plugin.setup(manager)
          if (typeof result === "object" && result !== null && typeof (result as { then?: unknown }).then === "function") {
            ;(result as Promise<unknown>).then(undefined, () => undefined)
            throw new ConfigError({ description: `Plugin ${plugin.name} has an asynchronous setup; setup must be synchronous` })
          }
          names.push(plugin.name)
        },
        catch: (cause) =>
          cause instanceof ConfigError
            ? cause
            : new ConfigError({ description: `Plugin ${plugin.name} failed to set up: ${describe(cause)}`, cause })
      }), { discard: true }).pipe(
        Effect.map((): Plugins.Service => {
          const frozen = [...parameters]
          return {
            plugins: names,
            parameters: frozen,
            spec: (scope) => specFor(frozen, scope),
            versionChecks: records()
          }
        })
      )
  })

/** @internal */
export const neuroCli: Plugin = {
  name: "neuro-cli",
  setup: (manager) => {
    const config = manager.config
    config.defineStr("job", "ps-format")
    config.defineStr("job", "top-format")
    config.defineStr("job", "life-span")
    config.defineStr("job", "cluster-name", { scope: SCOPE_LOCAL })
    config.defineStr("job", "org-name", { scope: SCOPE_LOCAL })
    config.defineStrList("storage", "cp-exclude")
    config.defineStrList("storage", "cp-exclude-from-files")
  }
}
