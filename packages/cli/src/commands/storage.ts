/**
 * Storage commands: `ls`, `cp`, `mkdir`, `rm`, `mv`, `glob`, `tree`, `df` (also under `neuro storage`).
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import { OSError } from "@neuro-sdk/core/Errors"
import * as FileFilter from "@neuro-sdk/core/FileFilter"
import { Parser } from "@neuro-sdk/core/Parser"
import type { FileStatus } from "@neuro-sdk/core/Storage"
import { Storage } from "@neuro-sdk/core/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { filterRules } from "../argv.js"
import { CliExit, EX, usageError } from "../output/errors.js"
import { formatLocalTime, formatSize } from "../output/format.js"
import * as Progress from "../output/progress.js"
import * as Table from "../output/table.js"
import type { Term } from "../output/term.js"
import { paint, print, printErr, TermTag, verbose } from "../output/term.js"
import { flagOnByDefault, withClient } from "../root.js"
import { isStreamPath, noOptions, readStream, removeOptions, writeTo } from "./common.js"

const GLOB_MAGIC = /[*?[]/


const paintName = (term: Term, name: string, type: FileStatus["type"]) =>
  type === "DIRECTORY" ? paint(term, "blue", name) : type === "SYMLINK" ? paint(term, "cyan", name) : name

const storageUri = (text: string) => Effect.flatMap(Parser, (p) => p.strToUri(text, { allowedSchemes: ["storage"] }))
const anyUri = (text: string) => Effect.flatMap(Parser, (p) => p.strToUri(text, { allowedSchemes: ["file", "storage"] }))

/** Runs `body` for each item, printing `ERROR: <what>: <error>` for failures; exit 72 if any failed. */
const eachOrFail = <A, E, R>(items: Iterable<A>, what: (a: A) => string, body: (a: A) => Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    let failed = false
    for (const item of items) {
      const result = yield* Effect.either(body(item))
      if (Either.isLeft(result)) {
        const e = result.left as { message?: string }
        yield* printErr(`ERROR: ${what(item)}: ${e.message ?? String(e)}`)
        failed = true
      }
    }
    if (failed) return yield* Effect.fail(new CliExit({ code: EX.OSFILE }))
  })

/** Expand glob patterns of storage URIs (and of `file:` ones written with the scheme). */
const expand = (texts: ReadonlyArray<string>, options: { readonly glob: boolean; readonly allowFile: boolean }) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const out: Array<URL> = []
    for (const text of texts) {
      const uri = yield* (options.allowFile ? anyUri(text) : storageUri(text))
      yield* verbose(`Expand ${uri.href}`)
      if (options.glob && uri.protocol === "storage:" && GLOB_MAGIC.test(decodeURIComponent(uri.pathname))) {
        out.push(...Chunk.toReadonlyArray(yield* Stream.runCollect(storage.glob(uri))))
      } else {
        out.push(uri)
      }
    }
    return out
  })

const isDir = (uri: URL) =>
  Effect.gen(function*() {
    if (uri.protocol === "storage:") {
      const storage = yield* Storage
      return yield* storage.stat(uri).pipe(Effect.map((s) => s.isDir()), Effect.orElseSucceed(() => false))
    }
    if (uri.protocol === "file:") {
      const parser = yield* Parser
      const p = yield* parser.uriToPath(uri)
      return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false
    }
    return false
  })

const sortKey = (sort: "name" | "size" | "time") => (a: FileStatus, b: FileStatus) =>
  sort === "size" ? a.size - b.size : sort === "time" ? a.modificationTime - b.modificationTime : a.name < b.name ? -1 : a.name > b.name ? 1 : 0

const sortOption = Options.choice("sort", ["name", "size", "time"]).pipe(Options.withDefault("name" as const), Options.withDescription("Sort by the given field."))
const humanOption = Options.boolean("human-readable").pipe(Options.withDescription("With -l print human readable sizes (e.g. 2K, 540M); `-h` works too."))
const allOption = Options.boolean("all").pipe(Options.withAlias("a"), Options.withDescription("Do not ignore entries starting with ."))

// ---------------------------------------------------------------------------------------------
// ls
// ---------------------------------------------------------------------------------------------

const PERMISSION = { manage: "m", write: "w", read: "r" } as const
const TYPE = { FILE: "-", DIRECTORY: "d", SYMLINK: "l", UNKNOWN: "?" } as const

const lsLines = (term: Term, files: ReadonlyArray<FileStatus>, long: boolean, human: boolean) => {
  if (long) {
    const rows = files.map((f) => [
      `${TYPE[f.type]}${PERMISSION[f.permission]}`,
      human ? formatSize(f.size).replace(/B$/, "").replace(/ Bytes?$/, "") : String(f.size),
      formatLocalTime(new Date(f.modificationTime * 1000)),
      paintName(term, f.name, f.type) + (f.target !== undefined ? ` -> ${f.target}` : "")
    ])
    return Table.render([{ title: "" }, { title: "", align: "right" }, { title: "" }, { title: "" }], rows, { header: false })
  }
  if (term.tty && term.verbosity >= 0 && files.length > 0) {
    // columns, filled top to bottom
    const width = Math.max(...files.map((f) => f.name.length)) + 2
    const perLine = Math.max(1, Math.floor((term.width ?? 80) / width))
    const height = Math.ceil(files.length / perLine)
    const lines: Array<string> = []
    for (let r = 0; r < height; r++) {
      let line = ""
      for (let c = 0; c < perLine; c++) {
        const f = files[c * height + r]
        if (f !== undefined) line += paintName(term, f.name, f.type) + " ".repeat(width - f.name.length)
      }
      lines.push(line.trimEnd())
    }
    return lines
  }
  return files.map((f) => paintName(term, f.name, f.type))
}

const ls = Command.make(
  "ls",
  {
    paths: Args.text({ name: "PATHS" }).pipe(Args.repeated),
    long: Options.boolean("long").pipe(Options.withAlias("l"), Options.withDescription("Use a long listing format.")),
    human: humanOption,
    all: allOption,
    directory: Options.boolean("directory").pipe(Options.withAlias("d"), Options.withDescription("List directories themselves, not their contents.")),
    sort: sortOption
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      const term = yield* TermTag
      yield* noOptions(o.paths)
      const paths = o.paths.length === 0 ? ["storage:"] : o.paths
      yield* eachOrFail(paths, (p) => `cannot access ${p}`, (text) =>
        Effect.gen(function*() {
          const uri = yield* storageUri(text)
          let files: Array<FileStatus>
          if (o.directory) {
            files = [yield* storage.stat(uri)]
          } else {
            yield* verbose(`List of ${uri.href}:`)
            files = [...Chunk.toReadonlyArray(yield* Stream.runCollect(storage.list(uri)))].sort(sortKey(o.sort))
          }
          if (!o.all) files = files.filter((f) => !f.name.startsWith("."))
          for (const line of lsLines(term, files, o.long, o.human)) yield* print(line)
        }))
    }))
).pipe(Command.withDescription("List directory contents (default: storage:)."))

// ---------------------------------------------------------------------------------------------
// cp
// ---------------------------------------------------------------------------------------------

/** Bytes and files under a local folder (for the progress bar's total and ETA). */
const localTotals = (root: string): { bytes: number; files: number } => {
  let bytes = 0
  let files = 0
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile()) {
        files++
        bytes += fs.statSync(p).size
      }
    }
  }
  const stat = fs.statSync(root, { throwIfNoEntry: false })
  if (stat?.isDirectory()) walk(root)
  else if (stat?.isFile()) return { bytes: stat.size, files: 1 }
  return { bytes, files }
}

const buildFilter = (rules: ReadonlyArray<{ readonly exclude: boolean; readonly pattern: string }>) =>
  Effect.gen(function*() {
    const config = yield* Config
    const user = yield* config.getUserConfig
    const section = (user.storage ?? {}) as Record<string, unknown>
    const fromConfig = Array.isArray(section["cp-exclude"]) ? (section["cp-exclude"] as Array<string>) : []
    let filter = FileFilter.make()
    const all = [
      ...fromConfig.map((p) => (p.startsWith("!") ? { exclude: false, pattern: p.slice(1) } : { exclude: true, pattern: p })),
      ...rules
    ]
    for (const rule of all) filter = yield* FileFilter.append(filter, rule.exclude, rule.pattern)
    return all.length === 0 ? undefined : FileFilter.toFilterFunc(filter)
  })

const ignoreFileNames = (given: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isSome(given)) return given.value.split(/\s+/).filter((s) => s !== "")
    const user = yield* Effect.flatMap(Config, (c) => c.getUserConfig)
    const names = ((user.storage ?? {}) as Record<string, unknown>)["cp-exclude-from-files"]
    return Array.isArray(names) ? (names as Array<string>) : [".neuroignore"]
  })

const splitTarget = (paths: ReadonlyArray<string>, target: Option.Option<string>, noTarget: boolean) =>
  Effect.gen(function*() {
    if (Option.isSome(target)) {
      if (noTarget) return yield* Effect.fail(usageError("Cannot combine --target-directory (-t) and --no-target-directory (-T)"))
      if (paths.length === 0) return yield* Effect.fail(usageError("Missing argument SOURCES..."))
      return { sources: paths, destination: undefined as string | undefined, targetDir: target.value as string | undefined }
    }
    if (paths.length < 2) return yield* Effect.fail(usageError(paths.length === 0 ? "Missing argument SOURCES..." : "Missing argument DESTINATION"))
    return { sources: paths.slice(0, -1), destination: paths[paths.length - 1], targetDir: undefined as string | undefined }
  })

const lastSegment = (uri: URL) => {
  const parts = decodeURIComponent(uri.pathname).split("/").filter((p) => p !== "")
  return parts[parts.length - 1] ?? ""
}

const childUri = (dir: URL, name: string) => {
  const out = new URL(dir.href)
  out.pathname = (out.pathname.endsWith("/") ? out.pathname : out.pathname + "/") + encodeURIComponent(name)
  return out
}

const cp = Command.make(
  "cp",
  {
    paths: Args.text({ name: "SOURCES... DESTINATION" }).pipe(Args.repeated),
    recursive: Options.boolean("recursive").pipe(Options.withAlias("r"), Options.withDescription("Recursive copy, off by default.")),
    glob: flagOnByDefault("glob", "Expand glob patterns in SOURCES with explicit scheme (--no-glob: do not)."),
    targetDir: Options.text("target-directory").pipe(Options.withAlias("t"), Options.optional, Options.withDescription("Copy all SOURCES into DIRECTORY.")),
    noTargetDir: Options.boolean("no-target-directory").pipe(Options.withAlias("T"), Options.withDescription("Treat DESTINATION as a normal file.")),
    update: Options.boolean("update").pipe(Options.withAlias("u"), Options.withDescription("Copy only when the SOURCE file is newer than the destination file or when the destination file is missing.")),
    continue: Options.boolean("continue").pipe(Options.withAlias("c"), Options.withDescription("Continue copying partially-copied files.")),
    exclude: Options.text("exclude").pipe(Options.repeated, Options.withDescription("Exclude files and directories that match the pattern.")),
    include: Options.text("include").pipe(Options.repeated, Options.withDescription("Don't exclude files and directories that match the pattern (later rules win).")),
    excludeFromFiles: Options.text("exclude-from-files").pipe(Options.optional, Options.withDescription("File names (space separated) holding exclusion patterns; uploads only (default .neuroignore).")),
    progress: flagOnByDefault("progress", "Show progress, on by default in TTY mode (-p/-P).")
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      const parser = yield* Parser
      const term = yield* TermTag
      yield* noOptions(o.paths)
      const split = yield* splitTarget(o.paths, o.targetDir, o.noTargetDir)
      let targetDir: URL | undefined = split.targetDir !== undefined ? yield* anyUri(split.targetDir) : undefined
      let destination: URL | undefined = split.destination !== undefined ? yield* anyUri(split.destination) : undefined
      if (destination !== undefined && !o.noTargetDir && (yield* isDir(destination))) {
        targetDir = destination
        destination = undefined
      }
      const filter = yield* buildFilter(filterRules())
      const ignoreNames = yield* ignoreFileNames(o.excludeFromFiles)
      const sources = yield* expand(split.sources, { glob: o.glob, allowFile: true })
      if (o.noTargetDir && sources.length > 1) return yield* Effect.fail(usageError(`Extra operand after '${sources[1]!.href}'`))
      const label = (u: URL) => (u.protocol === "file:" ? decodeURIComponent(u.pathname) : u.href)
      yield* eachOrFail(sources, (src) => `cannot copy ${src.href} to ${(destination ?? targetDir)?.href}`, (src) =>
        Effect.gen(function*() {
          const dst = targetDir !== undefined ? childUri(targetDir, lastSegment(src)) : destination!
          const recursive = o.recursive && (yield* isDir(src))
          const dstIsStream = dst.protocol === "file:" && isStreamPath(yield* parser.uriToPath(dst))
          const progress = Progress.make(term, { bar: term.tty && o.progress && !dstIsStream, label, single: !recursive })
          const streamed = (src.protocol === "file:" && isStreamPath(yield* parser.uriToPath(src))) ||
            (dst.protocol === "file:" && isStreamPath(yield* parser.uriToPath(dst)))
          const bar = term.tty && o.progress && !streamed
          // the bar's total: a walk of the local tree on upload, of the storage folder on a folder download
          const totals = !bar
            ? undefined
            : src.protocol === "file:"
            ? localTotals(yield* parser.uriToPath(src))
            : recursive
            ? yield* remoteTotals(src)
            : undefined
          progress.begin(label(src), label(dst), totals)
          const options = { update: o.update, continue: o.continue, progress: progress.callback }
          const srcPath = src.protocol === "file:" ? yield* parser.uriToPath(src) : undefined
          const dstPath = dst.protocol === "file:" ? yield* parser.uriToPath(dst) : undefined
          const transfer: Effect.Effect<void, unknown> = srcPath !== undefined && isStreamPath(srcPath) && dst.protocol === "storage:"
            ? storage.create(dst, readStream(srcPath, (cause) => new OSError({ errno: "EIO", description: `cannot read ${srcPath}: ${String(cause)}` })))
            : dstPath !== undefined && isStreamPath(dstPath) && src.protocol === "storage:"
            ? Effect.acquireUseRelease(
              Effect.sync(() => writeTo(dstPath)),
              (out) => Stream.runForEach(storage.open(src), (chunk) => Effect.sync(() => out.write(chunk))),
              (out) => Effect.sync(() => out.close())
            )
            : src.protocol === "file:" && dst.protocol === "storage:"
            ? recursive
              ? storage.uploadDir(src, dst, { ...options, filter, ignoreFileNames: ignoreNames })
              : storage.uploadFile(src, dst, options)
            : src.protocol === "storage:" && dst.protocol === "file:"
            ? recursive
              ? storage.downloadDir(src, dst, { ...options, filter })
              : storage.downloadFile(src, dst, options)
            : Effect.fail(usageError(`Copy operation of the file with scheme '${src.protocol.slice(0, -1)}' to the file with scheme '${dst.protocol.slice(0, -1)}' is not supported.`))
          yield* Effect.ensuring(transfer, Effect.sync(() => progress.end()))
        }))
    }))
).pipe(Command.withDescription("Copy files and directories between the local machine and the storage (either SOURCES or DESTINATION is a storage: URI; paths without a scheme are local)."))

// ---------------------------------------------------------------------------------------------
// mkdir, rm, mv, glob
// ---------------------------------------------------------------------------------------------

const mkdir = Command.make(
  "mkdir",
  {
    paths: Args.text({ name: "PATHS" }).pipe(Args.atLeast(1)),
    parents: Options.boolean("parents").pipe(Options.withAlias("p"), Options.withDescription("No error if existing, make parent directories as needed."))
  },
  (o) =>
    withClient(Effect.zipRight(noOptions(o.paths), eachOrFail(o.paths, (p) => `cannot create directory ${p}`, (text) =>
      Effect.gen(function*() {
        const uri = yield* storageUri(text)
        yield* Effect.flatMap(Storage, (s) => s.mkdir(uri, { parents: o.parents, existOk: o.parents }))
        yield* verbose(`created directory ${uri.href}`)
      }))))
).pipe(Command.withDescription("Make directories."))

const rm = Command.make(
  "rm",
  removeOptions,
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      const term = yield* TermTag
      yield* noOptions(o.paths)
      const show = Option.getOrElse(o.progress, () => term.tty)
      const uris = yield* expand(o.paths, { glob: o.glob, allowFile: false })
      yield* eachOrFail(uris, (u) => `cannot remove ${u.href}`, (uri) =>
        Effect.gen(function*() {
          yield* storage.rm(uri, {
            recursive: o.recursive,
            progress: show
              ? (event) => event._tag === "StorageProgressDelete" ? print(`Removed: ${event.uri.href}`).pipe(Effect.provideService(TermTag, term)) : Effect.void
              : undefined
          })
          yield* verbose(`removed ${uri.href}`)
        }))
    }))
).pipe(Command.withDescription("Remove files or directories."))

const mv = Command.make(
  "mv",
  {
    paths: Args.text({ name: "SOURCES... DESTINATION" }).pipe(Args.repeated),
    glob: flagOnByDefault("glob", "Expand glob patterns in SOURCES (--no-glob: do not)."),
    targetDir: Options.text("target-directory").pipe(Options.withAlias("t"), Options.optional, Options.withDescription("Move all SOURCES into DIRECTORY.")),
    noTargetDir: Options.boolean("no-target-directory").pipe(Options.withAlias("T"), Options.withDescription("Treat DESTINATION as a normal file."))
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      yield* noOptions(o.paths)
      const split = yield* splitTarget(o.paths, o.targetDir, o.noTargetDir)
      let targetDir = split.targetDir !== undefined ? yield* storageUri(split.targetDir) : undefined
      let destination = split.destination !== undefined ? yield* storageUri(split.destination) : undefined
      if (destination !== undefined && !o.noTargetDir && (yield* isDir(destination))) {
        targetDir = destination
        destination = undefined
      }
      const sources = yield* expand(split.sources, { glob: o.glob, allowFile: false })
      if (o.noTargetDir && sources.length > 1) return yield* Effect.fail(usageError(`Extra operand after '${sources[1]!.href}'`))
      yield* eachOrFail(sources, (src) => `cannot move ${src.href}`, (src) =>
        Effect.gen(function*() {
          const dst = targetDir !== undefined ? childUri(targetDir, lastSegment(src)) : destination!
          yield* storage.mv(src, dst)
          yield* verbose(`${src.href} -> ${dst.href}`)
        }))
    }))
).pipe(Command.withDescription("Move or rename files and directories on the storage."))

const glob = Command.make(
  "glob",
  { patterns: Args.text({ name: "PATTERNS" }).pipe(Args.repeated) },
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      yield* noOptions(o.patterns)
      for (const text of o.patterns) {
        const uri = yield* storageUri(text)
        yield* verbose(`Using pattern ${uri.href}:`)
        yield* Stream.runForEach(storage.glob(uri), (u) => print(u.href))
      }
    }))
).pipe(Command.withDescription("List resources that match PATTERNS."))

// ---------------------------------------------------------------------------------------------
// tree, df
// ---------------------------------------------------------------------------------------------

interface Tree {
  readonly name: string
  readonly size: number
  readonly folders: ReadonlyArray<Tree>
  readonly files: ReadonlyArray<FileStatus>
}

const fetchTree = (uri: URL, name: string, showAll: boolean): Effect.Effect<Tree, unknown, Storage> =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const entries = Chunk.toReadonlyArray(yield* Stream.runCollect(storage.list(uri)))
    const visible = entries.filter((e) => showAll || !e.name.startsWith("."))
    const folders = yield* Effect.forEach(
      visible.filter((e) => e.isDir()),
      (e) => fetchTree(childUri(uri, e.name), e.name, showAll),
      { concurrency: 8 }
    )
    const files = visible.filter((e) => !e.isDir())
    const size = files.reduce((a, f) => a + f.size, 0) + folders.reduce((a, f) => a + f.size, 0)
    return { name, size, folders, files }
  })

const countFiles = (t: Tree): number => t.files.length + t.folders.reduce((a, f) => a + countFiles(f), 0)

/** Bytes and files under a storage folder (`undefined` when it cannot be listed). */
const remoteTotals = (uri: URL) =>
  fetchTree(uri, "", true).pipe(
    Effect.map((t) => ({ bytes: t.size, files: countFiles(t) })),
    Effect.orElseSucceed(() => undefined)
  )

const tree = Command.make(
  "tree",
  {
    path: Args.text({ name: "PATH" }).pipe(Args.optional),
    all: allOption,
    human: humanOption,
    size: Options.boolean("size").pipe(Options.withAlias("s"), Options.withDescription("Print the size in bytes of each file.")),
    sort: sortOption
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const term = yield* TermTag
      yield* noOptions(Option.toArray(o.path))
      const uri = yield* storageUri(Option.getOrElse(o.path, () => "storage:"))
      const name = Option.getOrElse(o.path, () => "storage:")
      const root = yield* fetchTree(uri, name, o.all)
      const sizeOf = (n: number) => (o.human ? `[${formatSize(n).padStart(7)}]  ` : o.size ? `[${String(n).padStart(11)}]  ` : "")
      const cmp = sortKey(o.sort)
      let dirs = 0
      let files = 0
      const lines: Array<string> = []
      const walk = (t: Tree, prefix: string, head: string) => {
        lines.push(`${head}${sizeOf(t.size)}${paint(term, "blue", t.name)}`)
        const items: Array<{ tree?: Tree; file?: FileStatus; name: string; size: number; modificationTime: number }> = [
          ...t.folders.map((f) => ({ tree: f, name: f.name, size: f.size, modificationTime: 0 })),
          ...t.files.map((f) => ({ file: f, name: f.name, size: f.size, modificationTime: f.modificationTime }))
        ].sort((a, b) => cmp(a as unknown as FileStatus, b as unknown as FileStatus))
        items.forEach((item, i) => {
          const last = i === items.length - 1
          const branch = prefix + (last ? "└── " : "├── ")
          const next = prefix + (last ? "    " : "│   ")
          if (item.tree !== undefined) {
            dirs++
            walk(item.tree, next, branch)
          } else {
            files++
            lines.push(`${branch}${sizeOf(item.size)}${item.name}`)
          }
        })
      }
      walk(root, "", "")
      for (const line of lines) yield* print(line)
      yield* print(`\n${dirs} directories, ${files} files`)
    }))
).pipe(Command.withDescription("List storage in a tree-like format (default: storage:)."))

const df = Command.make(
  "df",
  { path: Args.text({ name: "PATH" }).pipe(Args.optional) },
  (o) =>
    withClient(Effect.gen(function*() {
      const storage = yield* Storage
      const term = yield* TermTag
      yield* noOptions(Option.toArray(o.path))
      const uri = Option.isSome(o.path) ? yield* storageUri(o.path.value) : undefined
      const usage = yield* storage.diskUsage(uri !== undefined ? { uri } : {})
      const b = (s: string) => paint(term, "bold", s)
      if (usage.uri !== undefined) yield* print(`Disk usage for path ${b(decodeURIComponent(usage.uri.pathname))} in cluster ${b(usage.clusterName)}:`)
      else if (usage.orgName !== null) yield* print(`Disk usage for organization ${b(usage.orgName)} in cluster ${b(usage.clusterName)}:`)
      else yield* print(`Disk usage for cluster ${b(usage.clusterName)}:`)
      yield* print(`Total: ${formatSize(usage.total)}`)
      yield* print(`Used:  ${formatSize(usage.used)}`)
      yield* print(`Free:  ${formatSize(usage.free)}`)
    }))
).pipe(Command.withDescription("Show current storage usage (of the storage PATH is a part of, when given)."))

/**
 * The storage commands that are also at the top level (`neuro ls`), as in the Python CLI.
 *
 * @since 1.0.0
 * @category commands
 */
export const storageTopLevelCommands = [cp, ls, rm, mkdir, mv] as const

/**
 * @since 1.0.0
 * @category commands
 */
export const storageCommand = Command.make("storage").pipe(
  Command.withDescription("Storage operations."),
  Command.withSubcommands([cp, ls, glob, rm, mkdir, mv, tree, df])
)
