import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AuthError, NetworkError } from "../Errors.js"
import type { AuthConfig } from "../ServerConfig.js"
import { USER_AGENT } from "./apiClient.js"

const base64url = (bytes: Uint8Array): string => {
  let binary = ""
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

/** @internal */
export interface Pkce {
  readonly verifier: string
  readonly challenge: string
}

/** PKCE pair: verifier = base64url(32 random bytes), challenge = base64url(sha256(verifier)). */
/** @internal */
export const makePkce: Effect.Effect<Pkce> = Effect.promise(async () => {
  const random = new Uint8Array(32)
  globalThis.crypto.getRandomValues(random)
  const verifier = base64url(random)
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))
  return { verifier, challenge: base64url(new Uint8Array(digest)) }
})

/** `auth_url` with its query replaced by the authorization-code + PKCE parameters, in neuro-sdk's order. */
/** @internal */
export const authorizationUrl = (auth: AuthConfig, pkce: Pkce, redirectUri: string): URL => {
  const url = new URL(auth.authUrl)
  url.search = ""
  const params: ReadonlyArray<readonly [string, string]> = [
    ["response_type", "code"],
    ["code_challenge", pkce.challenge],
    ["code_challenge_method", "S256"],
    ["client_id", auth.clientId],
    ["redirect_uri", redirectUri],
    ["scope", "offline_access"],
    ["audience", auth.audience]
  ]
  for (const [k, v] of params) url.searchParams.append(k, v)
  return url
}

const TokenAnswer = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Number,
  refresh_token: Schema.optional(Schema.String)
})

/** @internal */
export interface TokenGrant {
  readonly token: Redacted.Redacted<string>
  /** Unix seconds: now + 0.75 × expires_in. */
  readonly expirationTime: number
  readonly refreshToken: Redacted.Redacted<string> | undefined
}

const failedToken = (description = "failed to get an access token. Please log in again.") => new AuthError({ description })

/** How long the token endpoint may take to answer: a duration, or `null` for no limit. */
/** @internal */
export type Timeout = Duration.DurationInput | null

const DEFAULT_TIMEOUT: Timeout = Duration.seconds(60)

const postToken = (tokenUrl: string, form: ReadonlyArray<readonly [string, string]>, timeout: Timeout = DEFAULT_TIMEOUT) =>
  Effect.gen(function*() {
    const http = HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false)
    const body = form.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")
    const request = HttpClientRequest.post(tokenUrl).pipe(
      HttpClientRequest.setHeader("User-Agent", USER_AGENT),
      HttpClientRequest.setHeader("Accept", "application/json"),
      HttpClientRequest.bodyText(body, "application/x-www-form-urlencoded")
    )
    const execute = http.execute(request)
    const response = yield* (timeout === null ? execute : execute.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new NetworkError({ reason: "Timeout", description: "the token endpoint did not answer", method: "POST", url: tokenUrl })
      })
    )).pipe(
      Effect.catchTags({
        RequestError: (e) =>
          Effect.fail(new NetworkError({ reason: "Transport", description: e.description ?? e.reason, method: "POST", url: tokenUrl })),
        ResponseError: () => Effect.fail(failedToken("the token endpoint's answer could not be read"))
      })
    )
    if (response.status >= 400) {
      yield* Effect.ignore(response.text)
      return yield* Effect.fail(failedToken())
    }
    const json = yield* response.json.pipe(Effect.mapError(() => failedToken("the token endpoint answered with something that is not JSON")))
    const answer = yield* Schema.decodeUnknown(TokenAnswer)(json).pipe(
      Effect.mapError(() => failedToken("the token endpoint's answer lacks access_token or expires_in"))
    )
    const now = (yield* Clock.currentTimeMillis) / 1000
    const grant: TokenGrant = {
      token: Redacted.make(answer.access_token),
      expirationTime: now + answer.expires_in * 0.75,
      refreshToken: answer.refresh_token === undefined ? undefined : Redacted.make(answer.refresh_token)
    }
    return grant
  })

/** Exchange an authorization code (with the PKCE verifier) for tokens. */
/** @internal */
export const exchangeCode = (auth: AuthConfig, code: string, pkce: Pkce, redirectUri: string, timeout?: Timeout) =>
  Effect.flatMap(
    postToken(auth.tokenUrl, [
      ["grant_type", "authorization_code"],
      ["code_verifier", pkce.verifier],
      ["code", code],
      ["client_id", auth.clientId],
      ["redirect_uri", redirectUri]
    ], timeout),
    (grant) =>
      grant.refreshToken === undefined
        ? Effect.fail(failedToken("the token endpoint sent no refresh_token"))
        : Effect.succeed(grant)
  )

/** Get a new access token with the refresh token; the old refresh token is kept (no rotation). */
/** @internal */
export const refresh = (auth: AuthConfig, refreshToken: Redacted.Redacted<string>, timeout?: Timeout) =>
  Effect.gen(function*() {
    if (Redacted.value(refreshToken) === "") {
      return yield* Effect.fail(
        failedToken("the access token has expired and this login has no refresh token. Please log in again.")
      )
    }
    const grant = yield* postToken(auth.tokenUrl, [
      ["grant_type", "refresh_token"],
      ["refresh_token", Redacted.value(refreshToken)],
      ["client_id", auth.clientId]
    ], timeout)
    return { ...grant, refreshToken }
  })

/** Expiry used by token logins: 3 years × 0.75. */
/** @internal */
export const TOKEN_LOGIN_EXPIRES_IN = 94_608_000

/** The fixed token of a standalone (auth-less) platform, user `user`. */
/** @internal */
export const STANDALONE_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJodHRwczovL3BsYXRmb3JtLm5ldXJvbWF0aW9uLmlvL3VzZXIiOiJ1c2VyIn0.c9RLM3ZV-Nua7qchDkbHd11OaqA4kkEC49IB2A5ZAwE"

/** The user name in an access token (not verified): `identity`, else the platform user claim. */
/** @internal */
export const usernameFromToken = (token: string): string | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const decode = (s: string): unknown => {
    try {
      const padded = s.replace(/-/g, "+").replace(/_/g, "/")
      const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4))
      const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
      return JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return undefined
    }
  }
  const header = decode(parts[0]!)
  const claims = decode(parts[1]!)
  if (typeof header !== "object" || header === null || typeof claims !== "object" || claims === null) return undefined
  const record = claims as Record<string, unknown>
  const name = record["identity"] ?? record["https://platform.neuromation.io/user"]
  return typeof name === "string" ? name : undefined
}
