/**
 * The `Images` subsystem (neuro-sdk's `client.images`): the images of a cluster's platform
 * registry (Docker Registry HTTP API v2 with `Basic` platform credentials) — repositories, tags,
 * manifests, deletion — and `push`/`pull` between the registry and the user's local Docker
 * Engine, which runs behind the {@link DockerDaemon} service.
 *
 * `push` and `pull` need a `DockerDaemon` in the context when the layer is built
 * (`NodeDockerDaemon.layer` from `@neuro-sdk/node`, provided by `NeuroNode.layer`); without one they
 * fail with a `DockerError` (status 900, "Docker engine is not available") while the registry
 * calls keep working, as neuro-sdk opens the Docker connection only when it first needs it.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import { LocalImage, RemoteImage } from "./Image.js"
import * as internal from "./internal/images.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Images extends Context.Tag("@neuro-sdk/core/Images")<Images, Images.Service>() {}

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * A tag of a repository and the size of its image (neuro-sdk `Tag`): the sum of the sizes of the
 * layers of its manifest (the config blob is not counted).
 *
 * @since 1.0.0
 * @category models
 */
export class Tag extends Schema.Class<Tag>("@neuro-sdk/core/ImageTag")({
  name: Schema.String,
  size: Schema.optional(Schema.Number)
}) {}

/**
 * `pull` started: `src` is pulled into the local image `dst`.
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageProgressPull extends Schema.TaggedClass<ImageProgressPull>()("ImageProgressPull", {
  src: RemoteImage,
  dst: LocalImage
}) {}

/**
 * `push` started: the local image `src` is pushed to `dst`.
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageProgressPush extends Schema.TaggedClass<ImageProgressPush>()("ImageProgressPush", {
  src: LocalImage,
  dst: RemoteImage
}) {}

/**
 * One progress line of the Docker Engine about a layer (`5f70bf18a086: Pushing [===>  ] 1MB/3MB`).
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageProgressStep extends Schema.TaggedClass<ImageProgressStep>()("ImageProgressStep", {
  /** `"{id}: {status} {progress}"`, or `"{id}: {status}"` without a progress bar. */
  message: Schema.String,
  /** The layer id the engine reports (short digest). */
  layerId: Schema.String,
  /** `Waiting`, `Pushing`, `Downloading`, `Pull complete`, ... */
  status: Schema.String,
  /** Bytes done, when the engine says. */
  current: Schema.NullOr(Schema.Number),
  /** Bytes in all, when the engine says. */
  total: Schema.NullOr(Schema.Number)
}) {}

/**
 * A job's container is being saved to `dst` (`jobs.save`).
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageProgressSave extends Schema.TaggedClass<ImageProgressSave>()("ImageProgressSave", {
  job: Schema.String,
  dst: RemoteImage
}) {}

/**
 * The platform started committing a job's container into `targetImage` (`jobs.save`).
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageCommitStarted extends Schema.TaggedClass<ImageCommitStarted>()("ImageCommitStarted", {
  jobId: Schema.String,
  targetImage: RemoteImage
}) {}

/**
 * The platform finished committing a job's container (`jobs.save`).
 *
 * @since 1.0.0
 * @category progress
 */
export class ImageCommitFinished extends Schema.TaggedClass<ImageCommitFinished>()("ImageCommitFinished", {
  jobId: Schema.String
}) {}

/**
 * Progress events of image transfers (neuro-sdk `AbstractDockerImageProgress` callbacks, one
 * class each).
 *
 * @since 1.0.0
 * @category progress
 */
export type ImageProgress =
  | ImageProgressPull
  | ImageProgressPush
  | ImageProgressStep
  | ImageProgressSave
  | ImageCommitStarted
  | ImageCommitFinished

/**
 * @since 1.0.0
 * @category progress
 */
export type ImageProgressCallback = (event: ImageProgress) => Effect.Effect<void>

// ---------------------------------------------------------------------------------------------
// Docker Engine
// ---------------------------------------------------------------------------------------------

/**
 * A failure of the local Docker Engine (aiodocker's `DockerError`): `status` is the engine's HTTP
 * status, or 900 when the engine cannot be reached or reports an error inside its progress stream.
 *
 * @since 1.0.0
 * @category errors
 */
export class DockerError extends Schema.TaggedError<DockerError>("@neuro-sdk/core/DockerError")("DockerError", {
  status: Schema.Number,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `Docker engine error (${this.status}): ${this.description}`
  }
}

/**
 * The message neuro-sdk gives when no Docker Engine can be reached.
 *
 * @since 1.0.0
 * @category constants
 */
export const DOCKER_NOT_AVAILABLE: string = internal.DOCKER_NOT_AVAILABLE

/**
 * Credentials the engine presents to a registry (sent as the `X-Registry-Auth` header).
 *
 * @since 1.0.0
 * @category models
 */
export interface RegistryAuth {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** Registry host (`registry.c1.example.org`, `127.0.0.1:5000`). */
  readonly serveraddress: string
}

/**
 * One JSON object of the engine's progress stream (`{"status", "id", "progress",
 * "progressDetail"}`, `{"aux": ...}`, `{"error", "errorDetail"}`), undecoded.
 *
 * @since 1.0.0
 * @category models
 */
export type DockerStreamObject = { readonly [key: string]: unknown }

/**
 * What the engine says about a local image (`GET /images/{name}/json`), the fields the SDK uses.
 *
 * @since 1.0.0
 * @category models
 */
export class DockerImageInspect extends Schema.Class<DockerImageInspect>("@neuro-sdk/core/DockerImageInspect")({
  id: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("Id")),
  repoTags: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }).pipe(Schema.fromKey("RepoTags")),
  repoDigests: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }).pipe(
    Schema.fromKey("RepoDigests")
  ),
  size: Schema.optional(Schema.Number).pipe(Schema.fromKey("Size")),
  architecture: Schema.optional(Schema.String).pipe(Schema.fromKey("Architecture")),
  os: Schema.optional(Schema.String).pipe(Schema.fromKey("Os"))
}) {}

/**
 * The few calls of the local Docker Engine API that `push`/`pull` need. Implemented in
 * `@neuro-sdk/node` by `NodeDockerDaemon` (Engine HTTP API on `DOCKER_HOST` or the local Unix
 * socket); tests provide fakes.
 *
 * @since 1.0.0
 * @category tags
 */
export class DockerDaemon extends Context.Tag("@neuro-sdk/core/DockerDaemon")<DockerDaemon, DockerDaemon.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace DockerDaemon {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** `POST /images/{image}/tag?repo=&tag=`: give the local image `image` the name `repo[:tag]`. */
    readonly tag: (image: string, repo: string, tag?: string | undefined) => Effect.Effect<void, DockerError>
    /** `POST /images/{name}/push?tag=`: the engine's progress objects, as they come. */
    readonly push: (
      name: string,
      options: { readonly tag?: string | undefined; readonly auth?: RegistryAuth | undefined }
    ) => Stream.Stream<DockerStreamObject, DockerError>
    /** `POST /images/create?fromImage=&tag=`: the engine's progress objects, as they come. */
    readonly pull: (
      fromImage: string,
      options: { readonly tag?: string | undefined; readonly auth?: RegistryAuth | undefined }
    ) => Stream.Stream<DockerStreamObject, DockerError>
    /** `GET /images/{name}/json` (status 404 when there is no such image). */
    readonly inspect: (name: string) => Effect.Effect<DockerImageInspect, DockerError>
    /** `DELETE /images/{name}?force=&noprune=`: untag (and remove when unused) a local image. */
    readonly remove: (
      name: string,
      options?: { readonly force?: boolean | undefined; readonly noprune?: boolean | undefined }
    ) => Effect.Effect<void, DockerError>
  }
}

/**
 * neuro-sdk `_try_parse_image_progress_step`: an engine stream object with an `error` key fails
 * (status 900, message from `errorDetail`); one with an `id` other than the target tag becomes a
 * step; anything else (digest lines, `aux`, the `"id": "<tag>"` line) is ignored.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseProgressStep: (
  obj: DockerStreamObject,
  targetTag: string | undefined
) => Either.Either<ImageProgressStep | undefined, DockerError> = internal.parseProgressStep

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/**
 * Everything a registry call can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type ImagesError = ApiError | ConfigError | InvalidInputError

/**
 * @since 1.0.0
 * @category models
 */
export interface TransferOptions {
  /** Receives the start event, then one step per engine progress line. */
  readonly progress?: ImageProgressCallback | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace Images {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /**
     * Push a local image to the platform registry: to `remote`, or by default to the current
     * cluster and org under the current user (`Parser.localToRemoteImage`). A missing local image
     * is `ResourceNotFound`; an engine 403 is `AuthorizationError`. Returns the target.
     */
    readonly push: (
      local: LocalImage,
      remote?: RemoteImage | undefined,
      options?: TransferOptions
    ) => Effect.Effect<RemoteImage, ImagesError | DockerError>
    /**
     * Pull a platform image into the local engine as `local` (by default `name:tag` of the remote
     * image). The engine also keeps the registry-qualified name until the layer's scope closes.
     */
    readonly pull: (
      remote: RemoteImage,
      local?: LocalImage | undefined,
      options?: TransferOptions
    ) => Effect.Effect<LocalImage, ImagesError | DockerError>
    /** Repositories of a cluster's registry the user may read (tag unset), in registry order. */
    readonly list: (options?: { readonly clusterName?: string | undefined }) => Effect.Effect<ReadonlyArray<RemoteImage>, ImagesError>
    /** One copy of `image` per tag of its repository, in registry order (`image` must have no tag). */
    readonly tags: (image: RemoteImage) => Effect.Effect<ReadonlyArray<RemoteImage>, ImagesError>
    /** The manifest digest (`sha256:…`) of a tagged image. */
    readonly digest: (image: RemoteImage) => Effect.Effect<string, ImagesError>
    /** The tag and the size of its image (sum of the manifest's layer sizes). */
    readonly tagInfo: (image: RemoteImage) => Effect.Effect<Tag, ImagesError>
    /** The size of a tagged image in bytes (`tagInfo(image).size`). */
    readonly size: (image: RemoteImage) => Effect.Effect<number, ImagesError>
    /** Delete the manifest `digest` of the image's repository (and every tag pointing at it). */
    readonly rm: (image: RemoteImage, digest: string) => Effect.Effect<void, ImagesError>
  }
}

/**
 * The service over `ApiClient` and `Config`, with the `DockerDaemon` of the context if there is
 * one. Images pulled through the registry name are untagged again when the scope closes
 * (neuro-sdk deletes its temporary images when the client is closed).
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Images.Service, never, ApiClient | Config | Scope.Scope> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Images, never, ApiClient | Config> = Layer.scoped(Images, make)

/**
 * The `Accept` value of manifest requests (`digest`, `tagInfo`): only Docker's image manifest
 * schema 2, as neuro-sdk sends.
 *
 * @since 1.0.0
 * @category constants
 */
export const MANIFEST_V2: string = internal.MANIFEST_V2

/**
 * Page size neuro-sdk asks for in catalog and tag listings.
 *
 * @since 1.0.0
 * @category constants
 */
export const PAGE_SIZE: number = internal.PAGE_SIZE
