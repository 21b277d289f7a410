/**
 * Ready-made layers for tests: a fresh LocalPlatform with a user already logged in, and the SDK
 * services wired to it over the chosen transport.
 *
 * @since 1.0.0
 */
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import * as AuthToken from "@neuro-sdk/core/AuthToken"
import * as Endpoints from "@neuro-sdk/core/Endpoints"
import * as ServerConfig from "@neuro-sdk/core/ServerConfig"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeWebSocket from "@neuro-sdk/node/NodeWebSocket"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LocalPlatform from "./LocalPlatform.js"

/**
 * How the SDK reaches the emulator: a real loopback socket, or in-process calls.
 *
 * @since 1.0.0
 * @category models
 */
export type Transport = "socket" | "in-process"

/**
 * @since 1.0.0
 * @category models
 */
export interface Options extends LocalPlatform.ServeOptions {
  readonly transport?: Transport | undefined
  /** The logged-in user (default: the first of `users`, or `user`). */
  readonly user?: string | undefined
  /** Options of the `ApiClient`. */
  readonly apiClient?: ApiClient.Options | undefined
}

/**
 * The LocalPlatform over the chosen transport, with the matching `HttpClient` and websocket dialer.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerPlatform = (
  options: Options = {}
): Layer.Layer<LocalPlatform.LocalPlatformTag | HttpClient.HttpClient | WebSocketDialer> => {
  if (options.transport === "in-process") {
    const platform = LocalPlatform.layer(options)
    return Layer.mergeAll(platform, LocalPlatform.layerHttpClient.pipe(Layer.provide(platform)), NodeWebSocket.layer)
  }
  return Layer.merge(Layer.orDie(LocalPlatform.layerServe(options)), NodeHttp.layer)
}

/**
 * `ApiClient` logged in as a user of a fresh LocalPlatform (token from the platform, endpoints
 * from its `/config`), plus the platform itself for assertions and fault injection.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerApiClient = (
  options: Options = {}
): Layer.Layer<ApiClient.ApiClient | LocalPlatform.LocalPlatformTag | HttpClient.HttpClient | AuthToken.AuthToken> => {
  const session = Layer.unwrapEffect(
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.LocalPlatformTag
      const token = platform.token(options.user ?? options.users?.[0])
      const config = yield* ServerConfig.fetch(platform.apiUrl, { token }).pipe(Effect.orDie)
      return Layer.merge(
        AuthToken.layerStatic(token),
        Endpoints.layer({ apiUrl: platform.apiUrl, clusters: config.clusters })
      )
    })
  )
  const base = layerPlatform(options)
  const withSession = Layer.provideMerge(session, base)
  return Layer.provideMerge(ApiClient.layer(options.apiClient), withSession)
}
