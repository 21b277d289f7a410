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
    presets: []
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
