/**
 * Plugin discovery on Node, the counterpart of neuro-sdk's `neuro_api` entry points.
 *
 * A plugin is an npm package whose `package.json` lists the keyword `neuro-sdk-plugin` among its
 * `keywords` and whose entry module exports `setup(manager)` (see `Plugins.Plugin`; a CommonJS
 * `module.exports.setup` works too). Installed plugins are found in the `node_modules` folders
 * from `searchFrom` upward (by default from where `@neuro-sdk/node` itself is installed, i.e. the
 * packages installed beside it, like Python's site-packages; the working directory is deliberately
 * not searched, so entering a directory never runs its code). Further plugin modules can be named
 * explicitly with `packages`.
 *
 * @since 1.0.0
 */
import * as NodePath from "@effect/platform-node/NodePath"
import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { ConfigError } from "@neuro-sdk/core/Errors"
import * as Plugins from "@neuro-sdk/core/Plugins"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"

/**
 * The `package.json` keyword that marks a plugin package.
 *
 * @since 1.0.0
 * @category constants
 */
export const KEYWORD = "neuro-sdk-plugin"

/**
 * @since 1.0.0
 * @category models
 */
export interface DiscoverOptions {
  /**
   * Directory whose `node_modules`, and those of its ancestors, are searched for installed
   * plugins (nearest wins for a name). Default: the directory of this module, so the packages
   * installed beside `@neuro-sdk/node` are found.
   */
  readonly searchFrom?: string | undefined
  /** Search installed packages for the keyword; default `true`. */
  readonly scan?: boolean | undefined
  /**
   * Plugin modules to load in addition, in order: package names (looked up in the same
   * `node_modules` folders; the keyword is not required) or paths of modules (starting with `.`
   * or `/`, relative to the current directory).
   */
  readonly packages?: ReadonlyArray<string> | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface LayerOptions extends DiscoverOptions {
  /** Register `Plugins.neuroCli` (the neuro CLI's `[job]`/`[storage]` keys) first; default `true`. */
  readonly builtin?: boolean | undefined
}

type Json = { readonly [key: string]: unknown }

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const pickExport = (target: unknown): string | undefined => {
  if (typeof target === "string") return target
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = pickExport(item)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!isObject(target)) return undefined
  if (Object.prototype.hasOwnProperty.call(target, ".")) return pickExport(target["."])
  for (const condition of ["import", "node", "default"]) {
    if (Object.prototype.hasOwnProperty.call(target, condition)) {
      const found = pickExport(target[condition])
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** The module a bare import of the package would load: `exports` ("." / import / node / default), else `main`, else `index.js`. */
const entryOf = (pkg: Json): string =>
  pickExport(pkg["exports"]) ?? (typeof pkg["main"] === "string" && pkg["main"] !== "" ? pkg["main"] : "index.js")

interface Candidate {
  readonly name: string
  readonly dir: string
  readonly pkg: Json
}

const defaultSearchFrom = (): string => fileURLToPath(new URL(".", import.meta.url))

/**
 * Whether a `package.json` text can list the keyword: it has it literally, or has `\u` escapes that
 * could spell it. Every other file is skipped without being parsed (most of `node_modules`).
 */
const mayListKeyword = (text: string): boolean => text.includes(KEYWORD) || text.includes("\\u")

const readPackageJson = (fs: FileSystem.FileSystem, path: Path.Path, dir: string, worthParsing?: (text: string) => boolean) =>
  fs.readFileString(path.join(dir, "package.json")).pipe(
    Effect.flatMap((text) =>
      worthParsing === undefined || worthParsing(text) ? Effect.try(() => JSON.parse(text) as unknown) : Effect.succeed(undefined)
    ),
    Effect.map((json) => isObject(json) ? Option.some(json) : Option.none<Json>()),
    Effect.orElseSucceed(() => Option.none<Json>())
  )

const nodeModulesDirs = (path: Path.Path, from: string): Array<string> => {
  const dirs: Array<string> = []
  let here = path.resolve(from)
  for (;;) {
    if (path.basename(here) !== "node_modules") dirs.push(path.join(here, "node_modules"))
    const parent = path.dirname(here)
    if (parent === here) return dirs
    here = parent
  }
}

const listDir = (fs: FileSystem.FileSystem, dir: string) =>
  fs.readDirectory(dir).pipe(Effect.orElseSucceed((): Array<string> => []))

/** Every package directory of one `node_modules` folder (scoped ones included). */
const packageDirs = (fs: FileSystem.FileSystem, path: Path.Path, nodeModules: string) =>
  Effect.gen(function*() {
    const out: Array<{ readonly name: string; readonly dir: string }> = []
    for (const entry of (yield* listDir(fs, nodeModules)).sort()) {
      if (entry.startsWith(".")) continue
      if (entry.startsWith("@")) {
        for (const sub of (yield* listDir(fs, path.join(nodeModules, entry))).sort()) {
          if (!sub.startsWith(".")) out.push({ name: `${entry}/${sub}`, dir: path.join(nodeModules, entry, sub) })
        }
      } else {
        out.push({ name: entry, dir: path.join(nodeModules, entry) })
      }
    }
    return out
  })

const scanInstalled = (fs: FileSystem.FileSystem, path: Path.Path, from: string) =>
  Effect.gen(function*() {
    const found = new Map<string, Candidate>()
    for (const nodeModules of nodeModulesDirs(path, from)) {
      const dirs = (yield* packageDirs(fs, path, nodeModules)).filter((d) => !found.has(d.name))
      const pkgs = yield* Effect.forEach(dirs, (d) => readPackageJson(fs, path, d.dir, mayListKeyword), { concurrency: 16 })
      dirs.forEach((d, i) => {
        const pkg = pkgs[i]
        if (pkg === undefined || Option.isNone(pkg)) return
        const keywords = pkg.value["keywords"]
        if (Array.isArray(keywords) && keywords.includes(KEYWORD)) found.set(d.name, { name: d.name, dir: d.dir, pkg: pkg.value })
      })
    }
    return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  })

const findInstalled = (fs: FileSystem.FileSystem, path: Path.Path, from: string, name: string) =>
  Effect.gen(function*() {
    for (const nodeModules of nodeModulesDirs(path, from)) {
      const dir = path.join(nodeModules, ...name.split("/"))
      const pkg = yield* readPackageJson(fs, path, dir)
      if (Option.isSome(pkg)) return Option.some<Candidate>({ name, dir, pkg: pkg.value })
    }
    return Option.none<Candidate>()
  })

const importPlugin = (name: string, file: string): Effect.Effect<Plugins.Plugin, ConfigError> =>
  Effect.tryPromise({
    try: () => import(pathToFileURL(file).href) as Promise<unknown>,
    catch: (cause) => new ConfigError({ description: `Plugin ${name} could not be loaded: ${describe(cause)}`, path: file, cause })
  }).pipe(
    Effect.flatMap((mod) => {
      const direct = isObject(mod) ? mod["setup"] : undefined
      const fallback = isObject(mod) && isObject(mod["default"]) ? mod["default"]["setup"] : undefined
      const setup = typeof direct === "function" ? direct : fallback
      return typeof setup === "function"
        ? Effect.succeed<Plugins.Plugin>({ name, setup: (manager) => setup(manager) })
        : Effect.fail(new ConfigError({ description: `Plugin ${name} does not export a setup function`, path: file }))
    })
  )

const isPathSpec = (spec: string) => spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("file:")

/**
 * Find the plugins: installed packages with the `neuro-sdk-plugin` keyword (sorted by name),
 * then the explicitly named `packages`; each module is imported and must export `setup`.
 * A plugin that cannot be found, imported, or has no `setup` fails with a `ConfigError`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const discover = (
  options: DiscoverOptions = {}
): Effect.Effect<ReadonlyArray<Plugins.Plugin>, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const from = options.searchFrom ?? defaultSearchFrom()
    const candidates = options.scan === false ? [] : yield* scanInstalled(fs, path, from)
    const plugins: Array<Plugins.Plugin> = []
    const seen = new Set<string>()
    for (const c of candidates) {
      seen.add(c.name)
      plugins.push(yield* importPlugin(c.name, path.resolve(c.dir, entryOf(c.pkg))))
    }
    for (const spec of options.packages ?? []) {
      if (seen.has(spec)) continue
      seen.add(spec)
      if (isPathSpec(spec)) {
        const file = spec.startsWith("file:") ? fileURLToPath(spec) : path.resolve(spec)
        plugins.push(yield* importPlugin(spec, file))
        continue
      }
      const found = yield* findInstalled(fs, path, from, spec)
      if (Option.isNone(found)) {
        return yield* Effect.fail(new ConfigError({ description: `Plugin package ${spec} is not installed (searched from ${from})` }))
      }
      plugins.push(yield* importPlugin(spec, path.resolve(found.value.dir, entryOf(found.value.pkg))))
    }
    return plugins
  })

const readError = (method: string, path: string, cause: unknown) =>
  new SystemError({ reason: "Unknown", module: "FileSystem", method, pathOrDescriptor: path, cause })

/**
 * The two reads of a scan, done synchronously: the few hundred small files of `node_modules` are
 * read at once, instead of four thread-pool round trips each that a program's start waits for.
 * Decoded as `NodeFileSystem` decodes (`TextDecoder`, so a byte-order mark is dropped).
 */
const scanFileSystem: FileSystem.FileSystem = FileSystem.makeNoop({
  readDirectory: (dir) => Effect.try({ try: () => fs.readdirSync(dir), catch: (cause) => readError("readDirectory", dir, cause) }),
  readFileString: (file) =>
    Effect.try({
      try: () => new TextDecoder().decode(fs.readFileSync(file)),
      catch: (cause) => readError("readFileString", file, cause)
    })
})

/**
 * The `Plugins` service from `Plugins.neuroCli` (unless `builtin: false`) and the discovered
 * plugins, set up in that order.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: LayerOptions = {}): Layer.Layer<Plugins.Plugins, ConfigError> =>
  Layer.effect(
    Plugins.Plugins,
    Effect.flatMap(discover(options), (found) =>
      Plugins.make(options.builtin === false ? found : [Plugins.neuroCli, ...found]))
  ).pipe(Layer.provide(Layer.merge(Layer.succeed(FileSystem.FileSystem, scanFileSystem), NodePath.layer)))
