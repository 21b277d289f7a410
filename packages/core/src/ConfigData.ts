/**
 * The persisted login state: what neuro-sdk 23.2 keeps in the `main` table of its config database.
 *
 * @since 1.0.0
 */
import * as Schema from "effect/Schema"
import { AuthConfig, Cluster } from "./ServerConfig.js"

/**
 * Config format written by this SDK (the neuro-sdk version whose format it speaks): the Python SDK
 * does not re-fetch `/config` for a database stamped with it.
 *
 * @since 1.0.0
 * @category constants
 */
export const CONFIG_VERSION = "23.2.0"

/**
 * The login state of one user against one platform.
 *
 * @since 1.0.0
 * @category models
 */
export class ConfigData extends Schema.Class<ConfigData>("@neuro-sdk/core/ConfigData")({
  authConfig: AuthConfig,
  /** Access token (a JWT). */
  token: Schema.Redacted(Schema.String),
  /** Unix seconds when the token counts as expired. */
  expirationTime: Schema.Number,
  /** OAuth refresh token; empty after token logins. */
  refreshToken: Schema.Redacted(Schema.String),
  /** API URL given at login. */
  url: Schema.String,
  adminUrl: Schema.optional(Schema.String),
  version: Schema.String,
  /** Current cluster; absent only when the server listed none. */
  clusterName: Schema.optional(Schema.String),
  /** Current org; `null` = no org. */
  orgName: Schema.NullOr(Schema.String),
  clusters: Schema.Array(Cluster)
}) {}

/**
 * A sticky-session cookie kept between client runs (`cookie_session` table).
 *
 * @since 1.0.0
 * @category models
 */
export class SessionCookie extends Schema.Class<SessionCookie>("@neuro-sdk/core/SessionCookie")({
  name: Schema.String,
  domain: Schema.String,
  path: Schema.String,
  value: Schema.String,
  /** Unix seconds of the save. */
  timestamp: Schema.Number
}) {}
