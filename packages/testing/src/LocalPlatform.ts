/**
 * LocalPlatform: an emulator of the Neuro Platform that speaks the same wire protocol as the real
 * services (paths, JSON, status codes, streaming, websockets), for development and tests.
 *
 * Two transports serve the same app: a real loopback socket (`serve`) that any client can use
 * (this SDK, the Python CLI, curl), and an in-process `HttpClient` (`make`, `layerHttpClient`) for
 * fast unit tests with no socket.
 *
 * @since 1.0.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { mkdtempSync, mkdirSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
// JobRunner first: it and internal/jobsRunner import each other, and JobRunner must be the one
// evaluated last (loading internal/app first would evaluate JobRunner before jobsRunner's body).
import * as JobRunner from "./JobRunner.js"
import { DROP_HEADER, makeApp } from "./internal/app.js"
import { configureJobs } from "./internal/jobsStore.js"
import type { ClusterSpec, PresetSpec, RecordedRequest, RequestMatch } from "./internal/state.js"
import { defaultClusters, defaultPresets, PlatformState } from "./internal/state.js"

export type {
  /**
   * @since 1.0.0
   */
  ClusterSpec,
  /**
   * @since 1.0.0
   */
  PresetSpec,
  /**
   * @since 1.0.0
   */
  RecordedRequest,
  /**
   * @since 1.0.0
   */
  RequestMatch
}

/**
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_PRESETS: ReadonlyArray<PresetSpec> = defaultPresets

/**
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_CLUSTERS: ReadonlyArray<ClusterSpec> = defaultClusters

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Users that exist from the start (default `["user"]`). */
  readonly users?: ReadonlyArray<string> | undefined
  /** Clusters with their orgs and presets (default: one cluster `default`, no orgs, four presets). */
  readonly clusters?: ReadonlyArray<ClusterSpec> | undefined
  /** Folder for the platform's data (storage, job logs...). Default: a fresh temporary folder, removed on close. */
  readonly dataDir?: string | undefined
  /**
   * Key signing the platform's tokens (default: random per instance). Fixing it makes tokens
   * valid across instances, e.g. for a committed config-database fixture.
   */
  readonly tokenSecret?: string | undefined
  /** How jobs run and are scheduled (runner, capacity, quota, time scale); see `JobsOptions`. */
  readonly jobs?: JobsOptions | undefined
  /**
   * Serve the `/_local/*` test hooks (default false): `POST /_local/jobs/seed` (add finished jobs
   * of the caller without running them), `POST /_local/storage/hostile` (make listings of one of the
   * caller's folders carry unsafe names) and the `/_local/ws-echo` websocket. They act on the
   * caller's own resources only; when off they answer 404 like any unknown path.
   */
  readonly testHooks?: boolean | undefined
  /**
   * CORS (default off): pages of these origins (`"https://app.example"`, or `"*"` for any) may
   * call the platform — preflights are answered, responses carry `Access-Control-Allow-Origin`
   * and expose the headers the SDK reads. Requests without such an `Origin` are answered as
   * without CORS.
   */
  readonly cors?: { readonly origins: ReadonlyArray<string> } | undefined
}

/**
 * Jobs on LocalPlatform.
 *
 * @since 1.0.0
 * @category models
 */
export interface JobsOptions {
  /**
   * Runs the jobs' containers. Default: the `JobRunner` in the context if there is one, else
   * `JobRunner.makeDefault()` (bubblewrap sandboxes where they work, else local child processes).
   */
  readonly runner?: JobRunner.JobRunner.Service | undefined
  /** The one node jobs are scheduled on (default 16 CPUs, 64 GiB, no GPU); `capacity` answers from it. */
  readonly capacity?: { readonly cpu?: number; readonly memory?: number; readonly gpu?: number } | undefined
  /** Running jobs quota per user (a number for everybody, or by user name); default none. */
  readonly runningJobsQuota?: number | Readonly<Record<string, number>> | undefined
  /** How long one minute of a job's `max_run_time_minutes` lasts (default 1 minute; tests shorten it). */
  readonly lifeSpanMinute?: Duration.DurationInput | undefined
  /** How long a job that does not fit may stay pending (default 3 minutes, as the platform). */
  readonly scheduleTimeout?: Duration.DurationInput | undefined
  /** Between SIGTERM and SIGKILL when a job is killed (default 5 seconds). */
  readonly killGracePeriod?: Duration.DurationInput | undefined
  /** Pause before a container is restarted by the restart policy (default 200 ms). */
  readonly restartDelay?: Duration.DurationInput | undefined
  /** Accept `privileged` jobs (default false, as a cluster without privileged mode). */
  readonly allowPrivileged?: boolean | undefined
  /** Accept a `priority` other than normal (default false, as a cluster without job priorities). */
  readonly allowJobPriority?: boolean | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface ServeOptions extends Options {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Host to bind; loopback only (default `127.0.0.1`). */
  readonly host?: "127.0.0.1" | "localhost" | "::1" | undefined
}

/**
 * Faults the emulator injects into matching requests, for retry and reliability tests.
 *
 * @since 1.0.0
 * @category models
 */
export interface Faults {
  /** Answer the next `times` (default 1) matching requests with `status` instead of serving them. */
  readonly failNext: (
    status: number,
    options?: RequestMatch & { readonly times?: number | undefined; readonly retryAfter?: string | undefined }
  ) => Effect.Effect<void>
  /** Drop the connection of the next `times` (default 1) matching requests without answering. */
  readonly dropNext: (options?: RequestMatch & { readonly times?: number | undefined }) => Effect.Effect<void>
  /** Delay matching requests (all of them unless `times` is given). */
  readonly addLatency: (
    delay: Duration.DurationInput,
    options?: RequestMatch & { readonly times?: number | undefined }
  ) => Effect.Effect<void>
  /** Fail a random share of matching requests, with a status or by dropping the connection. */
  readonly failRandomly: (
    options: RequestMatch & { readonly probability: number; readonly status?: number | undefined; readonly drop?: boolean | undefined }
  ) => Effect.Effect<void>
  /** Remove every fault. */
  readonly clear: Effect.Effect<void>
}

/**
 * Control of the emulated OAuth provider.
 *
 * @since 1.0.0
 * @category models
 */
export interface OAuthControl {
  /** Approve logins as this user (default: the first user); `"deny"` answers `access_denied`. */
  readonly approveAs: (user: string | "deny") => Effect.Effect<void>
  /** Lifetime (`expires_in`) of tokens issued by the token endpoint (default 86400 s). */
  readonly setTokenTtl: (seconds: number) => Effect.Effect<void>
  /** How many refresh-token grants the token endpoint has answered. */
  readonly refreshCount: Effect.Effect<number>
  /** Raw form bodies the token endpoint received, oldest first. */
  readonly tokenRequests: Effect.Effect<ReadonlyArray<string>>
}

/**
 * A running LocalPlatform.
 *
 * @since 1.0.0
 * @category models
 */
export interface LocalPlatform {
  /** Base URL, e.g. `http://127.0.0.1:8123` (in-process: `http://local-platform.test`). */
  readonly url: string
  /** API URL, e.g. `http://127.0.0.1:8123/api/v1`. */
  readonly apiUrl: URL
  /** The platform's data folder. */
  readonly dataDir: string
  /** Users known to the platform. */
  readonly users: Effect.Effect<ReadonlyArray<string>>
  /** Add a user (no-op when it exists) and return a fresh token for it. */
  readonly addUser: (name: string) => Effect.Effect<Redacted.Redacted<string>>
  /**
   * A fresh non-expiring access token for a known user (a platform-signed JWT); default the first
   * user. A test helper: an unknown name is a programming error and throws (use `addUser` to
   * create users at run time).
   */
  readonly token: (user?: string, options?: { readonly ttlSeconds?: number | undefined }) => Redacted.Redacted<string>
  /** Fault injection. */
  readonly faults: Faults
  /** The OAuth provider side: who gets approved, token lifetime, what the token endpoint saw. */
  readonly oauth: OAuthControl
  /** Requests received so far (method, path, query, headers), oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** The platform as an `HttpApp`. */
  readonly httpApp: HttpApp.Default
  /** An `HttpClient` that calls the platform in-process (no socket), whatever the URL host. */
  readonly inProcessClient: HttpClient.HttpClient
}

/**
 * @since 1.0.0
 * @category tags
 */
export class LocalPlatformTag extends Context.Tag("@neuro-sdk/testing/LocalPlatform")<LocalPlatformTag, LocalPlatform>() {}

const IN_PROCESS_URL = "http://local-platform.test"

const makeDataDir = (dataDir: string | undefined) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      if (dataDir !== undefined) {
        mkdirSync(dataDir, { recursive: true })
        return { path: dataDir, owned: false }
      }
      return { path: mkdtempSync(join(tmpdir(), "neuro-local-platform-")), owned: true }
    }),
    (dir) => Effect.sync(() => dir.owned && rmSync(dir.path, { recursive: true, force: true }))
  )

const toWebRequest = (request: HttpClientRequest.HttpClientRequest, url: URL, signal: AbortSignal): Request => {
  const headers = new Headers(request.headers as Record<string, string>)
  headers.set("host", url.host)
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, signal }
  const body = request.body
  switch (body._tag) {
    case "Uint8Array":
      init.body = body.body
      headers.set("content-type", body.contentType)
      break
    case "Raw":
      init.body = body.body as NonNullable<RequestInit["body"]>
      if (body.contentType) headers.set("content-type", body.contentType)
      break
    case "FormData":
      init.body = body.formData
      break
    case "Stream":
      init.body = Stream.toReadableStream(body.stream as Stream.Stream<Uint8Array>)
      init.duplex = "half"
      headers.set("content-type", body.contentType)
      break
    case "Empty":
      break
  }
  return new Request(url, init)
}

const makeInProcessClient = (app: HttpApp.Default, runtime: Runtime.Runtime<never>): HttpClient.HttpClient => {
  const handler = HttpApp.toWebHandlerRuntime(runtime)(app)
  return HttpClient.make((request, url, signal) =>
    Effect.tryPromise({
      try: () => handler(toWebRequest(request, url, signal)),
      catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
    }).pipe(
      Effect.flatMap((response) =>
        response.headers.get(DROP_HEADER) === "1"
          ? Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", description: "connection dropped by the server" })
          )
          : Effect.succeed(HttpClientResponse.fromWeb(request, response))
      )
    )
  )
}

const build = (state: PlatformState, url: string, dataDir: string, runtime: Runtime.Runtime<never>): LocalPlatform => {
  const httpApp = makeApp(state)
  const times = (t: number | undefined, fallback: number) => t ?? fallback
  const faults: Faults = {
    failNext: (status, o = {}) =>
      Effect.sync(() =>
        state.faults.add({
          kind: "status",
          status,
          retryAfter: o.retryAfter,
          method: o.method,
          path: o.path,
          probability: 1,
          remaining: times(o.times, 1)
        })
      ),
    dropNext: (o = {}) =>
      Effect.sync(() => state.faults.add({ kind: "drop", method: o.method, path: o.path, probability: 1, remaining: times(o.times, 1) })),
    addLatency: (delay, o = {}) =>
      Effect.sync(() =>
        state.faults.add({
          kind: "latency",
          delayMillis: toMillis(delay),
          method: o.method,
          path: o.path,
          probability: 1,
          remaining: times(o.times, Number.POSITIVE_INFINITY)
        })
      ),
    failRandomly: (o) =>
      Effect.sync(() =>
        state.faults.add({
          kind: o.drop === true ? "drop" : "status",
          status: o.status ?? 502,
          method: o.method,
          path: o.path,
          probability: o.probability,
          remaining: Number.POSITIVE_INFINITY
        })
      ),
    clear: Effect.sync(() => state.faults.clear())
  }
  return {
    url,
    apiUrl: new URL(`${url}/api/v1`),
    dataDir,
    users: Effect.sync(() => [...state.users.keys()]),
    addUser: (name) =>
      Effect.sync(() => {
        state.addUser(name)
        return Redacted.make(state.issueToken(name))
      }),
    token: (user, options) => {
      const name = user ?? [...state.users.keys()][0] ?? "user"
      if (!state.users.has(name)) throw new Error(`LocalPlatform: unknown user ${name}`)
      return Redacted.make(state.issueToken(name, { ttlSeconds: options?.ttlSeconds }))
    },
    faults,
    oauth: {
      approveAs: (user) => Effect.sync(() => { state.oauth.approve = user }),
      setTokenTtl: (seconds) => Effect.sync(() => { state.oauth.tokenTtlSeconds = seconds }),
      refreshCount: Effect.sync(() => state.oauth.refreshCount),
      tokenRequests: Effect.sync(() => [...state.oauth.tokenRequests])
    },
    requests: Effect.sync(() => state.requests.toArray()),
    httpApp,
    inProcessClient: makeInProcessClient(httpApp, runtime)
  }
}

/**
 * The emulator's requests are not traced: a span per request (URL, headers as attributes) would
 * cost more than most handlers, and the emulator is not the code under observation.
 */
const untraced = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  HttpMiddleware.withTracerDisabledWhenEffect(effect, () => true)

let untracedRuntime: Runtime.Runtime<never> | undefined

/** The runtime the in-process transport runs the app on: the default one, untraced. */
const inProcessRuntime = (): Runtime.Runtime<never> => (untracedRuntime ??= Effect.runSync(untraced(Effect.runtime<never>())))

const toMillis = (d: Duration.DurationInput): number => Duration.toMillis(Duration.decode(d))

/** The jobs store of a platform: stops every job's container when the platform closes. */
const setUpJobs = (state: PlatformState, options: JobsOptions | undefined) =>
  Effect.gen(function*() {
    const fromContext = yield* Effect.serviceOption(JobRunner.JobRunner)
    const runner = options?.runner ?? (fromContext._tag === "Some" ? fromContext.value : JobRunner.makeDefault())
    yield* Effect.acquireRelease(
      Effect.sync(() => configureJobs(state, { ...options, runner })),
      (store) => Effect.sync(() => store.close())
    )
  })

/**
 * A LocalPlatform reachable only in-process (through `inProcessClient`).
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<LocalPlatform, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* makeDataDir(options.dataDir)
    const state = new PlatformState({ clusters: options.clusters, users: options.users, dataDir: dir.path, tokenSecret: options.tokenSecret, testHooks: options.testHooks, corsOrigins: options.cors?.origins })
    yield* setUpJobs(state, options.jobs)
    return build(state, IN_PROCESS_URL, dir.path, inProcessRuntime())
  })

/**
 * A LocalPlatform listening on a loopback socket (ephemeral port by default). It stops when the
 * scope closes.
 *
 * @since 1.0.0
 * @category constructors
 */
export const serve = (options: ServeOptions = {}): Effect.Effect<LocalPlatform, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* makeDataDir(options.dataDir)
    const state = new PlatformState({ clusters: options.clusters, users: options.users, dataDir: dir.path, tokenSecret: options.tokenSecret, testHooks: options.testHooks, corsOrigins: options.cors?.origins })
    yield* setUpJobs(state, options.jobs)
    const host = options.host ?? "127.0.0.1"
    const server = yield* NodeHttpServer.make(() => createServer(), { port: options.port ?? 0, host })
    const address = server.address as HttpServer.TcpAddress
    const hostPart = host === "::1" ? "[::1]" : host
    const platform = build(state, `http://${hostPart}:${address.port}`, dir.path, inProcessRuntime())
    yield* server.serve(platform.httpApp).pipe(
      Effect.provide(NodeHttpServer.layerContext),
      untraced
    )
    return platform
  })

/**
 * The platform over a socket, as a layer.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerServe = (options: ServeOptions = {}): Layer.Layer<LocalPlatformTag, ServeError> =>
  Layer.scoped(LocalPlatformTag, serve(options))

/**
 * The platform in-process, as a layer.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LocalPlatformTag> => Layer.scoped(LocalPlatformTag, make(options))

/**
 * `HttpClient` calling the platform in-process.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient, never, LocalPlatformTag> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(LocalPlatformTag, (p) => p.inProcessClient)
)

