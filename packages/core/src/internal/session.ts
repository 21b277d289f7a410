import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as EffectConfig from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { AuthToken } from "../AuthToken.js"
import type { Config, UserConfigData } from "../Config.js"
import { CONFIG_VERSION, ConfigData } from "../ConfigData.js"
import { ConfigStore } from "../ConfigStore.js"
import type { Endpoints } from "../Endpoints.js"
import { ConfigError } from "../Errors.js"
import type { Factory } from "../Factory.js"
import * as ServerConfig from "../ServerConfig.js"
import { appendPath } from "./apiClient.js"
import * as configState from "./configState.js"
import * as oauth from "./oauth.js"

/** Refresh a token this many seconds before it expires. */
const REFRESH_MARGIN_SECONDS = 10

/** @internal */
export interface SessionServices {
  readonly config: Config.Service
  readonly authToken: AuthToken.Service
  readonly endpoints: Endpoints.Service
}

const pinned = (data: UserConfigData): { readonly cluster: string | undefined; readonly org: string | null | undefined } => {
  const job = data["job"]
  if (typeof job !== "object" || job === null) return { cluster: undefined, org: undefined }
  const record = job as Record<string, unknown>
  const cluster = typeof record["cluster-name"] === "string" ? record["cluster-name"] : undefined
  const rawOrg = record["org-name"]
  const org = typeof rawOrg === "string" ? (rawOrg === "NO_ORG" ? null : rawOrg) : undefined
  return { cluster, org }
}

const sameServer = (data: ConfigData, server: ServerConfig.ServerConfig): boolean => {
  const clusters = Schema.encodeSync(Schema.Array(ServerConfig.ClusterFromStore))
  const auth = Schema.encodeSync(ServerConfig.AuthConfigFromStore)
  return JSON.stringify(clusters(data.clusters)) === JSON.stringify(clusters(server.clusters)) &&
    JSON.stringify(auth(data.authConfig)) === JSON.stringify(auth(server.auth))
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const warnOnFailure = <A, E>(what: string) => (effect: Effect.Effect<A, E>) =>
  // one line (the error's message), no stack: the program goes on
  Effect.catchAll(Effect.asVoid(effect), (e) => Effect.logWarning(`${what} was not saved: ${errorMessage(e)}`))

/** Open the stored login like neuro-sdk's `Factory.get()`: passed-config login, load, recovery, version check. */
/** @internal */
export const open = (options: {
  readonly userConfig: Effect.Effect<UserConfigData, ConfigError>
  readonly factory: Factory.Service
}) =>
  Effect.gen(function*() {
    const store = yield* ConfigStore
    const http = yield* HttpClient.HttpClient
    const withHttp = Effect.provideService(HttpClient.HttpClient, http)

    if (!(yield* store.exists)) {
      const passed = yield* EffectConfig.option(EffectConfig.redacted("NEURO_PASSED_CONFIG")).pipe(
        Effect.orElseSucceed(() => Option.none())
      )
      if (Option.isSome(passed)) yield* options.factory.loginWithPassedConfig(passed.value)
    }

    const recover = Effect.gen(function*() {
      const old = yield* store.loadRecovery
      const anonymous = yield* withHttp(ServerConfig.fetch(old.url))
      const grant = yield* withHttp(oauth.refresh(anonymous.auth, old.refreshToken))
      const server = yield* withHttp(ServerConfig.fetch(old.url, { token: grant.token }))
      let data = configState.fromServer({
        server,
        url: old.url,
        token: grant.token,
        expirationTime: grant.expirationTime,
        refreshToken: old.refreshToken
      })
      if (old.clusterName !== null) data = Either.getOrElse(configState.switchCluster(data, old.clusterName), () => data)
      data = Either.getOrElse(configState.switchOrg(data, old.orgName), () => data)
      yield* store.remove
      yield* store.save(data)
    })

    const checkServer = (data: ConfigData) =>
      Effect.gen(function*() {
        if (data.version === CONFIG_VERSION) return data
        const fresh = yield* refreshIfNeeded(data)
        const server = yield* withHttp(ServerConfig.fetch(fresh.url, { token: fresh.token }))
        if (!sameServer(fresh, server)) {
          return yield* Effect.fail(new ConfigError({ description: "Neuro Platform CLI was updated. Please logout and login again." }))
        }
        const stamped = new ConfigData({ ...fresh, version: CONFIG_VERSION })
        yield* warnOnFailure("The version stamp")(store.save(stamped))
        return stamped
      })

    const refreshIfNeeded = (data: ConfigData) =>
      Effect.gen(function*() {
        const now = (yield* Clock.currentTimeMillis) / 1000
        if (data.expirationTime - REFRESH_MARGIN_SECONDS > now) return data
        const grant = yield* withHttp(oauth.refresh(data.authConfig, data.refreshToken))
        const updated = new ConfigData({ ...data, token: grant.token, expirationTime: grant.expirationTime })
        yield* warnOnFailure("The refreshed token")(
          store.updateToken({ token: grant.token, expirationTime: grant.expirationTime, refreshToken: data.refreshToken })
        )
        return updated
      })

    const attempt = Effect.flatMap(store.load, checkServer)
    const initial = yield* attempt.pipe(
      Effect.catchTag("ConfigError", (original) =>
        recover.pipe(
          Effect.matchEffect({
            onFailure: () => Effect.fail(original),
            onSuccess: () => attempt
          })
        ))
    )

    const state = yield* Ref.make(initial)
    const lock = yield* Effect.makeSemaphore(1)

    const token: AuthToken.Service["token"] = Effect.gen(function*() {
      const now = (yield* Clock.currentTimeMillis) / 1000
      const current = yield* Ref.get(state)
      if (current.expirationTime - REFRESH_MARGIN_SECONDS > now) return current.token
      return yield* lock.withPermits(1)(Effect.gen(function*() {
        const latest = yield* Ref.get(state)
        const refreshed = yield* refreshIfNeeded(latest)
        yield* Ref.set(state, refreshed)
        return refreshed.token
      }))
    })

    const pins = Effect.map(options.userConfig, pinned)

    const clusterName = Effect.gen(function*() {
      const p = yield* pins
      if (p.cluster !== undefined) return p.cluster
      const data = yield* Ref.get(state)
      if (data.clusterName === undefined) {
        return yield* Effect.fail(new ConfigError({ description: "There are no clusters available. Please logout and login again." }))
      }
      return data.clusterName
    })

    const getCluster = (name: string) =>
      Effect.gen(function*() {
        const data = yield* Ref.get(state)
        const found = data.clusters.find((c) => c.name === name)
        if (found !== undefined) return found
        const p = yield* pins
        return yield* Effect.fail(
          configState.unknownCluster(
            name,
            data,
            p.cluster !== undefined
              ? "Please edit the local user config file (.neuro.toml) or logout and login again."
              : "Please logout and login again."
          )
        )
      })

    const currentCluster = Effect.flatMap(clusterName, getCluster)
    const clusterUrl = (pick: (c: typeof initial.clusters[number]) => string) => Effect.map(currentCluster, (c) => new URL(pick(c)))

    const persist = (what: string, data: ConfigData) =>
      Effect.zipRight(Ref.set(state, data), warnOnFailure(what)(store.save(data)))

    const apiUrl = new URL(initial.url)

    // derived once per token / per stored state, not once per call
    let lastToken: { readonly token: Redacted.Redacted<string>; readonly name: string | undefined } | undefined
    const usernameOf = (token: Redacted.Redacted<string>) => {
      if (lastToken === undefined || lastToken.token !== token) lastToken = { token, name: oauth.usernameFromToken(Redacted.value(token)) }
      return lastToken.name
    }
    let lastClusters: { readonly data: ConfigData; readonly map: ReadonlyMap<string, ConfigData["clusters"][number]> } | undefined
    const clustersOf = (data: ConfigData) => {
      if (lastClusters === undefined || lastClusters.data.clusters !== data.clusters) {
        lastClusters = { data, map: new Map(data.clusters.map((c) => [c.name, c])) }
      }
      return lastClusters.map
    }

    const config: Config.Service = {
      username: Effect.flatMap(Ref.get(state), (data) => {
        const name = usernameOf(data.token)
        return name === undefined
          ? Effect.fail(new ConfigError({ description: "The stored access token is not a valid platform token. Please logout and login again." }))
          : Effect.succeed(name)
      }),
      clusters: Effect.map(Ref.get(state), clustersOf),
      clusterName,
      clusterOrgs: Effect.map(currentCluster, (c) => c.orgs),
      orgName: Effect.gen(function*() {
        const p = yield* pins
        if (p.org !== undefined) return p.org
        return (yield* Ref.get(state)).orgName
      }),
      presets: Effect.map(currentCluster, (c) => c.presets),
      getCluster,
      apiUrl,
      adminUrl: Effect.map(Ref.get(state), (data) => (data.adminUrl ? new URL(data.adminUrl) : undefined)),
      serviceAccountsUrl: appendPath(apiUrl, "service_accounts"),
      registryUrl: clusterUrl((c) => c.registryUrl),
      storageUrl: clusterUrl((c) => c.storageUrl),
      monitoringUrl: clusterUrl((c) => c.monitoringUrl),
      secretsUrl: clusterUrl((c) => c.secretsUrl),
      diskApiUrl: clusterUrl((c) => c.disksUrl),
      bucketApiUrl: clusterUrl((c) => c.bucketsUrl),
      token,
      fetch: Effect.gen(function*() {
        const server = yield* withHttp(ServerConfig.fetch(apiUrl, { token: yield* token }))
        const data = yield* Ref.get(state)
        const name = yield* clusterName
        if (!server.clusters.some((c) => c.name === name)) {
          return yield* Effect.fail(configState.unknownCluster(name, new ConfigData({ ...data, clusters: server.clusters }), "Please logout and login again."))
        }
        yield* persist("The fetched configuration", new ConfigData({ ...data, clusters: server.clusters }))
      }),
      switchCluster: (name) =>
        Effect.gen(function*() {
          const p = yield* pins
          if (p.cluster !== undefined) {
            return yield* Effect.fail(new ConfigError({ description: "Cannot switch the project cluster. Please edit the '.neuro.toml' file." }))
          }
          const data = yield* Ref.get(state)
          const next = configState.switchCluster(data, name, p.org !== undefined ? p.org : data.orgName)
          if (Either.isLeft(next)) return yield* Effect.fail(next.left)
          yield* persist("The cluster switch", next.right)
        }),
      switchOrg: (name) =>
        Effect.gen(function*() {
          const p = yield* pins
          if (p.org !== undefined) {
            return yield* Effect.fail(new ConfigError({ description: "Cannot switch the project org. Please edit the '.neuro.toml' file." }))
          }
          const data = yield* Ref.get(state)
          const next = configState.switchOrg(data, name, p.cluster ?? data.clusterName)
          if (Either.isLeft(next)) return yield* Effect.fail(next.left)
          yield* persist("The org switch", next.right)
        }),
      getUserConfig: options.userConfig
    }

    const endpoints: Endpoints.Service = {
      apiUrl,
      cluster: (name) => (name === undefined ? currentCluster : getCluster(name))
    }
    const services: SessionServices = { config, authToken: { token }, endpoints }
    return services
  })
