/**
 * `LISTSTATUS` answers read without a Schema per entry: the transfer walks list every folder they
 * enter, and only need each entry's name, type, size and time. NDJSON is split into lines chunk by
 * chunk (the last line counts only when the body ends cleanly); the legacy JSON document is read
 * whole.
 *
 * @internal
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as Errors from "../Errors.js"

/** One listed entry, as the wire has it. */
/** @internal */
export interface WireEntry {
  readonly path: string
  readonly type: string
  readonly length: number
  readonly modificationTime: number
  readonly permission: "read" | "write" | "manage"
  readonly target?: string | null | undefined
}

/** The entry in `u`, or the name of its first bad field. */
/** @internal */
export const wireEntry = (u: unknown): WireEntry | string => {
  if (!Predicate.isRecord(u)) return "the entry is not an object"
  const { length, modificationTime, path, permission, target, type } = u
  if (typeof path !== "string") return "path: expected a string"
  if (typeof type !== "string") return "type: expected a string"
  if (typeof length !== "number") return "length: expected a number"
  if (typeof modificationTime !== "number") return "modificationTime: expected a number"
  if (permission !== "read" && permission !== "write" && permission !== "manage") return `permission: expected "read", "write" or "manage"`
  if (target !== undefined && target !== null && typeof target !== "string") return "target: expected a string or null"
  return { path, type, length, modificationTime, permission, target }
}

const malformed = (request: HttpClientRequest.HttpClientRequest, status: number, description: string) =>
  new Errors.MalformedResponse({ description, status, method: request.method, url: request.url })

/** An in-band `{"error": ..., "errno"?: ...}` line. */
const lineError = (line: Record<string, unknown>, request: HttpClientRequest.HttpClientRequest): Errors.ApiError => {
  const description = typeof line.error === "string" ? line.error : "the server reported an error"
  const context = { method: request.method, url: request.url }
  if (typeof line.errno === "string") return Errors.fromErrno(line.errno, description, context)
  return new Errors.NDJSONError({ description, ...context })
}

/** The entry of one NDJSON line (`{"FileStatus": {...}}`), an error line's error, or nothing for a blank line. */
const parseLine = (
  line: string,
  request: HttpClientRequest.HttpClientRequest,
  status: number
): WireEntry | Errors.ApiError | undefined => {
  if (line.trim() === "") return undefined
  let u: unknown
  try {
    u = JSON.parse(line)
  } catch (e) {
    return malformed(request, status, `a streamed line is not valid JSON (${e instanceof Error ? e.name : "error"})`)
  }
  if (Predicate.isRecord(u) && "error" in u) return lineError(u, request)
  const entry = wireEntry(Predicate.isRecord(u) ? u.FileStatus : undefined)
  return typeof entry === "string" ? malformed(request, status, `FileStatus.${entry}`) : entry
}

/** The entries of an NDJSON listing body, with a constant amount of Effect work per chunk. */
/** @internal */
export const ndjsonEntries = <E>(
  body: Stream.Stream<Uint8Array, E>,
  request: HttpClientRequest.HttpClientRequest,
  status: number
): Effect.Effect<Array<WireEntry>, E | Errors.ApiError> =>
  Effect.suspend(() => {
    const decoder = new TextDecoder()
    const entries: Array<WireEntry> = []
    let pending = ""
    const take = (text: string, last: boolean): Errors.ApiError | undefined => {
      const lines = (pending + text).split("\n")
      pending = last ? "" : lines.pop()!
      for (const line of lines) {
        const parsed = parseLine(line, request, status)
        if (parsed === undefined) continue
        if ("_tag" in parsed) return parsed
        entries.push(parsed)
      }
      return undefined
    }
    return Stream.runForEachChunk(body, (chunk) => {
      let text = ""
      for (const bytes of chunk) text += decoder.decode(bytes, { stream: true })
      const error = take(text, false)
      return error === undefined ? Effect.void : Effect.fail(error)
    }).pipe(
      Effect.flatMap(() => {
        const error = take(decoder.decode(), true)
        return error === undefined ? Effect.succeed(entries) : Effect.fail(error)
      })
    )
  })

/** The entries of a legacy listing document `{"FileStatuses": {"FileStatus": [...]}}`. */
/** @internal */
export const documentEntries = (
  text: string,
  request: HttpClientRequest.HttpClientRequest,
  status: number
): Effect.Effect<Array<WireEntry>, Errors.MalformedResponse> =>
  Effect.suspend(() => {
    let u: unknown
    try {
      u = JSON.parse(text)
    } catch (e) {
      return Effect.fail(malformed(request, status, `the body is not valid JSON (${e instanceof Error ? e.name : "error"})`))
    }
    const statuses = Predicate.isRecord(u) && Predicate.isRecord(u.FileStatuses) ? u.FileStatuses.FileStatus : undefined
    if (!Array.isArray(statuses)) return Effect.fail(malformed(request, status, "FileStatuses.FileStatus: expected a list"))
    const entries: Array<WireEntry> = []
    for (const [i, s] of (statuses as ReadonlyArray<unknown>).entries()) {
      const entry = wireEntry(s)
      if (typeof entry === "string") return Effect.fail(malformed(request, status, `FileStatuses.FileStatus[${i}].${entry}`))
      entries.push(entry)
    }
    return Effect.succeed(entries)
  })
