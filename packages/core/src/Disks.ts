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
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/disks.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Disks extends Context.Tag("@neuro-sdk/core/Disks")<Disks, Disks.Service>() {}

/**
 * State of a disk: `PENDING` (being provisioned; a job may already use it and will wait),
 * `READY`, or `BROKEN` (its backing volume is lost).
 *
 * @since 1.0.0
 * @category models
 */
export const DiskStatus = {
  PENDING: "Pending",
  READY: "Ready",
  BROKEN: "Broken"
} as const

/**
 * @since 1.0.0
 * @category models
 */
export type DiskStatus = typeof DiskStatus[keyof typeof DiskStatus]

/**
 * The wire form of a {@link DiskStatus}; any other string is rejected.
 *
 * @since 1.0.0
 * @category schemas
 */
export const DiskStatusSchema: Schema.Literal<["Pending", "Ready", "Broken"]> = Schema.Literal(
  DiskStatus.PENDING,
  DiskStatus.READY,
  DiskStatus.BROKEN
)

/**
 * A disk.
 *
 * @since 1.0.0
 * @category models
 */
export class Disk extends Schema.Class<Disk>("@neuro-sdk/core/Disk")({
  /** `disk-{uuid}`. */
  id: Schema.String,
  /** Capacity in bytes. */
  storage: Schema.Number,
  owner: Schema.String,
  status: DiskStatusSchema,
  /** The current cluster of the config, whatever cluster was asked (as neuro-sdk). */
  clusterName: Schema.String,
  orgName: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  /** When a job last used it (`null` until the first use). */
  lastUsage: Schema.NullOr(Schema.DateFromSelf),
  name: Schema.NullOr(Schema.String),
  /** After this much time unused the platform deletes it (`null`: never). */
  timeoutUnused: Schema.NullOr(Schema.DurationFromSelf),
  /** Bytes in use, refreshed periodically by the platform (`null` when unknown). */
  usedBytes: Schema.NullOr(Schema.Number)
}) {
  /**
   * The values of {@link DiskStatus}, as `Disk.Status.READY`.
   *
   * @since 1.0.0
   */
  static readonly Status = DiskStatus

  /**
   * Wire name of `timeoutUnused`.
   *
   * @since 1.0.0
   */
  get lifeSpan(): Duration.Duration | null {
    return this.timeoutUnused
  }

  /**
   * `disk://{cluster}/[{org}/]{owner}/{id}` (always the id, never the name).
   *
   * @since 1.0.0
   */
  get uri(): URL {
    const org = this.orgName ? `/${this.orgName}` : ""
    return new URL(`disk://${this.clusterName}${org}/${this.owner}/${this.id}`)
  }
}

/**
 * @since 1.0.0
 */
export declare namespace Disk {
  /**
   * @since 1.0.0
   * @category models
   */
  export type Status = DiskStatus
}

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
