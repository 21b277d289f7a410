import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as EffectConfig from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { ConfigStore } from "../ConfigStore.js"
import { AuthError, ConfigError } from "../Errors.js"
import type * as FactoryModule from "../Factory.js"
import { BrowserOpener, CallbackServer } from "../Login.js"
import * as ServerConfig from "../ServerConfig.js"
import * as configState from "./configState.js"
import * as oauth from "./oauth.js"

const DEFAULT_API_URL = "https://staging.neu.ro/api/v1"
const PASS_CONFIG_ENV_NAME = "NEURO_PASSED_CONFIG"

const PassedConfig = Schema.parseJson(Schema.Struct({ token: Schema.String, cluster: Schema.String, url: Schema.String }))

const decodeBase64 = (data: string): string | undefined => {
  const clean = data.trim()
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined
  try {
    const binary = atob(clean)
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}

/** @internal */
export const make = Effect.gen(function*() {
  const store = yield* ConfigStore
  const http = yield* HttpClient.HttpClient
  const browser = yield* Effect.serviceOption(BrowserOpener)
  const callbackServer = yield* CallbackServer
  const withHttp = Effect.provideService(HttpClient.HttpClient, http)

  const ensureAbsent = Effect.flatMap(store.exists, (exists) =>
    exists
      ? Effect.fail(new ConfigError({ description: `Config at ${store.path} already exists. Please logout first.` }))
      : Effect.void)

  const apiUrlOf = (options: FactoryModule.LoginOptions | undefined) => String(options?.url ?? DEFAULT_API_URL)

  const saveTokenLogin = (server: ServerConfig.ServerConfig, url: string, token: Redacted.Redacted<string>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      store.save(
        configState.fromServer({
          server,
          url,
          token,
          expirationTime: now / 1000 + oauth.TOKEN_LOGIN_EXPIRES_IN * 0.75,
          refreshToken: Redacted.make("")
        })
      ))

  const timeoutOf = (options: FactoryModule.LoginOptions | undefined) => options?.timeout === undefined ? {} : { timeout: options.timeout }

  const finishOAuth = (
    url: string,
    server: ServerConfig.ServerConfig,
    code: string,
    pkce: oauth.Pkce,
    redirectUri: string,
    options: FactoryModule.LoginOptions | undefined
  ) =>
    Effect.gen(function*() {
      const grant = yield* withHttp(oauth.exchangeCode(server.auth, code, pkce, redirectUri, options?.timeout))
      const authorized = yield* withHttp(ServerConfig.fetch(url, { token: grant.token, ...timeoutOf(options) }))
      yield* store.save(
        configState.fromServer({
          server: authorized,
          url,
          token: grant.token,
          expirationTime: grant.expirationTime,
          refreshToken: grant.refreshToken ?? Redacted.make("")
        })
      )
    })

  const showWith = <E>(options: FactoryModule.BrowserLoginOptions<E> | undefined) =>
    options?.showBrowser !== undefined
      ? Effect.succeed(options.showBrowser)
      : Option.isSome(browser)
      ? Effect.succeed(browser.value.open)
      : Effect.fail(new AuthError({ description: "no browser to show the login page: pass showBrowser, or provide a BrowserOpener" }))

  const login: FactoryModule.Factory.Service["login"] = <E>(options?: FactoryModule.BrowserLoginOptions<E>) =>
    Effect.gen(function*() {
      yield* ensureAbsent
      const url = apiUrlOf(options)
      const server = yield* withHttp(ServerConfig.fetch(url, timeoutOf(options)))
      if (server.clusters.length > 0) {
        return yield* saveTokenLogin(server, url, Redacted.make(oauth.STANDALONE_TOKEN))
      }
      const show = yield* showWith(options)
      const codeTimeout = options?.codeTimeout ?? Duration.seconds(60)
      const pkce = yield* oauth.makePkce
      const { code, redirectUri } = yield* Effect.scoped(Effect.gen(function*() {
        const callback = yield* callbackServer.listen({
          callbackUrls: server.auth.callbackUrls,
          successRedirectUrl: server.auth.successRedirectUrl
        })
        yield* show(oauth.authorizationUrl(server.auth, pkce, callback.redirectUri))
        const code = yield* callback.code.pipe(
          Effect.timeoutFail({
            duration: codeTimeout,
            onTimeout: () =>
              new AuthError({ description: `failed to get an authorization code (no answer within ${Duration.format(codeTimeout)})` })
          })
        )
        return { code, redirectUri: callback.redirectUri }
      }))
      yield* finishOAuth(url, server, code, pkce, redirectUri, options)
    }).pipe(Effect.withSpan("Factory.login"))

  const loginHeadless: FactoryModule.Factory.Service["loginHeadless"] = (getAuthCode, options) =>
    Effect.gen(function*() {
      yield* ensureAbsent
      const url = apiUrlOf(options)
      const server = yield* withHttp(ServerConfig.fetch(url, timeoutOf(options)))
      const pkce = yield* oauth.makePkce
      const redirectUri = server.auth.headlessCallbackUrl
      const code = (yield* getAuthCode(oauth.authorizationUrl(server.auth, pkce, redirectUri))).trim()
      if (code === "") return yield* Effect.fail(new AuthError({ description: "failed to get an authorization code (empty code)" }))
      yield* finishOAuth(url, server, code, pkce, redirectUri, options)
    }).pipe(Effect.withSpan("Factory.loginHeadless"))

  const loginWithToken: FactoryModule.Factory.Service["loginWithToken"] = (token, options) =>
    Effect.gen(function*() {
      yield* ensureAbsent
      const url = apiUrlOf(options)
      const server = yield* withHttp(ServerConfig.fetch(url, { token, ...timeoutOf(options) }))
      yield* saveTokenLogin(server, url, token)
    }).pipe(Effect.withSpan("Factory.loginWithToken"))

  const loginWithPassedConfig: FactoryModule.Factory.Service["loginWithPassedConfig"] = (configData, options) =>
    Effect.gen(function*() {
      const raw = configData !== undefined
        ? Option.some(configData)
        : yield* EffectConfig.option(EffectConfig.redacted(PASS_CONFIG_ENV_NAME)).pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isNone(raw)) {
        return yield* Effect.fail(new ConfigError({ description: `Config env variable ${PASS_CONFIG_ENV_NAME} is not present` }))
      }
      const malformed = new ConfigError({
        description: "Data in passed config is malformed: expected base64 of a JSON object with token, cluster and url"
      })
      const json = decodeBase64(Redacted.value(raw.value))
      if (json === undefined) return yield* Effect.fail(malformed)
      const passed = yield* Schema.decodeUnknown(PassedConfig)(json).pipe(Effect.mapError(() => malformed))
      yield* loginWithToken(Redacted.make(passed.token), { url: passed.url, ...timeoutOf(options) })
      const data = yield* store.load
      const switched = configState.switchCluster(data, passed.cluster)
      if (Either.isLeft(switched)) return yield* Effect.fail(switched.left)
      yield* store.save(switched.right)
    }).pipe(Effect.withSpan("Factory.loginWithPassedConfig"))

  const logout: FactoryModule.Factory.Service["logout"] = <E>(options?: { readonly showBrowser?: ((url: URL) => Effect.Effect<void, E>) | undefined }) =>
    Effect.gen(function*() {
      const show = options?.showBrowser
      if (show !== undefined) {
        const data = yield* Effect.option(store.load)
        if (Option.isSome(data)) {
          const url = new URL(data.value.authConfig.logoutUrl)
          url.searchParams.set("client_id", data.value.authConfig.clientId)
          yield* show(url)
        }
      }
      yield* store.remove
    }).pipe(Effect.withSpan("Factory.logout"))

  const service: FactoryModule.Factory.Service = {
    path: store.path,
    isConfigPresent: store.exists,
    login,
    loginHeadless,
    loginWithToken,
    loginWithPassedConfig,
    logout
  }
  return service
})
