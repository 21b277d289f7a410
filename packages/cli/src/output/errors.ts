/**
 * Failures as the user sees them: one `ERROR: ...` line and the Python CLI's exit code for the
 * kind of failure (sysexits.h codes).
 *
 * @since 1.0.0
 */
import * as Data from "effect/Data"

/**
 * Exit codes of the Python CLI.
 *
 * @since 1.0.0
 * @category constants
 */
export const EX = {
  OK: 0,
  USAGE: 2,
  DATAERR: 65,
  NOPERM: 77,
  SOFTWARE: 70,
  OSFILE: 72,
  IOERR: 74,
  PROTOCOL: 76,
  TIMEOUT: 124,
  PLATFORMERROR: 125,
  VALUE: 127,
  INTERRUPTED: 130
} as const

/**
 * End the command with an exit code (and a message, printed as an error line, when given).
 *
 * @since 1.0.0
 * @category errors
 */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number; readonly message?: string | undefined }> {}

/**
 * A wrong command line found by the command itself (exit code 2, like click's usage errors).
 *
 * @since 1.0.0
 * @category errors
 */
export const usageError = (message: string): CliExit => new CliExit({ code: EX.USAGE, message: `Usage error: ${message}` })

/**
 * An invalid value given by the user (exit code 127, like the Python CLI's `ValueError`).
 *
 * @since 1.0.0
 * @category errors
 */
export const valueError = (message: string): CliExit => new CliExit({ code: EX.VALUE, message })

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== "") {
    return error.message
  }
  return String(error)
}

/**
 * The line and exit code of a failure.
 *
 * @since 1.0.0
 * @category errors
 */
export const describe = (error: unknown): { readonly line: string | undefined; readonly code: number } => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  const msg = messageOf(error)
  switch (tag) {
    case "CliExit": {
      const exit = error as CliExit
      return { line: exit.message === "" ? undefined : exit.message, code: exit.code }
    }
    case "IllegalArgumentError":
      return { line: `Illegal argument(s) (${msg})`, code: EX.DATAERR }
    case "ResourceNotFound":
    case "FileNotFound":
    case "NotADirectory":
    case "IsADirectory":
    case "FileExists":
      return { line: msg, code: EX.OSFILE }
    case "AuthenticationError":
      return { line: `Cannot authenticate (${msg})`, code: EX.NOPERM }
    case "AuthorizationError":
      return { line: `Not enough permissions (${msg})`, code: EX.NOPERM }
    case "PermissionDenied":
      return { line: `Cannot access file (${msg})`, code: EX.NOPERM }
    case "AuthError":
    case "ClientError":
    case "NDJSONError":
    case "MalformedResponse":
      return { line: `Application error (${msg})`, code: EX.SOFTWARE }
    case "ServerNotAvailable":
      return { line: `Application error (${msg})`, code: EX.PLATFORMERROR }
    case "ConfigError":
    case "NotSupportedError":
      return { line: msg, code: EX.SOFTWARE }
    case "NetworkError":
      return msg.startsWith("Timed out") ? { line: msg, code: EX.TIMEOUT } : { line: `Connection error (${msg})`, code: EX.IOERR }
    case "DockerError":
      return { line: `Docker API error: ${msg}`, code: EX.PROTOCOL }
    case "OSError":
      return { line: `I/O Error (${msg})`, code: EX.IOERR }
    case "InvalidInputError":
      return { line: msg, code: EX.VALUE }
    case "StdStreamError":
      return { line: undefined, code: (error as { exitCode: number }).exitCode }
    default:
      return { line: msg, code: 1 }
  }
}
