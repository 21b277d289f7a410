/**
 * Directory transfers: the local or remote tree walked by a fixed number of workers (`walk.ts`):
 * a worker that takes a folder prepares it (remote `MKDIRS` or listing, local directory), enters
 * and lists it; the files of several open folders are taken in turn.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Errors from "../../Errors.js"
import * as FileFilter from "../../FileFilter.js"
import type { FilterFunc } from "../../Storage.js"
import { StorageProgressEnterDir, StorageProgressFail, StorageProgressLeaveDir } from "../storageModels.js"
import type { Engine } from "./engine.js"
import type { LocalDir, Remote, RemoteEntry, TreeOptions, UploadTreeOptions } from "./remote.js"
import type { FileTimes, LocalError } from "./rules.js"
import { localTimes } from "./rules.js"
import type { Folder } from "./walk.js"
import { walk } from "./walk.js"

const idOf = (info: FileSystem.File.Info) => `${info.dev}:${Option.getOrElse(info.ino, () => -1)}`

/** Entries of a local folder stat'ed at once when it is entered. */
const STATS_AT_ONCE = 16

/**
 * Folders whose files are taken in turn: 8 (concurrent creations spread over folders), fewer for
 * fewer workers (one worker takes a folder's files in order, then its subfolders).
 */
const spreadOf = (workers: number) => Math.max(1, Math.min(8, Math.ceil(workers / 8)))

/** A local folder being uploaded: what its entries share. */
interface UpDir<P> {
  readonly path: string
  readonly dst: P
  readonly rel: string
  readonly filter: FileFilter.FileFilter
  /** The remote files by name (update/continue), `undefined` when nothing below can be compared. */
  readonly existing: ReadonlyMap<string, FileTimes> | undefined
  readonly ancestorIds: ReadonlySet<string>
}

interface UpEntry<P> {
  readonly dir: UpDir<P>
  readonly name: string
  /** Its information, symlinks followed (none: a broken link). */
  readonly info: FileSystem.File.Info | undefined
}

/** @internal */
export const makeTrees = (engine: Engine) => {
  const { fileUri, path, readNames, statOption } = engine

  /** An ignore file's rules on top of `previous` (neuro-sdk `FileFilter(previous.match)`). */
  const loadIgnoreFile = (file: string, prefix: string, prefix2: string, previous: FileFilter.FileFilter) =>
    FileFilter.readFromFile(FileFilter.on(previous), engine.fs, file, { prefix, prefix2 })

  /**
   * The filter at the root of an upload: the user's filter as the fallback, then the ignore files
   * of every ancestor directory, outermost first (ignore-file rules decide first, as in neuro-sdk).
   */
  const rootFilter = (root: string, ignoreNames: ReadonlyArray<string>, filter: FilterFunc | undefined) =>
    Effect.gen(function*() {
      let rules = FileFilter.make(filter)
      if (ignoreNames.length === 0) return rules
      const chain: Array<string> = []
      for (let d = path.dirname(root); ; d = path.dirname(d)) {
        chain.unshift(d)
        if (path.dirname(d) === d) break
      }
      for (const dir of chain) {
        const rel = path.relative(dir, root) + "/"
        for (const name of ignoreNames) {
          const file = path.join(dir, name)
          const info = yield* statOption(file)
          if (Option.isSome(info) && info.value.type === "File") rules = yield* loadIgnoreFile(file, "", rel, rules)
        }
      }
      return rules
    })

  /**
   * Upload a local tree: each folder prepared on the remote side, entered and listed, then its
   * entries (stat'ed, filtered) uploaded by `concurrency` workers. Symlinks are followed; a loop,
   * a broken link or anything but a file or a directory is a `Fail` event.
   */
  const uploadTree = <P, E>(remote: Remote<P, E>, root: LocalDir, dstRoot: P, options: UploadTreeOptions) =>
    Effect.gen(function*() {
      const { emit, update } = options
      const cont = options.continue
      const ignoreNames = [...(options.ignoreFileNames ?? [])].sort()

      /** Prepare, enter and list a folder: its entries, with the filter of its ignore files. */
      const enter = (
        dirPath: string,
        dst: P,
        rel: string,
        match: FileFilter.FileFilter,
        compare: boolean,
        ancestorIds: ReadonlySet<string>
      ): Effect.Effect<Folder<UpEntry<P>>, E | LocalError> =>
        Effect.gen(function*() {
          const existing = yield* remote.prepareFolder(dst, compare)
          const srcUri = fileUri(dirPath)
          const dstUri = remote.url(dst)
          yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
          const names = yield* readNames(dirPath)
          let filter = match
          for (const name of names) {
            if (!ignoreNames.includes(name)) continue
            const file = path.join(dirPath, name)
            const info = yield* statOption(file)
            if (Option.isSome(info) && info.value.type === "File") filter = yield* loadIgnoreFile(file, rel, "", filter)
          }
          const dir: UpDir<P> = { path: dirPath, dst, rel, filter, existing, ancestorIds }
          // stat'ed here, so that the walk knows the folders among the entries
          const entries = yield* Effect.forEach(
            names,
            (name) => Effect.map(statOption(path.join(dirPath, name)), (info): UpEntry<P> => ({ dir, name, info: Option.getOrUndefined(info) })),
            { concurrency: STATS_AT_ONCE }
          )
          return { entries, leave: emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri })) }
        })

      const fail = (childPath: string, childDst: P, why: string) =>
        emit(() => new StorageProgressFail({ src: fileUri(childPath), dst: remote.url(childDst), message: `Cannot upload ${childPath}, ${why}` }))

      const run = ({ dir, info, name }: UpEntry<P>): Effect.Effect<Folder<UpEntry<P>> | undefined, E | LocalError> =>
        Effect.gen(function*() {
          const childPath = path.join(dir.path, name)
          const isDir = info?.type === "Directory"
          if (!(yield* FileFilter.match(dir.filter, dir.rel + name + (isDir ? "/" : "")))) return undefined
          const childDst = remote.child(dir.dst, name)
          if (info !== undefined && info.type === "File") {
            const r = dir.existing?.get(name)
            const decision = (update || cont) && r !== undefined ? yield* remote.checkUpload(localTimes(info), r, update, cont) : 0
            if (decision !== "skip") yield* engine.uploadFile(remote, childPath, childDst, Number(info.size), decision, emit)
            return undefined
          }
          if (info === undefined || !isDir) {
            yield* fail(childPath, childDst, "not regular file/directory")
            return undefined
          }
          const id = idOf(info)
          if (dir.ancestorIds.has(id)) {
            yield* fail(childPath, childDst, "a symlink loop")
            return undefined
          }
          return yield* enter(childPath, childDst, dir.rel + name + "/", dir.filter, dir.existing !== undefined, new Set([...dir.ancestorIds, id]))
        })

      const rules = yield* rootFilter(root.path, ignoreNames, options.filter)
      const top = yield* enter(root.path, dstRoot, "", rules, update || cont, new Set([idOf(root.info)]))
      yield* walk(top, run, options.concurrency, { isFolder: (e) => e.info?.type === "Directory", spread: spreadOf(options.concurrency) })
    })

  /** Download a remote tree into `dstRoot` (created as needed), its entries by `concurrency` workers. */
  const downloadTree = <P, E extends { readonly _tag: string }>(remote: Remote<P, E>, srcRoot: P, dstRoot: string, options: TreeOptions) =>
    Effect.gen(function*() {
      const { emit, filter, update } = options
      const flags = { update, continue: options.continue }
      type DownEntry = { readonly src: P; readonly dir: string; readonly dstUri: URL; readonly rel: string; readonly entry: RemoteEntry }

      const enter = (src: P, dir: string, rel: string): Effect.Effect<Folder<DownEntry>, E | LocalError> =>
        Effect.gen(function*() {
          // a file in the way is EEXIST, as neuro-sdk's `mkdir(parents=True, exist_ok=True)`
          yield* engine.makeDirectory(dir)
          const srcUri = remote.url(src)
          const dstUri = fileUri(dir)
          yield* emit(() => new StorageProgressEnterDir({ src: srcUri, dst: dstUri }))
          const entries = yield* remote.listFolder(src)
          return {
            entries: entries.map((entry): DownEntry => ({ src, dir, dstUri, rel, entry })),
            leave: emit(() => new StorageProgressLeaveDir({ src: srcUri, dst: dstUri }))
          }
        })

      const run = ({ dir, dstUri, entry, rel, src }: DownEntry): Effect.Effect<
        Folder<DownEntry> | undefined,
        E | LocalError | Errors.MalformedResponse
      > =>
        Effect.gen(function*() {
          if (entry._tag === "Fail" && entry.name === undefined) {
            yield* emit(() => new StorageProgressFail({ src: entry.src, dst: dstUri, message: entry.message }))
            return undefined
          }
          const name = entry.name!
          const childPath = path.join(dir, name)
          const childRel = rel + name + (entry._tag === "Dir" ? "/" : "")
          if (filter !== undefined && !(yield* filter(childRel))) return undefined
          if (entry._tag === "Fail") {
            yield* emit(() => new StorageProgressFail({ src: entry.src, dst: fileUri(childPath), message: entry.message }))
            return undefined
          }
          if (entry._tag === "Dir") return yield* enter(remote.child(src, name), childPath, childRel)
          yield* engine.download(remote, remote.child(src, name), childPath, entry.times, flags, emit)
          return undefined
        })

      yield* walk(yield* enter(srcRoot, dstRoot, ""), run, options.concurrency, { isFolder: (e) => e.entry._tag === "Dir", spread: spreadOf(options.concurrency) })
    })

  return { uploadTree, downloadTree }
}
