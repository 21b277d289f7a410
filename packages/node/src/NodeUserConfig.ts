/**
 * Node's side of the user-config cache: directory watchers (`fs.watch`, inotify on Linux) that
 * tell `UserConfig.loadWatched` when `user.toml` or a `.neuro.toml` may have changed, so that a
 * call while nothing changed reads no file.
 *
 * @since 1.0.0
 */
import type * as UserConfig from "@neuro-sdk/core/UserConfig"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type FSWatcher, watch as fsWatch } from "node:fs"

const GLOBAL_FILE_NAME = "user.toml"
const PROJECT_FILE_NAME = ".neuro.toml"

const concerns = (filename: string | Buffer | null): boolean =>
  filename === null || filename === GLOBAL_FILE_NAME || filename === PROJECT_FILE_NAME ||
  (typeof filename !== "string" && [GLOBAL_FILE_NAME, PROJECT_FILE_NAME].includes(filename.toString("utf8")))

/**
 * Watch `dirs` until the scope closes. The watchers do not keep the process alive. Succeeds with
 * `false` (and watches nothing) when one of the directories cannot be watched.
 *
 * @since 1.0.0
 * @category watching
 */
export const watch: UserConfig.WatchDirectories = (dirs, listener): Effect.Effect<boolean, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const watchers: Array<FSWatcher> = []
      try {
        for (const dir of dirs) {
          const w = fsWatch(dir, { persistent: false }, (_event, filename) => {
            if (concerns(filename)) listener.changed()
          })
          // a directory that goes away (or any watcher error) means changes can no longer be seen
          w.on("error", () => listener.lost())
          w.on("close", () => listener.lost())
          watchers.push(w)
        }
        return { watchers, ok: true }
      } catch {
        return { watchers, ok: false }
      }
    }),
    ({ watchers }) =>
      Effect.sync(() => {
        for (const w of watchers) {
          w.removeAllListeners("close")
          w.close()
        }
      })
  ).pipe(Effect.map(({ ok }) => ok))
