/**
 * Ready-made layers for tests: a fresh LocalPlatform with a user already logged in, and the SDK
 * services wired to it over the chosen transport.
 *
 * @since 1.0.0
 */
import * as ApiClient from "@neuro-sdk/core/ApiClient"
import type { Config } from "@neuro-sdk/core/Config"
import * as ConfigData from "@neuro-sdk/core/ConfigData"
import { ConfigStore } from "@neuro-sdk/core/ConfigStore"
import * as Factory from "@neuro-sdk/core/Factory"
import * as NeuroClient from "@neuro-sdk/core/NeuroClient"
import * as Session from "@neuro-sdk/core/Session"
import type { Jobs, LocalTcpServer } from "@neuro-sdk/core/Jobs"
import type { Storage } from "@neuro-sdk/core/Storage"
import type { Parser } from "@neuro-sdk/core/Parser"
import type { Users } from "@neuro-sdk/core/Users"
import type { Secrets } from "@neuro-sdk/core/Secrets"
import type { Disks } from "@neuro-sdk/core/Disks"
import type { ServiceAccounts } from "@neuro-sdk/core/ServiceAccounts"
import type { Buckets } from "@neuro-sdk/core/Buckets"
import type { Images } from "@neuro-sdk/core/Images"
import * as NodeLogin from "@neuro-sdk/node/NodeLogin"
import * as NodePortForward from "@neuro-sdk/node/NodePortForward"
import * as Redacted from "effect/Redacted"
import * as MemoryConfigStore from "./MemoryConfigStore.js"
import * as TestBrowser from "./TestBrowser.js"
import * as AuthToken from "@neuro-sdk/core/AuthToken"
import * as Endpoints from "@neuro-sdk/core/Endpoints"
import * as ServerConfig from "@neuro-sdk/core/ServerConfig"
import type { WebSocketDialer } from "@neuro-sdk/core/WebSocket"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeWebSocket from "@neuro-sdk/node/NodeWebSocket"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
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

/**
 * Everything `NeuroTest.layer` provides.
 *
 * @since 1.0.0
 * @category models
 */
export type Services =
  | ApiClient.ApiClient
  | Config
  | AuthToken.AuthToken
  | Endpoints.Endpoints
  | ConfigStore
  | LocalPlatform.LocalPlatformTag
  | HttpClient.HttpClient
  | WebSocketDialer
  | FileSystem.FileSystem
  | Path.Path
  | Storage
  | Parser
  | Users
  | Secrets
  | Disks
  | ServiceAccounts
  | Buckets
  | Images
  | Jobs
  | LocalTcpServer

/**
 * A fresh LocalPlatform with a user logged in (token login, config kept in memory), and the
 * session services (`Config`, `AuthToken`, `Endpoints`) and `ApiClient` wired to it.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Services> => {
  const platform = layerPlatform(options)
  const store = Layer.effect(
    ConfigStore,
    Effect.gen(function*() {
      const p = yield* LocalPlatform.LocalPlatformTag
      const token = p.token(options.user ?? options.users?.[0])
      const server = yield* ServerConfig.fetch(p.apiUrl, { token }).pipe(Effect.orDie)
      const first = server.clusters[0]
      return yield* MemoryConfigStore.make(
        new ConfigData.ConfigData({
          authConfig: server.auth,
          token,
          expirationTime: Date.now() / 1000 + 3 * 365 * 86400,
          refreshToken: Redacted.make(""),
          url: p.apiUrl.toString(),
          version: ConfigData.CONFIG_VERSION,
          ...(first !== undefined ? { clusterName: first.name } : {}),
          orgName: first?.orgs[0] ?? null,
          clusters: server.clusters
        })
      )
    })
  ).pipe(Layer.provide(platform))
  const infra = Layer.mergeAll(platform, store)
  const factory = Factory.layer.pipe(Layer.provide(Layer.mergeAll(infra, TestBrowser.layer, NodeLogin.layerCallbackServer)))
  const session = Session.layerWith(Effect.succeed({})).pipe(Layer.provide(Layer.merge(infra, factory)), Layer.orDie)
  const base = Layer.mergeAll(Layer.provideMerge(session, infra), NodeFileSystem.layer, NodePath.layer, NodePortForward.layer)
  return Layer.provideMerge(NeuroClient.layer({ apiClient: options.apiClient }), base)
}
