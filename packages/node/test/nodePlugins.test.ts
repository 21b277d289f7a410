import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import * as Plugins from "@neuro-sdk/core/Plugins"
import * as UserConfig from "@neuro-sdk/core/UserConfig"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodePlugins from "../src/NodePlugins.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "neuro-plugins-test-")))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const write = (file: string, text: string) => {
  fs.mkdirSync(join(file, ".."), { recursive: true })
  fs.writeFileSync(file, text)
}

const fakePackage = (
  nodeModules: string,
  name: string,
  options: { readonly keyword: boolean; readonly pkg?: object; readonly files: Record<string, string> }
) => {
  const dir = join(nodeModules, ...name.split("/"))
  write(
    join(dir, "package.json"),
    JSON.stringify({ name, version: "1.0.0", keywords: options.keyword ? ["neuro", NodePlugins.KEYWORD] : ["neuro"], ...options.pkg })
  )
  for (const [file, text] of Object.entries(options.files)) write(join(dir, file), text)
}

/**
 * app/node_modules: an ESM plugin (exports map), a scoped CommonJS plugin (main), a package
 * without the keyword; root/node_modules (an ancestor): another plugin, and a shadowed copy of
 * the ESM one that must not be loaded.
 */
const makeTree = (root: string) => {
  const app = join(root, "app")
  const near = join(app, "node_modules")
  const far = join(root, "node_modules")
  fakePackage(near, "fake-esm-plugin", {
    keyword: true,
    pkg: { type: "module", exports: { ".": { types: "./index.d.ts", import: "./esm/index.js", require: "./cjs.cjs" } } },
    files: {
      "esm/index.js": `export function setup(manager) { manager.config.defineInt("fake", "retries") }\n`
    }
  })
  fakePackage(near, "@acme/cjs-plugin", {
    keyword: true,
    pkg: { main: "lib/main.js" },
    files: {
      "lib/main.js": `module.exports = { setup(m) { m.config.defineBoolList("acme", "flags", { scope: 2 }) } }\n`
    }
  })
  fakePackage(near, "not-a-plugin", {
    keyword: false,
    pkg: { type: "module" },
    files: { "index.js": `export function setup(m) { m.config.defineStr("sneaky", "x") }\n` }
  })
  fakePackage(far, "outer-plugin", {
    keyword: true,
    pkg: { type: "module", exports: "./plugin.js" },
    files: { "plugin.js": `export const setup = (m) => { m.config.defineStr("outer", "name") }\n` }
  })
  fakePackage(far, "fake-esm-plugin", {
    keyword: true,
    pkg: { type: "module" },
    files: { "index.js": `throw new Error("the shadowed copy must not be imported")\n` }
  })
  write(join(near, ".bin", "tool"), "")
  return app
}

const Files = Layer.merge(NodeFileSystem.layer, NodePath.layer)

describe("NodePlugins.discover", () => {
  it.scoped("finds keyword packages in node_modules upward, nearest copy wins, sorted by name", () =>
    Effect.gen(function*() {
      const app = makeTree(yield* tempDir)
      const plugins = yield* NodePlugins.discover({ searchFrom: app })
      assert.deepStrictEqual(plugins.map((p) => p.name), ["@acme/cjs-plugin", "fake-esm-plugin", "outer-plugin"])
      const service = yield* Plugins.make(plugins)
      assert.deepStrictEqual(
        service.parameters.map((p) => `${p.section}.${p.name}:${p.type}${p.list ? "[]" : ""}:${p.scope}`),
        ["acme.flags:bool[]:2", "fake.retries:int:3", "outer.name:str:3"]
      )
    }).pipe(Effect.provide(Files)))

  it.scoped("explicit packages: by name without the keyword, and by path; duplicates load once", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const app = makeTree(root)
      write(join(root, "local-plugin.mjs"), `export function setup(m) { m.config.defineFloat("local", "ratio") }\n`)
      const plugins = yield* NodePlugins.discover({
        searchFrom: app,
        scan: false,
        packages: ["not-a-plugin", join(root, "local-plugin.mjs"), "not-a-plugin"]
      })
      assert.deepStrictEqual(plugins.map((p) => p.name), ["not-a-plugin", join(root, "local-plugin.mjs")])
      const service = yield* Plugins.make(plugins)
      assert.deepStrictEqual(service.parameters.map((p) => `${p.section}.${p.name}`), ["sneaky.x", "local.ratio"])
    }).pipe(Effect.provide(Files)))

  it.scoped("errors: not installed, no setup export, failing import", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const app = join(root, "app")
      const nm = join(app, "node_modules")
      fakePackage(nm, "no-setup", { keyword: true, pkg: { type: "module" }, files: { "index.js": "export const x = 1\n" } })
      fakePackage(nm, "throws", { keyword: false, pkg: { type: "module" }, files: { "index.js": "throw new Error('kaboom')\n" } })

      let error = yield* Effect.flip(NodePlugins.discover({ searchFrom: app, scan: false, packages: ["missing-plugin"] }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.match(error.description, /^Plugin package missing-plugin is not installed/)

      error = yield* Effect.flip(NodePlugins.discover({ searchFrom: app }))
      assert.strictEqual(error.description, "Plugin no-setup does not export a setup function")

      error = yield* Effect.flip(NodePlugins.discover({ searchFrom: app, scan: false, packages: ["throws"] }))
      assert.match(error.description, /^Plugin throws could not be loaded: kaboom/)
    }).pipe(Effect.provide(Files)))

  it.scoped("an asynchronous setup fails the layer (its rejection is handled, not left to crash Node)", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const file = join(root, "async-plugin.mjs")
      write(file, "export async function setup() { throw new Error('boom') }\n")
      const error = yield* Effect.flip(Layer.build(NodePlugins.layer({ scan: false, packages: [file] })))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.description, "asynchronous setup")
    }))
})

describe("NodePlugins.layer with UserConfig", () => {
  it.scoped("plugin keys are accepted with the right type and refused with a wrong one; neuro-cli keys are built in", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const app = makeTree(root)
      const configDir = join(root, "home", ".neuro")
      const project = join(root, "proj")
      fs.mkdirSync(project, { recursive: true })
      const localFile = join(project, ".neuro.toml")
      const load = UserConfig.load({ configDir, cwd: project }).pipe(
        Effect.provide(Layer.merge(Files, NodePlugins.layer({ searchFrom: app })))
      )

      write(localFile, `[fake]\nretries = 3\n[acme]\nflags = [true, false]\n[job]\ncluster-name = "c"\n`)
      assert.deepStrictEqual(yield* load, { fake: { retries: 3 }, acme: { flags: [true, false] }, job: { "cluster-name": "c" } })

      write(localFile, `[fake]\nretries = "three"\n`)
      let error = yield* Effect.flip(load)
      assert.strictEqual(error.description, "invalid type for fake.retries, integer is expected (got string)")
      assert.strictEqual(error.path, localFile)

      // acme.flags is LOCAL-only
      write(join(configDir, "user.toml"), `[acme]\nflags = [true]\n`)
      error = yield* Effect.flip(load)
      assert.strictEqual(error.description, "unknown parameters acme.flags")
      assert.strictEqual(error.path, join(configDir, "user.toml"))

      // without the built-in neuro-cli definitions [job] is unknown
      fs.rmSync(join(configDir, "user.toml"))
      write(localFile, `[job]\nps-format = "x"\n`)
      error = yield* Effect.flip(
        UserConfig.load({ configDir, cwd: project }).pipe(
          Effect.provide(Layer.merge(Files, NodePlugins.layer({ searchFrom: app, builtin: false })))
        )
      )
      assert.strictEqual(error.description, "unsupported config sections: 'job'")
    }).pipe(Effect.provide(Files)))

  it.scoped("a plugin registering a neuro-cli key again fails the layer", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const app = join(root, "app")
      fakePackage(join(app, "node_modules"), "dup", {
        keyword: true,
        pkg: { type: "module" },
        files: { "index.js": `export function setup(m) { m.config.defineStr("job", "ps-format") }\n` }
      })
      const error = yield* Effect.flip(Layer.build(NodePlugins.layer({ searchFrom: app })))
      assert.strictEqual(error.description, "Config parameter job.ps-format already registered")
    }))
})
