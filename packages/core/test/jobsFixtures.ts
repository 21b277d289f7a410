/**
 * Test harness of the Jobs tests: a recording fake HTTP transport, a scripted websocket dialer and a
 * minimal Config, wired into `Jobs.layer` over the real `ApiClient`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { ApiClient, AuthToken, Config, Endpoints, Jobs, ServerConfig, WebSocket } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

export const API = "https://api.example.org/api/v1"
export const MON = "https://api.example.org/api/v1/jobs"

const cluster = (name: string, monitoringUrl: string, registryUrl: string) =>
  new ServerConfig.Cluster({
    name,
    orgs: [null],
    registryUrl,
    storageUrl: `https://api.example.org/api/v1/storage/${name}`,
    usersUrl: "https://api.example.org/api/v1/users",
    monitoringUrl,
    secretsUrl: "https://api.example.org/api/v1/secrets",
    disksUrl: "https://api.example.org/api/v1/disks",
    bucketsUrl: "https://api.example.org/api/v1/buckets",
    presets: new Map()
  })

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface Dialed {
  readonly url: URL
  readonly protocols: ReadonlyArray<string> | undefined
  readonly headers: Readonly<Record<string, string>>
}

/** A scripted websocket: what the server sends, and what the client sent. */
export interface FakeSocket {
  readonly incoming: Queue.Queue<Uint8Array | string | null>
  readonly sent: Array<Uint8Array | string>
  closed: boolean
}

export interface Harness {
  readonly requests: Array<Recorded>
  readonly dialed: Array<Dialed>
  readonly sockets: Array<FakeSocket>
  /** Messages each new socket starts with (then the socket ends unless `keepOpen`). */
  script: ReadonlyArray<Uint8Array | string>
  keepOpen: boolean
  /** Refuse the handshake with this status (and `X-Error`). */
  refuse: { readonly status: number; readonly xError?: string } | undefined
}

export const bytes = (...parts: ReadonlyArray<number | string>): Uint8Array => {
  const out: Array<number> = []
  for (const p of parts) {
    if (typeof p === "number") out.push(p)
    else out.push(...new TextEncoder().encode(p))
  }
  return new Uint8Array(out)
}

export const text = (b: Uint8Array | string): string => (typeof b === "string" ? b : new TextDecoder().decode(b))

const bodyText = (body: unknown): string => {
  const b = body as { readonly _tag: string; readonly body?: unknown }
  if (b._tag === "Uint8Array" && b.body instanceof Uint8Array) return new TextDecoder().decode(b.body)
  return ""
}

export const makeHarness = (): Harness => ({
  requests: [],
  dialed: [],
  sockets: [],
  script: [],
  keepOpen: false,
  refuse: undefined
})

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

export const layer = (
  harness: Harness,
  reply: (request: Recorded) => Response = () => new Response(null, { status: 204 }),
  options: { readonly orgName?: string | null; readonly clusterName?: string } = {}
) => {
  const http = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.sync(() => {
        const recorded: Recorded = {
          method: request.method,
          url: new URL(url.href),
          headers: request.headers as Record<string, string>,
          body: bodyText(request.body)
        }
        harness.requests.push(recorded)
        return HttpClientResponse.fromWeb(request, reply(recorded))
      })
    )
  )
  const dialer = Layer.succeed(
    WebSocket.WebSocketDialer,
    WebSocket.WebSocketDialer.of({
      dial: (url, opts) =>
        Effect.gen(function*() {
          harness.dialed.push({ url: new URL(url), protocols: opts.protocols, headers: opts.headers })
          if (harness.refuse !== undefined) {
            return yield* Effect.fail(
              new WebSocket.WebSocketHandshakeError({
                status: harness.refuse.status,
                ...(harness.refuse.xError === undefined ? {} : { xError: harness.refuse.xError }),
                body: ""
              })
            )
          }
          const incoming = yield* Queue.unbounded<Uint8Array | string | null>()
          const socket: FakeSocket = { incoming, sent: [], closed: false }
          harness.sockets.push(socket)
          for (const m of harness.script) yield* Queue.offer(incoming, m)
          if (!harness.keepOpen) yield* Queue.offer(incoming, null)
          yield* Effect.addFinalizer(() => Effect.sync(() => (socket.closed = true)))
          const connection: WebSocket.WebSocketConnection = {
            protocol: opts.protocols?.[0] ?? "",
            messages: Stream.fromQueue(incoming).pipe(
              Stream.takeWhile((m): m is Uint8Array | string => m !== null)
            ),
            send: (data) => Effect.sync(() => void socket.sent.push(data)),
            close: () =>
              Effect.sync(() => {
                socket.closed = true
                Queue.unsafeOffer(incoming, null)
              })
          }
          return connection
        })
    })
  )
  const clusterName = options.clusterName ?? "default"
  const clusters = [
    cluster("default", MON, "https://registry.example.org"),
    cluster("other", "https://other.example.org/api/v1/jobs", "https://registry.other.example.org")
  ]
  const config = Layer.succeed(
    Config.Config,
    Config.Config.of({
      username: Effect.succeed("user"),
      clusterName: Effect.succeed(clusterName),
      orgName: Effect.succeed(options.orgName ?? null),
      clusters: Effect.succeed(new Map(clusters.map((c) => [c.name, c])))
    } as unknown as Config.Config.Service)
  )
  const endpoints = Endpoints.layer({
    apiUrl: API,
    clusters,
    clusterName
  })
  const api = ApiClient.layer({ retry: false }).pipe(
    Layer.provide(Layer.mergeAll(http, dialer, endpoints, AuthToken.layerStatic(Redacted.make("token"))))
  )
  return Jobs.layer.pipe(Layer.provideMerge(Layer.merge(api, config)))
}

type Obj = Record<string, unknown>

/** The smallest job JSON neuro-sdk accepts: only the fields it reads with `[...]`. */
export const minimalJob = (): Obj => ({
  id: "job-id",
  owner: "owner",
  cluster_name: "default",
  status: "running",
  history: {},
  container: { image: "ubuntu", resources: { memory: 16 * 2 ** 20, cpu: 0.5 } },
  scheduler_enabled: false,
  pass_config: false,
  uri: "job://default/owner/job-id",
  total_price_credits: "10.01",
  price_credits_per_hour: "20"
})

/** The job of neuro-sdk's `test_status_failed`, with every optional field added. */
export const fullJob = (): Obj => ({
  status: "failed",
  id: "job-id",
  description: "This is job description, not a history description",
  http_url: "http://my_host:8889",
  http_url_named: "http://named.example.org",
  ssh_server: "ssh://nobody@ssh-auth.example.org:22",
  history: {
    status: "failed",
    created_at: "2018-08-29T12:23:13.981621+00:00",
    started_at: "2018-08-29T12:23:15.988054+00:00",
    finished_at: "2018-08-29T12:59:31.427795+00:00",
    reason: "ContainerCannotRun",
    description: "Not enough coffee",
    restarts: 2,
    run_time_seconds: 100,
    exit_code: 137
  },
  statuses: [
    { status: "pending", transition_time: "2018-08-29T12:23:13.981621+00:00", reason: "Creating" },
    { status: "failed", transition_time: "2018-08-29T12:59:31.427795+00:00", description: "d", exit_code: 137 }
  ],
  scheduler_enabled: true,
  preemptible_node: true,
  pass_config: false,
  being_dropped: true,
  logs_removed: true,
  materialized: true,
  owner: "owner",
  cluster_name: "default",
  org_name: "my-org",
  uri: "job://default/owner/job-id",
  total_price_credits: "105000.00000000000123",
  price_credits_per_hour: "0.000123",
  name: "job-name",
  tags: ["t1", "t2"],
  internal_hostname: "job-id.default",
  internal_hostname_named: "job-name--owner.default",
  restart_policy: "on-failure",
  max_run_time_minutes: 10,
  schedule_timeout: 5.5,
  preset_name: "cpu-small",
  privileged: true,
  priority: "high",
  energy_schedule_name: "green",
  container: {
    image: "submit-image-name",
    entrypoint: "/bin/sh",
    command: "submit-command",
    working_dir: "/work",
    http: { port: 8181 },
    env: { A: "1" },
    secret_env: { S: "secret://default/owner/key" },
    secret_volumes: [{ src_secret_uri: "secret://default/owner/key", dst_path: "/secret" }],
    disk_volumes: [{ src_disk_uri: "disk://default/owner/disk-1", dst_path: "/disk" }],
    tty: true,
    resources: {
      memory: 4096 * 2 ** 20,
      cpu: 7.0,
      shm: false,
      gpu: 1,
      gpu_model: "test-gpu-model",
      tpu: { type: "v3-8", software_version: "1.14" }
    },
    volumes: [
      { src_storage_uri: "storage://test-user/path_read_only", dst_path: "/container/read_only", read_only: true },
      { src_storage_uri: "storage://test-user/path_read_write", dst_path: "/container/path_read_write", read_only: false },
      { src_storage_uri: "storage://test-user/default_ro", dst_path: "/container/default" }
    ]
  }
})

/** A job line of LocalPlatform's NDJSON listing (extra keys, explicit nulls, numbers as the server writes them). */
export const localPlatformJob = (): Obj => ({
  id: "job-412daabf-4662-415d-ac38-75a1a3f58844",
  owner: "alice",
  cluster_name: "default",
  status: "succeeded",
  statuses: [
    { status: "pending", transition_time: "2026-12-02T02:53:27.189000+00:00", reason: "Creating", description: null },
    { status: "succeeded", transition_time: "2026-12-02T02:53:27.189001+00:00", reason: null, description: null, exit_code: 0 }
  ],
  history: {
    status: "succeeded",
    reason: null,
    description: null,
    created_at: "2026-12-02T02:53:27.189000+00:00",
    run_time_seconds: 0,
    restarts: 0,
    started_at: "2026-12-02T02:53:27.189001+00:00",
    finished_at: "2026-12-02T02:53:27.189001+00:00",
    exit_code: 0
  },
  container: {
    image: "ubuntu:latest",
    env: {},
    volumes: [],
    command: "true",
    resources: { cpu: 1, memory: 2147483648, memory_mb: 2048, shm: false }
  },
  scheduler_enabled: false,
  preemptible_node: false,
  is_preemptible: false,
  is_preemptible_node_required: false,
  pass_config: false,
  uri: "job://default/alice/job-412daabf-4662-415d-ac38-75a1a3f58844",
  restart_policy: "never",
  privileged: false,
  materialized: false,
  being_dropped: false,
  logs_removed: false,
  total_price_credits: "0",
  price_credits_per_hour: "1",
  priority: "normal",
  preset_name: "cpu-small",
  internal_hostname: "job-412daabf-4662-415d-ac38-75a1a3f58844.platform-jobs"
})
