/**
 * The `Config` subsystem: who is logged in, where (clusters, orgs, presets, service URLs), and the
 * user's TOML configuration.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type {
  AuthError,
  ClientError,
  ConfigError,
  InvalidInputError,
  MalformedResponse,
  NetworkError,
  ServerNotAvailable
} from "./Errors.js"
import type { Cluster, Preset } from "./ServerConfig.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Config extends Context.Tag("@neuro-sdk/core/Config")<Config, Config.Service>() {}

/**
 * The merged user configuration (`user.toml` + `.neuro.toml`), as plain TOML data.
 *
 * @since 1.0.0
 * @category models
 */
export type UserConfigData = { readonly [section: string]: unknown }

/**
 * @since 1.0.0
 */
export declare namespace Config {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** User name from the access token. */
    readonly username: Effect.Effect<string, ConfigError>
    /** Available clusters by name, in server order. */
    readonly clusters: Effect.Effect<ReadonlyMap<string, Cluster>>
    /** Current cluster: `.neuro.toml` `[job] cluster-name`, else the stored one. */
    readonly clusterName: Effect.Effect<string, ConfigError>
    /** Orgs of the current cluster (`null` = no org). */
    readonly clusterOrgs: Effect.Effect<ReadonlyArray<string | null>, ConfigError>
    /** Current org: `.neuro.toml` `[job] org-name` (`"NO_ORG"` = none), else the stored one. */
    readonly orgName: Effect.Effect<string | null, ConfigError>
    /** Presets of the current cluster, by name. */
    readonly presets: Effect.Effect<ReadonlyMap<string, Preset>, ConfigError>
    /** A cluster by name (`ConfigError` naming the available ones when unknown). */
    readonly getCluster: (name: string) => Effect.Effect<Cluster, ConfigError>
    readonly apiUrl: URL
    readonly adminUrl: Effect.Effect<URL | undefined>
    readonly serviceAccountsUrl: URL
    readonly registryUrl: Effect.Effect<URL, ConfigError>
    readonly storageUrl: Effect.Effect<URL, ConfigError>
    readonly monitoringUrl: Effect.Effect<URL, ConfigError>
    readonly secretsUrl: Effect.Effect<URL, ConfigError>
    readonly diskApiUrl: Effect.Effect<URL, ConfigError>
    readonly bucketApiUrl: Effect.Effect<URL, ConfigError>
    /** A valid access token (refreshed when expired). */
    readonly token: Effect.Effect<Redacted.Redacted<string>, AuthError | NetworkError | MalformedResponse>
    /** Re-read the clusters from `/config` and save them. */
    readonly fetch: Effect.Effect<
      void,
      ConfigError | AuthError | ClientError | ServerNotAvailable | NetworkError | MalformedResponse | InvalidInputError
    >
    /** Make another cluster current (and pick its org), persisted. */
    readonly switchCluster: (name: string) => Effect.Effect<void, ConfigError>
    /** Make another org current (`null` = no org), persisted. */
    readonly switchOrg: (name: string | null) => Effect.Effect<void, ConfigError>
    /** The merged user TOML configuration, re-read on each call. */
    readonly getUserConfig: Effect.Effect<UserConfigData, ConfigError>
  }
}
