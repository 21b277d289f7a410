/**
 * The `ServiceAccounts` subsystem: non-personal accounts of a user (for CI and automation). Each
 * account is a role `{owner}/service-accounts/{name}` with its own token, which works as a login
 * (`Factory.loginWithPassedConfig`). The counterpart of neuro-sdk's `client.service_accounts`.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError } from "./Errors.js"
import * as internal from "./internal/serviceAccounts.js"
import type { ServiceAccount } from "./internal/serviceAccountsModels.js"

// The models are declared in `internal/serviceAccountsModels.ts`, which the implementation
// imports instead of this module (no import cycle).
export { ServiceAccount } from "./internal/serviceAccountsModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class ServiceAccounts extends Context.Tag("@neuro-sdk/core/ServiceAccounts")<ServiceAccounts, ServiceAccounts.Service>() {}

/**
 * A new account and its token: base64 of `{"token", "cluster", "url"}`, the format of
 * `NEURO_PASSED_CONFIG`. This is the only time the platform shows the token.
 *
 * @since 1.0.0
 * @category models
 */
export interface CreatedServiceAccount {
  readonly account: ServiceAccount
  readonly token: Redacted.Redacted<string>
}

/**
 * Everything a service-accounts call can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type ServiceAccountsError = ApiError | ConfigError

/**
 * @since 1.0.0
 */
export declare namespace ServiceAccounts {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The user's service accounts. */
    readonly list: () => Stream.Stream<ServiceAccount, ServiceAccountsError>
    /** Create an account (name optional; default cluster: the current one). */
    readonly create: (options?: {
      readonly name?: string | null | undefined
      readonly defaultCluster?: string | undefined
    }) => Effect.Effect<CreatedServiceAccount, ServiceAccountsError>
    /** An account by id or name. */
    readonly get: (idOrName: string) => Effect.Effect<ServiceAccount, ServiceAccountsError>
    /** Delete an account by id or name; its token stops working. */
    readonly rm: (idOrName: string) => Effect.Effect<void, ServiceAccountsError>
  }
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<ServiceAccounts.Service, never, ApiClient | Config> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<ServiceAccounts, never, ApiClient | Config> = Layer.effect(ServiceAccounts, make)
