/**
 * The per-call path does no file-system work while nothing changed (issue 11): the user config
 * (`user.toml`, `.neuro.toml` from the working directory upward) is remembered until a directory
 * watcher reports a change, and what is derived from the token and the stored state is derived
 * once. Counted by wrapping `node:fs` itself (the module every file access of Node goes through).
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, Factory, Jobs } from "@neuro-sdk/core"
import { NeuroNode } from "@neuro-sdk/node"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform } from "../src/index.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-percall-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The mutable CommonJS `fs` object (an ESM namespace cannot be patched); its changes reach ESM importers through `syncBuiltinESMExports`. */
const fsModule = createRequire(import.meta.url)("node:fs") as Record<string, unknown> & { readonly promises: Record<string, unknown> }

const WATCHED = ["stat", "lstat", "access", "open", "readFile", "readdir", "realpath", "statSync", "lstatSync", "readFileSync", "existsSync", "openSync"] as const
type Watched = typeof WATCHED[number]

/** Counts calls of the main `node:fs` functions (callback, sync and promise forms) while `effect` runs. */
const countFsCalls = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const calls: Array<string> = []
      const mutable = fsModule
      const promises = fsModule.promises
      const saved: Array<readonly [Record<string, unknown>, string, unknown]> = []
      const wrap = (target: Record<string, unknown>, name: string, label: string) => {
        const original = target[name]
        if (typeof original !== "function") return
        saved.push([target, name, original])
        target[name] = function(this: unknown, ...args: Array<unknown>) {
          calls.push(`${label}(${String(args[0])})`)
          return (original as (...a: Array<unknown>) => unknown).apply(this, args)
        }
      }
      for (const name of WATCHED) wrap(mutable, name satisfies Watched, name)
      for (const name of ["stat", "lstat", "access", "open", "readFile", "readdir", "realpath"]) wrap(promises, name, `promises.${name}`)
      syncBuiltinESMExports()
      return { calls, saved }
    }),
    ({ calls }) => Effect.map(effect, (a) => [a, calls] as const),
    ({ saved }) =>
      Effect.sync(() => {
        for (const [target, name, original] of saved) target[name] = original
        syncBuiltinESMExports()
      })
  )

describe("per-call path", () => {
  it.scopedLive("jobs.status and config reads touch no file while nothing changed; a new .neuro.toml is seen", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["dana"], clusters: [{ name: "first" }, { name: "second" }], testHooks: true })
      const root = yield* tempDir
      const dir = join(root, "conf")
      const project = join(root, "project", "sub")
      fs.mkdirSync(project, { recursive: true })
      yield* Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(platform.token("dana"), { url: platform.apiUrl })).pipe(
        Effect.provide(NeuroNode.layerFactory({ path: dir }))
      )
      fs.writeFileSync(join(dir, "user.toml"), `[job]\nps-format = "id, status"\n`)
      const seeded = yield* Effect.promise(() =>
        fetch(`${platform.url}/_local/jobs/seed`, {
          method: "POST",
          headers: { Authorization: `Bearer ${Redacted.value(platform.token("dana"))}`, "Content-Type": "application/json" },
          body: JSON.stringify({ count: 1, cluster: "first" })
        }).then((r) => r.json() as Promise<{ ids: Array<string> }>)
      )
      const id = seeded.ids[0]!

      yield* Effect.gen(function*() {
        const jobs = yield* Jobs.Jobs
        const config = yield* Config.Config
        // warm up: the first calls read the config files and set up the watchers
        assert.strictEqual((yield* jobs.status(id)).id, id)
        assert.strictEqual(yield* config.clusterName, "first")

        const [statuses, calls] = yield* countFsCalls(Effect.gen(function*() {
          const out: Array<string> = []
          for (let i = 0; i < 50; i++) {
            out.push((yield* jobs.status(id)).owner)
            out.push(yield* config.clusterName)
            out.push(yield* config.username)
          }
          return out
        }))
        assert.strictEqual(statuses.length, 150)
        assert.deepStrictEqual(new Set(statuses), new Set(["dana", "first"]))
        assert.deepStrictEqual(calls, [])

        // a project file appearing in a parent of the working directory is picked up
        fs.writeFileSync(join(root, "project", ".neuro.toml"), `[job]\ncluster-name = "second"\n`)
        let seen = yield* config.clusterName
        for (let i = 0; i < 100 && seen !== "second"; i++) {
          yield* Effect.sleep("20 millis")
          seen = yield* config.clusterName
        }
        assert.strictEqual(seen, "second")
        // and so is a change of user.toml
        fs.writeFileSync(join(dir, "user.toml"), `[job]\nps-format = "id, name"\n`)
        let format: unknown = undefined
        for (let i = 0; i < 100 && format !== "id, name"; i++) {
          yield* Effect.sleep("20 millis")
          format = ((yield* config.getUserConfig)["job"] as Record<string, unknown>)["ps-format"]
        }
        assert.strictEqual(format, "id, name")
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: project })))
    }))
})
