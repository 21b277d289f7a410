/**
 * neuro-sdk 23.2's job-spec parsing (`_parser.py`): volume specifications and environment
 * variables. Pure.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { InvalidInputError } from "../Errors.js"
import { DiskVolume, SecretFile, Volume } from "../Volume.js"
import { render, toWhatwg } from "./uri.js"
import { fromCli, type Identity } from "./uriRules.js"

type Result<A> = Either.Either<A, InvalidInputError>

const uriError = (input: string, description: string) => new InvalidInputError({ kind: "uri", input, description })

/** `uri_from_cli` with one allowed scheme, as a WHATWG URL. */
/** @internal */
export const resourceUri = (text: string, id: Identity, scheme: string): Result<URL> =>
  Either.match(fromCli(text, id, {}, [scheme]), {
    onLeft: (d) => Either.left(uriError(text, d)),
    onRight: (u) => {
      const href = render(u)
      const url = toWhatwg(href)
      return url === undefined ? Either.left(uriError(text, `${href} cannot be represented as a URL`)) : Either.right(url)
    }
  })

type Kind = "volume" | "disk volume" | "secret file"

const SHAPES: Record<Kind, string> = {
  "volume": "expected STORAGE_URI:CONTAINER_PATH[:ro|:rw]",
  "disk volume": "expected DISK_URI:CONTAINER_PATH[:ro|:rw]",
  "secret file": "expected SECRET_URI:CONTAINER_PATH"
}

/** @internal */
export const shapeError = (kind: Kind): string => SHAPES[kind]

/** @internal */
export const modeError = (mode: string): string => `wrong read/write mode '${mode}': expected 'ro' or 'rw'`

/** `_parse_generic_volume`: `[uri text, container path, read-only]`, split on every `:`. */
const genericVolume = (spec: string, kind: Kind): Result<readonly [string, string, boolean]> => {
  const parts = spec.split(":")
  let readOnly = false
  if (kind !== "secret file" && parts.length === 4) {
    const mode = parts.pop()!
    if (mode !== "ro" && mode !== "rw") return Either.left(new InvalidInputError({ kind, input: spec, description: modeError(mode) }))
    readOnly = mode === "ro"
  } else if (parts.length !== 3) {
    return Either.left(new InvalidInputError({ kind, input: spec, description: SHAPES[kind] }))
  }
  const containerPath = parts.pop()!
  return Either.right([parts.join(":"), containerPath, readOnly] as const)
}

/** `Parser.volume`. */
/** @internal */
export const volume = (spec: string, id: Identity): Result<Volume> =>
  Either.flatMap(genericVolume(spec, "volume"), ([uri, containerPath, readOnly]) =>
    Either.map(resourceUri(uri, id, "storage"), (storageUri) => new Volume({ storageUri, containerPath, readOnly })))

const secretFile = (spec: string, id: Identity): Result<SecretFile> =>
  Either.flatMap(genericVolume(spec, "secret file"), ([uri, containerPath]) =>
    Either.map(resourceUri(uri, id, "secret"), (secretUri) => new SecretFile({ secretUri, containerPath })))

const diskVolume = (spec: string, id: Identity): Result<DiskVolume> =>
  Either.flatMap(genericVolume(spec, "disk volume"), ([uri, containerPath, readOnly]) =>
    Either.map(resourceUri(uri, id, "disk"), (diskUri) => new DiskVolume({ diskUri, containerPath, readOnly })))

/** `Parser.volumes`: the three lists, in order of appearance. */
/** @internal */
export const volumes = (specs: ReadonlyArray<string>, id: Identity): Result<{
  readonly volumes: ReadonlyArray<Volume>
  readonly secretFiles: ReadonlyArray<SecretFile>
  readonly diskVolumes: ReadonlyArray<DiskVolume>
}> => {
  const storage: Array<string> = []
  const secrets: Array<string> = []
  const disks: Array<string> = []
  for (const spec of specs) {
    if (spec.startsWith("secret:")) secrets.push(spec)
    else if (spec.startsWith("disk:")) disks.push(spec)
    else storage.push(spec)
  }
  for (const word of ["HOME", "ALL"]) {
    if (storage.includes(word)) {
      return Either.left(new InvalidInputError({ kind: "volume", input: word, description: `--volume=${word} no longer supported` }))
    }
  }
  return Either.all({
    volumes: Either.all(storage.map((s) => volume(s, id))),
    secretFiles: Either.all(secrets.map((s) => secretFile(s, id))),
    diskVolumes: Either.all(disks.map((s) => diskVolume(s, id)))
  })
}

const PY_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" +
  "\u2028\u2029\u202f\u205f\u3000"

const lstrip = (s: string): string => {
  let i = 0
  while (i < s.length && PY_SPACE.includes(s[i]!)) i++
  return s.slice(i)
}

/** The variable lines of an env file: split like Python's `splitlines`, left-stripped, no blanks or comments. */
/** @internal */
export const envFileLines = (text: string): Array<string> =>
  (text.startsWith("\uFEFF") ? text.slice(1) : text)
    .split(/\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/)
    .map(lstrip)
    .filter((line) => line !== "" && !line.startsWith("#"))

/** `_build_env`: `NAME=VALUE` (split at the first `=`) or `NAME` (value from `lookup`, else ""). */
/** @internal */
export const buildEnv = (lines: ReadonlyArray<string>, lookup: (name: string) => string | undefined): Map<string, string> => {
  const env = new Map<string, string>()
  for (const line of lines) {
    const at = line.indexOf("=")
    if (at < 0) env.set(line, lookup(line) ?? "")
    else env.set(line.slice(0, at), line.slice(at + 1))
  }
  return env
}

/** `_extract_secret_env`: values starting with `secret:` move to the secret map as secret URIs. */
/** @internal */
export const extractSecretEnv = (env: Map<string, string>, id: Identity): Result<{
  readonly env: ReadonlyArray<readonly [string, string]>
  readonly secretEnv: ReadonlyArray<readonly [string, URL]>
}> => {
  const plain: Array<readonly [string, string]> = []
  const secret: Array<readonly [string, URL]> = []
  for (const [name, value] of env) {
    if (value.startsWith("secret:")) {
      const uri = resourceUri(value, id, "secret")
      if (Either.isLeft(uri)) return Either.left(uri.left)
      secret.push([name, uri.right])
    } else {
      plain.push([name, value])
    }
  }
  return Either.right({ env: plain, secretEnv: secret })
}
