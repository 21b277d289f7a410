/**
 * Helpers shared by the command groups.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import { Parser } from "@neuro-sdk/core/Parser"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { usageError } from "../output/errors.js"
import { flagOnByDefault } from "../root.js"

/**
 * A URI as the Python CLI prints it: the short form (`storage:x`, `image:name`) for the current
 * user, cluster and org; the full one with `--full-uri` or when there is no short form.
 *
 * @since 1.0.0
 * @category formatting
 */
export const uriFormatter = (fullUri: boolean) =>
  Effect.map(Parser, (parser) => (uri: URL | string): Effect.Effect<string> =>
    fullUri
      ? Effect.succeed(String(uri))
      : parser.normalizeUri(uri, { short: true }).pipe(
        Effect.map((short) => parser.uriToStr(short)),
        Effect.orElseSucceed(() => String(uri))
      ))

/**
 * An unknown option is passed on by @effect/cli as an argument: refuse it like click does.
 *
 * @since 1.0.0
 * @category validation
 */
export const noOptions = (args: ReadonlyArray<string>) => {
  const bad = args.find((a) => a.startsWith("-") && a.length > 1)
  return bad === undefined ? Effect.void : Effect.fail(usageError(`No such option: ${bad}`))
}

const MEMORY = /^(\d+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?[bB]?$/
const FACTOR: Record<string, number> = {
  "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15
}

/**
 * Bytes of a size such as `16M` (10^6), `16Mi` (2^20), `100` (the Python CLI's `parse_memory`).
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseMemory = (text: string): Either.Either<number, string> => {
  const m = MEMORY.exec(text)
  return m === null ? Either.left(`Unable parse value: ${text}`) : Either.right(Number(m[1]) * FACTOR[m[2] ?? ""]!)
}

/**
 * Whether a local path is a stream rather than a file: `/dev/stdin`, `/dev/stdout`, or an existing
 * path that is neither a regular file nor a folder (a FIFO, a terminal, a device). Transfers of
 * files write a temporary file and rename it over the destination, which must never happen to
 * these: they are read or written as streams instead.
 *
 * @since 1.0.0
 * @category local files
 */
export const isStreamPath = (path: string): boolean => {
  if (path === "/dev/stdin" || path === "/dev/stdout" || path === "/dev/stderr") return true
  const stat = fs.statSync(path, { throwIfNoEntry: false })
  return stat !== undefined && !stat.isFile() && !stat.isDirectory()
}

/**
 * The bytes of a local stream path (`/dev/stdin`: the process's standard input).
 *
 * @since 1.0.0
 * @category local files
 */
export const readStream = <E>(path: string, onError: (cause: unknown) => E): Stream.Stream<Uint8Array, E> =>
  Stream.fromAsyncIterable(
    path === "/dev/stdin" ? process.stdin : fs.createReadStream(path),
    onError
  ).pipe(Stream.map((chunk) => (typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk as Buffer))))

/**
 * Write bytes to a local stream path (`/dev/stdout` and `/dev/stderr`: the process's own).
 *
 * @since 1.0.0
 * @category local files
 */
export const writeTo = (path: string): { readonly write: (chunk: Uint8Array) => void; readonly close: () => void } => {
  const fd = path === "/dev/stdout" ? 1 : path === "/dev/stderr" ? 2 : fs.openSync(path, "w")
  return {
    write: (chunk) => {
      let offset = 0
      while (offset < chunk.length) {
        try {
          offset += fs.writeSync(fd, chunk, offset)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error
        }
      }
    },
    close: () => {
      if (fd > 2) fs.closeSync(fd)
    }
  }
}

/** The arguments and options of `rm` (storage and blob). */
export const removeOptions = {
    paths: Args.text({ name: "PATHS" }).pipe(Args.atLeast(1)),
    recursive: Options.boolean("recursive").pipe(Options.withAlias("r"), Options.withDescription("Remove directories and their contents recursively.")),
    glob: flagOnByDefault("glob", "Expand glob patterns in PATHS (--no-glob: do not)."),
    progress: Options.boolean("progress", { negationNames: ["no-progress"] }).pipe(Options.optional, Options.withDescription("Show progress, on by default in TTY mode (-p/-P)."))
}
