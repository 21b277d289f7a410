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
import type * as Scope from "effect/Scope"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import type { LocalImage, RemoteImage } from "./Image.js"
import * as internal from "./internal/images.js"
import type {
  DockerError,
  DockerStreamObject,
  ImageCommitFinished,
  ImageCommitStarted,
  ImageProgressPull,
  ImageProgressPush,
  ImageProgressSave,
  ImageProgressStep,
  Tag
} from "./internal/imagesModels.js"

// The models, the Docker Engine service and its error are declared in `internal/imagesModels.ts`,
// which the implementation imports instead of this module (no import cycle).
export {
  DockerDaemon,
  DockerError,
  DockerImageInspect,
  ImageCommitFinished,
  ImageCommitStarted,
  ImageProgressPull,
  ImageProgressPush,
  ImageProgressSave,
  ImageProgressStep,
  Tag
} from "./internal/imagesModels.js"
export type { DockerStreamObject, RegistryAuth } from "./internal/imagesModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Images extends Context.Tag("@neuro-sdk/core/Images")<Images, Images.Service>() {}

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

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
 * The message neuro-sdk gives when no Docker Engine can be reached.
 *
 * @since 1.0.0
 * @category constants
 */
export const DOCKER_NOT_AVAILABLE: string = internal.DOCKER_NOT_AVAILABLE

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
 * Docker's image manifest schema 2 media type.
 *
 * @since 1.0.0
 * @category constants
 */
export const MANIFEST_V2: string = internal.MANIFEST_V2

/**
 * The OCI image manifest media type.
 *
 * @since 1.0.0
 * @category constants
 */
export const MANIFEST_OCI: string = internal.MANIFEST_OCI

/**
 * The `Accept` value of manifest requests (`digest`, `tagInfo`): Docker's schema 2 and the OCI
 * image manifest (neuro-sdk accepts only schema 2, so a registry answers 404 for an image pushed
 * as OCI, as Podman pushes them).
 *
 * @since 1.0.0
 * @category constants
 */
export const MANIFEST_ACCEPT: string = internal.MANIFEST_ACCEPT

/**
 * Page size neuro-sdk asks for in catalog and tag listings.
 *
 * @since 1.0.0
 * @category constants
 */
export const PAGE_SIZE: number = internal.PAGE_SIZE
