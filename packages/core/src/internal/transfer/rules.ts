/**
 * The pure rules of the transfer engine: local errors, transient failures, update/continue
 * decisions and the clock offset.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Errors from "../../Errors.js"

/** What the local side of a transfer fails with (an unreadable ignore file is an `InvalidInputError`). */
/** @internal */
export type LocalError = Errors.FileSystemError | Errors.InvalidInputError

/** A local file-system error (no HTTP status or request). */
/** @internal */
export const localError: (errno: string, description: string) => Errors.FileSystemError = Errors.fromLocalErrno

/** @internal */
export const fromPlatform = (e: PlatformError): Errors.FileSystemError => {
  const cause: unknown = e.cause
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  const where = e._tag === "SystemError" && e.pathOrDescriptor !== undefined ? ` (${String(e.pathOrDescriptor)})` : ""
  const description = (e._tag === "SystemError" ? e.description ?? e.reason : e.description) + where
  if (code !== undefined && code.startsWith("E")) return localError(code, description)
  if (e._tag === "SystemError") {
    switch (e.reason) {
      case "NotFound":
        return localError("ENOENT", description)
      case "AlreadyExists":
        return localError("EEXIST", description)
      case "PermissionDenied":
        return localError("EACCES", description)
      default:
        return localError("EIO", description)
    }
  }
  return localError("EINVAL", description)
}

const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/** Worth another attempt of a transfer step: transport failures and gateway/throttling answers. */
/** @internal */
export const isTransient = (e: { readonly _tag: string }): boolean =>
  e._tag === "NetworkError" || e._tag === "ServerNotAvailable" ||
  ((e._tag === "IllegalArgumentError" || e._tag === "ClientError") &&
    Predicate.hasProperty(e, "status") && typeof e.status === "number" && TRANSIENT_STATUSES.has(e.status))

/** Size and modification time (seconds since the epoch, when known) of a file on either side. */
/** @internal */
export interface FileTimes {
  readonly size: number
  readonly mtime: number | undefined
}

/** Where a transfer starts: a byte offset (0 = the whole file), or not at all. */
/** @internal */
export type Decision = number | "skip"

/** neuro-sdk's "1 second" of modification-time tolerance. */
/** @internal */
export const TIME_THRESHOLD = 1

/**
 * neuro-sdk `_check_upload`/`_check_download`/`_check_transfer`: both modification times moved
 * by their shift (a clock difference), the file is transferred unless the destination is newer
 * by `threshold` seconds or more; then `update` skips it, and `continue` skips a complete copy
 * or resumes a shorter one.
 *
 * `shortMayBePartial`: a destination shorter than the source may be what a failed transfer left
 * (written just now, so newer): `update` does not skip it but sends the file again (or resumes
 * it, with `continue`). neuro-sdk skips it.
 */
/** @internal */
export const decide = (
  src: FileTimes,
  dst: FileTimes,
  shifts: { readonly src: number; readonly dst: number; readonly threshold: number },
  update: boolean,
  cont: boolean,
  shortMayBePartial = false
): Decision => {
  if (src.mtime === undefined || dst.mtime === undefined) return 0
  if ((dst.mtime + shifts.dst) - (src.mtime + shifts.src) < shifts.threshold) return 0
  if (update && !(shortMayBePartial && dst.size < src.size)) return "skip"
  if (cont) {
    if (src.size === dst.size) return "skip"
    if (dst.size < src.size) return dst.size
  }
  return 0
}

/**
 * neuro-sdk's clock-offset sample from an answer's `Date` header: the local clock minus the
 * server's, as an interval (`t0` is when the request left, in seconds).
 */
/** @internal */
export const clockSample = (
  t0: number,
  response: HttpClientResponse.HttpClientResponse | { readonly headers: Readonly<Record<string, string | undefined>> }
): { readonly min: number; readonly max: number } | undefined => {
  const t1 = Date.now() / 1000
  const date = response.headers["date"]
  const server = date === undefined ? Number.NaN : Date.parse(date) / 1000
  return Number.isNaN(server) ? undefined : { min: t0 - server - 1, max: t1 - server }
}

/** @internal */
export const localTimes = (info: FileSystem.File.Info): FileTimes => ({
  size: Number(info.size),
  mtime: Option.getOrUndefined(Option.map(info.mtime, (d) => d.getTime() / 1000))
})
