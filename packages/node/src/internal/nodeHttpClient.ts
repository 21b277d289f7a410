/**
 * A lean `HttpClient` over `node:http`/`node:https` for requests whose body is in memory (none,
 * bytes, or a raw value `node:http` writes): one `Effect.async` per request, the body read in one
 * piece or streamed with `NodeStream.fromReadable`.
 *
 * `@effect/platform-node`'s client does the same over the same keep-alive agents, but through
 * `HttpClient.make` (an abort controller, tracing checks and a response wrapper per request) and a
 * concurrent zip of "send the body" and "wait for the answer" (three fibers per request), and its
 * `text` goes through `Effect.cached`: per call, that is more than the rest of the SDK's work.
 * Requests with streamed or form bodies still go to that client (`fallback`).
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as Http from "node:http"
import type * as Https from "node:https"
import type * as NodeStreamModule from "node:stream"

/** What the client needs of Node (imported by the caller, on first use). */
export interface Modules {
  readonly http: typeof Http
  readonly https: typeof Https
  readonly stream: typeof NodeStreamModule
}

/** The keep-alive agents the requests go through. */
export interface Agents {
  readonly http: Http.Agent
  readonly https: Https.Agent
}

/**
 * A response whose body was never read holds its connection: it is destroyed when the response
 * is collected (as `@effect/platform` does for its responses).
 */
const unread = new FinalizationRegistry<Http.IncomingMessage>((message) => {
  if (!message.complete) message.destroy()
})

class NodeClientResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  private body: Effect.Effect<Buffer, HttpClientError.ResponseError> | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly source: Http.IncomingMessage,
    private readonly modules: Modules
  ) {
    super()
    unread.register(this, source, this)
  }

  readonly onError = (cause: unknown): HttpClientError.ResponseError =>
    new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })

  get status(): number {
    return this.source.statusCode ?? 0
  }

  get headers(): Headers.Headers {
    return Headers.fromInput(this.source.headers)
  }

  get cookies(): Cookies.Cookies {
    const header = this.source.headers["set-cookie"]
    return Array.isArray(header) ? Cookies.fromSetCookie(header) : Cookies.empty
  }

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.source.socket?.remoteAddress)
  }

  /** The whole body, read once (every reader after the first gets the same bytes). */
  private get bytes(): Effect.Effect<Buffer, HttpClientError.ResponseError> {
    if (this.body !== undefined) return this.body
    const read = Effect.async<Buffer, HttpClientError.ResponseError>((resume) => {
      unread.unregister(this)
      const source = this.source
      const chunks: Array<Buffer> = []
      const onData = (chunk: Buffer) => {
        chunks.push(chunk)
      }
      const cleanup = () => {
        source.off("data", onData)
        source.off("end", onEnd)
        source.off("error", onFailure)
        source.off("aborted", onAborted)
      }
      const onEnd = () => {
        cleanup()
        const bytes = Buffer.concat(chunks)
        this.body = Effect.succeed(bytes)
        resume(this.body)
      }
      const onFailure = (error: unknown) => {
        cleanup()
        this.body = Effect.fail(this.onError(error))
        resume(this.body)
      }
      // as node:http reports it (a transport failure, not a bad body)
      const onAborted = () => onFailure(Object.assign(new Error("aborted"), { code: "ECONNRESET" }))
      source.on("data", onData)
      source.on("end", onEnd)
      source.on("error", onFailure)
      source.on("aborted", onAborted)
      return Effect.sync(() => {
        cleanup()
        source.destroy()
        this.body = Effect.fail(this.onError(new Error("reading the body was interrupted")))
      })
    })
    this.body = read
    return read
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (b) => b.toString("utf8"))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: (): unknown => (text === "" ? null : JSON.parse(text)), catch: this.onError }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: this.onError }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    unread.unregister(this)
    return NodeStream.fromReadable<HttpClientError.ResponseError, Uint8Array>(() => this.source, this.onError)
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => {
        unread.unregister(this)
        const init: { headers: globalThis.Headers; status?: number; statusText?: string } = {
          headers: new globalThis.Headers(
            Object.entries(this.source.headers).flatMap(([k, v]) =>
              v === undefined ? [] : Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v] as [string, string]]
            )
          )
        }
        if (this.source.statusCode) init.status = this.source.statusCode
        if (this.source.statusMessage) init.statusText = this.source.statusMessage
        const body = this.modules.stream.Readable.toWeb(this.source) as unknown as ReadableStream<Uint8Array>
        return new Response(body, init).formData()
      },
      catch: this.onError
    })
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const send = (
  modules: Modules,
  agents: Agents,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  body: unknown
) =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
    const options = { method: request.method, headers: request.headers }
    const req = url.protocol === "https:"
      ? modules.https.request(url, { ...options, agent: agents.https })
      : modules.http.request(url, { ...options, agent: agents.http })
    const onError = (cause: unknown) => {
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
    }
    req.on("error", onError)
    req.once("response", (message) => {
      req.off("error", onError)
      // a late error of the request (the connection reset while the body arrives) reaches the body
      req.on("error", () => {})
      resume(Effect.succeed(new NodeClientResponse(request, message, modules)))
    })
    if (body === undefined) req.end()
    else req.end(body)
    return Effect.sync(() => {
      req.destroy()
    })
  })

/**
 * The client: requests with a body in memory over `node:http(s)`, the others through `fallback`.
 *
 * @internal
 */
export const make = (modules: Modules, agents: Agents, fallback: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.makeWith<HttpClientError.HttpClientError, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(effect, (request) => {
        const body = request.body
        if (body._tag === "Stream" || body._tag === "FormData") return fallback.execute(request)
        const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
        if (url._tag === "Left") {
          return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url.left }))
        }
        return send(modules, agents, request, url.right, body._tag === "Empty" ? undefined : body.body)
      }),
    Effect.succeed
  )
