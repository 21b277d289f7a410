/**
 * An access token from a Google service-account key (`key_data` of persistent and imported `gcp`
 * credentials: base64 of the key's JSON), as google-auth does for neuro-sdk 23.2: an RS256 JWT
 * assertion (scope `devstorage.read_write`, one hour) exchanged at the key's `token_uri` with the
 * JWT-bearer grant. Signed with WebCrypto, so it runs wherever the core does.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { ApiClient } from "../../ApiClient.js"
import type { BucketsError } from "../../Buckets.js"
import { badCredentials } from "./shared.js"

const SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"

const KeyWire = Schema.Struct({
  client_email: Schema.String,
  private_key: Schema.String,
  private_key_id: Schema.optional(Schema.String),
  token_uri: Schema.optional(Schema.String)
})

const TokenWire = Schema.Struct({ access_token: Schema.String, expires_in: Schema.optional(Schema.Number) })

const base64url = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

const fromBase64 = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0))

const parseKey = (keyData: string) =>
  Either.try({
    try: () => Schema.decodeUnknownSync(KeyWire)(JSON.parse(new TextDecoder().decode(fromBase64(keyData)))),
    catch: () => badCredentials("key_data is not base64 of a service-account key (client_email, private_key)")
  })

const signJwt = (key: typeof KeyWire.Type, claims: Record<string, unknown>) =>
  Effect.tryPromise({
    try: async () => {
      const der = fromBase64(key.private_key.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, ""))
      const signer = await globalThis.crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"])
      const enc = new TextEncoder()
      const header = { alg: "RS256", typ: "JWT", ...(key.private_key_id === undefined ? {} : { kid: key.private_key_id }) }
      const unsigned = `${base64url(enc.encode(JSON.stringify(header)))}.${base64url(enc.encode(JSON.stringify(claims)))}`
      const signature = await globalThis.crypto.subtle.sign("RSASSA-PKCS1-v1_5", signer, enc.encode(unsigned))
      return `${unsigned}.${base64url(new Uint8Array(signature))}`
    },
    catch: () => badCredentials("the private_key of key_data is not a PKCS#8 RSA key")
  })

/** A token for the key, with the time it expires (milliseconds since the epoch). */
/** @internal */
export const serviceAccountToken = (
  api: ApiClient["Type"],
  keyData: string
): Effect.Effect<{ readonly token: Redacted.Redacted<string>; readonly expiresAt: number }, BucketsError> =>
  Effect.gen(function*() {
    const key = yield* parseKey(keyData)
    const tokenUri = key.token_uri ?? DEFAULT_TOKEN_URI
    const now = Math.floor(Date.now() / 1000)
    const assertion = yield* signJwt(key, { iss: key.client_email, scope: SCOPE, aud: tokenUri, iat: now, exp: now + 3600 })
    const request = HttpClientRequest.post(tokenUri).pipe(
      HttpClientRequest.bodyUrlParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion })
    )
    const answer = yield* api.json(request, TokenWire, { auth: false, idempotent: true })
    return { token: Redacted.make(answer.access_token), expiresAt: (now + (answer.expires_in ?? 3600)) * 1000 }
  })
