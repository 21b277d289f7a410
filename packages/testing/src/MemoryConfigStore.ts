/**
 * A `ConfigStore` kept in memory: the login state of a test, with the same contract as the SQLite
 * store (load fails with `ConfigError` when nothing is stored, cookies live 5 minutes) and nothing
 * written to disk.
 *
 * @since 1.0.0
 */
import { ConfigData, type SessionCookie } from "@neuro-sdk/core/ConfigData"
import { ConfigStore } from "@neuro-sdk/core/ConfigStore"
import { ConfigError } from "@neuro-sdk/core/Errors"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

const COOKIE_MAX_AGE = 300

/**
 * A fresh in-memory store, optionally holding a login already.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (initial?: ConfigData | undefined): Effect.Effect<ConfigStore.Service> =>
  Effect.gen(function*() {
    const path = "memory://neuro"
    const data = yield* Ref.make<ConfigData | undefined>(initial)
    const cookies = yield* Ref.make<ReadonlyMap<string, SessionCookie>>(new Map())
    const missing = new ConfigError({ description: `Config at ${path} does not exists. Please login.` })
    const current = Effect.flatMap(Ref.get(data), (d) => (d === undefined ? Effect.fail(missing) : Effect.succeed(d)))
    return {
      path,
      exists: Effect.map(Ref.get(data), (d) => d !== undefined),
      load: current,
      save: (next) => Ref.set(data, next),
      updateToken: (u) =>
        Effect.flatMap(current, (d) =>
          Ref.set(data, new ConfigData({ ...d, token: u.token, expirationTime: u.expirationTime, refreshToken: u.refreshToken }))),
      remove: Effect.zipRight(Ref.set(data, undefined), Ref.set(cookies, new Map())),
      loadRecovery: Effect.map(current, (d) => ({
        refreshToken: d.refreshToken,
        url: d.url,
        clusterName: d.clusterName ?? null,
        orgName: d.orgName
      })),
      loadCookies: Effect.gen(function*() {
        const now = (yield* Clock.currentTimeMillis) / 1000
        return [...(yield* Ref.get(cookies)).values()]
          .filter((c) => c.timestamp >= now - COOKIE_MAX_AGE)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      }),
      saveCookies: (saved) =>
        Effect.gen(function*() {
          const now = (yield* Clock.currentTimeMillis) / 1000
          yield* Ref.update(cookies, (old) => {
            const next = new Map(old)
            for (const c of saved) next.set(c.name, c)
            for (const [name, c] of next) if (c.timestamp < now - COOKIE_MAX_AGE) next.delete(name)
            return next
          })
        })
    }
  })

/**
 * `ConfigStore` in memory.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (initial?: ConfigData | undefined): Layer.Layer<ConfigStore> => Layer.effect(ConfigStore, make(initial))
