/**
 * The `Buckets` subsystem: blob storage buckets of a cluster (platform-created or imported), their
 * temporary and persistent credentials, and the blob operations the client performs directly
 * against the storage provider with those credentials (head/fetch/put/delete, listings, glob,
 * file and directory transfers with update/continue, filters and progress, recursive removal).
 * The counterpart of neuro-sdk's `client.buckets`.
 *
 * Blob operations go through a provider chosen by the bucket's provider type, each speaking the
 * provider's REST API over the SDK's own HTTP transport (so they work in a browser too): S3 for
 * `aws`, `minio` and `open_stack` (SigV4-signed), Azure Blob Storage for `azure` (the SAS the
 * platform hands out), Google Cloud Storage for `gcp` (the platform's access token, or a token from
 * a service-account key).
 *
 * @since 1.0.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, FileSystemError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/buckets/service.js"
import type {
  BlobCommonPrefix,
  BlobObject,
  Bucket,
  BucketCredentials,
  BucketProvider,
  BucketUsage,
  PersistentBucketCredentials
} from "./internal/buckets/models.js"
import type { FilterFunc, ProgressCallback } from "./Storage.js"

// The models are declared in `internal/buckets/models.ts`, which the implementation imports instead
// of this module (no import cycle).
export {
  BlobCommonPrefix,
  BlobObject,
  Bucket,
  BucketCredentials,
  BucketProvider,
  BucketProviderSchema,
  BucketUsage,
  PersistentBucketCredentials
} from "./internal/buckets/models.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Buckets extends Context.Tag("@neuro-sdk/core/Buckets")<Buckets, Buckets.Service>() {}

/**
 * An entry of a bucket listing (neuro-sdk `BucketEntry`).
 *
 * @since 1.0.0
 * @category models
 */
export type BucketEntry = BlobObject | BlobCommonPrefix

/**
 * Everything a buckets call can fail with: platform and provider answers, bad input and local
 * file-system errors.
 *
 * @since 1.0.0
 * @category models
 */
export type BucketsError = ApiError | ConfigError | InvalidInputError | FileSystemError

/**
 * @since 1.0.0
 * @category models
 */
export interface ClusterOptions {
  /** Default: the current cluster. */
  readonly clusterName?: string | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface LookupOptions extends ClusterOptions {
  /** Owner of a bucket looked up by name (default: the current user). */
  readonly bucketOwner?: string | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface CreateOptions extends ClusterOptions {
  /** Unique among the owner's buckets: 3–40 of `a-z`, `0-9`, `_`, `-`, starting with a letter. */
  readonly name?: string | null | undefined
  /** `undefined`: the current org; `null`: no org. */
  readonly orgName?: string | null | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface TransferOptions {
  /** Skip files whose destination is at least as new (neuro-sdk `update`). */
  readonly update?: boolean | undefined
  /** Storage progress events (bucket-side URLs are `bucket.uri` + `/` + key). */
  readonly progress?: ProgressCallback | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface DownloadOptions extends TransferOptions {
  /** Resume files whose local copy is a shorter, newer prefix (neuro-sdk `continue_`). */
  readonly continue?: boolean | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface DirOptions {
  /** Which relative paths to transfer (directories end with `/`); default: all. */
  readonly filter?: FilterFunc | undefined
  /** Files transferred at once (default {@link DEFAULT_CONCURRENCY}). */
  readonly concurrency?: number | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface UploadDirOptions extends TransferOptions, DirOptions {
  /** Names of gitignore-style files (e.g. `.neuroignore`) read in the tree and its ancestors. */
  readonly ignoreFileNames?: Iterable<string> | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface DownloadDirOptions extends DownloadOptions, DirOptions {}

/**
 * @since 1.0.0
 */
export declare namespace Buckets {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Every bucket of the cluster the user can read (own and shared). */
    readonly list: (options?: ClusterOptions) => Stream.Stream<Bucket, BucketsError>
    /** Create a bucket (a provider bucket is made by the platform). */
    readonly create: (options?: CreateOptions) => Effect.Effect<Bucket, BucketsError>
    /** Register an existing provider bucket, with credentials the platform stores and hands out. */
    readonly importExternal: (
      provider: BucketProvider,
      providerBucketName: string,
      credentials: Readonly<Record<string, string | Redacted.Redacted<string>>>,
      options?: CreateOptions
    ) => Effect.Effect<Bucket, BucketsError>
    /** A bucket by id, or by name (of `bucketOwner`, default the current user). */
    readonly get: (bucketIdOrName: string, options?: LookupOptions) => Effect.Effect<Bucket, BucketsError>
    /** Delete a bucket (the provider bucket too, unless imported). */
    readonly rm: (bucketIdOrName: string, options?: LookupOptions) => Effect.Effect<void, BucketsError>
    /** Enable or disable anonymous read access. */
    readonly setPublicAccess: (bucketIdOrName: string, publicAccess: boolean, options?: LookupOptions) => Effect.Effect<Bucket, BucketsError>
    /** Short-lived provider credentials (write access when the user may write the bucket). */
    readonly requestTmpCredentials: (bucketIdOrName: string, options?: LookupOptions) => Effect.Effect<BucketCredentials, BucketsError>
    /** Bytes and objects of the bucket: running totals after each object listed. */
    readonly getDiskUsage: (bucketIdOrName: string, options?: LookupOptions) => Stream.Stream<BucketUsage, BucketsError>
    /** An object's size and modification time (`ResourceNotFound` when there is none). */
    readonly headBlob: (bucketIdOrName: string, key: string, options?: LookupOptions) => Effect.Effect<BucketEntry, BucketsError>
    /** Store an object; a stream is uploaded in parts (multipart upload) without buffering the whole body. */
    readonly putBlob: (
      bucketIdOrName: string,
      key: string,
      body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
      options?: LookupOptions
    ) => Effect.Effect<void, BucketsError>
    /** The bytes of an object from `offset` (`ResourceNotFound` when there is none). */
    readonly fetchBlob: (
      bucketIdOrName: string,
      key: string,
      options?: LookupOptions & { readonly offset?: number | undefined }
    ) => Stream.Stream<Uint8Array, BucketsError>
    /** Delete an object (a missing key is not an error on S3). */
    readonly deleteBlob: (bucketIdOrName: string, key: string, options?: LookupOptions) => Effect.Effect<void, BucketsError>
    /**
     * Entries under the key of a `blob:` URI, used as a raw prefix (`blob:bkt/dir` also lists
     * `dir2/`; `blob:bkt/dir/` lists the folder). Non-recursive listings group keys into
     * `BlobCommonPrefix`es.
     */
    readonly listBlobs: (
      uri: URL | string,
      options?: { readonly recursive?: boolean | undefined; readonly limit?: number | undefined }
    ) => Stream.Stream<BucketEntry, BucketsError>
    /** Entries whose key matches a glob pattern (`*`, `?`, `[...]`, `**` for any depth). */
    readonly globBlobs: (uri: URL | string) => Stream.Stream<BucketEntry, BucketsError>
    readonly uploadFile: (src: URL | string, dst: URL | string, options?: TransferOptions) => Effect.Effect<void, BucketsError>
    readonly downloadFile: (src: URL | string, dst: URL | string, options?: DownloadOptions) => Effect.Effect<void, BucketsError>
    readonly uploadDir: (src: URL | string, dst: URL | string, options?: UploadDirOptions) => Effect.Effect<void, BucketsError>
    readonly downloadDir: (src: URL | string, dst: URL | string, options?: DownloadDirOptions) => Effect.Effect<void, BucketsError>
    /** Whether a `blob:` URI is a folder (a trailing `/` answers `true` without asking). */
    readonly blobIsDir: (uri: URL | string) => Effect.Effect<boolean, BucketsError>
    /** Remove an object, or a folder with `recursive` (delete events through `progress`). */
    readonly blobRm: (
      uri: URL | string,
      options?: { readonly recursive?: boolean | undefined; readonly progress?: ProgressCallback | undefined }
    ) => Effect.Effect<void, BucketsError>
    /** A URL anyone can GET the object with, valid `expiresInSeconds` (default 3600). */
    readonly makeSignedUrl: (uri: URL | string, options?: { readonly expiresInSeconds?: number | undefined }) => Effect.Effect<URL, BucketsError>
    /** The user's persistent credentials. */
    readonly persistentCredentialsList: (options?: ClusterOptions) => Stream.Stream<PersistentBucketCredentials, BucketsError>
    /** New persistent credentials for the given bucket ids (read-only on request). */
    readonly persistentCredentialsCreate: (
      bucketIds: Iterable<string>,
      options?: ClusterOptions & { readonly name?: string | null | undefined; readonly readOnly?: boolean | undefined }
    ) => Effect.Effect<PersistentBucketCredentials, BucketsError>
    readonly persistentCredentialsGet: (credentialIdOrName: string, options?: ClusterOptions) => Effect.Effect<PersistentBucketCredentials, BucketsError>
    readonly persistentCredentialsRm: (credentialIdOrName: string, options?: ClusterOptions) => Effect.Effect<void, BucketsError>
  }
}

/**
 * Files transferred at once by directory transfers unless `concurrency` says otherwise
 * (neuro-sdk reads at most 10 local files at once). Each upload holds at most one part
 * (a little over 10 MiB) in memory.
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY: number = internal.DEFAULT_CONCURRENCY

/**
 * Size above which a streamed upload sends its buffer as one part (neuro-sdk: 10 MiB).
 *
 * @since 1.0.0
 * @category constants
 */
export const MIN_PART_SIZE: number = internal.MIN_PART_SIZE

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Buckets.Service, never, ApiClient | Config | FileSystem.FileSystem | Path.Path> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Buckets, never, ApiClient | Config | FileSystem.FileSystem | Path.Path> = Layer.effect(Buckets, make)

/**
 * Redact every value of a plain credentials map (e.g. before passing it to `importExternal`).
 *
 * @since 1.0.0
 * @category utils
 */
export const redactCredentials = (
  credentials: Readonly<Record<string, string | Redacted.Redacted<string>>>
): Readonly<Record<string, Redacted.Redacted<string>>> =>
  Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, Redacted.isRedacted(v) ? v : Redacted.make(v)]))
