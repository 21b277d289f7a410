/**
 * The blob primitives every storage provider offers (neuro-sdk `BucketProvider`), and the choice
 * of a provider by the bucket's provider type (`s3.ts`, `azure.ts`, `gcs.ts`; `shared.ts` holds
 * what they have in common).
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "../../ApiClient.js"
import type { BlobObject, Bucket, BucketCredentials, BucketEntry, BucketsError } from "../../Buckets.js"
import { makeAzureProvider } from "./azure.js"
import { makeGcsProvider } from "./gcs.js"
import { makeS3Provider } from "./s3.js"

/** The client's clock minus the provider's, as an interval in seconds. */
/** @internal */
export interface TimeDiff {
  readonly min: number
  readonly max: number
}

/** @internal */
export interface BlobProvider {
  readonly bucket: Bucket
  /** Entries under `prefix`: folders grouped by `/` unless `recursive`; at most `limit` of them. */
  readonly listBlobs: (prefix: string, recursive: boolean, limit?: number | undefined) => Stream.Stream<BucketEntry, BucketsError>
  /** `ResourceNotFound` when there is no such object. */
  readonly headBlob: (key: string) => Effect.Effect<BlobObject, BucketsError>
  /** A byte array in one request; a stream in parts, `progress` told the bytes of each part sent. */
  readonly putBlob: (
    key: string,
    body: Uint8Array | Stream.Stream<Uint8Array, BucketsError>,
    progress?: ((bytes: number) => Effect.Effect<void>) | undefined
  ) => Effect.Effect<void, BucketsError>
  readonly fetchBlob: (key: string, offset: number) => Stream.Stream<Uint8Array, BucketsError>
  /** Azure and GCS: `ResourceNotFound` when there is no such object; S3 says nothing. */
  readonly deleteBlob: (key: string) => Effect.Effect<void, BucketsError>
  /** The clock difference estimated from the provider's `Date` headers so far. */
  readonly timeDiff: Effect.Effect<TimeDiff>
}

/**
 * A provider session for one bucket. `credentials` asks the platform for (fresh) temporary
 * credentials; sessions call it again shortly before the credentials expire.
 */
/** @internal */
export const openProvider = (
  api: ApiClient["Type"],
  bucket: Bucket,
  credentials: Effect.Effect<BucketCredentials, BucketsError>
): Effect.Effect<BlobProvider, BucketsError> => {
  switch (bucket.provider) {
    case "aws":
    case "minio":
    case "open_stack":
      return makeS3Provider(api, bucket, credentials)
    case "azure":
      return makeAzureProvider(api, bucket, credentials)
    case "gcp":
      return makeGcsProvider(api, bucket, credentials)
  }
}
