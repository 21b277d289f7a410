/**
 * AWS Signature Version 4 for S3-compatible providers, over WebCrypto (`crypto.subtle`), so it
 * runs in Node and in browsers. Header signing (`Authorization: AWS4-HMAC-SHA256 ...`) with a
 * hex payload hash in `x-amz-content-sha256`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

const encoder = new TextEncoder()

const subtle = () => globalThis.crypto.subtle

const hex = (buffer: ArrayBuffer): string => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("")

// WebCrypto takes bytes over an ArrayBuffer (the DOM lib's BufferSource): a view of a shared
// buffer is copied, any other passed as it is
const bufferSource = (data: Uint8Array): Uint8Array<ArrayBuffer> =>
  data.buffer instanceof ArrayBuffer ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)

const bytesOf = (data: Uint8Array | string): Uint8Array<ArrayBuffer> =>
  typeof data === "string" ? encoder.encode(data) : bufferSource(data)

/** Hex SHA-256 of bytes or UTF-8 text. */
/** @internal */
export const sha256Hex = (data: Uint8Array | string): Effect.Effect<string> =>
  Effect.promise(() => subtle().digest("SHA-256", bytesOf(data))).pipe(Effect.map(hex))

/** The SHA-256 of an empty body. */
/** @internal */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

const hmac = (key: Uint8Array, data: string): Promise<Uint8Array> =>
  subtle()
    .importKey("raw", bufferSource(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    .then((k) => subtle().sign("HMAC", k, encoder.encode(data)))
    .then((b) => new Uint8Array(b))

/**
 * RFC 3986 encoding as SigV4 wants it: unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay,
 * every other UTF-8 byte becomes `%XX` (upper case); `/` stays only when `keepSlash`.
 */
/** @internal */
export const uriEncode = (value: string, keepSlash: boolean): string => {
  let out = ""
  for (const b of encoder.encode(value)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

/** The canonical query string of parameter pairs (encoded, sorted by key then value). */
/** @internal */
export const canonicalQuery = (params: ReadonlyArray<readonly [string, string]>): string =>
  params
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")

/** `20130524T000000Z`. */
/** @internal */
export const amzDate = (date: Date): string => date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

/** @internal */
export interface SigningKey {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken?: Redacted.Redacted<string> | undefined
}

/** @internal */
export interface ToSign {
  readonly method: string
  /** The request path as sent (already percent-encoded with {@link uriEncode}, `/` kept). */
  readonly path: string
  readonly query: ReadonlyArray<readonly [string, string]>
  /** Headers to sign besides `host`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`. */
  readonly headers: Readonly<Record<string, string>>
  /** `host[:port]` as the server will see it. */
  readonly host: string
  readonly payloadHash: string
  readonly region: string
  readonly service: string
  readonly date: Date
}

/**
 * The headers that make a request signed: `x-amz-date`, `x-amz-content-sha256`, optional
 * `x-amz-security-token`, and `Authorization` (which names the signed headers).
 */
/** @internal */
export const signHeaders = (key: SigningKey, req: ToSign): Effect.Effect<Record<string, string>> =>
  Effect.promise(async () => {
    const stamp = amzDate(req.date)
    const day = stamp.slice(0, 8)
    const added: Record<string, string> = {
      "x-amz-date": stamp,
      "x-amz-content-sha256": req.payloadHash
    }
    if (key.sessionToken !== undefined) added["x-amz-security-token"] = Redacted.value(key.sessionToken)
    const all: Record<string, string> = { host: req.host }
    for (const [k, v] of Object.entries({ ...req.headers, ...added })) all[k.toLowerCase()] = v.trim().replace(/\s+/g, " ")
    const names = Object.keys(all).sort()
    const canonicalRequest = [
      req.method.toUpperCase(),
      req.path === "" ? "/" : req.path,
      canonicalQuery(req.query),
      names.map((n) => `${n}:${all[n]}\n`).join(""),
      names.join(";"),
      req.payloadHash
    ].join("\n")
    const scope = `${day}/${req.region}/${req.service}/aws4_request`
    const requestHash = hex(await subtle().digest("SHA-256", encoder.encode(canonicalRequest)))
    const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, requestHash].join("\n")
    let k = await hmac(encoder.encode("AWS4" + Redacted.value(key.secretAccessKey)), day)
    k = await hmac(k, req.region)
    k = await hmac(k, req.service)
    k = await hmac(k, "aws4_request")
    const signature = hex((await hmac(k, stringToSign)).buffer as ArrayBuffer)
    return {
      ...added,
      authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`
    }
  })
