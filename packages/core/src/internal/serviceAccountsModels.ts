/**
 * The models of `ServiceAccounts.ts`: service accounts. They are declared here and re-exported by
 * `ServiceAccounts.ts`, whose public API they are (so they carry no internal tag).
 * `internal/serviceAccounts.ts` uses them from here: this module imports nothing from
 * `ServiceAccounts.ts`, which imports the implementation, so there is no import cycle.
 */
import * as Schema from "effect/Schema"

/**
 * A service account (never its token).
 *
 * @since 1.0.0
 * @category models
 */
export class ServiceAccount extends Schema.Class<ServiceAccount>("@neuro-sdk/core/ServiceAccount")({
  /** `service-account-{uuid}`. */
  id: Schema.String,
  name: Schema.NullOr(Schema.String),
  owner: Schema.String,
  /** The cluster its token logs into. */
  defaultCluster: Schema.String,
  /** The role the account acts as: `{owner}/service-accounts/{name or random hex}`. */
  role: Schema.String,
  createdAt: Schema.DateFromSelf,
  /** Whether the account's role was deleted (its token no longer works); `false` when the API does not say. */
  roleDeleted: Schema.Boolean
}) {}
