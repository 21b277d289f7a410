/**
 * Platform URIs (`storage:`, `image:`, `job:`, `secret:`, `disk:`, `blob:`, `flow:`, `file:`,
 * `user:` ...) normalized exactly as neuro-sdk 23.2 does: short forms (`storage:data`,
 * `secret:/bob/key`) completed with the cluster, org and user, canonical percent-encoding,
 * local paths (`~`, relative) turned into `file:` URIs, and the short form back.
 *
 * Every function is pure and returns an `Either` (usable in `Effect.gen` as is); the `Parser`
 * service calls them with the logged-in identity. Results are WHATWG `URL`s whose `href` is the
 * string neuro-sdk would print.
 *
 * @since 1.0.0
 */
import * as Either from "effect/Either"
import { InvalidInputError } from "./Errors.js"
import * as internal from "./internal/uri.js"
import * as rules from "./internal/uriRules.js"

/**
 * Who the short forms belong to: the user, the cluster and the org (`null` = no org).
 *
 * @since 1.0.0
 * @category models
 */
export interface Identity {
  readonly username: string
  readonly clusterName: string
  readonly orgName: string | null
}

/**
 * What turning local paths into `file:` URIs needs. Without `cwd`, relative local paths are an
 * error; without `home` (or `userHome`), `~` (or `~name`) cannot be expanded.
 *
 * @since 1.0.0
 * @category models
 */
export interface LocalContext {
  /** The current directory with symlinks resolved (neuro-sdk uses the real path). */
  readonly cwd?: string | undefined
  /** The home directory for `~` (neuro-sdk: `$HOME`). */
  readonly home?: string | undefined
  /** Home directories of other users for `~name` (neuro-sdk: the account database). */
  readonly userHome?: ((name: string) => string | undefined) | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface FromCliOptions extends LocalContext {
  /** Schemes accepted (default `["file", "storage"]`; empty = any). */
  readonly allowedSchemes?: ReadonlyArray<string> | undefined
}

/**
 * Schemes of resources that live on a cluster: their short forms are completed with the
 * cluster, org and user.
 *
 * @since 1.0.0
 * @category constants
 */
export const CLUSTER_SCHEMES: ReadonlyArray<string> = rules.CLUSTER_SCHEMES

const invalid = (input: URL | string, description: string) =>
  new InvalidInputError({ kind: "uri", input: String(input), description })

/** @internal */
export const toURL = (u: internal.Yurl, input: URL | string): Either.Either<URL, InvalidInputError> => {
  const text = internal.render(u)
  const url = internal.toWhatwg(text)
  return url === undefined ? Either.left(invalid(input, `${text} cannot be represented as a URL`)) : Either.right(url)
}

/** @internal */
export const parseYurl = (input: URL | string): Either.Either<internal.Yurl, InvalidInputError> =>
  Either.mapLeft(internal.parse(typeof input === "string" ? input : input.href), (d) => invalid(input, d))

const finish = (result: Either.Either<internal.Yurl, string>, input: URL | string) =>
  Either.flatMap(Either.mapLeft(result, (d) => invalid(input, d)), (u) => toURL(u, input))

const withParsed = (
  input: URL | string,
  f: (u: internal.Yurl) => Either.Either<internal.Yurl, string>
): Either.Either<URL, InvalidInputError> => Either.flatMap(parseYurl(input), (u) => finish(f(u), input))

/**
 * The canonical form of a URI string (no normalization): scheme and host lower-cased, host
 * IDNA-encoded, path percent-encoded canonically, `.`/`..` removed when there is a host.
 *
 * @since 1.0.0
 * @category constructors
 */
export const parse = (input: URL | string): Either.Either<URL, InvalidInputError> => withParsed(input, Either.right)

/**
 * neuro-sdk `uri_from_cli`: a command-line argument — a URI or, when `file` is allowed, a local
 * path (`data/x`, `/abs`, `~/x`) — to a normalized URI.
 *
 * @since 1.0.0
 * @category constructors
 */
export const uriFromCli = (
  text: string,
  identity: Identity,
  options: FromCliOptions = {}
): Either.Either<URL, InvalidInputError> =>
  finish(rules.fromCli(text, identity, options, options.allowedSchemes ?? ["file", "storage"]), text)

/**
 * neuro-sdk `Parser.normalize_uri` (without `short`): the scheme restriction, then short cluster
 * URIs completed (`storage:x` → `storage://cluster/[org/]user/x`, `storage:/bob/x` →
 * `storage://cluster/[org/]bob/x`); a URI with a host is kept as it is. No local paths.
 *
 * @since 1.0.0
 * @category normalization
 */
export const normalizeUri = (
  uri: URL | string,
  identity: Identity,
  options: { readonly allowedSchemes?: ReadonlyArray<string> | undefined } = {}
): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => {
    const bad = rules.checkScheme(u.scheme, options.allowedSchemes ?? [])
    return bad !== undefined ? Either.left(bad) : rules.normalizeClusterUri(u, identity)
  })

/**
 * neuro-sdk `normalize_storage_path_uri`: `normalizeUri` for `storage:` URIs only.
 *
 * @since 1.0.0
 * @category normalization
 */
export const normalizeStorageUri = (uri: URL | string, identity: Identity): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => rules.normalizeWithScheme(u, identity, "storage", "storage"))

/**
 * neuro-sdk `normalize_secret_uri`: `normalizeUri` for `secret:` URIs only.
 *
 * @since 1.0.0
 * @category normalization
 */
export const normalizeSecretUri = (uri: URL | string, identity: Identity): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => rules.normalizeWithScheme(u, identity, "secret", "secret"))

/**
 * neuro-sdk `normalize_disk_uri`: `normalizeUri` for `disk:` URIs only.
 *
 * @since 1.0.0
 * @category normalization
 */
export const normalizeDiskUri = (uri: URL | string, identity: Identity): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => rules.normalizeWithScheme(u, identity, "disk", "disk"))

/**
 * neuro-sdk `normalize_local_path_uri`: an absolute `file:` URI; a relative path is joined to
 * `local.cwd`. `..` is not resolved by neuro-sdk; a WHATWG `file:` URL resolves it (compat.md).
 *
 * @since 1.0.0
 * @category normalization
 */
export const normalizeLocalPathUri = (uri: URL | string, local: LocalContext = {}): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => rules.normalizeLocal(u, local))

/**
 * neuro-sdk `Parser._short`: the short form of a normalized URI of the given identity
 * (`storage://c/alice/x/` → `storage:x`); other URIs only lose their trailing slashes.
 *
 * @since 1.0.0
 * @category normalization
 */
export const short = (uri: URL | string, identity: Identity): Either.Either<URL, InvalidInputError> =>
  withParsed(uri, (u) => Either.right(rules.shorten(u, identity)))

/**
 * neuro-sdk `Parser.uri_to_path`: the local path of a `file:` URI, decoded, not resolved
 * (`file:rel/x` → `rel/x`, trailing `/` dropped). Pass a string for relative `file:` URIs: a
 * WHATWG `URL` object has already made them absolute.
 *
 * @since 1.0.0
 * @category conversions
 */
export const uriToPath = (uri: URL | string): Either.Either<string, InvalidInputError> =>
  Either.flatMap(parseYurl(uri), (u) => Either.mapLeft(rules.toPath(u), (d) => invalid(uri, d)))

/**
 * neuro-sdk `Parser.path_to_uri`: a local path (absolute, relative to `local.cwd`, or `~`) to a
 * `file:` URI.
 *
 * @since 1.0.0
 * @category conversions
 */
export const pathToUri = (path: string, local: LocalContext = {}): Either.Either<URL, InvalidInputError> =>
  finish(rules.fromCli(path, { username: "", clusterName: "", orgName: null }, local, ["file"]), path)

/**
 * neuro-sdk `_check_scheme`: fails unless `scheme` (without `:`) is allowed; an empty list allows all.
 *
 * @since 1.0.0
 * @category validation
 */
export const checkScheme = (scheme: string, allowed: ReadonlyArray<string>): Either.Either<void, InvalidInputError> => {
  const bad = rules.checkScheme(scheme, allowed)
  return bad === undefined ? Either.void : Either.left(invalid(`${scheme}:`, bad))
}

/**
 * The scheme of a URI without the trailing `:` (`"storage"`).
 *
 * @since 1.0.0
 * @category getters
 */
export const scheme = (uri: URL): string => uri.protocol.slice(0, -1)

/**
 * The decoded path of a URI (neuro-sdk `URL.path`): `storage://c/a%20b` → `/a b`.
 *
 * @since 1.0.0
 * @category getters
 */
export const decodedPath = (uri: URL | string): Either.Either<string, InvalidInputError> =>
  Either.map(parseYurl(uri), internal.decodedPath)
