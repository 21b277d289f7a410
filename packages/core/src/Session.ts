/**
 * A logged-in session: the `Config`, `AuthToken` and `Endpoints` services over the stored login,
 * opened like neuro-sdk's `Factory.get()` (login from `NEURO_PASSED_CONFIG` when nothing is stored,
 * validation, recovery of a broken config with the refresh token, one `/config` check when the
 * stored format version differs). The access token is refreshed single-flight when it expires and
 * the result is persisted.
 *
 * @since 1.0.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { HttpClient as HttpClientTag } from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuthToken } from "./AuthToken.js"
import type { UserConfigData } from "./Config.js"
import { Config } from "./Config.js"
import type { ConfigStore } from "./ConfigStore.js"
import { Endpoints } from "./Endpoints.js"
import type {
  AuthError,
  ClientError,
  ConfigError,
  InvalidInputError,
  MalformedResponse,
  NetworkError,
  ServerNotAvailable
} from "./Errors.js"
import { Factory } from "./Factory.js"
import * as cookies from "./internal/cookies.js"
import * as internal from "./internal/session.js"

/**
 * What opening a session can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type SessionError =
  | ConfigError
  | AuthError
  | ClientError
  | ServerNotAvailable
  | NetworkError
  | MalformedResponse
  | InvalidInputError

/**
 * The session services, reading the user TOML configuration with the given effect.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerWith = <R>(
  userConfig: Effect.Effect<UserConfigData, ConfigError, R>
): Layer.Layer<Config | AuthToken | Endpoints, SessionError, ConfigStore | HttpClient.HttpClient | Factory | R> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      const factory = yield* Factory
      const services = yield* internal.open({ userConfig: Effect.provide(userConfig, context), factory })
      return Context.make(Config, services.config).pipe(
        Context.add(AuthToken, services.authToken),
        Context.add(Endpoints, services.endpoints)
      )
    })
  )

/**
 * A cookie jar around `HttpClient`: the platform's cookies are sent back to matching hosts and its
 * sticky-session cookies (`NEURO_*_SESSION`) are loaded from and saved to the config database, so
 * a new client reuses the load balancer's session (neuro-sdk keeps them 5 minutes).
 *
 * @since 1.0.0
 * @category layers
 */
export const layerCookies: Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | ConfigStore> = Layer.scoped(
  HttpClientTag,
  cookies.make
)
