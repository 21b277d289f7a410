/**
 * The `Secrets` subsystem: named secret values of a user on a cluster, which jobs receive as
 * environment variables or files. Values can be added and removed, never read back. The
 * counterpart of neuro-sdk's `client.secrets`.
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
import * as internal from "./internal/secrets.js"
import type { Secret } from "./internal/secretsModels.js"

// The models are declared in `internal/secretsModels.ts`, which the implementation
// imports instead of this module (no import cycle).
export { Secret } from "./internal/secretsModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Secrets extends Context.Tag("@neuro-sdk/core/Secrets")<Secrets, Secrets.Service>() {}

/**
 * Everything a secrets call can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type SecretsError = ApiError | ConfigError

/**
 * @since 1.0.0
 * @category models
 */
export interface SecretOptions {
  /** Cluster of the secret (default: the current cluster). */
  readonly clusterName?: string | undefined
  /** Org of the secret: `undefined` = the current org, `null` = no org. */
  readonly orgName?: string | null | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace Secrets {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /**
     * Every secret of the cluster the user can read (own ones of every org, and shared ones); with
     * `orgName`, only those of that org (`null`: those without an org).
     */
    readonly list: (options?: {
      readonly clusterName?: string | undefined
      readonly orgName?: string | null | undefined
    }) => Stream.Stream<Secret, SecretsError>
    /**
     * Create a secret, or replace the value of an existing one. A string value is sent as its
     * UTF-8 bytes.
     */
    readonly add: (
      key: string,
      value: Redacted.Redacted<Uint8Array> | Redacted.Redacted<string>,
      options?: SecretOptions
    ) => Effect.Effect<void, SecretsError>
    /** Delete a secret of the user (`ResourceNotFound` when there is none). */
    readonly rm: (key: string, options?: SecretOptions) => Effect.Effect<void, SecretsError>
  }
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Secrets.Service, never, ApiClient | Config> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Secrets, never, ApiClient | Config> = Layer.effect(Secrets, make)
