/**
 * The storage side of the transfer engine (`Transfer.Remote`): remote paths as `Target`s that
 * carry their request URL (a child's is its parent's plus one quoted segment, no URL parsed or
 * config read per file), the byte requests of `storageIO.ts`, and the folder listings of
 * `storageListing.ts`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Stream from "effect/Stream"
import * as Errors from "../Errors.js"
import type { StorageError } from "../Storage.js"
import type { WireEntry } from "./storageListing.js"
import * as StorageIO from "./storageIO.js"
import * as Transfer from "./transfer.js"
import { quotePath } from "./uri.js"
import * as Uri from "./uriStorage.js"

/** A remote path of a transfer: its storage URI (built when asked for) and its request URL (no query). */
/** @internal */
export class Target {
  #uri: URL | undefined
  private constructor(readonly url: string, private readonly parent: Target | undefined, private readonly name: string, uri: URL | undefined) {
    this.#uri = uri
  }
  /** `uri` at the request URL `url` (without query). */
  static root(uri: URL, url: string): Target {
    return new Target(url, undefined, "", uri)
  }
  get uri(): URL {
    return (this.#uri ??= Uri.child(this.parent!.uri, this.name))
  }
  child(name: string): Target {
    const segment = quotePath(name).replace(/\//g, "%2F")
    return new Target(this.url.endsWith("/") ? this.url + segment : this.url + "/" + segment, this, name, undefined)
  }
}

/** A request body longer than this reports its progress while it is sent. */
const STEP_BYTES = 1024 * 1024
/** How often, at most, the progress of one request is reported. */
const STEP_MILLIS = 100

/** What the remote needs of the storage service. */
/** @internal */
export interface Deps {
  readonly io: StorageIO.StorageIO
  readonly clock: Ref.Ref<{ readonly min: number; readonly max: number }>
  /** Files sent per upload request. */
  readonly chunkSize: number
  readonly readRetries: number
  /** Transfer-level retries of a request (transport failures and gateway answers). */
  readonly retrying: <A>(effect: Effect.Effect<A, StorageError>) => Effect.Effect<A, StorageError>
  /** A folder's entries (`LISTSTATUS`), retried. */
  readonly listEntries: (t: Target) => Effect.Effect<Array<WireEntry>, StorageError>
  /** `MKDIRS`. */
  readonly mkdirs: (t: Target) => Effect.Effect<void, StorageError>
  /** The bytes of a file from `offset` over `ApiClient` (one `OPEN`). */
  readonly read: (t: Target, offset: number) => Stream.Stream<Uint8Array, StorageError>
}

const wireTimes = (w: WireEntry): Transfer.FileTimes => ({ size: Math.trunc(w.length), mtime: Math.trunc(w.modificationTime) })

/** @internal */
export const make = (deps: Deps): Transfer.Remote<Target, StorageError> => {
  const { clock, io, retrying } = deps
  const request = (method: StorageIO.StorageRequest["method"], t: Target, op: string, headers: Record<string, string> = {}) => ({
    method,
    url: `${t.url}?op=${op}`,
    headers
  })

  /**
   * One upload request: bytes [offset, offset+length) of the file; retried as a whole. While a
   * request of more than one read is on its way, `step` is told how far it got, every
   * `STEP_MILLIS` at most, never going back (a retry starts the request again from its offset).
   */
  const sendChunk = (
    srcPath: string,
    dst: Target,
    offset: number,
    length: number,
    first: boolean,
    step: (current: number) => Effect.Effect<void>
  ) =>
    Effect.suspend(() => {
      let sent = 0
      let told = 0
      const send = retrying(io.send(
        first
          ? request("PUT", dst, "CREATE")
          : request("PATCH", dst, "WRITE", { "Content-Range": `bytes ${offset}-${offset + length - 1}/*` }),
        { path: srcPath, offset, length, sent: (n) => (sent = n) }
      ))
      if (length <= STEP_BYTES) return send
      const tell = Effect.suspend(() => {
        if (sent <= told || sent >= length) return Effect.void
        told = sent
        return step(offset + sent)
      })
      return Effect.scoped(Effect.zipRight(
        Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(STEP_MILLIS), tell))),
        send
      ))
    })

  const receive = io.receive
  const malformedRange = (description: string, status: number, url: string) =>
    new Errors.MalformedResponse({ description, status, method: "GET", url: url.split("?")[0]! })

  return {
    url: (t) => t.uri,
    child: (t, name) => t.child(name),
    /** `CREATE` with the first chunk (unless continuing), then positional `WRITE`s. */
    upload: (srcPath, dst, size, offset, step) =>
      // the whole file in one request
      offset === 0 && size <= deps.chunkSize
        ? size === 0 ? sendChunk(srcPath, dst, 0, 0, true, step) : Effect.zipRight(sendChunk(srcPath, dst, 0, size, true, step), step(size))
        : Effect.gen(function*() {
        let pos = offset
        if (pos === 0) {
          const n = Math.min(size, deps.chunkSize)
          yield* sendChunk(srcPath, dst, 0, n, true, step)
          pos = n
        }
        while (pos > 0 && pos < size) {
          yield* step(pos)
          const n = Math.min(size - pos, deps.chunkSize)
          yield* sendChunk(srcPath, dst, pos, n, false, step)
          pos += n
        }
        if (size > 0) yield* step(pos)
      }),
    // one request per read: the engine checks the length against the listed size and resumes
    read: deps.read,
    open: receive === undefined ? undefined : (src, offset) => {
      const r = request("GET", src, "OPEN", offset > 0 ? { Range: `bytes=${offset}-` } : {})
      return receive(r, (answer) => {
        if (offset === 0) return Effect.void
        const checked = StorageIO.checkRange(answer.status, answer.headers["content-range"], offset)
        return typeof checked === "string" ? Effect.fail(malformedRange(checked, answer.status, r.url)) : Effect.void
      })
    },
    readRetries: deps.readRetries,
    // a remote file shorter than the local one may be a failed upload's (storage files are
    // written in place): `update` sends it again
    checkUpload: (localFile, remoteFile, update, cont) =>
      Effect.map(Ref.get(clock), ({ min }) =>
        Transfer.decide(localFile, remoteFile, { src: 0, dst: min, threshold: Transfer.TIME_THRESHOLD }, update, cont, true)),
    // + 1: the server truncates modification times to seconds
    checkDownload: (remoteFile, localFile, update, cont) =>
      Effect.map(Ref.get(clock), ({ max }) =>
        Transfer.decide(remoteFile, localFile, { src: max, dst: 0, threshold: Transfer.TIME_THRESHOLD + 1 }, update, cont)),
    prepareFolder: (dst, compare) =>
      Effect.gen(function*() {
        if (compare) {
          const entries = yield* deps.listEntries(dst).pipe(
            Effect.map(Option.some),
            Effect.catchIf((e) => e._tag === "ResourceNotFound", () => Effect.succeed(Option.none<ReadonlyArray<WireEntry>>()))
          )
          if (Option.isSome(entries)) return new Map(entries.value.filter((e) => e.type === "FILE").map((e) => [e.path, wireTimes(e)]))
        }
        yield* retrying(deps.mkdirs(dst)).pipe(
          Effect.catchTag("FileExists", () => Effect.fail(Transfer.localError("ENOTDIR", `Not a directory: ${dst.uri.href}`)))
        )
        return undefined
      }),
    listFolder: (src) =>
      Effect.map(deps.listEntries(src), (entries) =>
        entries.map((e): Transfer.RemoteEntry => {
          if (e.type === "FILE") return { _tag: "File", name: e.path, times: wireTimes(e) }
          if (e.type === "DIRECTORY") return { _tag: "Dir", name: e.path }
          const child = Uri.child(src.uri, e.path)
          const type = e.type === "SYMLINK" ? "SYMLINK" : "UNKNOWN"
          return { _tag: "Fail", name: e.path, src: child, message: `Cannot download ${child.href} (${type}), not regular file/directory` }
        }))
  }
}
