/**
 * The whole SDK on Node, over the login stored in the config directory — neuro-sdk's
 * `Factory(path).get()`. A `neuro login` done with the Python CLI is picked up as it is.
 *
 * ```ts
 * import { NeuroNode } from "@neuro-sdk/node"
 * import { Jobs } from "@neuro-sdk/core"
 *
 * const program = Effect.gen(function*() { ... }).pipe(Effect.provide(NeuroNode.layer()))
 * ```
 *
 * @since 1.0.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ApiClient from "@neuro-sdk/core/ApiClient"
import type { ConfigStore } from "@neuro-sdk/core/ConfigStore"
import type { ConfigError } from "@neuro-sdk/core/Errors"
import * as Factory from "@neuro-sdk/core/Factory"
import * as NeuroClient from "@neuro-sdk/core/NeuroClient"
import * as Plugins from "@neuro-sdk/core/Plugins"
import * as Session from "@neuro-sdk/core/Session"
import * as UserConfig from "@neuro-sdk/core/UserConfig"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as NodeConfigStore from "./NodeConfigStore.js"
import * as NodeDockerDaemon from "./NodeDockerDaemon.js"
import * as NodeHttp from "./NodeHttp.js"
import * as NodeLocalFiles from "./NodeLocalFiles.js"
import * as NodeLogin from "./NodeLogin.js"
import * as NodePlugins from "./NodePlugins.js"
import * as NodePortForward from "./NodePortForward.js"
import * as NodeTransferIO from "./NodeTransferIO.js"
import * as NodeUserConfig from "./NodeUserConfig.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** The config directory (default: `NEUROMATION_CONFIG`, else `~/.neuro`). */
  readonly path?: string | undefined
  /** Where `.neuro.toml` is looked for (upward); default the current directory. */
  readonly cwd?: string | undefined
  /**
   * The plugins whose config keys are accepted: by default the neuro CLI's keys and installed
   * packages with the `neuro-sdk-plugin` keyword.
   */
  readonly plugins?: Layer.Layer<Plugins.Plugins, ConfigError> | undefined
  readonly apiClient?: ApiClient.Options | undefined
  /**
   * The transport: `HttpClient` and `WebSocketDialer` (default `NodeHttp.layer`: `node:http` with
   * keep-alive, and `ws`). The session-cookie jar is put around it.
   */
  readonly transport?: Layer.Layer<HttpClient.HttpClient | WebSocketDialer> | undefined
}

/**
 * Config store, transport (with the session-cookie jar), Node platform services, the local TCP
 * listener of `Jobs.portForward`, and plugins:
 * what both logging in and using a login need.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerInfrastructure = (options: Options = {}) => {
  const store = NodeConfigStore.layer({ path: options.path })
  const transport = options.transport ?? NodeHttp.layer
  const http = Session.layerCookies.pipe(Layer.provide(Layer.merge(transport, store)))
  // transfers: node:fs per file, and their own HTTP/1.1 fast path unless another transport was chosen
  const bytes = options.transport === undefined ? Layer.merge(NodeTransferIO.layer(options.apiClient), NodeLocalFiles.layer) : NodeLocalFiles.layer
  // the cookie jar's HttpClient comes last, so it is the one provided
  return Layer.mergeAll(store, transport, http, NodeContext.layer, NodePortForward.layer, options.plugins ?? NodePlugins.layer(), NodeDockerDaemon.layer(), bytes)
}

/**
 * `Factory` (login, logout) over the config directory, with the system browser and the local
 * callback server for the browser flow.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerFactory = (
  options: Options = {}
): Layer.Layer<Factory.Factory | ConfigStore | HttpClient.HttpClient | WebSocketDialer | NodeContext.NodeContext | Plugins.Plugins, ConfigError> => {
  const infra = layerInfrastructure(options)
  const factory = Factory.layer.pipe(
    Layer.provide(Layer.mergeAll(infra, NodeLogin.layerBrowserOpener, NodeLogin.layerCallbackServer))
  )
  return Layer.merge(factory, infra)
}

/**
 * Every service of the SDK over the stored login: `Config`, `AuthToken`, `ApiClient` and the
 * subsystems, plus `Factory` for logout and re-login. Fails with `ConfigError` when there is no
 * usable login (`Config at ... does not exists. Please login.`).
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}) => {
  const configDir = NodeConfigStore.resolvePath(options.path)
  const base = layerFactory({ ...options, path: configDir })
  // the user config is re-read only when a watched directory reports a change
  const session = Layer.unwrapScoped(
    Effect.map(
      UserConfig.loadWatched({ configDir, cwd: options.cwd, watch: NodeUserConfig.watch }),
      (userConfig) => Session.layerWith(userConfig)
    )
  ).pipe(Layer.provide(base))
  return Layer.provideMerge(NeuroClient.layer({ apiClient: options.apiClient }), Layer.provideMerge(session, base))
}

/**
 * Options of the one-call login helpers: where the login is stored (`Options`) and how to log in.
 *
 * @since 1.0.0
 * @category models
 */
export type LoginOptions<E = never> = Options & Factory.BrowserLoginOptions<E>

/**
 * Log in through the browser in one call (neuro-sdk `Factory(path).login(show_browser_cb)`):
 * the system browser, or `showBrowser`, shows the authorization page; the login is saved in the
 * config directory.
 *
 * ```ts
 * yield* NeuroNode.login({ url: "https://api.example.org/api/v1" })
 * ```
 *
 * @since 1.0.0
 * @category login
 */
export const login = <E = never>(options: LoginOptions<E> = {}): Effect.Effect<void, Factory.LoginError | E> =>
  Effect.flatMap(Factory.Factory, (factory) => factory.login(options)).pipe(Effect.provide(layerFactory(options)))

/**
 * Log in without a local browser in one call (neuro-sdk `login_headless`): `getAuthCode` shows
 * the URL to the user and returns the code they paste.
 *
 * @since 1.0.0
 * @category login
 */
export const loginHeadless = <E>(
  getAuthCode: (url: URL) => Effect.Effect<string, E>,
  options: Options & Factory.LoginOptions = {}
): Effect.Effect<void, Factory.LoginError | E> =>
  Effect.flatMap(Factory.Factory, (factory) => factory.loginHeadless(getAuthCode, options)).pipe(
    Effect.provide(layerFactory(options))
  )

/**
 * Log in with a token (e.g. a service account's) in one call (neuro-sdk `login_with_token`).
 *
 * @since 1.0.0
 * @category login
 */
export const loginWithToken = (
  token: Redacted.Redacted<string>,
  options: Options & Factory.LoginOptions = {}
): Effect.Effect<void, Factory.LoginError> =>
  Effect.flatMap(Factory.Factory, (factory) => factory.loginWithToken(token, options)).pipe(
    Effect.provide(layerFactory(options))
  )

/**
 * Forget the stored login in one call (neuro-sdk `logout`); with `showBrowser`, first show the
 * provider's logout page.
 *
 * @since 1.0.0
 * @category login
 */
export const logout = <E = never>(
  options: Options & { readonly showBrowser?: ((url: URL) => Effect.Effect<void, E>) | undefined } = {}
): Effect.Effect<void, ConfigError | E> =>
  Effect.flatMap(Factory.Factory, (factory) => factory.logout(options)).pipe(Effect.provide(layerFactory(options)))

/**
 * The one line a failed program prints: `<tag>: <message>` of the error it failed with (an
 * expected failure); an unexpected one (a defect) keeps its whole cause, stack included.
 *
 * @since 1.0.0
 * @category running
 */
export const failureLine = <E>(cause: Cause.Cause<E>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return Cause.pretty(cause)
  const error: unknown = failure.value
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : "Error"
    const message = "message" in error && typeof error.message === "string" ? error.message : ""
    return message === "" ? tag : `${tag}: ${message}`
  }
  return `Error: ${String(error)}`
}

/**
 * Run a program as a Node.js main (`NodeRuntime.runMain`: interrupted by SIGINT/SIGTERM, its
 * finalizers run): a failure prints one line on stderr (`failureLine`) and exits with code 1.
 *
 * ```ts
 * NeuroNode.runMain(program.pipe(Effect.provide(NeuroNode.layer())))
 * ```
 *
 * @since 1.0.0
 * @category running
 */
export const runMain = <A, E>(program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    Effect.tapErrorCause(program, (cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => process.stderr.write(`${failureLine(cause)}\n`))),
    { disableErrorReporting: true }
  )
