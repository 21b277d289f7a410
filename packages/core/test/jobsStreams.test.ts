import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import { assert, describe, it } from "@effect/vitest"
import { Images, Jobs } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { bytes, type Harness, layer, makeHarness, MON, text } from "./jobsFixtures.js"

const run = <A, E>(harness: Harness, f: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.scoped(Effect.flatMap(Jobs.Jobs, f)).pipe(Effect.provide(layer(harness)))

describe("monitor", () => {
  it.effect("yields binary chunks, skips empty ones, sends the query", () => {
    const harness = makeHarness()
    harness.script = [bytes("chunk 0\n"), new Uint8Array(0), bytes("chunk 1\n")]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const chunks = Chunk.toArray(
          yield* Stream.runCollect(
            jobs.monitor("job-id", { since: new Date("2021-08-17T00:00:00Z"), timestamps: true, separator: "==", debug: true })
          )
        )
        assert.deepStrictEqual(chunks.map(text), ["chunk 0\n", "chunk 1\n"])
        const url = harness.dialed[0]!.url
        assert.strictEqual(url.origin + url.pathname, `${MON}/job-id/log_ws`)
        assert.deepStrictEqual([...url.searchParams], [
          ["since", "2021-08-17T00:00:00+00:00"],
          ["timestamps", "true"],
          ["separator", "=="],
          ["debug", "true"]
        ])
        assert.strictEqual(harness.dialed[0]!.headers["Authorization"], "Bearer token")
      }))
  })

  it.effect("no options: no query", () => {
    const harness = makeHarness()
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        yield* Stream.runDrain(jobs.monitor("job-id"))
        assert.strictEqual(harness.dialed[0]!.url.href, `${MON}/job-id/log_ws`)
      }))
  })

  it.effect("a text message is an error", () => {
    const harness = makeHarness()
    harness.script = [bytes("a"), "text"]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(jobs.monitor("job-id")))
        assert.strictEqual(error._tag, "MalformedResponse")
      }))
  })

  it.effect("a refused handshake is mapped like HTTP (404 → ResourceNotFound)", () => {
    const harness = makeHarness()
    harness.refuse = { status: 404 }
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(jobs.monitor("job-id")))
        assert.strictEqual(error._tag, "ResourceNotFound")
      }))
  })
})

describe("top", () => {
  const sample = (i: number) =>
    JSON.stringify({ cpu: 0.5, memory_bytes: 50 * 2 ** 20, timestamp: i, gpu_duty_cycle: 50, gpu_memory_bytes: Math.floor(55.6 * 2 ** 20) })

  it.effect("decodes telemetry text messages", () => {
    const harness = makeHarness()
    harness.script = [0, 1, 2].map(sample)
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const all = Chunk.toArray(yield* Stream.runCollect(jobs.top("job-id")))
        assert.deepStrictEqual(all.map((t) => t.timestamp), [0, 1, 2])
        assert.strictEqual(all[0]!.memory, 50)
        assert.strictEqual(all[0]!.gpuDutyCycle, 50)
        assert.strictEqual(all[0]!.gpuMemoryBytes, Math.floor(55.6 * 2 ** 20))
        assert.strictEqual(harness.dialed[0]!.url.href, `${MON}/job-id/top`)
      }))
  })

  it.effect("no sample at all: the job is not running", () => {
    const harness = makeHarness()
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(jobs.top("job-id")))
        assert.strictEqual(error._tag, "IllegalArgumentError")
        assert.include(error.message, "not running")
      }))
  })

  it.effect("400 with X-Error on the handshake", () => {
    const harness = makeHarness()
    harness.refuse = { status: 400, xError: "job job-id not found" }
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(jobs.top("job-id")))
        assert.strictEqual(error._tag, "IllegalArgumentError")
        assert.include(error.message, "not found")
      }))
  })

  it.effect("binary or malformed messages are MalformedResponses", () => {
    const harness = makeHarness()
    harness.script = [bytes("x")]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* Effect.flip(Stream.runCollect(jobs.top("job-id"))))._tag, "MalformedResponse")
        harness.script = [JSON.stringify({ cpu: 1 })]
        const error = yield* Effect.flip(Stream.runCollect(jobs.top("job-id")))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, "memory_bytes")
      }))
  })
})

describe("attach / exec (StdStream framing)", () => {
  it.effect("attach: query, subprotocol, channels, resize, exit code", () => {
    const harness = makeHarness()
    harness.keepOpen = true
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const stream = yield* jobs.attach("job-id", { tty: true, stdin: true, stdout: true, stderr: false })
        const dialed = harness.dialed[0]!
        assert.strictEqual(dialed.url.href, `${MON}/job-id/attach?tty=1&stdin=1&stdout=1&stderr=0`)
        assert.deepStrictEqual(dialed.protocols, ["v2.channels.neu.ro"])
        const socket = harness.sockets[0]!
        yield* stream.writeIn(bytes("ls\n"))
        yield* stream.resize(24, 80)
        assert.deepStrictEqual(socket.sent.map((m) => Array.from(m as Uint8Array)), [
          [0, ...bytes("ls\n")],
          [4, ...bytes(`{"height":24,"width":80}`)]
        ])
        yield* Queue.offerAll(socket.incoming, [bytes(1, "out"), bytes(2, "err"), bytes(3, `{"exit_code": 42}`)])
        const out = yield* stream.readOut
        assert.isTrue(Option.isSome(out))
        assert.strictEqual(Option.getOrThrow(out).fileno, 1)
        assert.strictEqual(text(Option.getOrThrow(out).data), "out")
        const err = Option.getOrThrow(yield* stream.readOut)
        assert.deepStrictEqual([err.fileno, text(err.data)], [2, "err"])
        const exit = yield* Effect.flip(stream.readOut)
        assert.strictEqual(exit._tag, "StdStreamError")
        assert.strictEqual((exit as { readonly exitCode: number }).exitCode, 42)
        assert.isTrue(Option.isNone(yield* stream.readOut), "reads after the exit frame return None")
        yield* stream.writeIn(bytes("ignored"))
        assert.strictEqual(socket.sent.length, 2, "writes after the exit frame are ignored")
      }))
  })

  it.effect("exec: cmd in the query; an unreadable exit frame means exit code 1", () => {
    const harness = makeHarness()
    harness.script = [bytes(3, "garbage")]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const stream = yield* jobs.exec("job-id", "bash -c 'echo hi'", { stdout: true })
        const url = harness.dialed[0]!.url
        assert.strictEqual(url.origin + url.pathname, `${MON}/job-id/exec`)
        assert.deepStrictEqual([...url.searchParams], [
          ["cmd", "bash -c 'echo hi'"],
          ["tty", "0"],
          ["stdin", "0"],
          ["stdout", "1"],
          ["stderr", "0"]
        ])
        assert.isUndefined(harness.dialed[0]!.protocols)
        const exit = yield* Effect.flip(stream.readOut)
        assert.deepStrictEqual(exit._tag === "StdStreamError" ? exit.exitCode : -1, 1)
      }))
  })

  it.effect("a close without an exit frame ends reading with None", () => {
    const harness = makeHarness()
    harness.script = [bytes(1, "last words")]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const stream = yield* jobs.exec("job-id", "true")
        assert.strictEqual(text(Option.getOrThrow(yield* stream.readOut).data), "last words")
        assert.isTrue(Option.isNone(yield* stream.readOut))
        assert.isTrue(Option.isNone(yield* stream.readOut))
      }))
  })

  it.effect("close: later reads are None, writes ignored, socket closed", () => {
    const harness = makeHarness()
    harness.keepOpen = true
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const stream = yield* jobs.attach("job-id")
        yield* stream.close
        assert.isTrue(harness.sockets[0]!.closed)
        assert.isTrue(Option.isNone(yield* stream.readOut))
        yield* stream.writeIn(bytes("x"))
        yield* stream.resize(1, 1)
        assert.strictEqual(harness.sockets[0]!.sent.length, 0)
      }))
  })

  it.effect("text or empty frames are MalformedResponses", () => {
    const harness = makeHarness()
    harness.script = ["text", new Uint8Array(0)]
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const stream = yield* jobs.attach("job-id")
        assert.strictEqual((yield* Effect.flip(stream.readOut))._tag, "MalformedResponse")
        assert.strictEqual((yield* Effect.flip(stream.readOut))._tag, "MalformedResponse")
      }))
  })

  it.effect("the socket is closed with the scope", () => {
    const harness = makeHarness()
    harness.keepOpen = true
    return Effect.gen(function*() {
      yield* run(harness, (jobs) => Effect.asVoid(jobs.attach("job-id")))
      assert.isTrue(harness.sockets[0]!.closed)
    })
  })
})

describe("portForward", () => {
  /** An in-memory TCP server: `connect()` makes a connection and returns the client's ends. */
  const memoryServer = Effect.gen(function*() {
    const handlers = yield* Deferred.make<(socket: Socket.Socket) => Effect.Effect<unknown, unknown>>()
    const listened: Array<{ readonly host: string; readonly port: number }> = []
    const service = Jobs.LocalTcpServer.of({
      listen: (options) =>
        Effect.sync(() => {
          listened.push(options)
          return SocketServer.SocketServer.of({
            address: { _tag: "TcpAddress", hostname: "127.0.0.1", port: options.port === 0 ? 40000 : options.port },
            run: (handler) =>
              Effect.zipRight(
                Deferred.succeed(handlers, handler as (socket: Socket.Socket) => Effect.Effect<unknown, unknown>),
                Effect.never
              )
          })
        })
    })
    const connect = Effect.gen(function*() {
      const handler = yield* Deferred.await(handlers)
      const toServer = new TransformStream<Uint8Array, Uint8Array>()
      const fromServer = new TransformStream<Uint8Array, Uint8Array>()
      // the server's side of the connection; closed when the handler ends (as NodeSocketServer does)
      const inner = fromServer.writable.getWriter()
      let ended = false
      const end = () => {
        if (ended) return Promise.resolve()
        ended = true
        return inner.close().catch(() => undefined)
      }
      const writable = new WritableStream<Uint8Array>({ write: (chunk) => inner.write(chunk), close: end })
      const socket = yield* Socket.fromTransformStream(Effect.succeed({ readable: toServer.readable, writable }))
      const done = yield* Effect.fork(handler(socket).pipe(Effect.ensuring(Effect.promise(end))))
      return { writer: toServer.writable.getWriter(), reader: fromServer.readable.getReader(), done }
    })
    return { service, connect, listened }
  })

  it.live("pipes a connection through its own websocket both ways", () => {
    const harness = makeHarness()
    harness.keepOpen = true
    return Effect.gen(function*() {
      const server = yield* memoryServer
      yield* Effect.scoped(Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const address = yield* jobs.portForward("job-id", 0, 12345).pipe(Effect.provideService(Jobs.LocalTcpServer, server.service))
        assert.deepStrictEqual(address, { host: "127.0.0.1", port: 40000 })
        assert.deepStrictEqual(server.listened, [{ host: "localhost", port: 0 }])
        const client = yield* server.connect
        yield* Effect.promise(() => client.writer.write(bytes("ping")))
        yield* Effect.gen(function*() {
          while (harness.sockets[0] === undefined || harness.sockets[0].sent.length === 0) yield* Effect.sleep("5 millis")
        }).pipe(Effect.timeout("2 seconds"))
        assert.strictEqual(harness.dialed[0]!.url.href, `${MON}/job-id/port_forward/12345`)
        const socket = harness.sockets[0]!
        assert.deepStrictEqual(socket.sent.map(text), ["ping"])
        yield* Queue.offer(socket.incoming, bytes("rep-ping"))
        const reply = yield* Effect.promise(() => client.reader.read())
        assert.strictEqual(text(reply.value!), "rep-ping")
        // the websocket closes: the local connection ends
        yield* Queue.offer(socket.incoming, null)
        const end = yield* Effect.promise(() => client.reader.read())
        assert.isTrue(end.done)
      }).pipe(Effect.provide(layer(harness))))
    })
  })

  it.live("a refused websocket closes only that connection", () => {
    const harness = makeHarness()
    harness.refuse = { status: 400, xError: "test error info" }
    return Effect.gen(function*() {
      const server = yield* memoryServer
      yield* Effect.scoped(Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        yield* jobs.portForward("job-id", 8080, 80, { host: "127.0.0.1" }).pipe(
          Effect.provideService(Jobs.LocalTcpServer, server.service)
        )
        const client = yield* server.connect
        const end = yield* Effect.promise(() => client.reader.read()).pipe(Effect.timeout("2 seconds"))
        assert.isTrue(end.done)
        assert.deepStrictEqual(server.listened, [{ host: "127.0.0.1", port: 8080 }])
      }).pipe(Effect.provide(layer(harness))))
    })
  })

  it.effect("a port that cannot be bound is a NetworkError", () => {
    const harness = makeHarness()
    const failing = Jobs.LocalTcpServer.of({
      listen: () => Effect.fail(new SocketServer.SocketServerError({ reason: "Open", cause: new Error("EADDRINUSE") }))
    })
    return run(harness, (jobs) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(jobs.portForward("job-id", 1, 2).pipe(Effect.provideService(Jobs.LocalTcpServer, failing)))
        assert.strictEqual(error._tag, "NetworkError")
        assert.include(error.message, "EADDRINUSE")
      }))
  })
})

describe("save", () => {
  const chunks = [
    { status: "CommitStarted", details: { container: "cont_id", image: "registry.example.org/user/img:v1" } },
    { status: "CommitFinished" },
    { status: "The push refers to repository [localhost:5000/alpine]" },
    { status: "Preparing", progressDetail: {}, id: "a31dbd3063d7" },
    { status: "Pushing", progressDetail: { current: 3584 }, progress: " 3.584kB", id: "0acd017a4b67" },
    { status: "Pushed", progressDetail: {}, id: "0acd017a4b67" },
    { status: "v1: digest: sha256:DIGEST size: 1359" },
    { progressDetail: {}, aux: { Tag: "v1", Digest: "sha256:DIGEST", Size: 1359 } }
  ]
  const ndjson = (items: ReadonlyArray<unknown>) =>
    new Response(items.map((c) => JSON.stringify(c) + "\r\n").join(""), { headers: { "content-type": "application/x-ndjson" } })

  it.effect("posts the image and reports progress", () => {
    const harness = makeHarness()
    const events: Array<Jobs.JobSaveProgress> = []
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      yield* jobs.save("job-id", "registry.example.org/user/img:v1", { progress: (e) => Effect.sync(() => void events.push(e)) })
      const request = harness.requests[0]!
      assert.strictEqual(`${request.method} ${request.url.href}`, `POST ${MON}/job-id/save`)
      assert.strictEqual(request.body, `{"container": {"image": "registry.example.org/user/img:v1"}}`)
      assert.deepStrictEqual(events.map((e) => e._tag), [
        "ImageProgressSave",
        "ImageCommitStarted",
        "ImageCommitFinished",
        "ImageProgressPush",
        "ImageProgressStep",
        "ImageProgressStep",
        "ImageProgressStep"
      ])
      const [save, started, finished, push] = events
      // the classes `Images` exports, as neuro-sdk's progress callbacks receive them
      assert.instanceOf(save, Images.ImageProgressSave)
      assert.instanceOf(started, Images.ImageCommitStarted)
      assert.instanceOf(finished, Images.ImageCommitFinished)
      assert.instanceOf(push, Images.ImageProgressPush)
      assert.strictEqual(save instanceof Images.ImageProgressSave ? `${save.job} ${save.dst}` : "", "job-id image://default/user/img:v1")
      assert.strictEqual(
        started instanceof Images.ImageCommitStarted ? `${started.jobId} ${started.targetImage}` : "",
        "job-id image://default/user/img:v1"
      )
      assert.strictEqual(finished instanceof Images.ImageCommitFinished ? finished.jobId : "", "job-id")
      assert.strictEqual(push instanceof Images.ImageProgressPush ? `${push.src} -> ${push.dst}` : "", "user/img:v1 -> image://default/user/img:v1")
      assert.deepStrictEqual(
        events[5],
        new Images.ImageProgressStep({
          message: "0acd017a4b67: Pushing  3.584kB",
          layerId: "0acd017a4b67",
          status: "Pushing",
          current: 3584,
          total: null
        })
      )
    }).pipe(Effect.provide(layer(harness, () => ndjson(chunks))))
  })

  const failures: ReadonlyArray<readonly [string, ReadonlyArray<unknown>, string, string]> = [
    ["invalid commit started", [{ status: "invalid status", details: { image: "img" } }, { status: "CommitFinished" }], "MalformedResponse", "Invalid commit status: 'invalid status', expecting: 'CommitStarted'"],
    ["missing image details", [{ status: "CommitStarted", details: { container: "cnt" } }], "MalformedResponse", "Missing required details: 'image'"],
    ["invalid commit finished", [{ status: "CommitStarted", details: { image: "img" } }, { status: "invalid status" }], "MalformedResponse", "expecting: 'CommitFinished'"],
    ["missing status", [{ "not-a-status": "value" }], "MalformedResponse", "Missing required field: \"status\""],
    ["error chunk", [{ status: "CommitStarted", details: { image: "img" } }, { status: "CommitFinished" }, { error: "x", errorDetail: { message: "denied" } }], "ClientError", "denied"],
    ["ends early", [{ status: "CommitStarted", details: { image: "img" } }], "MalformedResponse", "ended"]
  ]
  for (const [name, items, tag, message] of failures) {
    it.effect(`fails: ${name}`, () => {
      const harness = makeHarness()
      return Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.save("job-id", "registry.example.org/user/img:v1"))
        assert.strictEqual(error._tag, tag)
        assert.include(error.message, message)
      }).pipe(Effect.provide(layer(harness, () => ndjson(items))))
    })
  }

  it.effect("an image outside the platform registry is refused", () => {
    const harness = makeHarness()
    return Effect.gen(function*() {
      const jobs = yield* Jobs.Jobs
      const error = yield* Effect.flip(jobs.save("job-id", "ubuntu"))
      assert.strictEqual(error._tag, "InvalidInputError")
      assert.strictEqual(harness.requests.length, 0)
    }).pipe(Effect.provide(layer(harness)))
  })
})
