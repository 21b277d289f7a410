/**
 * The models of `Disks.ts`: disk statuses and disks. They are declared here and re-exported by
 * `Disks.ts`, whose public API they are (so they carry no internal tag). `internal/disks.ts` uses
 * them from here: this module imports nothing from `Disks.ts`, which imports the implementation,
 * so there is no import cycle.
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

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
