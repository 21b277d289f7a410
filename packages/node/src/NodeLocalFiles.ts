/**
 * The per-file local operations of transfers (`LocalFiles` of `@neuro-sdk/core`) directly over
 * `node:fs` callbacks: one Effect operation and one file-system call each, where the generic
 * `FileSystem` service costs several of both. `NeuroNode.layer` provides it.
 *
 * @since 1.0.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Errors from "@neuro-sdk/core/Errors"
import * as LocalFiles from "@neuro-sdk/core/LocalFiles"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as NodeFs from "node:fs"

// loaded on the first transfer, not when the SDK is loaded
let nodeFs: typeof NodeFs | undefined
let loading: Promise<typeof NodeFs> | undefined
const load = (): Promise<typeof NodeFs> => loading ??= import("node:fs").then((m) => (nodeFs = m))
const withFs = <A, E>(f: (fs: typeof NodeFs) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  nodeFs !== undefined ? f(nodeFs) : Effect.flatMap(Effect.promise(load), f)

const fsError = (cause: NodeJS.ErrnoException, path: string): Errors.FileSystemError => {
  const code = typeof cause.code === "string" && cause.code.startsWith("E") ? cause.code : "EIO"
  return Errors.fromLocalErrno(code, `${cause.message.replace(/^[A-Z]+: /, "")}${cause.message.includes(path) ? "" : ` (${path})`}`)
}

const typeOf = (s: NodeFs.Stats): FileSystem.File.Type =>
  s.isFile()
    ? "File"
    : s.isDirectory()
    ? "Directory"
    : s.isSymbolicLink()
    ? "SymbolicLink"
    : s.isBlockDevice()
    ? "BlockDevice"
    : s.isCharacterDevice()
    ? "CharacterDevice"
    : s.isFIFO()
    ? "FIFO"
    : s.isSocket()
    ? "Socket"
    : "Unknown"

/** The information of a stat; the fields a transfer does not read are built when read. */
class Info implements FileSystem.File.Info {
  readonly type: FileSystem.File.Type
  readonly size: FileSystem.Size
  readonly dev: number
  readonly mode: number
  constructor(private readonly s: NodeFs.Stats) {
    this.type = typeOf(s)
    this.size = FileSystem.Size(s.size)
    this.dev = s.dev
    this.mode = s.mode
  }
  get mtime() {
    return Option.some(new Date(this.s.mtimeMs))
  }
  get atime() {
    return Option.some(new Date(this.s.atimeMs))
  }
  get birthtime() {
    return Option.some(new Date(this.s.birthtimeMs))
  }
  get rdev() {
    return Option.some(this.s.rdev)
  }
  get ino() {
    return Option.some(this.s.ino)
  }
  get nlink() {
    return Option.some(this.s.nlink)
  }
  get uid() {
    return Option.some(this.s.uid)
  }
  get gid() {
    return Option.some(this.s.gid)
  }
  get blksize() {
    return Option.some(FileSystem.Size(this.s.blksize))
  }
  get blocks() {
    return Option.some(this.s.blocks)
  }
}

/** Run a node:fs callback operation as one Effect. */
const call = <A>(path: string, run: (fs: typeof NodeFs, done: (error: NodeJS.ErrnoException | null, value?: A) => void) => void) =>
  withFs((fs) =>
    Effect.async<A, Errors.FileSystemError>((resume) => {
      run(fs, (error, value) => resume(error === null ? Effect.succeed(value as A) : Effect.fail(fsError(error, path))))
    }))

/** Write all of `chunks` at `position` (`null`: where the file is) with `writev` (short writes continued). */
const writeAll = (
  fs: typeof NodeFs,
  fd: number,
  chunks: ReadonlyArray<Uint8Array>,
  position: number | null,
  done: (error: NodeJS.ErrnoException | null) => void
) => {
  const step = (parts: ReadonlyArray<Uint8Array>, at: number | null) => {
    if (parts.length === 0) return done(null)
    const next = (error: NodeJS.ErrnoException | null, n: number) => {
      if (error !== null) return done(error)
      // what is left after `n` bytes
      let skip = n
      let i = 0
      while (i < parts.length && skip >= parts[i]!.length) skip -= parts[i++]!.length
      const rest = parts.slice(i)
      if (rest.length > 0 && skip > 0) rest[0] = rest[0]!.subarray(skip)
      step(rest, at === null ? null : at + n)
    }
    if (at === null) fs.writev(fd, parts, next)
    else fs.writev(fd, parts, at, next)
  }
  step(chunks.filter((c) => c.length > 0), position)
}

/** Open a file for writing: created or emptied (`truncate`), or as it is. */
const openFd = (
  fs: typeof NodeFs,
  path: string,
  truncate: boolean,
  sequential: boolean,
  done: (error: NodeJS.ErrnoException | null, fd?: number) => void
) => fs.open(path, sequential ? "a" : truncate ? "w" : "r+", 0o666, done)

const open = (path: string, options: { readonly truncate: boolean; readonly position: number; readonly sequential?: boolean | undefined }) =>
  Effect.map(call<number>(path, (fs, done) => openFd(fs, path, options.truncate, options.sequential === true, done)), (fd): LocalFiles.Writer => {
    // a pipe or device has no positions: its writes carry none
    let position: number | null = options.sequential === true ? null : options.position
    let closed = false
    return {
      write: (chunks) =>
        Effect.map(
          call<void>(path, (fs, done) => writeAll(fs, fd, chunks, position, done)),
          () => {
            if (position !== null) for (const c of chunks) position += c.length
          }
        ),
      close: Effect.suspend(() => {
        if (closed) return Effect.void
        closed = true
        return call<void>(path, (fs, done) => fs.close(fd, done))
      })
    }
  })

/**
 * `LocalFiles` over `node:fs`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: LocalFiles.LocalFiles.Service = {
  stat: (path) =>
    withFs((fs) =>
      Effect.async<Option.Option<FileSystem.File.Info>>((resume) => {
        fs.stat(path, (error, s) => resume(Effect.succeed(error === null ? Option.some<FileSystem.File.Info>(new Info(s)) : Option.none())))
      })),
  open,
  writeFile: (path, data) => call<void>(path, (fs, done) => fs.writeFile(path, data, done)),
  rename: (from, to) => call<void>(from, (fs, done) => fs.rename(from, to, done))
}

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<LocalFiles.LocalFiles> = Layer.succeed(LocalFiles.LocalFiles, make)
