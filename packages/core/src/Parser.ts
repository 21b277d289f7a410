/**
 * The `Parser` subsystem (neuro-sdk's `client.parse`): volume specifications
 * (`storage:data:/mnt:ro`, `secret:key:/etc/key`, `disk:d:/mnt/disk`), environment variables
 * (`NAME=VALUE`, `NAME`, env files, `secret:` values), image references and URIs, completed with
 * the logged-in user, cluster and org from the `Config` service.
 *
 * The same rules are available without a client as pure functions here (`parseVolume`,
 * `parseVolumes`, `parseEnvs`) and in the `Uri` and `Image` modules.
 *
 * @since 1.0.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as EffectConfig from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Config } from "./Config.js"
import type { ConfigError, FileSystemError } from "./Errors.js"
import { InvalidInputError } from "./Errors.js"
import { platformFileError } from "./FileFilter.js"
import * as Image from "./Image.js"
import * as internal from "./internal/parser.js"
import * as Uri from "./Uri.js"
import { DiskVolume, SecretFile, Volume } from "./Volume.js"

/**
 * The volumes of a job, by kind, each list in the order given.
 *
 * @since 1.0.0
 * @category models
 */
export class VolumeParseResult extends Schema.Class<VolumeParseResult>("@neuro-sdk/core/VolumeParseResult")({
  volumes: Schema.Array(Volume),
  secretFiles: Schema.Array(SecretFile),
  diskVolumes: Schema.Array(DiskVolume)
}) {}

/**
 * The environment of a job: plain variables and variables whose value is a secret.
 *
 * @since 1.0.0
 * @category models
 */
export class EnvParseResult extends Schema.Class<EnvParseResult>("@neuro-sdk/core/EnvParseResult")({
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  secretEnv: Schema.Record({ key: Schema.String, value: Schema.instanceOf(URL) })
}) {}

/**
 * neuro-sdk `Parser.volume`: `STORAGE_URI:CONTAINER_PATH[:ro|:rw]`; the URI is normalized with
 * `identity` (`storage:` only).
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseVolume = (spec: string, identity: Uri.Identity): Either.Either<Volume, InvalidInputError> =>
  internal.volume(spec, identity)

/**
 * neuro-sdk `Parser.volumes`: specs starting with `secret:` are secret files
 * (`SECRET_URI:CONTAINER_PATH`), with `disk:` disk volumes, anything else storage volumes.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseVolumes = (
  specs: ReadonlyArray<string>,
  identity: Uri.Identity
): Either.Either<VolumeParseResult, InvalidInputError> =>
  Either.map(internal.volumes(specs, identity), (r) => new VolumeParseResult(r))

/**
 * The variable lines of an env file's content (blank lines and `#` comments dropped, leading
 * whitespace removed, a BOM ignored).
 *
 * @since 1.0.0
 * @category parsing
 */
export const envFileLines: (content: string) => ReadonlyArray<string> = internal.envFileLines

/**
 * neuro-sdk `Parser.envs` over already-read env files: the lines of `envFiles` (in order), then
 * `env`; `NAME=VALUE` or `NAME` (value from `lookup`, else empty); later lines win; values starting
 * with `secret:` become secret URIs normalized with `identity`.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseEnvs = (
  env: ReadonlyArray<string>,
  envFiles: ReadonlyArray<string>,
  identity: Uri.Identity,
  lookup: (name: string) => string | undefined = () => undefined
): Either.Either<EnvParseResult, InvalidInputError> => {
  const lines = [...envFiles.flatMap(internal.envFileLines), ...env]
  return Either.map(
    internal.extractSecretEnv(internal.buildEnv(lines, lookup), identity),
    // built without re-validation: a Schema record copy would drop a variable named `__proto__`
    (r) => new EnvParseResult({ env: Object.fromEntries(r.env), secretEnv: Object.fromEntries(r.secretEnv) }, { disableValidation: true })
  )
}

/**
 * @since 1.0.0
 * @category models
 */
export interface StrToUriOptions {
  /** Accepted schemes; empty (the default) accepts any and does not read local paths. */
  readonly allowedSchemes?: ReadonlyArray<string> | undefined
  /** Cluster of short forms (default: the current cluster). */
  readonly clusterName?: string | undefined
  /** Org of short forms: missing = the current org, `null` = no org. */
  readonly orgName?: string | null | undefined
  /** Return the short form for the current user, cluster and org (`storage:x`). */
  readonly short?: boolean | undefined
}

/**
 * Errors of the parser: bad input, or no usable configuration.
 *
 * @since 1.0.0
 * @category models
 */
export type ParserError = InvalidInputError | ConfigError

/**
 * @since 1.0.0
 * @category tags
 */
export class Parser extends Context.Tag("@neuro-sdk/core/Parser")<Parser, Parser.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace Parser {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** A storage volume (`storage:data:/mnt/data:ro`). */
    readonly volume: (
      spec: string,
      options?: { readonly clusterName?: string | undefined; readonly orgName?: string | null | undefined }
    ) => Effect.Effect<Volume, ParserError>
    /** Storage volumes, secret files and disk volumes. */
    readonly volumes: (
      specs: ReadonlyArray<string>,
      options?: { readonly clusterName?: string | undefined }
    ) => Effect.Effect<VolumeParseResult, ParserError>
    /** Environment variables from `NAME=VALUE` / `NAME` items and env files (read from disk). */
    readonly envs: (
      env: ReadonlyArray<string>,
      envFile?: ReadonlyArray<string>,
      options?: { readonly clusterName?: string | undefined }
    ) => Effect.Effect<EnvParseResult, ParserError | FileSystemError>
    /** A local Docker image (`ubuntu:22.04`; tag `latest` when missing). */
    readonly localImage: (image: string) => Effect.Effect<Image.LocalImage, ParserError>
    /** A platform (`image:x`, `image://cluster/owner/x`, registry host) or external image. */
    readonly remoteImage: (
      image: string,
      options?: { readonly tagOption?: Image.TagOption | undefined; readonly clusterName?: string | undefined }
    ) => Effect.Effect<Image.RemoteImage, ParserError>
    /** The platform image a local image is pushed to by default. */
    readonly localToRemoteImage: (
      image: Image.LocalImage,
      options?: { readonly clusterName?: string | undefined }
    ) => Effect.Effect<Image.RemoteImage, ParserError>
    /** The local image a remote image is pulled to by default. */
    readonly remoteToLocalImage: (image: Image.RemoteImage) => Image.LocalImage
    /** A URI or (when `file` is allowed) a local path, normalized. */
    readonly strToUri: (text: string, options?: StrToUriOptions) => Effect.Effect<URL, ParserError>
    /** A URI normalized (no local paths). */
    readonly normalizeUri: (uri: URL | string, options?: StrToUriOptions) => Effect.Effect<URL, ParserError>
    /**
     * The local path of a `file:` URI; any other scheme is an `InvalidInputError`. `clusterName` is
     * the parameter neuro-sdk documents; a local file belongs to no cluster, so it changes nothing.
     */
    readonly uriToPath: (
      uri: URL | string,
      options?: { readonly clusterName?: string | undefined }
    ) => Effect.Effect<string, InvalidInputError>
    /** The `file:` URI of a local path (relative to the current directory, `~` expanded). */
    readonly pathToUri: (path: string) => Effect.Effect<URL, ParserError>
    /** The string form of a URI. */
    readonly uriToStr: (uri: URL) => string
  }
}

const PASSWD = "/etc/passwd"

/**
 * A `Parser` over the `Config` service, the local file system (current directory, `~name`
 * homes, env files) and the environment (`HOME`, variables named without a value).
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Parser.Service, never, Config | FileSystem.FileSystem | Path.Path> = Effect.gen(function*() {
  const config = yield* Config
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const identity = (options: { readonly clusterName?: string | undefined; readonly orgName?: string | null | undefined } = {}) =>
    Effect.all({
      username: config.username,
      clusterName: options.clusterName !== undefined && options.clusterName !== ""
        ? Effect.succeed(options.clusterName)
        : config.clusterName,
      orgName: options.orgName !== undefined ? Effect.succeed(options.orgName) : config.orgName
    })

  const configIdentity = identity()

  const envVar = (name: string) =>
    Effect.map(Effect.option(EffectConfig.string(name)), Option.getOrUndefined)

  const userHomes = Effect.map(
    Effect.option(fs.readFileString(PASSWD)),
    (text) => {
      const homes = new Map<string, string>()
      for (const line of Option.getOrElse(text, () => "").split("\n")) {
        const f = line.split(":")
        if (f.length >= 7 && !homes.has(f[0]!)) homes.set(f[0]!, f[5]!)
      }
      return homes
    }
  )

  const local = (text: string): Effect.Effect<Uri.LocalContext> =>
    Effect.gen(function*() {
      const cwd = path.resolve(".")
      const real = yield* Effect.orElseSucceed(fs.realPath(cwd), () => cwd)
      const home = yield* envVar("HOME")
      const homes = /^~[^/]/.test(text) ? yield* userHomes : new Map<string, string>()
      return { cwd: real, home, userHome: (name: string) => homes.get(name) }
    })

  const imageParser = (clusterName?: string) =>
    Effect.gen(function*() {
      const id = yield* identity({ clusterName })
      const clusters = yield* config.clusters
      return yield* Image.makeImageParser({
        ...id,
        registryUrls: [...clusters.values()].map((c) => [c.name, c.registryUrl] as const)
      })
    })

  const shorten = (uri: URL, short: boolean | undefined) =>
    short === true ? Effect.flatMap(configIdentity, (id) => Uri.short(uri, id)) : Effect.succeed(uri)

  const readEnvFile = (file: string) =>
    Effect.flatMap(Effect.mapError(fs.readFile(file), (e) => platformFileError(file, e)), (bytes) =>
      Effect.try({
        try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
        catch: () => new InvalidInputError({ kind: "env file", input: file, description: "the file is not valid UTF-8" })
      }))

  return Parser.of({
    volume: (spec, options = {}) => Effect.flatMap(identity(options), (id) => parseVolume(spec, id)),
    volumes: (specs, options = {}) => Effect.flatMap(identity({ clusterName: options.clusterName }), (id) => parseVolumes(specs, id)),
    envs: (env, envFile = [], options = {}) =>
      Effect.gen(function*() {
        const id = yield* identity({ clusterName: options.clusterName })
        const files = yield* Effect.forEach(envFile, readEnvFile)
        const lines = [...files.flatMap(internal.envFileLines), ...env]
        const names = [...new Set(lines.filter((l) => !l.includes("=")))]
        const values = new Map<string, string | undefined>()
        for (const name of names) values.set(name, yield* envVar(name))
        return yield* parseEnvs(lines, [], id, (name) => values.get(name))
      }),
    localImage: (image) => Effect.flatMap(imageParser(), () => Image.parseLocalImage(image)),
    remoteImage: (image, options = {}) =>
      Effect.flatMap(imageParser(options.clusterName), (p) => Image.parseRemoteImage(p, image, { tagOption: options.tagOption })),
    localToRemoteImage: (image, options = {}) =>
      Effect.flatMap(imageParser(options.clusterName), (p) => Image.localToRemoteImage(p, image)),
    remoteToLocalImage: Image.remoteToLocalImage,
    strToUri: (text, options = {}) =>
      Effect.gen(function*() {
        const id = yield* identity(options)
        const ctx = yield* local(text)
        const uri = yield* Uri.uriFromCli(text, id, { ...ctx, allowedSchemes: options.allowedSchemes ?? [] })
        return yield* shorten(uri, options.short)
      }),
    normalizeUri: (uri, options = {}) =>
      Effect.gen(function*() {
        const id = yield* identity(options)
        const normalized = yield* Uri.normalizeUri(uri, id, { allowedSchemes: options.allowedSchemes })
        return yield* shorten(normalized, options.short)
      }),
    uriToPath: (uri) => Uri.uriToPath(uri),
    pathToUri: (p) => Effect.flatMap(local(p), (ctx) => Uri.pathToUri(p, ctx)),
    uriToStr: (uri) => uri.href
  })
})

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Parser, never, Config | FileSystem.FileSystem | Path.Path> = Layer.effect(Parser, make)
