/**
 * The models of `Buckets.ts`: providers, buckets, credentials, usage, listing entries. They are
 * declared here and re-exported by `Buckets.ts`, whose public API they are (so they carry no
 * internal tag). `buckets/service.ts` and the providers use them from here: this module
 * imports nothing from `Buckets.ts`, which imports the implementation, so there is no import
 * cycle.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidInputError } from "../../Errors.js"
import { decodeKeyRemainder, quoteKey } from "./keys.js"

/**
 * The storage providers a bucket can live on (Python member names, wire values).
 *
 * @since 1.0.0
 * @category models
 */
export const BucketProvider = {
  AWS: "aws",
  MINIO: "minio",
  AZURE: "azure",
  GCP: "gcp",
  OPEN_STACK: "open_stack"
} as const

/**
 * @since 1.0.0
 * @category models
 */
export type BucketProvider = typeof BucketProvider[keyof typeof BucketProvider]

/**
 * The wire form of a {@link BucketProvider}; any other string is rejected.
 *
 * @since 1.0.0
 * @category schemas
 */
export const BucketProviderSchema: Schema.Literal<["aws", "minio", "azure", "gcp", "open_stack"]> = Schema.Literal(
  "aws",
  "minio",
  "azure",
  "gcp",
  "open_stack"
)

/**
 * A bucket.
 *
 * @since 1.0.0
 * @category models
 */
export class Bucket extends Schema.Class<Bucket>("@neuro-sdk/core/Bucket")({
  /** `bucket-{uuid}`. */
  id: Schema.String,
  owner: Schema.String,
  /**
   * The cluster the bucket was asked from (the `clusterName` option, else the current cluster).
   * neuro-sdk always puts the current cluster here, which breaks URIs of other clusters.
   */
  clusterName: Schema.String,
  orgName: Schema.NullOr(Schema.String),
  provider: BucketProviderSchema,
  createdAt: Schema.DateFromSelf,
  /** Imported with `importExternal` (the platform stores the given credentials). */
  imported: Schema.Boolean,
  /** Anonymous read access is enabled. */
  public: Schema.Boolean,
  name: Schema.NullOr(Schema.String)
}) {
  /**
   * The values of {@link BucketProvider}, as `Bucket.Provider.AWS`.
   *
   * @since 1.0.0
   */
  static readonly Provider = BucketProvider

  /**
   * `blob://{cluster}/[{org}/]{owner}/{name or id}`.
   *
   * @since 1.0.0
   */
  get uri(): URL {
    const org = this.orgName ? `/${this.orgName}` : ""
    return new URL(`blob://${this.clusterName}${org}/${this.owner}/${this.name ?? this.id}`)
  }

  /**
   * The object key a `blob:` URI (normalized, with a host) points at in this bucket: what follows
   * the bucket's URI (by name, or by id), leading `/` removed, percent-decoded. Fails when the URI
   * is not inside this bucket.
   *
   * @since 1.0.0
   */
  getKeyForUri(uri: URL | string): Either.Either<string, InvalidInputError> {
    const text = typeof uri === "string" ? uri : uri.href
    const own = this.uri.href
    const candidates = this.name ? [own, own.slice(0, own.lastIndexOf("/") + 1) + this.id] : [own]
    for (const c of candidates) {
      if (text === c || text.startsWith(c + "/")) return Either.right(decodeKeyRemainder(text.slice(c.length)))
    }
    return Either.left(
      new InvalidInputError({ kind: "uri", input: text, description: `URI is not related to bucket ${own}` })
    )
  }
}

/**
 * @since 1.0.0
 */
export declare namespace Bucket {
  /**
   * @since 1.0.0
   * @category models
   */
  export type Provider = BucketProvider
}

/**
 * Credentials for a bucket's provider, as the platform hands them out. Every value is
 * `Redacted` (keys such as `access_key_id`, `secret_access_key`, `session_token`, `endpoint_url`,
 * `region_name`, `bucket_name`, `expiration` for S3-like providers); read one with
 * `Redacted.value(credentials.credentials["access_key_id"])`.
 *
 * @since 1.0.0
 * @category models
 */
export class BucketCredentials extends Schema.Class<BucketCredentials>("@neuro-sdk/core/BucketCredentials")({
  bucketId: Schema.String,
  provider: BucketProviderSchema,
  credentials: Schema.Record({ key: Schema.String, value: Schema.RedactedFromSelf(Schema.String) })
}) {}

/**
 * Long-lived credentials for one or more buckets (neuro-sdk `PersistentBucketCredentials`).
 *
 * @since 1.0.0
 * @category models
 */
export class PersistentBucketCredentials extends Schema.Class<PersistentBucketCredentials>(
  "@neuro-sdk/core/PersistentBucketCredentials"
)({
  /** `bucket-credentials-{uuid}`. */
  id: Schema.String,
  owner: Schema.String,
  /** The cluster they were asked from (the `clusterName` option, else the current cluster). */
  clusterName: Schema.String,
  name: Schema.NullOr(Schema.String),
  readOnly: Schema.Boolean,
  /** One entry per bucket. */
  credentials: Schema.Array(BucketCredentials)
}) {}

/**
 * Running totals of `getDiskUsage`.
 *
 * @since 1.0.0
 * @category models
 */
export class BucketUsage extends Schema.Class<BucketUsage>("@neuro-sdk/core/BucketUsage")({
  totalBytes: Schema.Number,
  objectCount: Schema.Number
}) {}

const entryFields = {
  /** The object key (decoded), or the common prefix (ending with `/`). */
  key: Schema.String,
  bucket: Bucket,
  size: Schema.Number,
  createdAt: Schema.NullOr(Schema.DateFromSelf),
  modifiedAt: Schema.NullOr(Schema.DateFromSelf)
}

const lastComponent = (key: string): string => {
  const parts = key.split("/").filter((p) => p !== "")
  return parts[parts.length - 1] ?? ""
}

const entryUri = (bucket: Bucket, key: string): URL => new URL(bucket.uri.href + "/" + quoteKey(key))

/**
 * An object of a bucket. A zero-byte object whose key ends with `/` is a folder marker
 * (`isDir()`).
 *
 * @since 1.0.0
 * @category models
 */
export class BlobObject extends Schema.TaggedClass<BlobObject>("@neuro-sdk/core/BlobObject")("BlobObject", entryFields) {
  /**
   * The last path component of the key (`"a/b/"` → `"b"`).
   *
   * @since 1.0.0
   */
  get name(): string {
    return lastComponent(this.key)
  }
  /**
   * `bucket.uri` + `/` + the key (percent-encoded).
   *
   * @since 1.0.0
   */
  get uri(): URL {
    return entryUri(this.bucket, this.key)
  }
  /** @since 1.0.0 */
  isDir(): boolean {
    return this.key.endsWith("/") && this.size === 0
  }
  /** @since 1.0.0 */
  isFile(): boolean {
    return !this.isDir()
  }
}

/**
 * A "folder" of a non-recursive listing: keys sharing a prefix up to the next `/`.
 *
 * @since 1.0.0
 * @category models
 */
export class BlobCommonPrefix extends Schema.TaggedClass<BlobCommonPrefix>("@neuro-sdk/core/BlobCommonPrefix")(
  "BlobCommonPrefix",
  entryFields
) {
  /** @since 1.0.0 */
  get name(): string {
    return lastComponent(this.key)
  }
  /** @since 1.0.0 */
  get uri(): URL {
    return entryUri(this.bucket, this.key)
  }
  /** @since 1.0.0 */
  isDir(): boolean {
    return true
  }
  /** @since 1.0.0 */
  isFile(): boolean {
    return false
  }
}
