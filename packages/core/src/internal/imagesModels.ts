/**
 * The models of `Images.ts`: tags, progress events, the Docker Engine service and its error. They
 * are declared here and re-exported by `Images.ts`, whose public API they are (so they carry no
 * internal tag). `internal/images.ts` uses them from here: this module imports nothing from
 * `Images.ts`, which imports the implementation, so there is no import cycle.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { LocalImage, RemoteImage } from "../Image.js"

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
