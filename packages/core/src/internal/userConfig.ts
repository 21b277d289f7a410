import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Toml from "smol-toml"
import type { UserConfigData } from "../Config.js"
import { ConfigError } from "../Errors.js"
import type { ParamSpec, ParamType } from "../Plugins.js"
import { Plugins } from "../Plugins.js"

/** @internal */
export const GLOBAL_FILE_NAME = "user.toml"
/** @internal */
export const PROJECT_FILE_NAME = ".neuro.toml"

const SCOPE_GLOBAL = 1 as const
const SCOPE_ALL = 3 as const

const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9-]*$/

type Table = { readonly [key: string]: unknown }

const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)

const hasOwn = (table: Table, key: string): boolean => Object.prototype.hasOwnProperty.call(table, key)

const tomlType = (value: unknown): string => {
  if (typeof value === "string") return "string"
  if (typeof value === "bigint") return "integer"
  if (typeof value === "number") return "float"
  if (typeof value === "boolean") return "boolean"
  if (Array.isArray(value)) return "array"
  if (value instanceof Date) return "datetime"
  if (isTable(value)) return "table"
  return typeof value
}

const render = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number") return Number.isNaN(value) ? "nan" : value === Infinity ? "inf" : value === -Infinity ? "-inf" : String(value)
  if (typeof value === "bigint" || typeof value === "boolean") return String(value)
  if (Array.isArray(value)) return `[${value.map(render).join(", ")}]`
  if (value instanceof Date) return value.toISOString()
  if (isTable(value)) return `{ ${Object.entries(value).map(([k, v]) => `${k} = ${render(v)}`).join(", ")} }`
  return String(value)
}

const typeNames: Record<ParamType, string> = {
  str: "string",
  int: "integer",
  float: "number",
  bool: "boolean"
}

const accepts = (type: ParamType, value: unknown): boolean => {
  switch (type) {
    case "str":
      return typeof value === "string"
    case "int":
      return typeof value === "bigint"
    case "float":
      return typeof value === "number" || typeof value === "bigint"
    case "bool":
      return typeof value === "boolean"
  }
}

/**
 * Parse TOML text. Integers are kept as `bigint` so that they can be told apart from floats
 * during validation; `normalize` turns them into numbers afterwards.
 */
/** @internal */
export const parse = (text: string, filename: string): Either.Either<Table, ConfigError> =>
  Either.try({
    try: () => Toml.parse(text, { integersAsBigInt: true }) as Table,
    catch: (cause) => {
      const raw = cause instanceof Error ? cause.message : String(cause)
      const first = (raw.split("\n")[0] ?? raw).replace(/^Invalid TOML document:\s*/, "")
      const where = cause instanceof Toml.TomlError ? ` (line ${cause.line}, column ${cause.column})` : ""
      return new ConfigError({ description: `cannot parse TOML: ${first}${where}`, path: filename, cause })
    }
  })

const fail = (filename: string, description: string) => new ConfigError({ description, path: filename })

const checkItem = (value: unknown, spec: ParamSpec, fullName: string, filename: string): ConfigError | undefined => {
  if (spec.list) {
    if (!Array.isArray(value)) {
      return fail(filename, `invalid type for ${fullName}, array is expected (got ${tomlType(value)})`)
    }
    for (let i = 0; i < value.length; i++) {
      const error = checkItem(value[i], { type: spec.type, list: false }, `${fullName}[${i}]`, filename)
      if (error !== undefined) return error
    }
    return undefined
  }
  return accepts(spec.type, value)
    ? undefined
    : fail(filename, `invalid type for ${fullName}, ${typeNames[spec.type]} is expected (got ${tomlType(value)})`)
}

/**
 * Validate one parsed file the way neuro-sdk 23.2 does (`_validate_user_config`), in the same
 * order: pinned cluster/org in the global file, unknown sections, non-table sections, unknown
 * parameters per section, parameter types, alias names and alias bodies.
 */
/** @internal */
export const validate = (
  plugins: Plugins.Service,
  data: Table,
  options: { readonly filename: string; readonly local: boolean }
): ConfigError | undefined => {
  const { filename, local } = options
  if (!local) {
    const job = data["job"]
    if (isTable(job) && hasOwn(job, "cluster-name")) {
      return fail(
        filename,
        "cluster name is not allowed in global user config file, use 'neuro config switch-cluster' for changing the default cluster name"
      )
    }
    if (isTable(job) && hasOwn(job, "org-name")) {
      return fail(
        filename,
        "org name is not allowed in global user config file, use 'neuro config switch-org' for changing the default org name"
      )
    }
  }
  const spec = plugins.spec(local ? SCOPE_ALL : SCOPE_GLOBAL)
  const unsupported = Object.keys(data).filter((key) => key !== "alias" && !spec.has(key)).sort()
  if (unsupported.length > 0) {
    return fail(filename, `unsupported config sections: ${unsupported.map((s) => `'${s}'`).join(", ")}`)
  }
  for (const name of [...spec.keys(), "alias"]) {
    if (hasOwn(data, name) && !isTable(data[name])) {
      return fail(filename, `'${name}' should be a section, got ${tomlType(data[name])} ${render(data[name])}`)
    }
  }
  for (const [sectionName, params] of spec) {
    if (!hasOwn(data, sectionName)) continue
    const section = data[sectionName] as Table
    const unknown = Object.keys(section).filter((key) => !params.has(key)).sort()
    if (unknown.length > 0) {
      return fail(filename, `unknown parameters ${unknown.map((key) => `${sectionName}.${key}`).join(", ")}`)
    }
    for (const [name, param] of params) {
      if (!hasOwn(section, name)) continue
      const error = checkItem(section[name], param, `${sectionName}.${name}`, filename)
      if (error !== undefined) return error
    }
  }
  const aliases = hasOwn(data, "alias") ? data["alias"] as Table : {}
  for (const [key, value] of Object.entries(aliases)) {
    if (!ALIAS_NAME.test(key)) return fail(filename, `invalid alias name ${key}`)
    if (!isTable(value)) {
      return fail(
        filename,
        `invalid alias command type ${tomlType(value)} for alias ${key}, run 'neuro help aliases' for getting info about specifying aliases in config files`
      )
    }
  }
  return undefined
}

/**
 * Plain-object copy of parsed TOML: tables become ordinary objects (keys kept as own data
 * properties, `__proto__` included), integers become numbers (`bigint` beyond 2^53).
 */
/** @internal */
export const normalize = (value: unknown): unknown => {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
  }
  if (Array.isArray(value)) return value.map(normalize)
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
  return value
}

/**
 * neuro-sdk's `_merge_user_configs`: for a key in both, two tables merge recursively, otherwise
 * the newer value wins; keys of the older side come first, then the new keys of the newer side.
 */
/** @internal */
export const merge = (older: UserConfigData, newer: UserConfigData): UserConfigData => {
  const entries: Array<[string, unknown]> = []
  for (const [key, value] of Object.entries(older)) {
    if (!hasOwn(newer, key)) {
      entries.push([key, value])
    } else {
      const next = newer[key]
      entries.push([key, isTable(value) && isTable(next) ? merge(value, next) : next])
    }
  }
  for (const [key, value] of Object.entries(newer)) {
    if (!hasOwn(older, key)) entries.push([key, value])
  }
  return Object.fromEntries(entries)
}

const ioError = (path: string, cause: unknown) =>
  new ConfigError({
    description: `cannot read user config: ${cause instanceof Error ? cause.message : String(cause)}`,
    path,
    cause
  })

const statOption = (fs: FileSystem.FileSystem, path: string) =>
  fs.stat(path).pipe(
    Effect.map(Option.some),
    Effect.catchIf(
      (e) => e._tag === "SystemError" && (e.reason === "NotFound" || e.reason === "BadResource"),
      () => Effect.succeed(Option.none<FileSystem.File.Info>())
    ),
    Effect.mapError((e) => ioError(path, e))
  )

/**
 * The nearest directory, from `cwd` upward, that contains `.neuro.toml` (anything by that name,
 * as in neuro-sdk); the filesystem root itself is never checked.
 */
/** @internal */
export const findRoot = (cwd?: string): Effect.Effect<Option.Option<string>, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    let here = path.resolve(cwd ?? ".")
    while (path.dirname(here) !== here) {
      const found = yield* statOption(fs, path.join(here, PROJECT_FILE_NAME))
      if (Option.isSome(found)) return Option.some(here)
      here = path.dirname(here)
    }
    return Option.none()
  })

/** @internal */
export const findProjectRoot = (cwd?: string): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(findRoot(cwd), (root) =>
    Option.isSome(root)
      ? Effect.succeed(root.value)
      : Effect.flatMap(Path.Path, (path) =>
        Effect.fail(new ConfigError({ description: `Project root is not found for ${path.resolve(cwd ?? ".")}` }))))

const decoder = new TextDecoder("utf-8", { fatal: true })

/** Read, parse and validate one user config file (which must be a regular file). */
/** @internal */
export const loadFile = (
  filename: string,
  options: { readonly local: boolean }
): Effect.Effect<UserConfigData, ConfigError, FileSystem.FileSystem | Plugins> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const plugins = yield* Plugins
    const bytes = yield* fs.readFile(filename).pipe(Effect.mapError((e) => ioError(filename, e)))
    const text = yield* Effect.try({
      try: () => decoder.decode(bytes),
      catch: (cause) => new ConfigError({ description: "user config is not valid UTF-8 text", path: filename, cause })
    })
    const data = yield* parse(text, filename)
    const error = validate(plugins, data, { filename, local: options.local })
    if (error !== undefined) return yield* Effect.fail(error)
    return normalize(data) as UserConfigData
  })

const regularFile = (fs: FileSystem.FileSystem, filename: string) =>
  Effect.flatMap(statOption(fs, filename), (info) => {
    if (Option.isNone(info)) return Effect.succeed(false)
    return info.value.type === "File"
      ? Effect.succeed(true)
      : Effect.fail(new ConfigError({ description: "User config file should be a regular file", path: filename }))
  })

/** @internal */
export const load = (options: {
  readonly configDir: string
  readonly cwd?: string | undefined
}): Effect.Effect<UserConfigData, ConfigError, FileSystem.FileSystem | Path.Path | Plugins> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const globalFile = path.join(options.configDir, GLOBAL_FILE_NAME)
    const global: UserConfigData = (yield* regularFile(fs, globalFile))
      ? yield* loadFile(globalFile, { local: false })
      : {}
    const root = yield* findRoot(options.cwd)
    if (Option.isNone(root)) return global
    const localFile = path.join(root.value, PROJECT_FILE_NAME)
    yield* regularFile(fs, localFile)
    const local = yield* loadFile(localFile, { local: true })
    return merge(global, local)
  })

/** @internal */
export const service = (options: {
  readonly configDir: string
  readonly cwd?: string | undefined
}): Effect.Effect<{ readonly load: Effect.Effect<UserConfigData, ConfigError> }, never, FileSystem.FileSystem | Path.Path | Plugins> =>
  Effect.map(
    Effect.context<FileSystem.FileSystem | Path.Path | Plugins>(),
    (context) => ({ load: Effect.provide(load(options), context) })
  )

/** @internal */
export interface ChangeListener {
  /** A watched directory saw a change that may concern a user config file. */
  readonly changed: () => void
  /** Watching stopped (a directory vanished, the watcher failed): changes can no longer be seen. */
  readonly lost: () => void
}

/**
 * Watches directories for changes of `user.toml` / `.neuro.toml` until the scope closes; succeeds
 * with `false` when it cannot watch all of them (then nothing is cached).
 */
/** @internal */
export type WatchDirectories = (dirs: ReadonlyArray<string>, listener: ChangeListener) => Effect.Effect<boolean, never, Scope.Scope>

/** The directories whose entries decide what `load` reads: the config dir and every ancestor of `cwd` but the root. */
/** @internal */
export const watchedDirectories = (options: { readonly configDir: string; readonly cwd?: string | undefined }) =>
  Effect.map(Path.Path, (path) => {
    const dirs = [path.resolve(options.configDir)]
    let here = path.resolve(options.cwd ?? ".")
    while (path.dirname(here) !== here) {
      if (!dirs.includes(here)) dirs.push(here)
      here = path.dirname(here)
    }
    return dirs
  })

/**
 * `load` remembered until a watched directory reports a change: a call while nothing changed
 * touches no file. A generation counter makes a change that lands while a load is running
 * discard that load's result; a lost watcher turns the cache off for good (every call reads).
 * Successes and user-config errors are remembered; defects and interruptions are not.
 */
/** @internal */
export const cachedLoader = <R>(
  loadOnce: Effect.Effect<UserConfigData, ConfigError, R>,
  dirs: ReadonlyArray<string>,
  watch: WatchDirectories
): Effect.Effect<Effect.Effect<UserConfigData, ConfigError, R>, never, Scope.Scope> =>
  Effect.gen(function*() {
    let generation = 0
    let enabled = true
    let cached: { readonly generation: number; readonly exit: Exit.Exit<UserConfigData, ConfigError> } | undefined
    const watching = yield* watch(dirs, {
      changed: () => {
        generation++
        cached = undefined
      },
      lost: () => {
        enabled = false
        cached = undefined
      }
    })
    if (!watching) return loadOnce
    return Effect.suspend(() => {
      if (cached !== undefined && cached.generation === generation) return cached.exit
      const started = generation
      return Effect.onExit(loadOnce, (exit) =>
        Effect.sync(() => {
          const keep = Exit.isSuccess(exit) || Option.isSome(Cause.failureOption(exit.cause)) && !Cause.isDie(exit.cause)
          if (enabled && keep && started === generation) cached = { generation: started, exit }
        }))
    })
  })
