/**
 * The SDK in a web browser: `fetch` for HTTP, the login kept in `localStorage` (or in memory),
 * job logs followed over the monitoring service's plain HTTP `log` endpoint. No `node:` import.
 *
 * ```ts
 * import { Browser, Jobs } from "@neuro-sdk/core"
 *
 * const program = Effect.gen(function*() {
 *   const factory = yield* Factory.Factory
 *   yield* factory.loginWithToken(Redacted.make(token), { url: new URL(apiUrl) })
 *   ...
 * }).pipe(Effect.provide(Browser.layerFactory()))
 * ```
 *
 * What cannot work in a browser, and why:
 * - websockets (`Jobs.monitor`'s `log_ws`, `top`, `attach`, `exec`, `portForward`): the platform
 *   authenticates them with an `Authorization` header, which a browser's `WebSocket` cannot send;
 *   they fail with a `WebSocketError` saying so. Logs: `Browser.followLog` (plain HTTP).
 * - local files (`Storage.uploadFile`/`downloadFile`/`uploadDir`/`downloadDir`, the same of
 *   `Buckets`, `.neuroignore`, `user.toml`/`.neuro.toml`): a page has no file system; use
 *   `Storage.create` (bytes from a `File`'s stream) and `Storage.open`. The user config is empty.
 * - the browser login flow (`Factory.login`): it listens on a local port for the callback, which
 *   a page cannot; log in with a token (`loginWithToken`), or headless (`loginHeadless`) when the
 *   auth server's token endpoint allows the page's origin.
 * - streamed request bodies: browsers send them only over HTTP/2 or 3, so a `Stream` body is
 *   gathered in memory before it is sent (uploads of a file take its size in memory).
 * - the `NEURO_*_SESSION` cookies: a page cannot read `Set-Cookie`; the browser keeps cookies
 *   itself.
 * - every origin the page calls must allow it (CORS): the platform's API, storage and monitoring
 *   URLs (LocalPlatform: `cors: { origins }`).
 *
 * @since 1.0.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ApiClient from "./ApiClient.js"
import { ConfigData, type SessionCookie } from "./ConfigData.js"
import { ConfigStore } from "./ConfigStore.js"
import { type ApiError, AuthError, ConfigError } from "./Errors.js"
import * as Factory from "./Factory.js"
import { CallbackServer } from "./Login.js"
import * as NeuroClient from "./NeuroClient.js"
import { AuthConfigFromStore, ClusterFromStore } from "./ServerConfig.js"
import * as Session from "./Session.js"
import { WebSocketDialer, WebSocketError } from "./WebSocket.js"

/**
 * Where the login is kept: `localStorage`, `sessionStorage`, or anything with their three methods.
 *
 * @since 1.0.0
 * @category models
 */
export interface KeyValueStorage {
  readonly getItem: (key: string) => string | null
  readonly setItem: (key: string, value: string) => void
  readonly removeItem: (key: string) => void
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Where the login is kept (default: `globalThis.localStorage` when there is one, else memory). */
  readonly storage?: KeyValueStorage | "memory" | undefined
  /** The key of the login in `storage` (default `neuro-sdk/config`). */
  readonly key?: string | undefined
  /** Options of the `ApiClient`. */
  readonly apiClient?: ApiClient.Options | undefined
}

/** The stored login: `ConfigData` with the JSON forms of the config database's columns. */
const ConfigJson = Schema.parseJson(Schema.Struct({
  ...ConfigData.fields,
  authConfig: AuthConfigFromStore,
  clusters: Schema.Array(ClusterFromStore)
}))
const COOKIE_MAX_AGE = 300

const memoryStorage = (): KeyValueStorage => {
  const items = new Map<string, string>()
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key)
  }
}

const defaultStorage = (): KeyValueStorage => {
  const local = (globalThis as { readonly localStorage?: KeyValueStorage }).localStorage
  return local ?? memoryStorage()
}

/**
 * A `ConfigStore` over `localStorage` (or `storage`): the login as one JSON item (its tokens
 * included, readable by any script of the page's origin, as `~/.neuro/db` is by the user's
 * processes). Session cookies are kept in memory for 5 minutes.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeConfigStore = (options: Pick<Options, "storage" | "key"> = {}): Effect.Effect<ConfigStore.Service> =>
  Effect.gen(function*() {
    const storage = options.storage === "memory" ? memoryStorage() : options.storage ?? defaultStorage()
    const key = options.key ?? "neuro-sdk/config"
    const path = `storage://${key}`
    const cookies = yield* Ref.make<ReadonlyMap<string, SessionCookie>>(new Map())
    const fail = (description: string) => new ConfigError({ description })
    const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: (e) => fail(`${path}: ${String(e)}`) })
    const load = Effect.flatMap(attempt(() => storage.getItem(key)), (text) =>
      text === null
        ? Effect.fail(fail(`Config at ${path} does not exists. Please login.`))
        : Effect.mapBoth(Schema.decode(ConfigJson)(text), {
          onFailure: () => fail(`Config at ${path} is malformed. Please login again.`),
          onSuccess: (fields) => new ConfigData(fields)
        }))
    const save = (data: ConfigData) =>
      Effect.flatMap(Effect.orDie(Schema.encode(ConfigJson)(data)), (text) => attempt(() => storage.setItem(key, text)))
    return {
      path,
      exists: Effect.map(Effect.option(attempt(() => storage.getItem(key))), (v) => v._tag === "Some" && v.value !== null),
      load,
      save,
      updateToken: (u) =>
        Effect.flatMap(load, (d) =>
          save(new ConfigData({ ...d, token: u.token, expirationTime: u.expirationTime, refreshToken: u.refreshToken }))),
      remove: Effect.zipRight(attempt(() => storage.removeItem(key)), Ref.set(cookies, new Map())),
      loadRecovery: Effect.map(load, (d) => ({
        refreshToken: d.refreshToken,
        url: d.url,
        clusterName: d.clusterName ?? null,
        orgName: d.orgName
      })),
      loadCookies: Effect.gen(function*() {
        const now = (yield* Clock.currentTimeMillis) / 1000
        return [...(yield* Ref.get(cookies)).values()].filter((c) => c.timestamp >= now - COOKIE_MAX_AGE)
      }),
      saveCookies: (saved) =>
        Ref.update(cookies, (old) => {
          const next = new Map(old)
          for (const c of saved) next.set(c.name, c)
          return next
        })
    }
  })

/**
 * `makeConfigStore` as a layer.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerConfigStore = (options: Pick<Options, "storage" | "key"> = {}): Layer.Layer<ConfigStore> =>
  Layer.effect(ConfigStore, makeConfigStore(options))

/**
 * The platform's websockets need an `Authorization` header, which a browser's `WebSocket` cannot
 * send: every dial fails, saying so.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerWebSocketDialer: Layer.Layer<WebSocketDialer> = Layer.succeed(WebSocketDialer, {
  dial: (url) =>
    Effect.fail(
      new WebSocketError({
        description: `${url}: the platform authenticates websockets with an Authorization header, which a browser cannot send`
      })
    )
})

/**
 * No local callback server in a page: `Factory.login` fails; use `loginWithToken` or
 * `loginHeadless`.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerCallbackServer: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, {
  listen: () =>
    Effect.fail(new AuthError({ description: "a web page cannot listen for the login callback: log in with a token or headless" }))
})

/**
 * `fetch`, with `Stream` request bodies gathered first (browsers stream request bodies only over
 * HTTP/2 and 3).
 *
 * @since 1.0.0
 * @category layers
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) =>
    HttpClient.mapRequestEffect(client, (request) =>
      request.body._tag !== "Stream"
        ? Effect.succeed(request)
        : Effect.map(Effect.orDie(Stream.runCollect(request.body.stream)), (chunks) => {
          const parts = Chunk.toReadonlyArray(chunks)
          const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
          let offset = 0
          for (const part of parts) {
            bytes.set(part, offset)
            offset += part.length
          }
          return HttpClientRequest.setBody(request, HttpBody.uint8Array(bytes, request.body.contentType))
        })))
).pipe(Layer.provide(FetchHttpClient.layer))

const infrastructure = (options: Options) =>
  Layer.mergeAll(
    layerConfigStore(options),
    layerHttpClient,
    layerWebSocketDialer,
    layerCallbackServer,
    FileSystem.layerNoop({}),
    Path.layer
  )

/**
 * `Factory` (login with a token or headless, logout) over the browser's storage, with the
 * infrastructure (`ConfigStore`, `HttpClient`, ...).
 *
 * @since 1.0.0
 * @category layers
 */
export const layerFactory = (options: Options = {}) => {
  const infra = infrastructure(options)
  return Layer.merge(Factory.layer.pipe(Layer.provide(infra)), infra)
}

/**
 * Every service of the SDK over the stored login (as `NeuroNode.layer` on Node), without user
 * config files.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}) => {
  const base = layerFactory(options)
  const session = Session.layerWith(Effect.succeed({})).pipe(Layer.provide(base))
  return Layer.provideMerge(NeuroClient.layer({ apiClient: options.apiClient }), Layer.provideMerge(session, base))
}

/**
 * A job's log as it is written, until the job ends, over the monitoring service's plain HTTP
 * `log` endpoint (the browser's counterpart of `Jobs.monitor`, which uses the `log_ws` websocket).
 *
 * @since 1.0.0
 * @category jobs
 */
export const followLog = (
  id: string,
  options: { readonly clusterName?: string | undefined } = {}
): Stream.Stream<Uint8Array, ApiError | ConfigError, ApiClient.ApiClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const api = yield* ApiClient.ApiClient
    const url = yield* api.service("monitoring", { clusterName: options.clusterName }, id, "log")
    return api.bytes(HttpClientRequest.get(url), { timeout: null })
  }))
