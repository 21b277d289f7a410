/**
 * What the transfer engine needs of a remote file tree (`Remote`), and the options of tree
 * transfers.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { FilterFunc, ProgressCallback } from "../../Storage.js"
import type { Batch } from "../../TransferIO.js"
import type { Emit } from "./progress.js"
import { serialized } from "./progress.js"
import type { Decision, FileTimes } from "./rules.js"

/** One child of a remote folder, as a directory download sees it. */
/** @internal */
export type RemoteEntry =
  | { readonly _tag: "File"; readonly name: string; readonly times: FileTimes }
  | { readonly _tag: "Dir"; readonly name: string }
  /** Not transferable: reported as a `StorageProgressFail` (with a `name`, at that local path, filtered). */
  | { readonly _tag: "Fail"; readonly name: string | undefined; readonly src: URL; readonly message: string }

/** An open remote file read in batches (see `Remote.open`). */
/** @internal */
export interface RemoteReader<E> {
  /** The bytes since the last read: at least `min` of them unless the answer ended or paused. */
  readonly read: (min: number) => Effect.Effect<Batch, E>
  readonly close: Effect.Effect<void>
}

/**
 * What the engine needs of a remote file tree. `P` is a remote path (a storage URI, a bucket key)
 * and `E` the service's error type.
 */
/** @internal */
export interface Remote<P, E> {
  /** The URI of a remote path in progress events. */
  readonly url: (p: P) => URL
  readonly child: (p: P, name: string) => P
  /**
   * Send one local file (`size` bytes, from `offset`), calling `step` with the bytes sent so far
   * whenever the service reports progress.
   */
  readonly upload: (
    srcPath: string,
    dst: P,
    size: number,
    offset: number,
    step: (current: number) => Effect.Effect<void>
  ) => Effect.Effect<void, E>
  /** The bytes of a remote file from `offset`. */
  readonly read: (src: P, offset: number) => Stream.Stream<Uint8Array, E>
  /**
   * The bytes of a remote file from `offset`, read in large batches (a fast path used instead of
   * `read` when the service has one).
   */
  readonly open?: ((src: P, offset: number) => Effect.Effect<RemoteReader<E>, E>) | undefined
  /** Transient read failures retried without progress before a download gives up. */
  readonly readRetries: number
  readonly checkUpload: (local: FileTimes, remote: FileTimes, update: boolean, cont: boolean) => Effect.Effect<Decision>
  readonly checkDownload: (remote: FileTimes, local: FileTimes, update: boolean, cont: boolean) => Effect.Effect<Decision>
  /**
   * Make `p` a folder for an upload (created when missing). The files already there by name when
   * the service can compare (`compare` asks for them); `undefined` means nothing below `p` can
   * be compared.
   */
  readonly prepareFolder: (p: P, compare: boolean) => Effect.Effect<ReadonlyMap<string, FileTimes> | undefined, E>
  /** The children of a remote folder, in transfer order. */
  readonly listFolder: (p: P) => Effect.Effect<ReadonlyArray<RemoteEntry>, E>
}

/** @internal */
export interface TreeOptions {
  readonly update: boolean
  readonly continue: boolean
  /** Files transferred at once (the workers of the walk, which also prepare and list folders). */
  readonly concurrency: number
  readonly filter?: FilterFunc | undefined
  readonly emit: Emit
}

/** @internal */
export interface UploadTreeOptions extends TreeOptions {
  readonly ignoreFileNames?: Iterable<string> | undefined
}

/** The `*Dir` options of `Storage` and `Buckets`. */
/** @internal */
export interface DirOptions {
  readonly update?: boolean | undefined
  readonly continue?: boolean | undefined
  readonly concurrency?: number | undefined
  readonly filter?: FilterFunc | undefined
  readonly ignoreFileNames?: Iterable<string> | undefined
  readonly progress?: ProgressCallback | undefined
}

/** The engine's options from a service's `*Dir` options. */
/** @internal */
export const treeOptions = (options: DirOptions, defaultConcurrency: number): Effect.Effect<UploadTreeOptions> =>
  Effect.map(serialized(options.progress), (emit) => ({
    update: options.update === true,
    continue: options.continue === true,
    concurrency: Math.max(1, options.concurrency ?? defaultConcurrency),
    filter: options.filter,
    ignoreFileNames: options.ignoreFileNames,
    emit
  }))

/** A resolved local directory to upload. */
/** @internal */
export interface LocalDir {
  readonly path: string
  readonly info: FileSystem.File.Info
}

/** Whether a download may skip or resume from what is already on the local side. */
/** @internal */
export interface DownloadFlags {
  readonly update: boolean
  readonly continue: boolean
}

/** The destination and temporary file of a download, when already stat'ed (undefined: not yet). */
/** @internal */
export interface KnownLocal {
  readonly dst?: Option.Option<FileSystem.File.Info> | undefined
  readonly part?: Option.Option<FileSystem.File.Info> | undefined
}

/**
 * The name of a download's temporary file next to its destination `name`. It is the same for
 * every run, so that what an interrupted or killed download fetched is found again.
 */
/** @internal */
export const partName = (name: string): string => `.${name}.neuro-part`

/** The parts as one array (the part itself when there is one). */
/** @internal */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
