/**
 * The `Storage` subsystem: the platform storage of a cluster (a WebHDFS-like file API), with
 * listings, globbing, single-call file operations and streaming file and directory transfers
 * (update/continue, ignore files, progress events). The counterpart of neuro-sdk's `client.storage`.
 * When the context has them (`NeuroNode.layer` provides both), file transfers move their bytes
 * through `TransferIO` and do their per-file file operations through `LocalFiles`; otherwise
 * through `ApiClient` and `FileSystem`.
 *
 * @since 1.0.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, FileSystemError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/storage.js"
import type {
  DiskUsageInfo,
  FileStatus,
  StorageProgressComplete,
  StorageProgressDelete,
  StorageProgressEnterDir,
  StorageProgressFail,
  StorageProgressLeaveDir,
  StorageProgressStart,
  StorageProgressStep
} from "./internal/storageModels.js"

// The models are declared in `internal/storageModels.ts`, which the implementation imports instead
// of this module (no import cycle).
export {
  DiskUsageInfo,
  FileStatus,
  FileStatusType,
  Permission,
  StorageProgressComplete,
  StorageProgressDelete,
  StorageProgressEnterDir,
  StorageProgressFail,
  StorageProgressLeaveDir,
  StorageProgressStart,
  StorageProgressStep
} from "./internal/storageModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Storage extends Context.Tag("@neuro-sdk/core/Storage")<Storage, Storage.Service>() {}

/**
 * Every progress event.
 *
 * @since 1.0.0
 * @category progress
 */
export type StorageProgress =
  | StorageProgressStart
  | StorageProgressStep
  | StorageProgressComplete
  | StorageProgressEnterDir
  | StorageProgressLeaveDir
  | StorageProgressFail
  | StorageProgressDelete

/**
 * Receives progress events one at a time, in emission order, before the operation returns.
 *
 * @since 1.0.0
 * @category progress
 */
export type ProgressCallback = (event: StorageProgress) => Effect.Effect<void>

/**
 * Decides whether a path relative to the transferred directory is transferred (`true`) or
 * skipped. Directories carry a trailing `/`; a skipped directory skips its subtree.
 *
 * @since 1.0.0
 * @category models
 */
export type FilterFunc = (relativePath: string) => Effect.Effect<boolean>

/**
 * Everything a storage call can fail with: platform answers, local file-system errors, bad input.
 *
 * @since 1.0.0
 * @category models
 */
export type StorageError = ApiError | ConfigError | InvalidInputError | FileSystemError

/**
 * @since 1.0.0
 * @category models
 */
export interface TransferOptions {
  /**
   * Skip files whose destination is at least as new (neuro-sdk `update`). On upload, a newer
   * remote file shorter than the local one is sent again: it may be what a failed upload left.
   */
  readonly update?: boolean | undefined
  /**
   * Resume files whose destination is a shorter, newer prefix (neuro-sdk `continue_`); a download
   * also resumes what an interrupted or killed run left in `.<name>.neuro-part` beside it.
   */
  readonly continue?: boolean | undefined
  readonly progress?: ProgressCallback | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface DirTransferOptions extends TransferOptions {
  /** Which relative paths to transfer (default: all). */
  readonly filter?: FilterFunc | undefined
  /**
   * Files transferred at once (default {@link DEFAULT_CONCURRENCY}): the workers of the walk,
   * which also prepare and list the folders; they take the files of up to 8 open folders in turn.
   */
  readonly concurrency?: number | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface UploadDirOptions extends DirTransferOptions {
  /** Names of gitignore-style files (e.g. `.neuroignore`) read in the tree and its ancestors. */
  readonly ignoreFileNames?: Iterable<string> | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace Storage {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Entries of a directory, in server order. */
    readonly list: (uri: URL | string) => Stream.Stream<FileStatus, StorageError>
    /** URIs matching a glob pattern (`*`, `?`, `[...]`, `**` for recursion). */
    readonly glob: (uri: URL | string, options?: { readonly dironly?: boolean | undefined }) => Stream.Stream<URL, StorageError>
    readonly mkdir: (
      uri: URL | string,
      options?: { readonly parents?: boolean | undefined; readonly existOk?: boolean | undefined }
    ) => Effect.Effect<void, StorageError>
    /** Remove a file, or a directory with `recursive` (server-side, reported through `progress`). */
    readonly rm: (
      uri: URL | string,
      options?: { readonly recursive?: boolean | undefined; readonly progress?: ProgressCallback | undefined }
    ) => Effect.Effect<void, StorageError>
    /** Move or rename within one cluster. */
    readonly mv: (src: URL | string, dst: URL | string) => Effect.Effect<void, StorageError>
    /** Alias of `mv`. */
    readonly rename: (src: URL | string, dst: URL | string) => Effect.Effect<void, StorageError>
    readonly stat: (uri: URL | string) => Effect.Effect<FileStatus, StorageError>
    readonly diskUsage: (options?: {
      readonly clusterName?: string | undefined
      /** `undefined`: the config org; `null`: no org. */
      readonly orgName?: string | null | undefined
      readonly uri?: URL | string | undefined
    }) => Effect.Effect<DiskUsageInfo, StorageError>
    /** Create or truncate a file with the given bytes (a stream is sent chunked, never buffered). */
    readonly create: (uri: URL | string, data: Uint8Array | Stream.Stream<Uint8Array, StorageError>) => Effect.Effect<void, StorageError>
    /** Overwrite bytes of an existing file at `offset`. */
    readonly write: (uri: URL | string, data: Uint8Array, offset: number) => Effect.Effect<void, StorageError>
    /**
     * The bytes of a file, from `offset`, at most `size` of them. An answer that ends before the
     * length the server announced is continued with a ranged read; one that brings nothing more
     * is a `MalformedResponse`.
     */
    readonly open: (
      uri: URL | string,
      options?: { readonly offset?: number | undefined; readonly size?: number | undefined }
    ) => Stream.Stream<Uint8Array, StorageError>
    readonly uploadFile: (src: URL | string, dst: URL | string, options?: TransferOptions) => Effect.Effect<void, StorageError>
    readonly downloadFile: (src: URL | string, dst: URL | string, options?: TransferOptions) => Effect.Effect<void, StorageError>
    readonly uploadDir: (src: URL | string, dst: URL | string, options?: UploadDirOptions) => Effect.Effect<void, StorageError>
    readonly downloadDir: (src: URL | string, dst: URL | string, options?: DirTransferOptions) => Effect.Effect<void, StorageError>
  }
}

/**
 * Files transferred at once by directory transfers unless `concurrency` says otherwise
 * (neuro-sdk: 20). 64: with 20 ms of server latency, 4 KiB files went 1.4× faster up and 1.5×
 * faster down than with 20, and little faster with 128 (docs/compat.md).
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY: number = internal.DEFAULT_CONCURRENCY

/**
 * Bytes sent per upload request (`CREATE`, then `WRITE`s); each request streams from the file
 * (a request of up to 1 MiB is read at once).
 *
 * @since 1.0.0
 * @category constants
 */
export const CHUNK_SIZE: number = internal.CHUNK_SIZE

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Storage.Service, never, ApiClient | Config | FileSystem.FileSystem | Path.Path> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Storage, never, ApiClient | Config | FileSystem.FileSystem | Path.Path> = Layer.effect(Storage, make)
