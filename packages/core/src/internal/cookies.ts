import * as HttpClient from "@effect/platform/HttpClient"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { SessionCookie } from "../ConfigData.js"
import { ConfigStore } from "../ConfigStore.js"

/** Sticky-session cookies worth keeping between runs (neuro-sdk's filter). */
/** @internal */
export const isSessionCookie = (name: string) => name.startsWith("NEURO_") && name.endsWith("_SESSION")

const domainMatches = (cookieDomain: string, host: string) => {
  const d = cookieDomain.replace(/^\./, "").toLowerCase()
  const h = host.toLowerCase()
  return h === d || h.endsWith("." + d)
}

const pathMatches = (cookiePath: string, path: string) =>
  path === cookiePath || path.startsWith(cookiePath.endsWith("/") ? cookiePath : cookiePath + "/")

/**
 * A cookie jar around the transport: cookies set by the platform are sent back to matching hosts,
 * and `NEURO_*_SESSION` cookies are loaded from and saved to the config database (5-minute life).
 */
/** @internal */
export const make = Effect.gen(function*() {
  const http = yield* HttpClient.HttpClient
  const store = yield* ConfigStore
  const loaded = yield* Effect.orElseSucceed(store.loadCookies, () => [])
  // the jar is replaced, never mutated, so a request reads one consistent set of cookies
  let jar = new Map<string, SessionCookie>(loaded.map((c) => [`${c.domain}|${c.path}|${c.name}`, c]))

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const now = (yield* Clock.currentTimeMillis) / 1000
      const keep = [...jar.values()].filter((c) => isSessionCookie(c.name))
      if (keep.length === 0) return
      yield* store.saveCookies(keep.map((c) => new SessionCookie({ ...c, timestamp: now }))).pipe(
        Effect.catchAll((e) => Effect.logWarning(`Session cookies were not saved: ${e.message}`))
      )
    })
  )

  /** Keep the cookies an answer sets (for the URL of its request). */
  const remember = (response: HttpClientResponse.HttpClientResponse, url: URL) =>
    Effect.map(Clock.currentTimeMillis, (millis) => {
      const now = millis / 1000
      const next = new Map(jar)
      for (const c of Object.values(response.cookies.cookies)) {
        const domain = c.options?.domain ?? url.hostname
        const path = c.options?.path ?? "/"
        const key = `${domain}|${path}|${c.name}`
        const expired = c.options?.maxAge !== undefined && Number(c.options.maxAge) <= 0
        if (expired || c.value === "") next.delete(key)
        else next.set(key, new SessionCookie({ name: c.name, domain, path, value: c.value, timestamp: now }))
      }
      jar = next
      return response
    })

  // a wrapper of the transport (not a second transport made with `HttpClient.make`, which would
  // add its own abort controller, tracing checks and response wrapper to every request); a
  // request with no cookie to send whose answer sets none costs one step
  const send = (request: HttpClientRequest.HttpClientRequest) => {
    const held = jar
    // the URL is only needed when there are cookies to match or to keep
    const urlOf = () => Either.getOrUndefined(UrlParams.makeUrl(request.url, request.urlParams, request.hash))
    const url = held.size === 0 ? undefined : urlOf()
    const cookies = url === undefined ? [] : [...held.values()].filter((c) =>
      domainMatches(c.domain, url.hostname) && pathMatches(c.path, url.pathname)
    )
    const withCookies = cookies.length === 0
      ? request
      : HttpClientRequest.setHeader(request, "Cookie", cookies.map((c) => `${c.name}=${c.value}`).join("; "))
    return Effect.flatMap(http.execute(withCookies), (response) => {
      if (response.headers["set-cookie"] === undefined) return Effect.succeed(response)
      const setUrl = url ?? urlOf()
      return setUrl === undefined ? Effect.succeed(response) : remember(response, setUrl)
    })
  }

  return HttpClient.makeWith<HttpClientError, never, HttpClientError, never>(
    (request) => Effect.flatMap(request, send),
    Effect.succeed
  )
})
