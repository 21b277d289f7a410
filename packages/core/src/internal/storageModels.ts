/**
 * The models of `Storage.ts`: file statuses, disk usage, progress events. They are declared here
 * and re-exported by `Storage.ts`, whose public API they are (so they carry no internal tag).
 * `internal/storage.ts`, `internal/transfer.ts` and `internal/buckets.ts` use them from here: this
 * module imports nothing from `Storage.ts`, which imports the implementation, so there is no
 * import cycle.
 */
import * as Schema from "effect/Schema"

const UrlSchema = Schema.instanceOf(URL)

/**
 * Type of a storage entry; wire values equal the member names, anything else is `UNKNOWN`.
 *
 * @since 1.0.0
 * @category models
 */
export const FileStatusType = Schema.Literal("DIRECTORY", "FILE", "SYMLINK", "UNKNOWN")

/**
 * @since 1.0.0
 * @category models
 */
export type FileStatusType = typeof FileStatusType.Type

/**
 * The caller's access to a storage entry.
 *
 * @since 1.0.0
 * @category models
 */
export const Permission = Schema.Literal("read", "write", "manage")

/**
 * @since 1.0.0
 * @category models
 */
export type Permission = typeof Permission.Type

/**
 * A file, directory or symlink on the storage.
 *
 * @since 1.0.0
 * @category models
 */
export class FileStatus extends Schema.Class<FileStatus>("@neuro-sdk/core/FileStatus")({
  /** Listing: the entry name; stat: the path from the storage root (`/alice/folder`). */
  path: Schema.String,
  /** Size in bytes (wire `length`). */
  size: Schema.Number,
  type: FileStatusType,
  /** Seconds since the epoch (integer). */
  modificationTime: Schema.Number,
  permission: Permission,
  /** Normalized `storage://cluster/...` URI of the entry. */
  uri: UrlSchema,
  /** Symlink target, when the server sends one. */
  target: Schema.optional(Schema.String)
}) {
  /** @since 1.0.0 */
  isFile(): boolean {
    return this.type === "FILE"
  }
  /** @since 1.0.0 */
  isDir(): boolean {
    return this.type === "DIRECTORY"
  }
  /** @since 1.0.0 */
  isSymlink(): boolean {
    return this.type === "SYMLINK"
  }
  /**
   * Last component of `path`.
   *
   * @since 1.0.0
   */
  get name(): string {
    const parts = this.path.split("/").filter((p) => p !== "")
    return parts[parts.length - 1] ?? ""
  }
}

/**
 * Disk usage of the file system holding a storage path.
 *
 * @since 1.0.0
 * @category models
 */
export class DiskUsageInfo extends Schema.Class<DiskUsageInfo>("@neuro-sdk/core/DiskUsageInfo")({
  /** The `clusterName` argument or the current cluster (not the host of `uri`, as neuro-sdk). */
  clusterName: Schema.String,
  total: Schema.Number,
  used: Schema.Number,
  free: Schema.Number,
  orgName: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  /** The `uri` argument exactly as passed. */
  uri: Schema.optional(UrlSchema)
}) {}

/**
 * A file transfer starts (`size`: local size for uploads, remote length for downloads).
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressStart extends Schema.TaggedClass<StorageProgressStart>()("StorageProgressStart", {
  src: UrlSchema,
  dst: UrlSchema,
  size: Schema.Number
}) {}

/**
 * Bytes transferred so far (absolute position in the file).
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressStep extends Schema.TaggedClass<StorageProgressStep>()("StorageProgressStep", {
  src: UrlSchema,
  dst: UrlSchema,
  current: Schema.Number,
  size: Schema.Number
}) {}

/**
 * A file transfer finished.
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressComplete extends Schema.TaggedClass<StorageProgressComplete>()("StorageProgressComplete", {
  src: UrlSchema,
  dst: UrlSchema,
  size: Schema.Number
}) {}

/**
 * A directory transfer entered a directory (the destination directory exists).
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressEnterDir extends Schema.TaggedClass<StorageProgressEnterDir>()("StorageProgressEnterDir", {
  src: UrlSchema,
  dst: UrlSchema
}) {}

/**
 * A directory transfer finished a directory and its whole subtree.
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressLeaveDir extends Schema.TaggedClass<StorageProgressLeaveDir>()("StorageProgressLeaveDir", {
  src: UrlSchema,
  dst: UrlSchema
}) {}

/**
 * An entry was skipped by a directory transfer (not a regular file or directory); the transfer goes on.
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressFail extends Schema.TaggedClass<StorageProgressFail>()("StorageProgressFail", {
  src: UrlSchema,
  dst: UrlSchema,
  message: Schema.String
}) {}

/**
 * `rm` removed an entry (children are reported before their directory).
 *
 * @since 1.0.0
 * @category progress
 */
export class StorageProgressDelete extends Schema.TaggedClass<StorageProgressDelete>()("StorageProgressDelete", {
  uri: UrlSchema,
  isDir: Schema.Boolean
}) {}
