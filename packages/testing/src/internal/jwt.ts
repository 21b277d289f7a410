import { createHmac, timingSafeEqual } from "node:crypto"

/** @internal */
export const USER_CLAIM = "https://platform.neuromation.io/user"

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url")

/** @internal */
export const sign = (claims: Record<string, unknown>, secret: string): string => {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))
  const payload = b64url(JSON.stringify(claims))
  const signature = b64url(createHmac("sha256", secret).update(`${header}.${payload}`).digest())
  return `${header}.${payload}.${signature}`
}

/** @internal */
export const verify = (token: string, secret: string): Record<string, unknown> | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const [header, payload, signature] = parts as [string, string, string]
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest()
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? claims as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
