/**
 * The models of `Secrets.ts`: secrets. They are declared here and re-exported by `Secrets.ts`,
 * whose public API they are (so they carry no internal tag). `internal/secrets.ts` uses them from
 * here: this module imports nothing from `Secrets.ts`, which imports the implementation, so there
 * is no import cycle.
 */
import * as Schema from "effect/Schema"

/**
 * A secret (its name and owner; the value never leaves the platform).
 *
 * @since 1.0.0
 * @category models
 */
export class Secret extends Schema.Class<Secret>("@neuro-sdk/core/Secret")({
  key: Schema.String,
  /** The user or role (`alice/service-accounts/ci`) that owns it. */
  owner: Schema.String,
  /** The `clusterName` the listing was made for (not on the wire). */
  clusterName: Schema.String,
  orgName: Schema.NullOr(Schema.String)
}) {
  /**
   * `secret://{cluster}/[{org}/]{owner}/{key}`: how jobs and permissions refer to it.
   *
   * @since 1.0.0
   */
  get uri(): URL {
    const org = this.orgName ? `/${this.orgName}` : ""
    return new URL(`secret://${this.clusterName}${org}/${this.owner}/${this.key}`)
  }
}
