/**
 * Where the login state is persisted. The Node implementation is the SQLite database shared with
 * the Python CLI (`~/.neuro/db`); tests use an in-memory one.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { ConfigData, SessionCookie } from "./ConfigData.js"
import type { ConfigError } from "./Errors.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class ConfigStore extends Context.Tag("@neuro-sdk/core/ConfigStore")<ConfigStore, ConfigStore.Service>() {}

/**
 * What recovery can still read from a database that no longer validates.
 *
 * @since 1.0.0
 * @category models
 */
export interface RecoveryData {
  readonly refreshToken: Redacted.Redacted<string>
  readonly url: string
  readonly clusterName: string | null
  readonly orgName: string | null
}

/**
 * @since 1.0.0
 */
export declare namespace ConfigStore {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The config directory (for messages). */
    readonly path: string
    /** Whether a login is stored (`<dir>/db` exists). */
    readonly exists: Effect.Effect<boolean>
    /** Load and validate the stored login; every problem is a `ConfigError` telling what to do. */
    readonly load: Effect.Effect<ConfigData, ConfigError>
    /** Replace the stored login (one row, written atomically). */
    readonly save: (data: ConfigData) => Effect.Effect<void, ConfigError>
    /** Store a refreshed token (token columns only). */
    readonly updateToken: (update: {
      readonly token: Redacted.Redacted<string>
      readonly expirationTime: number
      readonly refreshToken: Redacted.Redacted<string>
    }) => Effect.Effect<void, ConfigError>
    /** Erase the stored login (logout). */
    readonly remove: Effect.Effect<void, ConfigError>
    /** Read what recovery needs, without schema validation. */
    readonly loadRecovery: Effect.Effect<RecoveryData, ConfigError>
    /** Session cookies saved within the last 5 minutes, by name. */
    readonly loadCookies: Effect.Effect<ReadonlyArray<SessionCookie>, ConfigError>
    /** Save `NEURO_*_SESSION` cookies and drop ones older than 5 minutes. */
    readonly saveCookies: (cookies: ReadonlyArray<SessionCookie>) => Effect.Effect<void, ConfigError>
  }
}
