/**
 * Pieces of the browser login the platform cannot do for us: showing the authorization page to the
 * user (`BrowserOpener`), and receiving the authorization code on a local callback address
 * (`CallbackServer`). Node provides real ones; tests use a "browser" that follows the redirects
 * with an HTTP client.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { AuthError } from "./Errors.js"

/**
 * Shows a URL to the user (the Node implementation opens the system browser).
 *
 * @since 1.0.0
 * @category tags
 */
export class BrowserOpener extends Context.Tag("@neuro-sdk/core/BrowserOpener")<BrowserOpener, BrowserOpener.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace BrowserOpener {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    readonly open: (url: URL) => Effect.Effect<void, AuthError>
  }
}

/**
 * A local HTTP server receiving the OAuth redirect (`GET /?code=...`).
 *
 * @since 1.0.0
 * @category tags
 */
export class CallbackServer extends Context.Tag("@neuro-sdk/core/CallbackServer")<CallbackServer, CallbackServer.Service>() {}

/**
 * A listening callback server.
 *
 * @since 1.0.0
 * @category models
 */
export interface Callback {
  /** `http://<host>:<port>` (no trailing slash): the `redirect_uri` to send. */
  readonly redirectUri: string
  /** The authorization code, once the browser has been redirected to the server. */
  readonly code: Effect.Effect<string, AuthError>
}

/**
 * @since 1.0.0
 */
export declare namespace CallbackServer {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /**
     * Listen on the host of the first callback URL, on the first free port among the callback URLs
     * (neuro-sdk: 54540, 54541, 54542). Stops when the scope closes.
     */
    readonly listen: (options: {
      readonly callbackUrls: ReadonlyArray<string>
      readonly successRedirectUrl?: string | undefined
    }) => Effect.Effect<Callback, AuthError, Scope.Scope>
  }
}
