/**
 * The byte loop of a download: what a remote answer brings is written to the local file in large
 * writes (socket chunks gathered up to `WRITE_SIZE`), one Effect step per write.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { LocalFiles, Writer } from "../../LocalFiles.js"
import { makeBodyBuffer } from "../../TransferIO.js"
import type { RemoteReader } from "./remote.js"
import { concatBytes } from "./remote.js"
import type { LocalError } from "./rules.js"

/** Bytes gathered before a download writes them (fewer when the answer ends or pauses). */
/** @internal */
export const WRITE_SIZE = 1024 * 1024

/**
 * A remote's byte stream as a batch reader: a fiber of the current scope runs the stream into a
 * body buffer (paused above its high-water mark); `step` is told the position after every chunk.
 */
/** @internal */
export const streamReader = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  from: number,
  step: ((current: number) => Effect.Effect<void>) | undefined
): Effect.Effect<RemoteReader<E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    let paused = false
    let gate: (() => void) | undefined
    let died: Cause.Cause<never> | undefined
    const buffer = makeBodyBuffer<E>({
      pause: () => {
        paused = true
      },
      resume: () => {
        paused = false
        const open = gate
        gate = undefined
        open?.()
      },
      // the fiber ends with the scope
      destroy: () => {}
    })
    const wait = Effect.async<void>((resume) => {
      if (!paused) return resume(Effect.void)
      gate = () => resume(Effect.void)
    })
    let received = from
    yield* Stream.runForEachChunk(stream, (chunk) => {
      for (const bytes of Chunk.toReadonlyArray(chunk)) {
        buffer.push(bytes)
        received += bytes.length
      }
      const told = step === undefined || chunk.length === 0 ? Effect.void : step(received)
      return paused ? Effect.zipRight(told, wait) : told
    }).pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) =>
          Effect.sync(() => {
            const failure = Cause.failureOption(cause)
            if (failure._tag === "Some") return buffer.fail(failure.value)
            died = Cause.stripFailures(cause)
            buffer.end()
          }),
        onSuccess: () => Effect.sync(buffer.end)
      }),
      Effect.forkScoped
    )
    const checked = <A>(effect: Effect.Effect<A, E>) =>
      Effect.flatMap(effect, (a) => (died === undefined ? Effect.succeed(a) : Effect.failCause(died)))
    return { read: (min) => checked(buffer.body.read(min)), close: buffer.body.close }
  })

/**
 * Where a download writes: a local file opened on the first write (a body that comes whole in one
 * batch into an emptied file is written with one `writeFile`), from byte `start` on (0 empties it).
 */
/** @internal */
export interface Sink {
  readonly write: (chunks: ReadonlyArray<Uint8Array>, last: boolean) => Effect.Effect<void, LocalError>
  /** The file complete: created (empty) if nothing was written, closed. */
  readonly finish: Effect.Effect<void, LocalError>
  /** Closed without a word (after a failure or an interruption). */
  readonly abandon: Effect.Effect<void>
}

/** @internal */
export const makeSink = (files: LocalFiles.Service, path: string, start: number, sequential = false): Sink => {
  let writer: Writer | undefined
  /** Where the next byte goes; `undefined` until the file was opened or written. */
  let at: number | undefined
  const write = (chunks: ReadonlyArray<Uint8Array>, last: boolean): Effect.Effect<void, LocalError> =>
    Effect.suspend(() => {
      let n = 0
      for (const c of chunks) n += c.length
      const done = Effect.sync(() => {
        at = (at ?? start) + n
      })
      if (writer !== undefined) return Effect.zipRight(writer.write(chunks), done)
      if (at === undefined && start === 0 && last && !sequential) return Effect.zipRight(files.writeFile(path, concatBytes(chunks)), done)
      const position = at ?? start
      return Effect.flatMap(files.open(path, { truncate: position === 0 && !sequential, position, sequential }), (w) => {
        writer = w
        return Effect.zipRight(w.write(chunks), done)
      })
    })
  return {
    write,
    finish: Effect.suspend(() => {
      if (writer !== undefined) {
        const w = writer
        writer = undefined
        return w.close
      }
      // a pipe or device that got nothing is left as it is
      return at !== undefined || start > 0 || sequential
        ? Effect.void
        : Effect.zipRight(files.writeFile(path, new Uint8Array(0)), Effect.sync(() => (at = 0)))
    }),
    abandon: Effect.suspend(() => {
      const w = writer
      writer = undefined
      return w === undefined ? Effect.void : Effect.ignore(w.close)
    })
  }
}

/**
 * Write everything `reader` brings into `sink`, advancing `cursor.pos` by what was written;
 * `step` after each write when given. Ends with the answer.
 */
/** @internal */
export const drain = <E>(
  reader: RemoteReader<E>,
  sink: Sink,
  cursor: { pos: number },
  step: ((current: number) => Effect.Effect<void>) | undefined
): Effect.Effect<void, E | LocalError> =>
  Effect.gen(function*() {
    for (;;) {
      const batch = yield* reader.read(WRITE_SIZE)
      if (batch.bytes > 0) {
        // one write per batch: writev of its chunks (used again by the next read)
        yield* sink.write(batch.chunks, batch.end)
        cursor.pos += batch.bytes
        if (step !== undefined) yield* step(cursor.pos)
      }
      if (batch.end) return
    }
  })
