/**
 * The `Disks` subsystem: persistent volumes of a cluster that jobs mount (`disk:` volumes), with
 * an optional name and an optional life span of non-use. The counterpart of neuro-sdk's
 * `client.disks`.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/disks.js"
import type { Disk } from "./internal/disksModels.js"

// The models are declared in `internal/disksModels.ts`, which the implementation
// imports instead of this module (no import cycle).
export { Disk, DiskStatus, DiskStatusSchema } from "./internal/disksModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Disks extends Context.Tag("@neuro-sdk/core/Disks")<Disks, Disks.Service>() {}

/**
 * Everything a disks call can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type DisksError = ApiError | ConfigError | InvalidInputError

/**
 * @since 1.0.0
 * @category models
 */
export interface CreateOptions {
  /** Delete the disk after this much time unused (neuro-sdk `timeout_unused`); default: never. */
  readonly timeoutUnused?: Duration.DurationInput | null | undefined
  /** Same as `timeoutUnused` (its wire name, `life_span`); give only one of the two. */
  readonly lifeSpan?: Duration.DurationInput | null | undefined
  /** A name unique among the user's disks: 3–40 of `a-z`, `0-9`, single `-`, starting with a letter. */
  readonly name?: string | null | undefined
  /** Default: the current cluster. */
  readonly clusterName?: string | undefined
  /** `undefined`: the current org; `null`: no org. */
  readonly orgName?: string | null | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface LookupOptions {
  /** Default: the current cluster. */
  readonly clusterName?: string | undefined
  /** Owner of a disk looked up by name (default: the current user). */
  readonly owner?: string | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace Disks {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** Every disk of the cluster the user can read (own ones and shared ones). */
    readonly list: (options?: { readonly clusterName?: string | undefined }) => Stream.Stream<Disk, DisksError>
    /** Create a disk of `storage` bytes. */
    readonly create: (storage: number, options?: CreateOptions) => Effect.Effect<Disk, DisksError>
    /** A disk by id, or by name (of `owner`, default the current user). */
    readonly get: (diskIdOrName: string, options?: LookupOptions) => Effect.Effect<Disk, DisksError>
    /** Delete a disk by id or name. */
    readonly rm: (diskIdOrName: string, options?: LookupOptions) => Effect.Effect<void, DisksError>
  }
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Disks.Service, never, ApiClient | Config> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Disks, never, ApiClient | Config> = Layer.effect(Disks, make)
