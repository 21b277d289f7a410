/**
 * The byte requests of storage transfers (`CREATE`/`WRITE` with a file range as the body, `OPEN`
 * read in batches): over the `TransferIO` fast path when the platform layer provides one, else over
 * `ApiClient` (a small range read from the file at once, a large one streamed in 1 MiB reads).
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { AuthToken } from "../AuthToken.js"
import * as Errors from "../Errors.js"
import type { StorageError } from "../Storage.js"
import { TransferIO } from "../TransferIO.js"
import type * as TransferIOModule from "../TransferIO.js"
import * as Transfer from "./transfer.js"

const OCTET = "application/octet-stream"
/** A range up to this size is read from the file at once (the request can then be sent again as it is). */
const WHOLE_READ = 1024 * 1024
/** Read size of a streamed upload body. */
const STREAM_READ = 1024 * 1024
/** How long a token from `AuthToken` is used without asking again. */
const TOKEN_REUSE_MILLIS = 1000

/** A storage request: method, URL (query included) and its own headers. */
/** @internal */
export interface StorageRequest {
  readonly method: "GET" | "PUT" | "PATCH"
  /** The whole URL, query included. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** `Content-Range` of a ranged `OPEN` answer checked against the offset asked for: the length it announces, or what is wrong. */
/** @internal */
export const checkRange = (status: number, range: string | undefined, offset: number): number | string => {
  if (status !== 206) return `Unexpected status code ${status}`
  const m = range === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim())
  if (m === null || Number(m[2]) < Number(m[1]) || Number(m[1]) !== offset) {
    return range === undefined ? "Missed header Content-Range" : `Invalid header Content-Range: ${range}`
  }
  return Number(m[2]) - Number(m[1]) + 1
}

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const fs = yield* FileSystem.FileSystem
  const io = yield* Effect.serviceOption(TransferIO)
  const auth = yield* Effect.serviceOption(AuthToken)

  const context = (request: StorageRequest) => ({ method: request.method, url: request.url.split("?")[0]! })

  /** `length` bytes of a local file from `offset`, read at once. */
  const readRange = (path: string, offset: number, length: number) =>
    Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "r" })
      if (offset > 0) yield* file.seek(offset, "start")
      const data = yield* file.readAlloc(length)
      if (Option.isNone(data) || data.value.length < length) {
        return yield* Effect.fail(Transfer.localError("EIO", `${path} ended before byte ${offset + length} (did it change while uploading?)`))
      }
      return data.value
    })).pipe(Effect.catchTag("BadArgument", "SystemError", (e) => Effect.fail(Transfer.fromPlatform(e))))

  const fallbackSend = (request: StorageRequest, range: TransferIOModule.FileRange): Effect.Effect<void, StorageError> =>
    Effect.gen(function*() {
      const base = HttpClientRequest.make(request.method)(request.url).pipe(HttpClientRequest.setHeaders(request.headers))
      const withBody = range.length <= WHOLE_READ
        ? HttpClientRequest.bodyUint8Array(base, range.length === 0 ? new Uint8Array(0) : yield* readRange(range.path, range.offset, range.length), OCTET)
        : HttpClientRequest.bodyStream(
          base,
          Stream.suspend(() => {
            let sent = 0
            return fs.stream(range.path, { offset: range.offset, bytesToRead: range.length, chunkSize: STREAM_READ }).pipe(
              Stream.tap((chunk) => Effect.sync(() => range.sent?.(sent += chunk.length)))
            )
          }),
          { contentType: OCTET, contentLength: range.length }
        )
      yield* api.discard(withBody, { timeout: null, idempotent: true })
    })

  /**
   * The current token, asked of `AuthToken` at most once a second (it refreshes a token 10 s
   * before it expires).
   */
  let cached: { readonly token: Redacted.Redacted<string>; readonly at: number } | undefined
  const currentToken = (token: AuthToken.Service) =>
    Effect.suspend(() => {
      const now = Date.now()
      if (cached !== undefined && now - cached.at < TOKEN_REUSE_MILLIS) return Effect.succeed(cached.token)
      return Effect.map(token.token, (t) => (cached = { token: t, at: now }).token)
    })

  /** The request for `TransferIO`, with `Authorization`. */
  const fastRequest = (token: AuthToken.Service, request: StorageRequest, body: boolean) =>
    Effect.map(currentToken(token), (t): TransferIOModule.Request => ({
      method: request.method,
      url: request.url,
      headers: {
        ...request.headers,
        authorization: `Bearer ${Redacted.value(t)}`,
        ...(body ? { "content-type": OCTET } : {})
      }
    }))

  /** The whole body as text (an error answer's explanation). */
  const bodyText = (body: TransferIOModule.Body) =>
    Effect.gen(function*() {
      const parts: Array<Uint8Array> = []
      for (;;) {
        const batch = yield* body.read(Number.MAX_SAFE_INTEGER)
        // a batch's chunks may be reused by the next read
        for (const c of batch.chunks) parts.push(c.slice())
        if (batch.end) return new TextDecoder().decode(Transfer.concatBytes(parts))
      }
    }).pipe(Effect.ensuring(body.close))

  /** Send a file range as the body of `request` (status >= 400 is the mapped error). */
  const send: (request: StorageRequest, range: TransferIOModule.FileRange) => Effect.Effect<void, StorageError> =
    Option.isSome(io) && Option.isSome(auth)
      ? (request, range) =>
        Effect.flatMap(fastRequest(auth.value, request, true), (r) =>
          Effect.flatMap(io.value.send(r, range), (sent) =>
            sent.status >= 400 ? Effect.fail(Errors.fromStatus(sent.status, sent.text, context(request))) : Effect.void))
      : fallbackSend

  /**
   * A `GET` read in batches on the fast path (`undefined` without one): status >= 400 is the
   * mapped error; `check` may refuse the answer (then its body is dropped).
   */
  const receive: ((
    request: StorageRequest,
    check: (answer: TransferIOModule.Answer) => Effect.Effect<void, StorageError>
  ) => Effect.Effect<Transfer.RemoteReader<StorageError>, StorageError>) | undefined = Option.isSome(io) && Option.isSome(auth)
    ? (request, check) =>
      Effect.flatMap(fastRequest(auth.value, request, false), (r) =>
        Effect.flatMap(io.value.receive(r), (received) => {
          if (received.status >= 400) {
            return Effect.flatMap(
              Effect.orElseSucceed(bodyText(received.body), () => ""),
              (text) => Effect.fail(Errors.fromStatus(received.status, text, context(request)))
            )
          }
          const reader: Transfer.RemoteReader<StorageError> = { read: received.body.read, close: received.body.close }
          return Effect.as(Effect.tapError(check(received), () => received.body.close), reader)
        }))
    : undefined

  return { send, receive }
})

/** @internal */
export type StorageIO = Effect.Effect.Success<typeof make>
