/**
 * Logging in and out: the browser (authorization code + PKCE), headless, token and passed-config
 * logins of neuro-sdk 23.2, writing the same config database the Python CLI writes.
 *
 * Getting a logged-in client is a layer (`NeuroNode.layer()` in `@neuro-sdk/node`), the
 * counterpart of `neuro_sdk.get()`.
 *
 * @since 1.0.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { ConfigStore } from "./ConfigStore.js"
import type {
  AuthError,
  ClientError,
  ConfigError,
  InvalidInputError,
  MalformedResponse,
  NetworkError,
  ServerNotAvailable
} from "./Errors.js"
import * as internal from "./internal/factory.js"
import type { CallbackServer } from "./Login.js"

/**
 * The API URL used when none is given (neuro-sdk's `DEFAULT_API_URL`).
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_API_URL = "https://staging.neu.ro/api/v1"

/**
 * Environment variable holding the config of a job started with `passConfig`.
 *
 * @since 1.0.0
 * @category constants
 */
export const PASS_CONFIG_ENV_NAME = "NEURO_PASSED_CONFIG"

/**
 * Everything a login can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type LoginError =
  | ConfigError
  | AuthError
  | ClientError
  | ServerNotAvailable
  | NetworkError
  | MalformedResponse
  | InvalidInputError

/**
 * @since 1.0.0
 * @category models
 */
export interface LoginOptions {
  /** API URL of the platform (default `DEFAULT_API_URL`). */
  readonly url?: string | URL | undefined
  /**
   * How long each request of the login (`/config`, the token endpoint) may wait for its answer:
   * default 60 s (neuro-sdk's `DEFAULT_TIMEOUT`); `null` for no limit.
   */
  readonly timeout?: Duration.DurationInput | null | undefined
}

/**
 * Options of the browser login.
 *
 * @since 1.0.0
 * @category models
 */
export interface BrowserLoginOptions<E = never> extends LoginOptions {
  /**
   * Shows the authorization page to the user (neuro-sdk's `show_browser_cb`); default the
   * `BrowserOpener` of the context (`NeuroNode.layerFactory`: the system browser).
   */
  readonly showBrowser?: ((url: URL) => Effect.Effect<void, E>) | undefined
  /**
   * How long to wait for the browser to come back to the local callback with the code: default
   * 60 s (neuro-sdk's fixed wait).
   */
  readonly codeTimeout?: Duration.DurationInput | undefined
}

/**
 * @since 1.0.0
 * @category tags
 */
export class Factory extends Context.Tag("@neuro-sdk/core/Factory")<Factory, Factory.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace Factory {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The config directory. */
    readonly path: string
    /** Whether a login is stored. */
    readonly isConfigPresent: Effect.Effect<boolean>
    /**
     * Browser login: authorization code + PKCE, the page shown by `showBrowser` (else the
     * `BrowserOpener` of the context; with neither, an `AuthError`) and the code received by a
     * local `CallbackServer`; a platform without auth (its anonymous `/config` already lists
     * clusters) gets neuro-sdk's standalone login instead.
     */
    readonly login: <E = never>(options?: BrowserLoginOptions<E>) => Effect.Effect<void, LoginError | E>
    /** Login where the user pastes the code shown at the headless callback page. */
    readonly loginHeadless: <E>(
      getAuthCode: (url: URL) => Effect.Effect<string, E>,
      options?: LoginOptions
    ) => Effect.Effect<void, LoginError | E>
    /** Login with an access token (e.g. a service-account token). */
    readonly loginWithToken: (token: Redacted.Redacted<string>, options?: LoginOptions) => Effect.Effect<void, LoginError>
    /** Login inside a job started with `passConfig` (`NEURO_PASSED_CONFIG`, or the given data). */
    readonly loginWithPassedConfig: (
      configData?: Redacted.Redacted<string>,
      options?: { readonly timeout?: Duration.DurationInput | null | undefined }
    ) => Effect.Effect<void, LoginError>
    /** Forget the login; with `showBrowser`, first show the provider's logout page. */
    readonly logout: <E = never>(options?: {
      readonly showBrowser?: ((url: URL) => Effect.Effect<void, E>) | undefined
    }) => Effect.Effect<void, ConfigError | E>
  }
}

/**
 * The factory over a config store and a transport. The `CallbackServer` receives the browser
 * login's code; a `BrowserOpener` in the context, when there is one, shows the authorization
 * page unless the call passes `showBrowser`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Factory.Service, never, ConfigStore | HttpClient.HttpClient | CallbackServer> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Factory, never, ConfigStore | HttpClient.HttpClient | CallbackServer> = Layer.effect(Factory, make)
