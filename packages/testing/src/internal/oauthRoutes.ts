import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { createHash, randomBytes } from "node:crypto"
import { jsonResponse } from "./http.js"
import type { PlatformState } from "./state.js"

const html = (title: string, body: string, status = 200) =>
  HttpServerResponse.text(`<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`, {
    status,
    contentType: "text/html; charset=utf-8"
  })

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const oauthError = (status: number, error: string, description: string) =>
  jsonResponse({ error, error_description: description }, status)

const withQuery = (target: string, params: Record<string, string>): string => {
  const url = new URL(target)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.toString()
}

/**
 * The OAuth side of the platform (Auth0 in production): authorization-code + PKCE with automatic
 * approval of a chosen user, the token endpoint (code and refresh grants), the headless
 * "show code" page, and the logout page.
 */
/** @internal */
export const oauthRoutes = (state: PlatformState) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/oauth/authorize",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const q = new URL(req.url, "http://local").searchParams
        const redirectUri = q.get("redirect_uri")
        const challenge = q.get("code_challenge")
        if (redirectUri === null || !/^https?:\/\//.test(redirectUri)) {
          return html("Bad request", "<p>redirect_uri is missing or invalid</p>", 400)
        }
        const deny = (error: string, description: string) =>
          HttpServerResponse.redirect(withQuery(redirectUri, { error, error_description: description }), { status: 302 })
        if (q.get("response_type") !== "code") return deny("unsupported_response_type", "response_type must be code")
        if (q.get("client_id") !== state.clientId) return deny("unauthorized_client", "unknown client_id")
        if (challenge === null || q.get("code_challenge_method") !== "S256") {
          return deny("invalid_request", "PKCE with code_challenge_method=S256 is required")
        }
        const decision = state.oauth.approve
        if (decision === "deny") return deny("access_denied", "The user denied access")
        const user = decision ?? [...state.users.keys()][0]
        if (user === undefined || !state.users.has(user)) return deny("access_denied", "No such user")
        const code = randomBytes(16).toString("base64url")
        state.oauth.codes.set(code, {
          user,
          challenge,
          redirectUri,
          clientId: state.clientId,
          expiresAt: Date.now() + 5 * 60_000
        })
        return HttpServerResponse.redirect(withQuery(redirectUri, { code }), { status: 302 })
      })
    ),
    HttpRouter.post(
      "/oauth/token",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const text = yield* Effect.orElseSucceed(req.text, () => "")
        const form = new URLSearchParams(text)
        state.oauth.tokenRequests.push(text)
        const grant = form.get("grant_type")
        if (form.get("client_id") !== state.clientId) return oauthError(401, "invalid_client", "unknown client_id")
        if (grant === "authorization_code") {
          const code = form.get("code") ?? ""
          const entry = state.oauth.codes.get(code)
          state.oauth.codes.delete(code)
          if (entry === undefined || entry.expiresAt < Date.now()) {
            return oauthError(403, "invalid_grant", "Invalid authorization code")
          }
          const verifier = form.get("code_verifier") ?? ""
          const computed = createHash("sha256").update(verifier, "ascii").digest("base64url")
          if (computed !== entry.challenge) return oauthError(403, "invalid_grant", "Failed to verify code verifier")
          if (form.get("redirect_uri") !== entry.redirectUri) return oauthError(403, "invalid_grant", "redirect_uri mismatch")
          const refreshToken = randomBytes(24).toString("base64url")
          state.oauth.refreshTokens.set(refreshToken, entry.user)
          return jsonResponse({
            access_token: state.issueToken(entry.user, { ttlSeconds: state.oauth.tokenTtlSeconds }),
            expires_in: state.oauth.tokenTtlSeconds,
            refresh_token: refreshToken,
            scope: "offline_access",
            token_type: "Bearer"
          })
        }
        if (grant === "refresh_token") {
          const user = state.oauth.refreshTokens.get(form.get("refresh_token") ?? "")
          if (user === undefined || !state.users.has(user)) {
            return oauthError(403, "invalid_grant", "Unknown or revoked refresh token")
          }
          state.oauth.refreshCount += 1
          return jsonResponse({
            access_token: state.issueToken(user, { ttlSeconds: state.oauth.tokenTtlSeconds }),
            expires_in: state.oauth.tokenTtlSeconds,
            scope: "offline_access",
            token_type: "Bearer"
          })
        }
        return oauthError(400, "unsupported_grant_type", `grant_type ${grant ?? "(none)"} is not supported`)
      })
    ),
    HttpRouter.get(
      "/oauth/show-code",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const q = new URL(req.url, "http://local").searchParams
        const code = q.get("code")
        if (code === null) return html("Login failed", `<p>${escapeHtml(q.get("error_description") ?? "No code")}</p>`, 400)
        return html("Your code", `<p>Copy this code into your terminal:</p><pre id="code">${escapeHtml(code)}</pre>`)
      })
    ),
    HttpRouter.get("/oauth/logout", Effect.succeed(html("Logged out", "<p>You are logged out of LocalPlatform.</p>"))),
    HttpRouter.get("/oauth/welcome", Effect.succeed(html("Welcome", "<p>You are logged in. You can close this page.</p>")))
  )
