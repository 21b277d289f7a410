/**
 * The local Docker Engine for `Images.push`/`Images.pull`: the Engine HTTP API over `node:http`,
 * on `DOCKER_HOST` (`unix://`, `tcp://`, `http://`, `https://`) or, by default, the first local
 * Unix socket that exists (`/run/docker.sock`, `/var/run/docker.sock`,
 * `~/.docker/run/docker.sock`, then Podman's Docker-compatible sockets `/run/podman/podman.sock`
 * and `$XDG_RUNTIME_DIR/podman/podman.sock`). With `DOCKER_TLS_VERIFY` set, `tcp://` uses TLS with the client
 * certificates of `DOCKER_CERT_PATH` (default `~/.docker`), as the Docker CLI does.
 *
 * The engine is reached on each call, so the layer never fails: without an engine, calls fail
 * with `DockerError` status 900 ("Docker engine is not available...").
 *
 * @since 1.0.0
 */
import { DOCKER_NOT_AVAILABLE, DockerDaemon, DockerError, DockerImageInspect } from "@neuro-sdk/core/Images"
import type { DockerStreamObject, RegistryAuth } from "@neuro-sdk/core/Images"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { existsSync, readFileSync } from "node:fs"
import type * as http from "node:http"
import { homedir } from "node:os"
import { join } from "node:path"
import { once } from "./internal/lazy.js"

/** The HTTP clients and the stream adapter, imported on the first call to the engine. */
const loadTransport = once(() =>
  Promise.all([import("node:http"), import("node:https"), import("@effect/platform-node/NodeStream")]).then(
    ([http, https, stream]) => ({ http, https, fromReadable: stream.fromReadable })
  )
)

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Engine address (default: `DOCKER_HOST`, else the first local Docker or Podman socket that exists). */
  readonly host?: string | undefined
  /** Use TLS for `tcp://` addresses (default: whether `DOCKER_TLS_VERIFY` is set and not empty). */
  readonly tlsVerify?: boolean | undefined
  /** Folder of `ca.pem`, `cert.pem`, `key.pem` for TLS (default: `DOCKER_CERT_PATH`, else `~/.docker`). */
  readonly certPath?: string | undefined
  /** Engine API version to ask for (`"1.41"` → paths `/v1.41/...`); default: the engine's own. */
  readonly apiVersion?: string | undefined
  /** Environment to read `DOCKER_*` variables from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

type Endpoint =
  | { readonly _tag: "Socket"; readonly socketPath: string }
  | {
    readonly _tag: "Tcp"
    readonly tls: boolean
    readonly host: string
    readonly port: number
    readonly ca?: Buffer | undefined
    readonly cert?: Buffer | undefined
    readonly key?: Buffer | undefined
  }

/** Docker's sockets, then Podman's (its Engine API service, rootful and rootless). */
const DEFAULT_SOCKETS = (env: Readonly<Record<string, string | undefined>>) => {
  const runtimeDir = env["XDG_RUNTIME_DIR"]
  return [
    "/run/docker.sock",
    "/var/run/docker.sock",
    join(homedir(), ".docker", "run", "docker.sock"),
    "/run/podman/podman.sock",
    ...(runtimeDir !== undefined && runtimeDir !== "" ? [join(runtimeDir, "podman", "podman.sock")] : [])
  ]
}

const unavailable = (detail?: string, cause?: unknown) =>
  new DockerError({
    status: 900,
    description: detail === undefined ? DOCKER_NOT_AVAILABLE : `${DOCKER_NOT_AVAILABLE} (${detail})`,
    ...(cause === undefined ? {} : { cause })
  })

const readOptional = (path: string): Buffer | undefined => (existsSync(path) ? readFileSync(path) : undefined)

/** Where the engine is, from the options and the environment. */
const resolveEndpoint = (options: Options): Either.Either<Endpoint, DockerError> => {
  const env = options.env ?? process.env
  const host = options.host ?? (env["DOCKER_HOST"] !== undefined && env["DOCKER_HOST"] !== "" ? env["DOCKER_HOST"] : undefined)
  if (host === undefined) {
    const socketPath = DEFAULT_SOCKETS(env).find((p) => existsSync(p))
    return socketPath === undefined ? Either.left(unavailable()) : Either.right({ _tag: "Socket", socketPath })
  }
  if (host.startsWith("unix://")) return Either.right({ _tag: "Socket", socketPath: host.slice("unix://".length) })
  let url: URL
  try {
    url = new URL(host)
  } catch {
    return Either.left(new DockerError({ status: 900, description: `Invalid DOCKER_HOST ${JSON.stringify(host)}` }))
  }
  const scheme = url.protocol.slice(0, -1)
  if (scheme !== "tcp" && scheme !== "http" && scheme !== "https") {
    return Either.left(new DockerError({ status: 900, description: `Unsupported DOCKER_HOST scheme ${JSON.stringify(scheme)}` }))
  }
  const tlsVerifyEnv = env["DOCKER_TLS_VERIFY"]
  const tls = scheme === "https" || (scheme === "tcp" && (options.tlsVerify ?? (tlsVerifyEnv !== undefined && tlsVerifyEnv !== "")))
  const port = url.port !== "" ? Number(url.port) : tls ? 2376 : 2375
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1")
  if (!tls) return Either.right({ _tag: "Tcp", tls, host: hostname, port })
  const certPath = options.certPath ?? env["DOCKER_CERT_PATH"] ?? join(homedir(), ".docker")
  return Either.right({
    _tag: "Tcp",
    tls,
    host: hostname,
    port,
    ca: readOptional(join(certPath, "ca.pem")),
    cert: readOptional(join(certPath, "cert.pem")),
    key: readOptional(join(certPath, "key.pem"))
  })
}

/**
 * The `X-Registry-Auth` value: base64url (padded, as the Docker CLI writes it) of the JSON
 * credentials.
 *
 * @since 1.0.0
 * @category utils
 */
export const encodeRegistryAuth = (auth: RegistryAuth): string =>
  Buffer.from(JSON.stringify({
    username: auth.username,
    password: Redacted.value(auth.password),
    serveraddress: auth.serveraddress
  }), "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_")

const errorCode = (e: unknown): string | undefined =>
  Predicate.hasProperty(e, "code") && typeof e.code === "string" ? e.code : undefined

const connectionError = (endpoint: Endpoint, e: unknown): DockerError => {
  const code = errorCode(e)
  const where = endpoint._tag === "Socket" ? endpoint.socketPath : `${endpoint.host}:${endpoint.port}`
  if (code === "EACCES" || code === "EPERM") {
    return new DockerError({ status: 900, description: `Permission denied on the Docker engine socket ${where}`, cause: e })
  }
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ECONNRESET") {
    return unavailable(`${code} ${where}`, e)
  }
  return new DockerError({
    status: 900,
    description: `Docker engine connection failed (${where}): ${e instanceof Error ? e.message : String(e)}`,
    cause: e
  })
}

const readBody = (res: http.IncomingMessage): Effect.Effect<string, DockerError> =>
  Effect.async<string, DockerError>((resume) => {
    const chunks: Array<Buffer> = []
    res.on("data", (c: Buffer) => chunks.push(c))
    res.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
    res.on("error", (e) => resume(Effect.fail(new DockerError({ status: 900, description: "the Docker engine connection broke", cause: e }))))
    res.on("aborted", () => resume(Effect.fail(new DockerError({ status: 900, description: "the Docker engine connection broke" }))))
  })

/** aiodocker: an engine error answer `{"message": ...}` (or its text) with the HTTP status. */
const statusError = (res: http.IncomingMessage): Effect.Effect<never, DockerError> =>
  Effect.flatMap(Effect.orElseSucceed(readBody(res), () => ""), (body) => {
    let description = body.trim()
    try {
      const json: unknown = JSON.parse(body)
      if (Predicate.isRecord(json) && typeof json["message"] === "string") description = json["message"]
    } catch {
      // not JSON: the text is the message
    }
    const status = res.statusCode ?? 900
    return Effect.fail(new DockerError({ status, description: description === "" ? `HTTP ${status}` : description }))
  })

const malformedLine = (line: string, cause?: unknown) =>
  new DockerError({
    status: 900,
    description: `the Docker engine sent something that is not a JSON object: ${line.slice(0, 200)}`,
    ...(cause === undefined ? {} : { cause })
  })

const parseObject = (line: string): Effect.Effect<DockerStreamObject, DockerError> =>
  Effect.flatMap(
    Effect.try({ try: (): unknown => JSON.parse(line), catch: (e) => malformedLine(line, e) }),
    (u) => (Predicate.isRecord(u) && !Array.isArray(u) ? Effect.succeed(u as DockerStreamObject) : Effect.fail(malformedLine(line)))
  )

const decodeInspect = Schema.decodeUnknown(DockerImageInspect)

/**
 * A `DockerDaemon` over the Engine HTTP API.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options = {}): DockerDaemon.Service => {
  const prefix = options.apiVersion !== undefined ? `/v${options.apiVersion}` : ""

  const open = (
    method: string,
    path: string,
    query: Record<string, string | undefined>,
    headers: Record<string, string> = {}
  ): Effect.Effect<http.IncomingMessage, DockerError, Scope.Scope> =>
    Effect.gen(function*() {
      const endpoint = yield* resolveEndpoint(options)
      const { http, https } = yield* Effect.promise(loadTransport)
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v)
      const search = params.toString()
      const fullPath = `${prefix}${path}${search === "" ? "" : `?${search}`}`
      const res = yield* Effect.acquireRelease(
        Effect.async<http.IncomingMessage, DockerError>((resume) => {
          const common = { method, path: fullPath, headers: { Host: "docker", ...headers } }
          const req = endpoint._tag === "Socket"
            ? http.request({ ...common, socketPath: endpoint.socketPath })
            : endpoint.tls
            ? https.request({
              ...common,
              host: endpoint.host,
              port: endpoint.port,
              ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}),
              ...(endpoint.cert !== undefined ? { cert: endpoint.cert } : {}),
              ...(endpoint.key !== undefined ? { key: endpoint.key } : {})
            })
            : http.request({ ...common, host: endpoint.host, port: endpoint.port })
          req.on("response", (r) => resume(Effect.succeed(r)))
          req.on("error", (e) => resume(Effect.fail(connectionError(endpoint, e))))
          req.end()
          return Effect.sync(() => req.destroy())
        }),
        (r) => Effect.sync(() => r.destroy())
      )
      if ((res.statusCode ?? 500) >= 400) return yield* statusError(res)
      return res
    })

  const call = (method: string, path: string, query: Record<string, string | undefined> = {}) =>
    Effect.scoped(Effect.flatMap(open(method, path, query), readBody))

  const progressStream = (
    path: string,
    query: Record<string, string | undefined>,
    auth: RegistryAuth | undefined
  ): Stream.Stream<DockerStreamObject, DockerError> =>
    Stream.unwrapScoped(
      Effect.zipWith(
        open("POST", path, query, auth === undefined ? {} : { "X-Registry-Auth": encodeRegistryAuth(auth) }),
        Effect.promise(loadTransport),
        (res, { fromReadable }) =>
          fromReadable<DockerError, Uint8Array>(
            () => res,
            (e) => new DockerError({ status: 900, description: "the Docker engine connection broke", cause: e })
          ).pipe(
            Stream.decodeText(),
            Stream.splitLines,
            Stream.filter((line) => line.trim() !== ""),
            Stream.mapEffect(parseObject)
          )
      )
    )

  const imagePath = (name: string) => `/images/${encodeURI(name)}`

  return DockerDaemon.of({
    tag: (image, repo, tag) => Effect.asVoid(call("POST", `${imagePath(image)}/tag`, { repo, tag })),
    push: (name, opts) => progressStream(`${imagePath(name)}/push`, { tag: opts.tag }, opts.auth),
    pull: (fromImage, opts) => progressStream("/images/create", { fromImage, tag: opts.tag }, opts.auth),
    inspect: (name) =>
      Effect.flatMap(call("GET", `${imagePath(name)}/json`), (body) =>
        Effect.flatMap(
          Effect.try({ try: (): unknown => JSON.parse(body), catch: (e) => malformedLine(body, e) }),
          (u) =>
            Effect.mapError(decodeInspect(u), (e) =>
              new DockerError({
                status: 900,
                description: `unexpected image description from the Docker engine: ${ParseResult.TreeFormatter.formatErrorSync(e)}`
              }))
        )),
    remove: (name, opts = {}) =>
      Effect.asVoid(call("DELETE", imagePath(name), {
        force: String(opts.force ?? false),
        noprune: String(opts.noprune ?? false)
      }))
  })
}

/**
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<DockerDaemon> => Layer.sync(DockerDaemon, () => make(options))
