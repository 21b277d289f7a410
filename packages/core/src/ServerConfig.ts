/**
 * What the platform tells about itself: `GET {api_url}/config` (auth settings, clusters with their
 * service URLs and resource presets), decoded from the exact wire JSON of neuro-sdk 23.2.
 *
 * @since 1.0.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as BigDecimal from "effect/BigDecimal"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Errors from "./Errors.js"
import * as internal from "./internal/apiClient.js"
import { DecimalFromText, DecimalFromWire } from "./internal/decimal.js"
import { describeParseError } from "./internal/decodeError.js"

/**
 * A resource preset of a cluster (`cpu-small`, `gpu-t4`, ...).
 *
 * @since 1.0.0
 * @category models
 */
export class Preset extends Schema.Class<Preset>("@neuro-sdk/core/Preset")({
  name: Schema.String,
  /**
   * Credits per hour: a decimal (neuro-sdk `Decimal`; effect's `BigDecimal`, print it with
   * `BigDecimal.format`), `0` when the server did not say.
   */
  creditsPerHour: Schema.BigDecimalFromSelf,
  cpu: Schema.Number,
  /** Memory in bytes. */
  memory: Schema.Number,
  schedulerEnabled: Schema.Boolean,
  preemptibleNode: Schema.Boolean,
  gpu: Schema.optional(Schema.Number),
  gpuModel: Schema.optional(Schema.String),
  tpuType: Schema.optional(Schema.String),
  tpuSoftwareVersion: Schema.optional(Schema.String)
}) {
  /** Memory in MiB (rounded down), as neuro-sdk's `memory_mb`. */
  get memoryMb(): number {
    return Math.floor(this.memory / 2 ** 20)
  }
}

/**
 * A cluster the user may run in, with its service URLs and presets.
 *
 * The URLs are kept as the text the server (or the config database) gave, so that the stored
 * login round-trips byte for byte (a WHATWG `URL` would rewrite `https://host` as
 * `https://host/`); `Config`'s accessors (`registryUrl`, `storageUrl`, ...) give `URL`s.
 *
 * @since 1.0.0
 * @category models
 */
export class Cluster extends Schema.Class<Cluster>("@neuro-sdk/core/Cluster")({
  name: Schema.String,
  /** Orgs of the user in this cluster, `null` meaning "no org"; the first one is the default. */
  orgs: Schema.Array(Schema.NullOr(Schema.String)),
  registryUrl: Schema.String,
  storageUrl: Schema.String,
  usersUrl: Schema.String,
  monitoringUrl: Schema.String,
  secretsUrl: Schema.String,
  disksUrl: Schema.String,
  bucketsUrl: Schema.String,
  /** Presets by name, in server order (neuro-sdk's `Mapping[str, Preset]`, like `Config.presets`). */
  presets: Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Preset })
}) {
  /**
   * The presets by name (what `presets` now is).
   *
   * @deprecated use `presets`
   */
  get presetsByName(): ReadonlyMap<string, Preset> {
    return this.presets
  }
}

/**
 * OAuth settings of the platform.
 *
 * @since 1.0.0
 * @category models
 */
export class AuthConfig extends Schema.Class<AuthConfig>("@neuro-sdk/core/AuthConfig")({
  authUrl: Schema.String,
  tokenUrl: Schema.String,
  logoutUrl: Schema.String,
  clientId: Schema.String,
  audience: Schema.String,
  headlessCallbackUrl: Schema.String,
  successRedirectUrl: Schema.optional(Schema.String),
  callbackUrls: Schema.Array(Schema.String)
}) {}

/**
 * The answer of `GET {api_url}/config`.
 *
 * @since 1.0.0
 * @category models
 */
export class ServerConfig extends Schema.Class<ServerConfig>("@neuro-sdk/core/ServerConfig")({
  auth: AuthConfig,
  adminUrl: Schema.optional(Schema.String),
  authorized: Schema.Boolean,
  clusters: Schema.Array(Cluster)
}) {}

/**
 * Callback URLs neuro-sdk uses when the server sends none.
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_CALLBACK_URLS: ReadonlyArray<string> = [
  "http://127.0.0.1:54540",
  "http://127.0.0.1:54541",
  "http://127.0.0.1:54542"
]

// ---------------------------------------------------------------------------------------------
// wire forms
// ---------------------------------------------------------------------------------------------

const optionalNullable = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { nullable: true })

/**
 * A preset as `/config` sends it.
 *
 * @since 1.0.0
 * @category wire
 */
export const PresetWire = Schema.Struct({
  name: Schema.String,
  cpu: Schema.Number,
  memory: Schema.Number,
  credits_per_hour: Schema.optional(DecimalFromWire),
  gpu: optionalNullable(Schema.Number),
  gpu_model: optionalNullable(Schema.String),
  scheduler_enabled: optionalNullable(Schema.Boolean),
  preemptible_node: optionalNullable(Schema.Boolean),
  tpu: optionalNullable(Schema.Struct({ type: Schema.String, software_version: Schema.String }))
})

/**
 * `Preset` decoded from (and encoded to) the `/config` form.
 *
 * @since 1.0.0
 * @category wire
 */
export const PresetFromServer: Schema.Schema<Preset, typeof PresetWire.Encoded> = Schema.transform(
  PresetWire,
  Schema.typeSchema(Preset),
  {
    strict: true,
    decode: (w) =>
      new Preset({
        name: w.name,
        creditsPerHour: w.credits_per_hour ?? BigDecimal.fromBigInt(0n),
        cpu: w.cpu,
        memory: w.memory,
        schedulerEnabled: w.scheduler_enabled ?? false,
        preemptibleNode: w.preemptible_node ?? false,
        ...(w.gpu !== undefined ? { gpu: w.gpu } : {}),
        ...(w.gpu_model !== undefined ? { gpuModel: w.gpu_model } : {}),
        ...(w.tpu !== undefined ? { tpuType: w.tpu.type, tpuSoftwareVersion: w.tpu.software_version } : {})
      }),
    encode: (p) => ({
      name: p.name,
      credits_per_hour: p.creditsPerHour,
      cpu: p.cpu,
      memory: p.memory,
      scheduler_enabled: p.schedulerEnabled,
      preemptible_node: p.preemptibleNode,
      ...(p.gpu !== undefined ? { gpu: p.gpu } : {}),
      ...(p.gpuModel !== undefined ? { gpu_model: p.gpuModel } : {}),
      ...(p.tpuType !== undefined && p.tpuSoftwareVersion !== undefined
        ? { tpu: { type: p.tpuType, software_version: p.tpuSoftwareVersion } }
        : {})
    })
  }
)

/** A URL as text: kept as given (the stored form must round-trip), but it must parse. */
const UrlText = Schema.String.pipe(
  // decode errors name the field and this description, never the value
  Schema.filter((s) => URL.canParse(s), { description: "an absolute URL" })
)

/** A URL as text, or `""` (neuro-sdk reads an empty optional URL as none). */
const UrlTextOrEmpty = Schema.Union(Schema.Literal(""), UrlText)

const clusterUrlFields = {
  registry_url: UrlText,
  storage_url: UrlText,
  users_url: UrlText,
  monitoring_url: UrlText,
  secrets_url: UrlText,
  disks_url: UrlText,
  buckets_url: UrlText
}

const clusterFrom = (w: {
  readonly name: string
  readonly orgs?: ReadonlyArray<string | null> | undefined
  readonly registry_url: string
  readonly storage_url: string
  readonly users_url: string
  readonly monitoring_url: string
  readonly secrets_url: string
  readonly disks_url: string
  readonly buckets_url: string
}, presets: ReadonlyArray<Preset>) =>
  new Cluster({
    name: w.name,
    orgs: w.orgs ?? [null],
    registryUrl: w.registry_url,
    storageUrl: w.storage_url,
    usersUrl: w.users_url,
    monitoringUrl: w.monitoring_url,
    secretsUrl: w.secrets_url,
    disksUrl: w.disks_url,
    bucketsUrl: w.buckets_url,
    presets: new Map(presets.map((p) => [p.name, p]))
  })

const clusterUrlsTo = (c: Cluster) => ({
  name: c.name,
  orgs: c.orgs,
  registry_url: c.registryUrl,
  storage_url: c.storageUrl,
  users_url: c.usersUrl,
  monitoring_url: c.monitoringUrl,
  secrets_url: c.secretsUrl,
  disks_url: c.disksUrl,
  buckets_url: c.bucketsUrl
})

/**
 * A cluster as `/config` sends it.
 *
 * @since 1.0.0
 * @category wire
 */
export const ClusterWire = Schema.Struct({
  name: Schema.String,
  orgs: optionalNullable(Schema.Array(Schema.NullOr(Schema.String))),
  ...clusterUrlFields,
  resource_presets: Schema.Array(PresetFromServer)
})

/**
 * `Cluster` decoded from (and encoded to) the `/config` form.
 *
 * @since 1.0.0
 * @category wire
 */
export const ClusterFromServer: Schema.Schema<Cluster, typeof ClusterWire.Encoded> = Schema.transform(
  ClusterWire,
  Schema.typeSchema(Cluster),
  {
    strict: true,
    decode: (w) => clusterFrom(w, w.resource_presets),
    encode: (c) => ({ ...clusterUrlsTo(c), resource_presets: [...c.presets.values()] })
  }
)

/**
 * The `/config` answer as sent on the wire.
 *
 * @since 1.0.0
 * @category wire
 */
export const ServerConfigWire = Schema.Struct({
  auth_url: UrlText,
  token_url: UrlText,
  logout_url: UrlText,
  client_id: Schema.String,
  audience: Schema.String,
  headless_callback_url: UrlText,
  callback_urls: optionalNullable(Schema.Array(UrlText)),
  success_redirect_url: optionalNullable(UrlTextOrEmpty),
  admin_url: optionalNullable(UrlTextOrEmpty),
  authorized: optionalNullable(Schema.Boolean),
  clusters: optionalNullable(Schema.Array(ClusterFromServer))
})

/**
 * `ServerConfig` decoded from (and encoded to) the exact `/config` JSON.
 *
 * @since 1.0.0
 * @category wire
 */
export const ServerConfigFromServer: Schema.Schema<ServerConfig, typeof ServerConfigWire.Encoded> = Schema.transform(
  ServerConfigWire,
  Schema.typeSchema(ServerConfig),
  {
    strict: true,
    decode: (w) =>
      new ServerConfig({
        auth: new AuthConfig({
          authUrl: w.auth_url,
          tokenUrl: w.token_url,
          logoutUrl: w.logout_url,
          clientId: w.client_id,
          audience: w.audience,
          headlessCallbackUrl: w.headless_callback_url,
          ...(w.success_redirect_url ? { successRedirectUrl: w.success_redirect_url } : {}),
          callbackUrls: w.callback_urls ?? DEFAULT_CALLBACK_URLS
        }),
        ...(w.admin_url ? { adminUrl: w.admin_url } : {}),
        authorized: w.authorized ?? false,
        clusters: w.clusters ?? []
      }),
    encode: (c) => ({
      auth_url: c.auth.authUrl,
      token_url: c.auth.tokenUrl,
      logout_url: c.auth.logoutUrl,
      client_id: c.auth.clientId,
      audience: c.auth.audience,
      headless_callback_url: c.auth.headlessCallbackUrl,
      callback_urls: c.auth.callbackUrls,
      ...(c.auth.successRedirectUrl !== undefined ? { success_redirect_url: c.auth.successRedirectUrl } : {}),
      ...(c.adminUrl !== undefined ? { admin_url: c.adminUrl } : {}),
      authorized: c.authorized,
      ...(c.clusters.length > 0 ? { clusters: c.clusters } : {})
    })
  }
)

// ---------------------------------------------------------------------------------------------
// config-database forms (the JSON neuro-sdk stores in `main.clusters` / `main.auth_config`)
// ---------------------------------------------------------------------------------------------

/**
 * A preset as stored in the config database (`presets` entry of `main.clusters`).
 *
 * @since 1.0.0
 * @category config database
 */
export const PresetStored = Schema.Struct({
  name: Schema.String,
  credits_per_hour: DecimalFromText,
  cpu: Schema.Number,
  memory: Schema.Number,
  gpu: Schema.optional(Schema.NullOr(Schema.Number)),
  gpu_model: Schema.optional(Schema.NullOr(Schema.String)),
  tpu_type: Schema.optional(Schema.NullOr(Schema.String)),
  tpu_software_version: Schema.optional(Schema.NullOr(Schema.String)),
  scheduler_enabled: Schema.optional(Schema.NullOr(Schema.Boolean)),
  preemptible_node: Schema.optional(Schema.NullOr(Schema.Boolean))
})

/**
 * `Preset` decoded from the config-database form; encodes with every key, in neuro-sdk's order.
 *
 * @since 1.0.0
 * @category config database
 */
export const PresetFromStore: Schema.Schema<Preset, typeof PresetStored.Encoded> = Schema.transform(
  PresetStored,
  Schema.typeSchema(Preset),
  {
    strict: true,
    decode: (w) =>
      new Preset({
        name: w.name,
        creditsPerHour: w.credits_per_hour,
        cpu: w.cpu,
        memory: w.memory,
        schedulerEnabled: w.scheduler_enabled ?? false,
        preemptibleNode: w.preemptible_node ?? false,
        ...(w.gpu != null ? { gpu: w.gpu } : {}),
        ...(w.gpu_model != null ? { gpuModel: w.gpu_model } : {}),
        ...(w.tpu_type != null ? { tpuType: w.tpu_type } : {}),
        ...(w.tpu_software_version != null ? { tpuSoftwareVersion: w.tpu_software_version } : {})
      }),
    encode: (p) => ({
      name: p.name,
      credits_per_hour: p.creditsPerHour,
      cpu: p.cpu,
      memory: p.memory,
      gpu: p.gpu ?? null,
      gpu_model: p.gpuModel ?? null,
      tpu_type: p.tpuType ?? null,
      tpu_software_version: p.tpuSoftwareVersion ?? null,
      scheduler_enabled: p.schedulerEnabled,
      preemptible_node: p.preemptibleNode
    })
  }
)

/**
 * A cluster as stored in the config database (`main.clusters` entry).
 *
 * @since 1.0.0
 * @category config database
 */
export const ClusterStored = Schema.Struct({
  name: Schema.String,
  orgs: optionalNullable(Schema.Array(Schema.NullOr(Schema.String))),
  ...clusterUrlFields,
  presets: optionalNullable(Schema.Array(PresetFromStore))
})

/**
 * `Cluster` decoded from the config-database form.
 *
 * @since 1.0.0
 * @category config database
 */
export const ClusterFromStore: Schema.Schema<Cluster, typeof ClusterStored.Encoded> = Schema.transform(
  ClusterStored,
  Schema.typeSchema(Cluster),
  {
    strict: true,
    decode: (w) => clusterFrom(w, w.presets ?? []),
    encode: (c) => ({ ...clusterUrlsTo(c), presets: [...c.presets.values()] })
  }
)

/**
 * `main.auth_config` of the config database.
 *
 * @since 1.0.0
 * @category config database
 */
export const AuthConfigStored = Schema.Struct({
  auth_url: UrlText,
  token_url: UrlText,
  logout_url: UrlText,
  client_id: Schema.String,
  audience: Schema.String,
  headless_callback_url: UrlText,
  success_redirect_url: Schema.optional(Schema.NullOr(UrlTextOrEmpty)),
  callback_urls: optionalNullable(Schema.Array(UrlText))
})

/**
 * `AuthConfig` decoded from the config-database form; encodes every key in neuro-sdk's order.
 *
 * @since 1.0.0
 * @category config database
 */
export const AuthConfigFromStore: Schema.Schema<AuthConfig, typeof AuthConfigStored.Encoded> = Schema.transform(
  AuthConfigStored,
  Schema.typeSchema(AuthConfig),
  {
    strict: true,
    decode: (w) =>
      new AuthConfig({
        authUrl: w.auth_url,
        tokenUrl: w.token_url,
        logoutUrl: w.logout_url,
        clientId: w.client_id,
        audience: w.audience,
        headlessCallbackUrl: w.headless_callback_url,
        ...Option.match(Option.fromNullable(w.success_redirect_url || undefined), {
          onNone: () => ({}),
          onSome: (u) => ({ successRedirectUrl: u })
        }),
        callbackUrls: w.callback_urls ?? []
      }),
    encode: (a) => ({
      auth_url: a.authUrl,
      token_url: a.tokenUrl,
      logout_url: a.logoutUrl,
      client_id: a.clientId,
      audience: a.audience,
      headless_callback_url: a.headlessCallbackUrl,
      success_redirect_url: a.successRedirectUrl ?? null,
      callback_urls: a.callbackUrls
    })
  }
)

// ---------------------------------------------------------------------------------------------
// fetching
// ---------------------------------------------------------------------------------------------

/**
 * `GET {apiUrl}/config`, with `Authorization: Bearer <token>` when a token is given. Not retried
 * and not error-mapped like API calls (neuro-sdk 23.2 treats it apart): any status but 200 is a
 * `ClientError` (`ServerNotAvailable` for 502/503/504); with a token, an answer that is not
 * `authorized` is an `AuthError`.
 *
 * @since 1.0.0
 * @category fetching
 */
export const fetch: (
  apiUrl: URL | string,
  options?: {
    readonly token?: Redacted.Redacted<string> | undefined
    readonly userAgent?: string | undefined
    /** How long to wait for the answer (default 60 s; `null`: no limit). */
    readonly timeout?: Duration.DurationInput | null | undefined
  }
) => Effect.Effect<
  ServerConfig,
  | Errors.AuthError
  | Errors.ClientError
  | Errors.ServerNotAvailable
  | Errors.NetworkError
  | Errors.MalformedResponse
  | Errors.InvalidInputError,
  HttpClient.HttpClient
> = (apiUrl, options = {}) =>
  Effect.gen(function*() {
    const http = HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false)
    if (!URL.canParse(String(apiUrl))) {
      return yield* Effect.fail(
        new Errors.InvalidInputError({ kind: "url", input: String(apiUrl), description: "the API URL is not an absolute URL" })
      )
    }
    const url = internal.appendPath(apiUrl, "config")
    const context = { method: "GET", url: url.toString() }
    let request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("User-Agent", options.userAgent ?? internal.USER_AGENT))
    if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
    const timeout = options.timeout === undefined ? Duration.seconds(60) : options.timeout
    const execute = http.execute(request)
    const response = yield* (timeout === null ? execute : execute.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new Errors.NetworkError({ reason: "Timeout", description: `no answer within ${Duration.format(timeout)}`, ...context })
      })
    )).pipe(
      Effect.catchTags({
        RequestError: (e) =>
          Effect.fail(new Errors.NetworkError({ reason: "Transport", description: e.description ?? e.reason, ...context })),
        ResponseError: (e) =>
          Effect.fail(new Errors.MalformedResponse({ description: e.description ?? e.reason, status: e.response.status, ...context }))
      })
    )
    const text = yield* response.text.pipe(
      Effect.catchAll(() => Effect.fail(new Errors.NetworkError({ reason: "Transport", description: "the answer broke off", ...context })))
    )
    if (response.status !== 200) {
      const fields = { description: `Unable to get server configuration: ${response.status}`, status: response.status, ...context }
      return yield* Effect.fail(
        [502, 503, 504].includes(response.status) ? new Errors.ServerNotAvailable(fields) : new Errors.ClientError(fields)
      )
    }
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: (cause) => new Errors.MalformedResponse({ description: "the server configuration is not valid JSON", status: 200, ...context, cause })
    })
    const config = yield* Schema.decodeUnknown(ServerConfigFromServer, { errors: "all" })(json).pipe(
      Effect.mapError((e) =>
        new Errors.MalformedResponse({
          description: `the server configuration is malformed: ${describeParseError(e)}`,
          status: 200,
          ...context
        })
      )
    )
    if (options.token !== undefined && !config.authorized) {
      return yield* Effect.fail(new Errors.AuthError({ description: "Cannot authorize user", status: 200, ...context }))
    }
    return config
  })
