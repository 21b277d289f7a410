/**
 * Why an image of LocalPlatform's registry could not be made a job's root file system.
 */
import * as Data from "effect/Data"

/**
 * - `InvalidName`: the reference is not a repository with a tag or digest;
 * - `NotFound`: the repository, tag, manifest or one of its blobs is not in the registry;
 * - `Corrupt`: a blob does not match its digest, a manifest or config is not what its media type says;
 * - `Unsupported`: what LocalPlatform cannot unpack (zstd layers, foreign layers, schema 1 manifests, no linux/amd64 entry);
 * - `Unsafe`: a layer entry would be written outside the image root;
 * - `Io`: this machine's file system failed.
 */
/** @internal */
export type ImageErrorReason = "InvalidName" | "NotFound" | "Corrupt" | "Unsupported" | "Unsafe" | "Io"

/** @internal */
export class ImageError extends Data.TaggedError("ImageError")<{
  readonly reason: ImageErrorReason
  readonly description: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.description
  }
}
