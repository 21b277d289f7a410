/**
 * The access token used for platform calls.
 *
 * The login subsystem provides an implementation that refreshes an expired token (single-flight)
 * and persists the result; `AuthToken.layerStatic` serves a fixed token.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { AuthError, MalformedResponse, NetworkError } from "./Errors.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class AuthToken extends Context.Tag("@neuro-sdk/core/AuthToken")<AuthToken, AuthToken.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace AuthToken {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** A valid access token, refreshed first when it has expired. */
    readonly token: Effect.Effect<Redacted.Redacted<string>, AuthError | NetworkError | MalformedResponse>
  }
}

/**
 * A fixed token (e.g. from `NEURO_TOKEN`, a service account, or a test).
 *
 * @since 1.0.0
 * @category layers
 */
export const layerStatic = (token: Redacted.Redacted<string>): Layer.Layer<AuthToken> =>
  Layer.succeed(AuthToken, AuthToken.of({ token: Effect.succeed(token) }))
