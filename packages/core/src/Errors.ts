/**
 * Typed errors of the Neuro Platform SDK.
 *
 * Every failure the SDK reports is one of the `Schema.TaggedError` classes below. Python's
 * exception hierarchy (`ClientError` > `AuthError` > `AuthenticationError`, `ValueError`
 * subclasses, `OSError` subclasses) becomes flat classes plus guards (`isClientError`,
 * `isAuthError`, `isValueError`, `isOSError`, ...).
 *
 * @since 1.0.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const where = (fields: { readonly status?: number | undefined; readonly method?: string | undefined; readonly url?: string | undefined }) => {
  const parts: Array<string> = []
  if (fields.status !== undefined) parts.push(String(fields.status))
  if (fields.method !== undefined) parts.push(fields.method)
  if (fields.url !== undefined) parts.push(fields.url)
  return parts.length === 0 ? "" : ` (${parts.join(" ")})`
}

/**
 * Fields shared by the errors that come from an HTTP answer of the platform.
 *
 * @since 1.0.0
 * @category models
 */
export const HttpErrorFields = {
  /** The server's explanation: the `error` field of its JSON body, or the body text. */
  description: Schema.String,
  /** HTTP status of the answer. */
  status: Schema.optional(Schema.Number),
  /** HTTP method of the request. */
  method: Schema.optional(Schema.String),
  /** URL of the request (never contains credentials). */
  url: Schema.optional(Schema.String)
}

/**
 * The local configuration is missing, unreadable, malformed or unsafe, or a user TOML file is invalid.
 *
 * @since 1.0.0
 * @category errors
 */
export class ConfigError extends Schema.TaggedError<ConfigError>("@neuro-sdk/core/ConfigError")("ConfigError", {
  description: Schema.String,
  /** The file the problem was found in, when there is one. */
  path: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return this.path === undefined ? this.description : `${this.description} [${this.path}]`
  }
}

/**
 * Authentication could not be obtained: the login flow failed, or the token could not be refreshed.
 *
 * @since 1.0.0
 * @category errors
 */
export class AuthError extends Schema.TaggedError<AuthError>("@neuro-sdk/core/AuthError")("AuthError", {
  ...HttpErrorFields,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.description}${where(this)}`
  }
}

/**
 * HTTP 401: the platform did not accept the credentials.
 *
 * @since 1.0.0
 * @category errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>("@neuro-sdk/core/AuthenticationError")(
  "AuthenticationError",
  HttpErrorFields
) {
  override get message(): string {
    return `Not authenticated: ${this.description}${where(this)}`
  }
}

/**
 * HTTP 403: the user is known but may not do this.
 *
 * @since 1.0.0
 * @category errors
 */
export class AuthorizationError extends Schema.TaggedError<AuthorizationError>("@neuro-sdk/core/AuthorizationError")(
  "AuthorizationError",
  HttpErrorFields
) {
  override get message(): string {
    return `Permission denied: ${this.description}${where(this)}`
  }
}

/**
 * HTTP 404: the resource does not exist (or is not visible to the user).
 *
 * @since 1.0.0
 * @category errors
 */
export class ResourceNotFound extends Schema.TaggedError<ResourceNotFound>("@neuro-sdk/core/ResourceNotFound")(
  "ResourceNotFound",
  HttpErrorFields
) {
  override get message(): string {
    return `Not found: ${this.description}${where(this)}`
  }
}

/**
 * HTTP 400 without a file-system errno, and every status neuro-sdk does not map to its own class
 * (409, 422, 429, 500, 503, 504, ...).
 *
 * @since 1.0.0
 * @category errors
 */
export class IllegalArgumentError extends Schema.TaggedError<IllegalArgumentError>("@neuro-sdk/core/IllegalArgumentError")(
  "IllegalArgumentError",
  HttpErrorFields
) {
  override get message(): string {
    return `${this.description}${where(this)}`
  }
}

/**
 * HTTP 502: the platform (or a proxy in front of it) is not available.
 *
 * @since 1.0.0
 * @category errors
 */
export class ServerNotAvailable extends Schema.TaggedError<ServerNotAvailable>("@neuro-sdk/core/ServerNotAvailable")(
  "ServerNotAvailable",
  HttpErrorFields
) {
  override get message(): string {
    return `Server not available: ${this.description}${where(this)}`
  }
}

/**
 * HTTP 405 and other answers the SDK cannot use.
 *
 * @since 1.0.0
 * @category errors
 */
export class ClientError extends Schema.TaggedError<ClientError>("@neuro-sdk/core/ClientError")("ClientError", HttpErrorFields) {
  override get message(): string {
    return `${this.description}${where(this)}`
  }
}

/**
 * The server does not offer the requested feature (e.g. no admin API).
 *
 * @since 1.0.0
 * @category errors
 */
export class NotSupportedError extends Schema.TaggedError<NotSupportedError>("@neuro-sdk/core/NotSupportedError")(
  "NotSupportedError",
  { description: Schema.String }
) {
  override get message(): string {
    return this.description
  }
}

/**
 * An `{"error": ...}` line inside a streamed (NDJSON) listing.
 *
 * @since 1.0.0
 * @category errors
 */
export class NDJSONError extends Schema.TaggedError<NDJSONError>("@neuro-sdk/core/NDJSONError")("NDJSONError", HttpErrorFields) {
  override get message(): string {
    return `Error in streamed response: ${this.description}${where(this)}`
  }
}

/**
 * The request never got an answer: connection refused or dropped, DNS failure, timeout.
 *
 * @since 1.0.0
 * @category errors
 */
export class NetworkError extends Schema.TaggedError<NetworkError>("@neuro-sdk/core/NetworkError")("NetworkError", {
  reason: Schema.Literal("Transport", "Timeout"),
  description: Schema.String,
  method: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.reason === "Timeout" ? "Timed out" : "Network error"}: ${this.description}${where(this)}`
  }
}

/**
 * The server answered, but not with what the protocol promises (bad JSON, a missing field, a wrong
 * content type). The SDK never trusts wire data: this is what a bad answer becomes.
 *
 * @since 1.0.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>("@neuro-sdk/core/MalformedResponse")(
  "MalformedResponse",
  {
    ...HttpErrorFields,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `Unexpected answer from the server: ${this.description}${where(this)}`
  }
}

/**
 * Bad user input (a URI, image reference, volume or env specification, an option value).
 * Nothing was sent to the server.
 *
 * @since 1.0.0
 * @category errors
 */
export class InvalidInputError extends Schema.TaggedError<InvalidInputError>("@neuro-sdk/core/InvalidInputError")(
  "InvalidInputError",
  {
    /** What was being parsed: `"uri"`, `"image"`, `"volume"`, `"env"`, `"option"`, ... */
    kind: Schema.String,
    /** The rejected input (never a secret value). */
    input: Schema.String,
    description: Schema.String
  }
) {
  override get message(): string {
    return `Invalid ${this.kind} ${JSON.stringify(this.input)}: ${this.description}`
  }
}

/**
 * An attach/exec stream ended with the given exit code.
 *
 * @since 1.0.0
 * @category errors
 */
export class StdStreamError extends Schema.TaggedError<StdStreamError>("@neuro-sdk/core/StdStreamError")("StdStreamError", {
  exitCode: Schema.Number
}) {
  override get message(): string {
    return `Stream finished with exit code ${this.exitCode}`
  }
}

// ---------------------------------------------------------------------------------------------
// file-system errors (storage answers 400 with an `errno` name)
// ---------------------------------------------------------------------------------------------

/**
 * Fields of the file-system errors mapped from the storage service's `errno` answers.
 *
 * @since 1.0.0
 * @category models
 */
export const FileSystemErrorFields = {
  /** Symbolic errno name as sent by the server (`ENOENT`, `EEXIST`, ...). */
  errno: Schema.String,
  ...HttpErrorFields
}

const fsMessage = (e: { readonly errno: string; readonly description: string; readonly method?: string | undefined; readonly url?: string | undefined }) =>
  `[${e.errno}] ${e.description}${where({ method: e.method, url: e.url })}`

/**
 * `ENOENT`: no such file or directory.
 *
 * @since 1.0.0
 * @category errors
 */
export class FileNotFound extends Schema.TaggedError<FileNotFound>("@neuro-sdk/core/FileNotFound")("FileNotFound", FileSystemErrorFields) {
  override get message(): string {
    return fsMessage(this)
  }
}

/**
 * `EEXIST`: the file already exists.
 *
 * @since 1.0.0
 * @category errors
 */
export class FileExists extends Schema.TaggedError<FileExists>("@neuro-sdk/core/FileExists")("FileExists", FileSystemErrorFields) {
  override get message(): string {
    return fsMessage(this)
  }
}

/**
 * `EISDIR`: a directory where a file was expected.
 *
 * @since 1.0.0
 * @category errors
 */
export class IsADirectory extends Schema.TaggedError<IsADirectory>("@neuro-sdk/core/IsADirectory")("IsADirectory", FileSystemErrorFields) {
  override get message(): string {
    return fsMessage(this)
  }
}

/**
 * `ENOTDIR`: a file where a directory was expected.
 *
 * @since 1.0.0
 * @category errors
 */
export class NotADirectory extends Schema.TaggedError<NotADirectory>("@neuro-sdk/core/NotADirectory")("NotADirectory", FileSystemErrorFields) {
  override get message(): string {
    return fsMessage(this)
  }
}

/**
 * `EACCES` / `EPERM`: the file system refused the operation.
 *
 * @since 1.0.0
 * @category errors
 */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>("@neuro-sdk/core/PermissionDenied")(
  "PermissionDenied",
  FileSystemErrorFields
) {
  override get message(): string {
    return fsMessage(this)
  }
}

/**
 * Any other errno (`ENOTEMPTY`, `EINVAL`, ...), kept with its name.
 *
 * @since 1.0.0
 * @category errors
 */
export class OSError extends Schema.TaggedError<OSError>("@neuro-sdk/core/OSError")("OSError", FileSystemErrorFields) {
  override get message(): string {
    return fsMessage(this)
  }
}

// ---------------------------------------------------------------------------------------------
// unions and guards
// ---------------------------------------------------------------------------------------------

/**
 * The file-system error kinds.
 *
 * @since 1.0.0
 * @category models
 */
export type FileSystemError = FileNotFound | FileExists | IsADirectory | NotADirectory | PermissionDenied | OSError

/**
 * Everything a call to the platform API can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type ApiError =
  | AuthError
  | AuthenticationError
  | AuthorizationError
  | ResourceNotFound
  | IllegalArgumentError
  | ServerNotAvailable
  | ClientError
  | NDJSONError
  | NetworkError
  | MalformedResponse
  | FileSystemError

/**
 * Every error of the SDK.
 *
 * @since 1.0.0
 * @category models
 */
export type NeuroError = ApiError | ConfigError | NotSupportedError | InvalidInputError | StdStreamError

const tagGuard = <T extends { readonly _tag: string }>(...tags: ReadonlyArray<T["_tag"]>) => {
  const set = new Set<string>(tags)
  return (u: unknown): u is T => Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && set.has(u._tag)
}

/**
 * Python `AuthError` and its subclasses.
 *
 * @since 1.0.0
 * @category guards
 */
export const isAuthError: (u: unknown) => u is AuthError | AuthenticationError | AuthorizationError = tagGuard(
  "AuthError",
  "AuthenticationError",
  "AuthorizationError"
)

/**
 * Python `ClientError` and its subclasses.
 *
 * @since 1.0.0
 * @category guards
 */
export const isClientError: (u: unknown) => u is ClientError | AuthError | AuthenticationError | AuthorizationError = tagGuard(
  "ClientError",
  "AuthError",
  "AuthenticationError",
  "AuthorizationError"
)

/**
 * Python `ValueError` subclasses of the SDK.
 *
 * @since 1.0.0
 * @category guards
 */
export const isValueError: (
  u: unknown
) => u is IllegalArgumentError | ResourceNotFound | ServerNotAvailable | NDJSONError | InvalidInputError = tagGuard(
  "IllegalArgumentError",
  "ResourceNotFound",
  "ServerNotAvailable",
  "NDJSONError",
  "InvalidInputError"
)

/**
 * Python `OSError` and its subclasses (file-system errors from storage).
 *
 * @since 1.0.0
 * @category guards
 */
export const isOSError: (u: unknown) => u is FileSystemError = tagGuard(
  "FileNotFound",
  "FileExists",
  "IsADirectory",
  "NotADirectory",
  "PermissionDenied",
  "OSError"
)

/**
 * Any error of the SDK.
 *
 * @since 1.0.0
 * @category guards
 */
export const isNeuroError: (u: unknown) => u is NeuroError = tagGuard(
  "ConfigError",
  "AuthError",
  "AuthenticationError",
  "AuthorizationError",
  "ResourceNotFound",
  "IllegalArgumentError",
  "ServerNotAvailable",
  "ClientError",
  "NotSupportedError",
  "NDJSONError",
  "NetworkError",
  "MalformedResponse",
  "InvalidInputError",
  "StdStreamError",
  "FileNotFound",
  "FileExists",
  "IsADirectory",
  "NotADirectory",
  "PermissionDenied",
  "OSError"
)

/**
 * Where an HTTP error came from.
 *
 * @since 1.0.0
 * @category models
 */
export interface ErrorContext {
  readonly method?: string | undefined
  readonly url?: string | undefined
}

const byErrno = (
  errno: string,
  fields: { readonly errno: string; readonly description: string; readonly status?: number; readonly method?: string | undefined; readonly url?: string | undefined }
): FileSystemError => {
  switch (errno) {
    case "ENOENT":
      return new FileNotFound(fields)
    case "EEXIST":
      return new FileExists(fields)
    case "EISDIR":
      return new IsADirectory(fields)
    case "ENOTDIR":
      return new NotADirectory(fields)
    case "EACCES":
    case "EPERM":
      return new PermissionDenied(fields)
    default:
      return new OSError(fields)
  }
}

/**
 * The error a file-system `errno` name in a server answer maps to (status 400, as the storage
 * service sends them).
 *
 * @since 1.0.0
 * @category constructors
 */
export const fromErrno = (errno: string, description: string, context: ErrorContext = {}): FileSystemError =>
  byErrno(errno, { errno, description, status: 400, method: context.method, url: context.url })

/**
 * The error a local file-system `errno` name maps to (no HTTP status or request).
 *
 * @since 1.0.0
 * @category constructors
 */
export const fromLocalErrno = (errno: string, description: string): FileSystemError => byErrno(errno, { errno, description })

/**
 * The error for an HTTP answer with status >= 400, following neuro-sdk 23.2: the message is the JSON
 * body's `error` field when there is one, else the raw body text; `400` with an `errno` becomes a
 * file-system error; 401/403/404/405/502 have their own classes; every other status is an
 * `IllegalArgumentError`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const fromStatus = (
  status: number,
  body: string,
  context: ErrorContext = {}
): Exclude<ApiError, NetworkError | MalformedResponse | NDJSONError | AuthError> => {
  let description = body
  let errno: string | undefined
  try {
    const json: unknown = JSON.parse(body)
    if (Predicate.isRecord(json) && "error" in json) {
      description = typeof json.error === "string" ? json.error : JSON.stringify(json.error)
      if (typeof json.errno === "string") errno = json.errno
      else if (typeof json.errno === "number") errno = String(json.errno)
    }
  } catch {
    // not JSON: the raw text is the message
  }
  if (description === "") description = defaultReason(status)
  if (status === 400 && errno !== undefined) return fromErrno(errno, description, context)
  const fields = { description, status, method: context.method, url: context.url }
  switch (status) {
    case 401:
      return new AuthenticationError(fields)
    case 403:
      return new AuthorizationError(fields)
    case 404:
      return new ResourceNotFound(fields)
    case 405:
      return new ClientError(fields)
    case 502:
      return new ServerNotAvailable(fields)
    default:
      return new IllegalArgumentError(fields)
  }
}

const reasons: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

const defaultReason = (status: number): string => `${status}: ${reasons[status] ?? "HTTP error"}`
