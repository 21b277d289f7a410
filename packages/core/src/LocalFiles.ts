/**
 * The local file operations of transfers that run once per file (stat, write a downloaded file,
 * rename it into place), as a service: `@neuro-sdk/node` implements them directly over `node:fs`
 * (`NodeLocalFiles`), one Effect operation each; without it they run over `@effect/platform`'s
 * `FileSystem` (`fromFileSystem`).
 *
 * @since 1.0.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { FileSystemError } from "./Errors.js"
import { fromPlatform } from "./internal/transfer/rules.js"
import { concatBytes } from "./internal/transfer/remote.js"

/**
 * A local file open for writing, from a given position on.
 *
 * @since 1.0.0
 * @category models
 */
export interface Writer {
  /** Write all of `chunks` (in order) at the current position, which moves past them. */
  readonly write: (chunks: ReadonlyArray<Uint8Array>) => Effect.Effect<void, FileSystemError>
  readonly close: Effect.Effect<void, FileSystemError>
}

/**
 * @since 1.0.0
 * @category tags
 */
export class LocalFiles extends Context.Tag("@neuro-sdk/core/LocalFiles")<LocalFiles, LocalFiles.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace LocalFiles {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The file's information, symlinks followed; none when it cannot be stat'ed (missing, a broken link). */
    readonly stat: (path: string) => Effect.Effect<Option.Option<FileSystem.File.Info>>
    /**
     * Open for writing at `position`: `truncate` creates the file or empties it (with position 0),
     * otherwise the file must exist. `sequential`: a file that has no positions (a pipe, a terminal,
     * a device such as `/dev/stdout`) is written in order as it is, never truncated or sought.
     */
    readonly open: (
      path: string,
      options: { readonly truncate: boolean; readonly position: number; readonly sequential?: boolean | undefined }
    ) => Effect.Effect<Writer, FileSystemError>
    /** Create (or empty) a file and write `data` into it. */
    readonly writeFile: (path: string, data: Uint8Array) => Effect.Effect<void, FileSystemError>
    readonly rename: (from: string, to: string) => Effect.Effect<void, FileSystemError>
  }
}


/**
 * The service over `@effect/platform`'s `FileSystem`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const fromFileSystem = (fs: FileSystem.FileSystem): LocalFiles.Service => ({
  stat: (path) =>
    fs.stat(path).pipe(
      Effect.map(Option.some),
      Effect.catchAll(() => Effect.succeed(Option.none<FileSystem.File.Info>()))
    ),
  open: (path, options) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const file = yield* Effect.mapError(
        // append mode: writes carry no position (what a pipe or a device takes)
        Scope.extend(fs.open(path, { flag: options.sequential === true ? "a" : options.truncate ? "w" : "r+" }), scope),
        fromPlatform
      ).pipe(Effect.tapError(() => Scope.close(scope, Exit.void)))
      if (options.position > 0 && options.sequential !== true) yield* file.seek(options.position, "start")
      const writer: Writer = {
        write: (chunks) => Effect.mapError(file.writeAll(concatBytes(chunks)), fromPlatform),
        close: Scope.close(scope, Exit.void)
      }
      return writer
    }),
  writeFile: (path, data) => Effect.mapError(fs.writeFile(path, data), fromPlatform),
  rename: (from, to) => Effect.mapError(fs.rename(from, to), fromPlatform)
})
