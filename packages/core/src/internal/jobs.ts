import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import type { ImageParser } from "../Image.js"
import { LocalImage, makeImageParser, parseRemoteImage, RemoteImage } from "../Image.js"
import type * as JobsModule from "../Jobs.js"
import type { WebSocketConnection, WebSocketError } from "../WebSocket.js"
import { describeParseError } from "./decodeError.js"
import {
  ImageCommitFinished,
  ImageCommitStarted,
  ImageProgressPush,
  ImageProgressSave,
  ImageProgressStep
} from "./imagesModels.js"
import { LocalTcpServer } from "./jobsModels.js"
import * as Decode from "./jobsDecode.js"
import { makeStdStream } from "./jobsStdStream.js"
import * as Wire from "./jobsWire.js"
import { streamWithSpanWhenTraced, withSpanWhenTraced } from "./httpTracing.js"

type Service = JobsModule.Jobs.Service

const Capacity = Schema.Record({ key: Schema.String, value: Schema.Number })

/** @internal */
export const wsError = (url: URL) => (e: WebSocketError): Errors.NetworkError =>
  new Errors.NetworkError({ reason: "Transport", description: e.description, method: "GET", url: url.href })

/** @internal */
export const unexpectedText = (url: URL, what: string) =>
  new Errors.MalformedResponse({ description: `unexpected text message on the ${what} websocket`, method: "GET", url: url.href })

const flag = (b: boolean | undefined): string => (b ? "1" : "0")

const causeMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config

  const currentCluster = (clusterName: string | undefined) =>
    clusterName === undefined ? config.clusterName : Effect.succeed(clusterName)

  const monitoringUrl = (clusterName: string | undefined, ...segments: ReadonlyArray<string>) =>
    Effect.flatMap(currentCluster(clusterName), (name) => api.service("monitoring", { clusterName: name }, ...segments))

  const who = (cluster: string, org: string | null) => Effect.map(config.username, (user): Wire.Who => ({ user, cluster, org }))

  const orgOf = (orgName: string | null | undefined) => (orgName === undefined ? config.orgName : Effect.succeed(orgName))

  const jsonRequest = (url: URL, body: Wire.Json) =>
    HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText(Wire.dumps(body), "application/json"))

  /** What the image parsers need, from the current config (cluster given per call). */
  const imageParser: Effect.Effect<Either.Either<Omit<ImageParser, "clusterName">, Errors.InvalidInputError>, Errors.ConfigError> =
    Effect.gen(function*() {
      const username = yield* config.username
      const orgName = yield* config.orgName
      const clusters = yield* config.clusters
      return makeImageParser({
        username,
        clusterName: "",
        orgName,
        registryUrls: [...clusters.values()].map((c) => [c.name, c.registryUrl] as const)
      })
    })

  // one image decoder (with its parse cache), and one job schema (compiled once), per login state
  let last:
    | {
      readonly username: string
      readonly orgName: string | null
      readonly clusters: unknown
      readonly schema: Schema.Schema<JobsModule.JobDescription, typeof Wire.WireJob.Encoded>
    }
    | undefined
  const jobSchema = Effect.gen(function*() {
    const username = yield* config.username
    const orgName = yield* config.orgName
    const clusters = yield* config.clusters
    const known = last
    if (known !== undefined && known.username === username && known.orgName === orgName && known.clusters === clusters) {
      return known.schema
    }
    const parser = makeImageParser({
      username,
      clusterName: "",
      orgName,
      registryUrls: [...clusters.values()].map((c) => [c.name, c.registryUrl] as const)
    })
    const schema = Decode.jobSchema(Wire.imageDecoder(Either.getOrUndefined(parser)))
    last = { username, orgName, clusters, schema }
    return schema
  })

  const resolveImage = (image: JobsModule.ImageInput, clusterName: string) =>
    image instanceof RemoteImage ? Effect.succeed(image) : Effect.gen(function*() {
      const parser = yield* Effect.flatten(imageParser)
      return yield* parseRemoteImage({ ...parser, clusterName }, image)
    })

  const submit = (url: URL, body: Wire.Json) => Effect.flatMap(jobSchema, (schema) => api.json(jsonRequest(url, body), schema))

  const start: Service["start"] = (options) =>
    Effect.gen(function*() {
      const clusterName = options.clusterName || (yield* config.clusterName)
      const orgName = yield* orgOf(options.orgName)
      const image = yield* resolveImage(options.image, clusterName)
      const body = yield* Wire.startBody(options, { clusterName, orgName, image }, yield* who(clusterName, orgName))
      const url = api.api("jobs")
      url.search = "from_preset"
      return yield* submit(url, body)
    })

  const run: Service["run"] = (container, options = {}) =>
    Effect.gen(function*() {
      const clusterName = yield* config.clusterName
      const orgName = yield* orgOf(options.orgName)
      const body = yield* Wire.runBody(container, options, { clusterName, orgName }, yield* who(clusterName, orgName))
      return yield* submit(api.api("jobs"), body)
    })

  const list: Service["list"] = (options = {}) =>
    Stream.unwrap(Effect.gen(function*() {
      const clusterName = yield* currentCluster(options.clusterName)
      const request = HttpClientRequest.get(api.api("jobs")).pipe(
        HttpClientRequest.setUrlParams(Wire.listParams(options, clusterName))
      )
      return api.ndjson(request, yield* jobSchema, { listKey: "jobs" })
    }))

  const status: Service["status"] = (id) =>
    Effect.flatMap(jobSchema, (schema) => api.json(HttpClientRequest.get(api.api("jobs", id)), schema))

  const kill: Service["kill"] = (id) => api.discard(HttpClientRequest.del(api.api("jobs", id)))

  const bumpLifeSpan: Service["bumpLifeSpan"] = (id, additionalLifeSpan) =>
    Number.isFinite(additionalLifeSpan)
      ? api.discard(
        HttpClientRequest.put(api.api("jobs", id, "max_run_time_minutes")).pipe(
          HttpClientRequest.bodyText(Wire.dumps({ additional_max_run_time_minutes: Wire.minutes(additionalLifeSpan) }), "application/json")
        )
      )
      : Effect.fail(
        new Errors.InvalidInputError({
          kind: "option",
          input: String(additionalLifeSpan),
          description: "the additional life span must be a finite number of seconds"
        })
      )

  const sendSignal: Service["sendSignal"] = (id, options = {}) =>
    Effect.flatMap(monitoringUrl(options.clusterName, id, "kill"), (url) => api.discard(HttpClientRequest.post(url)))

  const getCapacity: Service["getCapacity"] = (options = {}) =>
    Effect.flatMap(monitoringUrl(options.clusterName, "capacity"), (url) => api.json(HttpClientRequest.get(url), Capacity))

  const monitor: Service["monitor"] = (id, options = {}) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const url = yield* monitoringUrl(options.clusterName, id, "log_ws")
      if (options.since !== undefined) url.searchParams.set("since", Wire.isoformat(options.since))
      if (options.timestamps) url.searchParams.set("timestamps", "true")
      if (options.separator !== undefined) url.searchParams.set("separator", options.separator)
      if (options.debug) url.searchParams.set("debug", "true")
      const conn = yield* api.websocket(url)
      return logStream(conn, url)
    }))

  const top: Service["top"] = (id, options = {}) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const url = yield* monitoringUrl(options.clusterName, id, "top")
      const conn = yield* api.websocket(url)
      return telemetryStream(conn, url, id)
    }))

  const stdStreamUrl = (
    clusterName: string | undefined,
    id: string,
    path: "attach" | "exec",
    options: JobsModule.StdStreamOptions,
    cmd?: string
  ) =>
    Effect.map(monitoringUrl(clusterName, id, path), (url) => {
      if (cmd !== undefined) url.searchParams.set("cmd", cmd)
      url.searchParams.set("tty", flag(options.tty))
      url.searchParams.set("stdin", flag(options.stdin))
      url.searchParams.set("stdout", flag(options.stdout))
      url.searchParams.set("stderr", flag(options.stderr))
      return url
    })

  const attach: Service["attach"] = (id, options = {}) =>
    Effect.gen(function*() {
      const url = yield* stdStreamUrl(options.clusterName, id, "attach", options)
      const conn = yield* api.websocket(url, { protocols: [ATTACH_PROTOCOL] })
      return yield* makeStdStream(conn, url)
    })

  const exec: Service["exec"] = (id, cmd, options = {}) =>
    Effect.gen(function*() {
      const url = yield* stdStreamUrl(options.clusterName, id, "exec", options, cmd)
      const conn = yield* api.websocket(url)
      return yield* makeStdStream(conn, url)
    })

  const portForward: Service["portForward"] = (id, localPort, jobPort, options = {}) =>
    Effect.gen(function*() {
      const tcp = yield* LocalTcpServer
      const url = yield* monitoringUrl(options.clusterName, id, "port_forward", String(jobPort))
      const host = options.host ?? "localhost"
      const server = yield* tcp.listen({ host, port: localPort }).pipe(
        Effect.mapError((e) =>
          new Errors.NetworkError({
            reason: "Transport",
            description: `cannot listen on ${host}:${localPort}: ${describe(e.cause)}`,
            cause: e.cause
          })
        )
      )
      yield* Effect.forkScoped(
        server.run((socket) =>
          Effect.scoped(forwardConnection(socket, () => api.websocket(url), url)).pipe(
            // one line per failed connection (the listener goes on), no stack
            Effect.catchAllCause((cause) =>
              Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logWarning(
                `Port forwarding of job ${id} port ${jobPort}: connection failed: ${causeMessage(Cause.squash(cause))}`
              )
            )
          )
        ).pipe(Effect.catchAllCause((cause) => Effect.logError(`Port forwarding of job ${id} stopped`, cause)))
      )
      const address = server.address
      return address._tag === "TcpAddress" ? { host: address.hostname, port: address.port } : { host, port: localPort }
    })

  const save: Service["save"] = (id, image, options = {}) =>
    Effect.gen(function*() {
      const clusterName = yield* currentCluster(options.clusterName)
      const target = yield* resolveImage(image, clusterName)
      if (!target.isInNeuroRegistry) {
        return yield* Effect.fail(
          new Errors.InvalidInputError({
            kind: "image",
            input: target.toString(),
            description: "the image must be in the platform registry"
          })
        )
      }
      const ref = target.asDockerUrl()
      const progress = options.progress ?? (() => Effect.void)
      const url = yield* monitoringUrl(clusterName, id, "save")
      const request = jsonRequest(url, { container: { image: ref } })
      yield* progress(new ImageProgressSave({ job: id, dst: target }))
      const context = { method: "POST", url: url.href }
      let index = 0
      const tag = target.tag
      yield* api.bytes(request, { timeout: null }).pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim() !== ""),
        Stream.runForEach((line) =>
          Effect.gen(function*() {
            const obj = yield* decodeChunk(Wire.SaveLine, line, context, firstMessage)
            const error = decodeErrorChunk(obj)
            if (Option.isSome(error)) return yield* Effect.fail(new Errors.ClientError({ description: error.value, ...context }))
            const step = index++
            if (step === 0) {
              const chunk = yield* decodeChunk(Wire.CommitStartedChunk, obj, context, firstMessage)
              const parser = yield* Effect.flatten(imageParser)
              const committedImage = yield* parseRemoteImage({ ...parser, clusterName }, chunk.details.image).pipe(
                Effect.mapError((e) => new Errors.MalformedResponse({ description: `bad committed image: ${e.message}`, ...context }))
              )
              yield* progress(new ImageCommitStarted({ jobId: id, targetImage: committedImage }))
            } else if (step === 1) {
              yield* decodeChunk(Wire.CommitFinishedChunk, obj, context, firstMessage)
              yield* progress(new ImageCommitFinished({ jobId: id }))
              const src = new LocalImage({
                name: `${target.owner}/${target.name}`,
                ...(target.tag !== undefined ? { tag: target.tag } : {})
              })
              yield* progress(new ImageProgressPush({ src, dst: target }))
            } else {
              const chunk = yield* decodeChunk(Wire.PushChunk, obj, context, describeParseError)
              if (chunk.id !== undefined && chunk.id !== tag) {
                const status = chunk.status ?? ""
                yield* progress(
                  new ImageProgressStep({
                    message: chunk.progress !== undefined ? `${chunk.id}: ${status} ${chunk.progress}` : `${chunk.id}: ${status}`,
                    layerId: chunk.id,
                    status,
                    current: chunk.progressDetail?.current ?? null,
                    total: chunk.progressDetail?.total ?? null
                  })
                )
              }
            }
          })
        )
      )
      if (index < 2) {
        return yield* Effect.fail(new Errors.MalformedResponse({ description: "the save stream ended before the commit finished", ...context }))
      }
    })

  // a span per call, named as the other services' (`Jobs.status`), when a tracer is installed
  const traced = withSpanWhenTraced
  return {
    start: (options) => traced("Jobs.start", start(options)),
    run: (container, options) => traced("Jobs.run", run(container, options)),
    list: (options) => streamWithSpanWhenTraced("Jobs.list", list(options)),
    status: (id) => traced("Jobs.status", status(id)),
    kill: (id) => traced("Jobs.kill", kill(id)),
    bumpLifeSpan: (id, additional) => traced("Jobs.bumpLifeSpan", bumpLifeSpan(id, additional)),
    sendSignal: (id, options) => traced("Jobs.sendSignal", sendSignal(id, options)),
    getCapacity: (options) => traced("Jobs.getCapacity", getCapacity(options)),
    monitor: (id, options) => streamWithSpanWhenTraced("Jobs.monitor", monitor(id, options)),
    top: (id, options) => streamWithSpanWhenTraced("Jobs.top", top(id, options)),
    attach: (id, options) => traced("Jobs.attach", attach(id, options)),
    exec: (id, cmd, options) => traced("Jobs.exec", exec(id, cmd, options)),
    portForward: (id, localPort, jobPort, options) => traced("Jobs.portForward", portForward(id, localPort, jobPort, options)),
    save: (id, image, options) => traced("Jobs.save", save(id, image, options))
  } satisfies Service
})

/** The websocket subprotocol of `attach`. */
/** @internal */
export const ATTACH_PROTOCOL = "v2.channels.neu.ro"

/**
 * The log stream of a `log_ws` websocket: binary messages, empty ones skipped; text is an error.
 * Each batch of messages the connection hands over is checked in one step and leaves as one chunk.
 */
/** @internal */
export const logStream = (conn: WebSocketConnection, url: URL): Stream.Stream<Uint8Array, Errors.ApiError> => {
  const loop: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array | string>, Errors.ApiError, WebSocketError, void, unknown> =
    Channel.readWithCause({
      onInput: (messages: Chunk.Chunk<Uint8Array | string>) => {
        const out: Array<Uint8Array> = []
        let text = false
        for (const m of messages) {
          if (typeof m === "string") {
            text = true
            break
          }
          if (m.length > 0) out.push(m)
        }
        const written = out.length === 0 ? Channel.void : Channel.write(Chunk.unsafeFromArray(out))
        return Channel.zipRight(written, text ? Channel.fail(unexpectedText(url, "log")) : loop)
      },
      onFailure: (cause) => Channel.failCause(Cause.map(cause, wsError(url))),
      onDone: () => Channel.void
    })
  return Stream.pipeThroughChannel(conn.messages, loop)
}

const decodeTelemetry = Schema.decodeUnknown(Schema.parseJson(Wire.WireTelemetry), { errors: "all" })

/** The telemetry stream of a `top` websocket: one JSON text message per sample. */
/** @internal */
export const telemetryStream = (
  conn: WebSocketConnection,
  url: URL,
  id: string
): Stream.Stream<JobsModule.JobTelemetry, Errors.ApiError> =>
  Stream.suspend(() => {
    let received = false
    return conn.messages.pipe(
      Stream.mapError(wsError(url)),
      Stream.mapEffect((m): Effect.Effect<JobsModule.JobTelemetry, Errors.ApiError> => {
        if (typeof m !== "string") {
          return Effect.fail(
            new Errors.MalformedResponse({ description: "unexpected binary message on the top websocket", method: "GET", url: url.href })
          )
        }
        return decodeTelemetry(m).pipe(
          Effect.mapError((e) =>
            new Errors.MalformedResponse({
              description: describeParseError(e),
              method: "GET",
              url: url.href
            })
          ),
          Effect.map((w) => {
            received = true
            return Wire.toTelemetry(w)
          })
        )
      }),
      Stream.concat(Stream.suspend(() =>
        received ? Stream.empty : Stream.fail(
          new Errors.IllegalArgumentError({ description: `Job is not running. Job Id = ${id}`, method: "GET", url: url.href })
        )
      ))
    )
  })

/**
 * Pipe one local TCP connection through a websocket until either side ends: binary messages are
 * written to the socket, bytes read from the socket are sent as binary messages.
 */
/** @internal */
export const forwardConnection = <E, R>(
  socket: Socket.Socket,
  open: () => Effect.Effect<WebSocketConnection, E, R>,
  url: URL
) =>
  Effect.gen(function*() {
    // the local connection is read from the start (what arrives before the tunnel is up waits in
    // the queue); a socket that is never run cannot be written to or closed
    const incoming = yield* Queue.unbounded<Uint8Array | null>()
    yield* Effect.forkScoped(
      socket.run((chunk) => {
        Queue.unsafeOffer(incoming, chunk)
      }).pipe(Effect.exit, Effect.zipRight(Queue.offer(incoming, null)))
    )
    // acquired after the reader: released first, so the local connection is ended gracefully
    const write = yield* socket.writer
    // a refused tunnel (the job's port is closed...) ends the local connection at once, as
    // neuro-sdk closes its writer; otherwise the local client would wait forever
    const conn = yield* open().pipe(Effect.tapError(() => write(new Socket.CloseEvent())))
    const tcpToWs = Effect.gen(function*() {
      while (true) {
        const chunk = yield* Queue.take(incoming)
        if (chunk === null) return
        yield* conn.send(chunk).pipe(Effect.mapError(wsError(url)))
      }
    })
    const wsToTcp = conn.messages.pipe(
      Stream.mapError(wsError(url)),
      Stream.runForEach((m): Effect.Effect<void, Errors.NetworkError | Errors.MalformedResponse> =>
        typeof m === "string"
          ? Effect.fail(unexpectedText(url, "port forwarding"))
          : write(m).pipe(
            Effect.mapError((e) => new Errors.NetworkError({ reason: "Transport", description: `local socket: ${e.message}` }))
          )
      )
    )
    yield* Effect.raceFirst(wsToTcp, tcpToWs)
  })

const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown error"

/** The message of the first issue (the commit schemas carry neuro-sdk's messages). */
const firstMessage = (e: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e)[0]?.message ?? describeParseError(e)

/** One line of the `save` stream decoded with `schema` (keys required to be present); else a `MalformedResponse`. */
const decodeChunk = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  context: Errors.ErrorContext,
  format: (e: ParseResult.ParseError) => string
): Effect.Effect<A, Errors.MalformedResponse> =>
  Schema.decodeUnknown(schema, { exact: true })(input).pipe(
    Effect.mapError((e) => new Errors.MalformedResponse({ description: format(e), ...context }))
  )

/** The message of an error line; `None` for any other line. */
const decodeErrorChunk = Schema.decodeUnknownOption(Wire.ErrorChunk, { exact: true })
