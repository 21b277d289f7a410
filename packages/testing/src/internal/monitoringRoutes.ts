/**
 * The monitoring service (platform-monitoring) on LocalPlatform, served under the cluster's
 * `monitoring_url` (`{base}/api/v1/jobs`): logs (`log_ws` websocket and `log` HTTP stream), `top`,
 * `attach`, `exec` and `port_forward` websockets, `kill`, `capacity`. Errors are JSON `{"error"}`
 * answers, repeated in the `X-Error` header when the request was a websocket handshake, as the
 * real service's middleware does.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { handle, reply } from "./http.js"
import { forbidden, mayAccess, parseDate } from "./jobsRoutes.js"
import { shlexSplit } from "./jobsShell.js"
import { current, isFinished, isoformat, type JobRecord, jobsStoreOf, jobUri, type LogEvent, rfc3339Nano, splitLines } from "./jobsStore.js"
import type { Identity, PlatformState } from "./state.js"

const isWebSocket = (req: HttpServerRequest.HttpServerRequest) =>
  (req.headers["upgrade"] ?? "").toLowerCase() === "websocket"

/** An error answer; for a websocket handshake the body is also put into `X-Error`. */
const monitoringError = (req: HttpServerRequest.HttpServerRequest, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  return HttpServerResponse.text(text, {
    status,
    contentType: "application/json",
    headers: isWebSocket(req) ? { "X-Error": text } : {}
  })
}

const fail = (status: number, body: unknown) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => reply(monitoringError(req, status, body)))

const badRequest = (error: string) => fail(400, { error })

const handleMonitoring = handle

const boolParam = (q: URLSearchParams, name: string, dflt: boolean) => {
  const v = q.get(name)
  if (v === null) return Effect.succeed(dflt)
  const l = v.toLowerCase()
  if (l === "1" || l === "true") return Effect.succeed(true)
  if (l === "0" || l === "false") return Effect.succeed(false)
  return badRequest(`"${name}" request parameter can be "true"/"1" or "false"/"0"`)
}

/**
 * aiohttp answers the first subprotocol the client offers that the endpoint speaks, and none when
 * there is none (so `log_ws`, `top` and `port_forward` never echo one); the `ws` server under the
 * Node transport echoes whatever the client offers first. Narrow the offer on the Node request
 * before the handshake reads it.
 */
const negotiateProtocol = (req: HttpServerRequest.HttpServerRequest, supported: ReadonlyArray<string>) => {
  const headers = (req.source as { readonly headers?: Record<string, string | Array<string> | undefined> }).headers
  if (headers === undefined) return
  const offered = String(headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim())
  const chosen = offered.find((p) => supported.includes(p))
  if (chosen === undefined) delete headers["sec-websocket-protocol"]
  else headers["sec-websocket-protocol"] = chosen
}

/** The subprotocol of `attach` and `exec` (platform-monitoring's `WS_ATTACH_PROTOCOL`). */
const ATTACH_PROTOCOL = "v2.channels.neu.ro"

/** Python's `str(datetime)`. */
const strDate = (micros: number | undefined) => (micros === undefined ? "None" : isoformat(micros).replace("T", " "))

const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * The largest message of the log: platform-monitoring forwards the log as it reads it from the
 * node, a few KiB to 64 KiB at a time (aiohttp clients refuse websocket messages over 4 MiB).
 */
const LOG_FRAME = 64 * 1024

/**
 * `pieces` as messages of at most `LOG_FRAME` bytes: small pieces gathered, a large one cut.
 *
 * @internal
 */
export const packFrames = (pieces: Iterable<Uint8Array>): Array<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  let pending: Array<Uint8Array> = []
  let size = 0
  const flush = () => {
    if (size > 0) frames.push(concatBytes(pending))
    pending = []
    size = 0
  }
  for (const piece of pieces) {
    for (let at = 0; at < piece.length;) {
      const n = Math.min(LOG_FRAME - size, piece.length - at)
      pending.push(at === 0 && n === piece.length ? piece : piece.subarray(at, at + n))
      size += n
      at += n
      if (size === LOG_FRAME) flush()
    }
  }
  flush()
  return frames
}

/** @internal */
export const monitoringRoutes = (state: PlatformState) => {
  const store = () => jobsStoreOf(state)
  const enc = new TextEncoder()

  const identityOf = Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const identity = state.authenticate(req.headers["authorization"])
    return identity === undefined
      ? reply(
        HttpServerResponse.text("401: Unauthorized", {
          status: 401,
          headers: isWebSocket(req) ? { "X-Error": "401: Unauthorized" } : {}
        })
      )
      : Effect.succeed(identity)
  })

  /** platform-monitoring's `_resolve_job`: the job by id (through platform-api), then the permission check. */
  const resolve = (identity: Identity, action: "read" | "write") =>
    Effect.gen(function*() {
      const params = yield* HttpRouter.params
      const id = decodeURIComponent(params["id"] ?? "")
      const job = store().jobs.get(id)
      if (job === undefined) return yield* badRequest(`no such job ${id}`)
      if (!mayAccess(state, identity.user, job, action)) {
        const req = yield* HttpServerRequest.HttpServerRequest
        const response = forbidden([{ uri: jobUri(job), action }])
        const text = JSON.stringify({ missing: [{ uri: jobUri(job), action }] })
        return yield* reply(isWebSocket(req) ? HttpServerResponse.setHeader(response, "X-Error", text) : response)
      }
      return job
    })

  const running = (job: JobRecord) => {
    const proc = job.process
    return proc !== undefined && current(job).status === "running"
      ? Effect.succeed(proc)
      : fail(404, { error: `Job '${job.id}' is not running.` })
  }

  /**
   * Upgrade, then run `produce` (which writes) while reading what the client sends; close when
   * `produce` ends. `protocols`: the subprotocols the endpoint speaks (aiohttp's
   * `WebSocketResponse(protocols=...)`).
   */
  const serveSocket = (
    onMessage: (data: string | Uint8Array) => Effect.Effect<void> | void,
    produce: (write: (data: Uint8Array | string) => Effect.Effect<void>) => Effect.Effect<void>,
    protocols: ReadonlyArray<string> = []
  ) =>
    Effect.gen(function*() {
      const req = yield* HttpServerRequest.HttpServerRequest
      if (!isWebSocket(req)) {
        return yield* reply(HttpServerResponse.text("400: No WebSocket UPGRADE hdr", { status: 400 }))
      }
      negotiateProtocol(req, protocols)
      const socket = yield* req.upgrade.pipe(Effect.orElse(() => reply(HttpServerResponse.text("400: Bad Request", { status: 400 }))))
      const write = yield* socket.writer
      const send = (data: Uint8Array | string) => write(data).pipe(Effect.catchAll(() => Effect.void))
      yield* Effect.raceFirst(
        socket.runRaw(onMessage).pipe(Effect.catchAll(() => Effect.void)),
        produce(send).pipe(Effect.zipRight(write(new Socket.CloseEvent(1000)).pipe(Effect.catchAll(() => Effect.void))))
      )
      return HttpServerResponse.empty()
    }).pipe(Effect.scoped)

  // -------------------------------------------------------------------------- logs

  const logOptions = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const q = new URL(req.url, "http://local").searchParams
    const timestamps = yield* boolParam(q, "timestamps", false)
    const debug = yield* boolParam(q, "debug", false)
    const sinceRaw = q.get("since")
    let since: number | undefined
    if (sinceRaw) {
      since = yield* Effect.try({ try: () => parseDate(sinceRaw), catch: (e) => e }).pipe(
        Effect.catchAll((e) => badRequest(e instanceof Error ? e.message : String((e as { message?: unknown }).message)))
      )
    }
    const separator = q.get("separator") ?? "=== Live logs ===" + randomBytes(30).toString("hex")
    return { timestamps, debug, since, separator }
  })

  /**
   * The log as platform-monitoring streams it: what was written before the request (the
   * "archive"), then, if that was not empty, the separator line before the first line written
   * after it (the "live" part), following the job until it ends.
   */
  const logBytes = (
    job: JobRecord,
    o: { readonly timestamps: boolean; readonly debug: boolean; readonly since: number | undefined; readonly separator: string }
  ): Stream.Stream<Uint8Array> => {
    let hasArchive = false
    let separatorSent = false
    const started = job.statuses.find((s) => s.status === "running")?.at
    const head: Array<Uint8Array> = o.debug
      ? [enc.encode(`~~~ Archive logs from ${strDate(o.since)} to ${strDate(Date.now() * 1000)} (started at ${strDate(started)})\n`)]
      : []
    return Stream.concat(
      Stream.fromIterable(head),
      job.logs.follow().pipe(
        Stream.filter((e): e is Extract<LogEvent, { _tag: "Line" }> => e._tag === "Line" && (o.since === undefined || e.entry.at >= o.since)),
        Stream.map((e) => {
          const parts: Array<Uint8Array> = []
          if (e.live && !separatorSent) {
            separatorSent = true
            if (hasArchive) parts.push(enc.encode(o.separator + "\n"))
            if (o.debug) parts.push(enc.encode(`~~~ Live logs from ${strDate(o.since)} (started at ${strDate(started)})\n`))
          }
          if (!e.live) hasArchive = true
          if (o.timestamps) {
            // every line of the read gets its time
            const stamp = enc.encode(rfc3339Nano(e.entry.at) + " ")
            for (const line of splitLines(e.entry.data)) parts.push(stamp, line)
          } else parts.push(e.entry.data)
          return parts.length === 1 ? parts[0]! : concatBytes(parts)
        }),
        Stream.mapChunks((chunk) => Chunk.unsafeFromArray(packFrames(chunk)))
      )
    )
  }

  const logWs = Effect.gen(function*() {
    const identity = yield* identityOf
    const options = yield* logOptions
    const job = yield* resolve(identity, "read")
    return yield* serveSocket(() => {}, (send) => Stream.runForEach(logBytes(job, options), (chunk) => send(chunk)))
  }).pipe(handleMonitoring)

  const logHttp = Effect.gen(function*() {
    const identity = yield* identityOf
    const options = yield* logOptions
    const job = yield* resolve(identity, "read")
    // platform-monitoring prepares the response (status and headers go out) before the first
    // byte of the log: an empty first chunk makes the server flush the head at once, so a client
    // following a quiet job is not left waiting for its headers
    return HttpServerResponse.stream(Stream.concat(Stream.succeed(new Uint8Array(0)), logBytes(job, options)), {
      status: 200,
      contentType: "text/plain; charset=utf-8",
      headers: { "X-Separator": options.separator }
    })
  }).pipe(handleMonitoring)

  const dropLog = Effect.gen(function*() {
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    job.logs.entries.length = 0
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handleMonitoring)

  // -------------------------------------------------------------------------- top

  const top = Effect.gen(function*() {
    const identity = yield* identityOf
    const job = yield* resolve(identity, "read")
    return yield* serveSocket(() => {}, (send) =>
      Effect.gen(function*() {
        while (true) {
          const status = current(job).status
          const proc = job.process
          if (status === "running" && proc !== undefined) {
            const sample = yield* proc.telemetry
            if (Option.isSome(sample)) {
              yield* send(JSON.stringify({
                cpu: sample.value.cpu,
                memory: Math.floor(sample.value.memoryBytes / 2 ** 20),
                memory_bytes: sample.value.memoryBytes,
                timestamp: Date.now() / 1000
              }))
            }
          }
          if (isFinished(current(job).status)) return
          yield* Effect.sleep(1000)
        }
      }))
  }).pipe(handleMonitoring)

  // -------------------------------------------------------------------------- attach / exec

  const stdParams = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const q = new URL(req.url, "http://local").searchParams
    const tty = yield* boolParam(q, "tty", false)
    const stdin = yield* boolParam(q, "stdin", false)
    const stdout = yield* boolParam(q, "stdout", true)
    const stderr = yield* boolParam(q, "stderr", true)
    return { q, tty, stdin, stdout, stderr }
  })

  const checkStd = (p: { readonly tty: boolean; readonly stdin: boolean; readonly stdout: boolean; readonly stderr: boolean }) =>
    !(p.stdin || p.stdout || p.stderr)
      ? badRequest("Required at least one of stdin, stdout or stderr")
      : p.tty && p.stdout && p.stderr
      ? badRequest("Stdin and stdout cannot be multiplexed in tty mode")
      : Effect.void

  const frame = (channel: number, data: Uint8Array) => {
    const out = new Uint8Array(data.length + 1)
    out[0] = channel
    out.set(data, 1)
    return out
  }

  const exitFrame = (code: number) => frame(3, enc.encode(JSON.stringify({ exit_code: code })))

  const outFrame = (p: { readonly tty: boolean; readonly stdout: boolean; readonly stderr: boolean }, fd: 1 | 2, data: Uint8Array) => {
    const channel = p.tty ? 1 : fd
    if ((channel === 1 && !p.stdout && !p.tty) || (channel === 2 && !p.stderr)) return undefined
    return frame(channel, data)
  }

  const stdinOf = (enabled: boolean, write: (data: Uint8Array) => Effect.Effect<void>) => (data: string | Uint8Array) => {
    if (typeof data === "string" || data.length === 0) return
    if (data[0] === 0 && enabled) return write(data.subarray(1))
    return undefined
  }

  const attach = Effect.gen(function*() {
    const p = yield* stdParams
    yield* checkStd(p)
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    const proc = yield* running(job)
    // the platform creates containers with stdin open (and not once): attach always gets stdin
    const o = { ...p, stdin: true, tty: job.container.tty && p.tty }
    return yield* serveSocket(stdinOf(o.stdin, proc.writeStdin), (send) =>
      job.logs.follow("new").pipe(
        Stream.takeUntil((e) => e._tag === "Exit"),
        Stream.runForEach((e) => {
          if (e._tag === "Exit") return send(exitFrame(e.exitCode))
          const f = outFrame(o, e.entry.fd, e.entry.data)
          return f === undefined ? Effect.void : send(f)
        })
      ), [ATTACH_PROTOCOL])
  }).pipe(handleMonitoring)

  const exec = Effect.gen(function*() {
    const p = yield* stdParams
    const cmd = p.q.get("cmd")
    if (!cmd) return yield* badRequest("Command is required")
    yield* checkStd(p)
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    const proc = yield* running(job)
    const argv = shlexSplit(cmd)
    if (argv === undefined || argv.length === 0) return yield* badRequest("invalid command format")
    const session = yield* Effect.acquireRelease(
      proc.exec(argv).pipe(Effect.catchAll((e) => fail(400, { error: e.description }))),
      (s) => s.kill
    )
    return yield* serveSocket(stdinOf(p.stdin, session.writeStdin), (send) =>
      Effect.gen(function*() {
        yield* Stream.runForEach(session.output, (chunk) => {
          const f = outFrame(p, chunk.fd, chunk.data)
          return f === undefined ? Effect.void : send(f)
        })
        const code = yield* session.exit
        yield* send(exitFrame(code))
      }), [ATTACH_PROTOCOL])
  }).pipe(Effect.scoped, handleMonitoring)

  // -------------------------------------------------------------------------- port forward

  const portForward = Effect.gen(function*() {
    const params = yield* HttpRouter.params
    const raw = params["port"] ?? ""
    const port = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN
    if (!Number.isInteger(port)) return yield* fail(400, { msg: `Invalid port number '${raw}'` })
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    const proc = yield* running(job)
    const address = proc.address(port)
    // connect before the handshake, so that a refused connection is a 400 answer
    const conn = yield* Effect.acquireRelease(
      Effect.async<net.Socket, Error>((resume) => {
        const c = net.createConnection({ host: address.host, port: address.port })
        const onError = (e: Error) => resume(Effect.fail(e))
        c.once("error", onError)
        c.once("connect", () => {
          c.off("error", onError)
          resume(Effect.succeed(c))
        })
        // the request went away while connecting: drop the half-open socket
        return Effect.sync(() => c.destroy())
      }).pipe(
        Effect.catchAll((e) =>
          fail(400, {
            msg: `Cannot connect to port ${port}`,
            // Python's repr of the OSError: a positive errno (Node reports it negated)
            error: `ConnectionRefusedError(${Math.abs((e as NodeJS.ErrnoException).errno ?? 111)}, "Connect call failed ('${address.host}', ${port})")`
          })
        )
      ),
      (c) => Effect.sync(() => c.destroy())
    )
    conn.on("error", () => {})
    return yield* serveSocket(
      (data) => {
        if (typeof data !== "string") conn.write(data)
      },
      (send) =>
        Stream.async<Uint8Array>((emit) => {
          conn.on("data", (d: Buffer) => void emit.single(new Uint8Array(d)))
          conn.on("close", () => void emit.end())
        }).pipe(Stream.runForEach(send))
    )
  }).pipe(Effect.scoped, handleMonitoring)

  // -------------------------------------------------------------------------- kill, save, capacity

  const kill = Effect.gen(function*() {
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    const proc = yield* running(job)
    yield* proc.signal("SIGKILL")
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handleMonitoring)

  const save = Effect.gen(function*() {
    const identity = yield* identityOf
    const job = yield* resolve(identity, "write")
    yield* running(job)
    const message = "Saving a job's container as an image is not supported by LocalPlatform"
    return HttpServerResponse.text(JSON.stringify({ error: message, errorDetail: { message } }) + "\r\n", {
      contentType: "application/x-ndjson"
    })
  }).pipe(handleMonitoring)

  const capacity = Effect.gen(function*() {
    const identity = yield* identityOf
    const cluster = state.clusters[0]
    if (cluster === undefined) return HttpServerResponse.unsafeJson({})
    const allowed = state.acl.can(identity.user, `job://${cluster.name}/${identity.user}`, "read") ||
      state.acl.can(identity.user, `cluster://${cluster.name}/access`, "read")
    if (!allowed) return yield* reply(forbidden([{ uri: `job://${cluster.name}/${identity.user}`, action: "read" }]))
    return HttpServerResponse.unsafeJson(store().capacityFor(cluster.presets ?? []))
  }).pipe(handleMonitoring)

  const base = "/api/v1/jobs"
  return HttpRouter.empty.pipe(
    HttpRouter.get(`${base}/capacity`, capacity),
    HttpRouter.post(`${base}/available`, capacity),
    HttpRouter.get(`${base}/:id/log`, logHttp),
    HttpRouter.del(`${base}/:id/log`, dropLog),
    HttpRouter.get(`${base}/:id/log_ws`, logWs),
    HttpRouter.get(`${base}/:id/top`, top),
    HttpRouter.post(`${base}/:id/save`, save),
    HttpRouter.get(`${base}/:id/attach`, attach),
    HttpRouter.post(`${base}/:id/attach`, attach),
    HttpRouter.get(`${base}/:id/exec`, exec),
    HttpRouter.post(`${base}/:id/exec`, exec),
    HttpRouter.post(`${base}/:id/kill`, kill),
    HttpRouter.get(`${base}/:id/port_forward/:port`, portForward),
    HttpRouter.post(`${base}/:id/port_forward/:port`, portForward)
  )
}
