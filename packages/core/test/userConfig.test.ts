import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Errors from "@neuro-sdk/core/Errors"
import * as Plugins from "@neuro-sdk/core/Plugins"
import * as UserConfig from "@neuro-sdk/core/UserConfig"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A plugin defining one parameter of every type, plus scoped ones. */
const testPlugin: Plugins.Plugin = {
  name: "test-plugin",
  setup: ({ config }) => {
    config.defineInt("test", "int")
    config.defineBool("test", "bool")
    config.defineFloat("test", "float")
    config.defineStr("test", "str")
    config.defineIntList("test", "int-list")
    config.defineBoolList("test", "bool-list")
    config.defineFloatList("test", "float-list")
    config.defineStrList("test", "str-list")
    config.defineStr("scoped", "global-only", { scope: Plugins.ConfigScope.GLOBAL })
    config.defineStr("scoped", "local-only", { scope: Plugins.ConfigScope.LOCAL })
    config.defineStr("scoped", "both", { scope: Plugins.ConfigScope.ALL })
    config.defineStr("localsec", "x", { scope: Plugins.ConfigScope.LOCAL })
  }
}

const plugins = Effect.runSync(Plugins.make([Plugins.neuroCli, testPlugin]))
const bare = Effect.runSync(Plugins.make([]))

const FILE = "/home/u/.neuro/user.toml"

const parse = (text: string, local: boolean, using: Plugins.Plugins.Service = plugins) =>
  UserConfig.parse(using, text, { filename: FILE, local })

const expectOk = (text: string, local: boolean, using?: Plugins.Plugins.Service) => {
  const result = parse(text, local, using)
  if (Either.isLeft(result)) assert.fail(`expected ${JSON.stringify(text)} to be accepted, got: ${result.left.message}`)
  return result.right
}

const expectError = (text: string, local: boolean, description: string, using?: Plugins.Plugins.Service) => {
  const result = parse(text, local, using)
  if (Either.isRight(result)) return assert.fail(`expected ${JSON.stringify(text)} to be rejected`)
  assert.instanceOf(result.left, Errors.ConfigError)
  assert.strictEqual(result.left.description, description)
  assert.strictEqual(result.left.path, FILE)
  return result.left
}

const both = [false, true] as const
const where = (local: boolean) => (local ? "local" : "global")

describe("UserConfig validation: known keys of config.md §8.3", () => {
  // key, good TOML value, decoded value, wrong TOML value, expected type, files it may appear in
  const table: ReadonlyArray<{
    readonly key: string
    readonly good: string
    readonly value: unknown
    readonly wrong: ReadonlyArray<readonly [string, string]>
    readonly localOnly: boolean
  }> = [
    {
      key: "job.ps-format",
      good: `"{id;NAME} {status}"`,
      value: "{id;NAME} {status}",
      wrong: [["true", "invalid type for job.ps-format, string is expected (got boolean)"], [
        "1",
        "invalid type for job.ps-format, string is expected (got integer)"
      ]],
      localOnly: false
    },
    {
      key: "job.top-format",
      good: `"{id} {cpu}"`,
      value: "{id} {cpu}",
      wrong: [["[\"a\"]", "invalid type for job.top-format, string is expected (got array)"]],
      localOnly: false
    },
    {
      key: "job.life-span",
      good: `"1d2h"`,
      value: "1d2h",
      wrong: [["1.5", "invalid type for job.life-span, string is expected (got float)"]],
      localOnly: false
    },
    {
      key: "job.cluster-name",
      good: `"gpu-cluster"`,
      value: "gpu-cluster",
      wrong: [["false", "invalid type for job.cluster-name, string is expected (got boolean)"]],
      localOnly: true
    },
    {
      key: "job.org-name",
      good: `"NO_ORG"`,
      value: "NO_ORG",
      wrong: [["{ a = 1 }", "invalid type for job.org-name, string is expected (got table)"]],
      localOnly: true
    },
    {
      key: "storage.cp-exclude",
      good: `["*.pyc", ".git"]`,
      value: ["*.pyc", ".git"],
      wrong: [
        [`"*.pyc"`, "invalid type for storage.cp-exclude, array is expected (got string)"],
        [`[1, 2]`, "invalid type for storage.cp-exclude[0], string is expected (got integer)"],
        [`["a", true]`, "invalid type for storage.cp-exclude[1], string is expected (got boolean)"]
      ],
      localOnly: false
    },
    {
      key: "storage.cp-exclude-from-files",
      good: `[".neuroignore"]`,
      value: [".neuroignore"],
      wrong: [[`".neuroignore"`, "invalid type for storage.cp-exclude-from-files, array is expected (got string)"]],
      localOnly: false
    }
  ]

  for (const row of table) {
    const [section, name] = row.key.split(".") as [string, string]
    const text = (value: string) => `[${section}]\n${name} = ${value}\n`
    for (const local of both) {
      const allowed = local || !row.localOnly
      it(`${row.key} with a good value in the ${where(local)} file is ${allowed ? "accepted" : "rejected"}`, () => {
        if (allowed) {
          assert.deepStrictEqual(expectOk(text(row.good), local), { [section]: { [name]: row.value } })
        } else {
          const what = name === "cluster-name" ? "cluster" : "org"
          const command = name === "cluster-name" ? "switch-cluster" : "switch-org"
          expectError(
            text(row.good),
            local,
            `${what} name is not allowed in global user config file, use 'neuro config ${command}' for changing the default ${what} name`
          )
        }
      })
      if (allowed) {
        for (const [wrong, description] of row.wrong) {
          it(`${row.key} = ${wrong} in the ${where(local)} file is rejected`, () => {
            expectError(text(wrong), local, description)
          })
        }
      }
    }
  }

  it("the pinned cluster is refused in the global file even when it is well typed and before anything else", () => {
    expectError(
      `[job]\ncluster-name = 1\n[other]\nx = 1\n`,
      false,
      "cluster name is not allowed in global user config file, use 'neuro config switch-cluster' for changing the default cluster name"
    )
  })

  it("the example .neuro.toml of config.md is accepted as a local file", () => {
    const data = expectOk(
      `[job]\ncluster-name = "gpu-cluster"\norg-name = "NO_ORG"\n\n[storage]\ncp-exclude = ["*.pyc", ".git"]\n\n[alias.lsl]\ncmd = "storage ls -l"\n`,
      true
    )
    assert.deepStrictEqual(data, {
      job: { "cluster-name": "gpu-cluster", "org-name": "NO_ORG" },
      storage: { "cp-exclude": ["*.pyc", ".git"] },
      alias: { lsl: { cmd: "storage ls -l" } }
    })
  })
})

describe("UserConfig validation: plugin-defined types", () => {
  // type, accepted TOML values (with their decoded value), rejected TOML values (with the message tail)
  const table: ReadonlyArray<{
    readonly key: string
    readonly good: ReadonlyArray<readonly [string, unknown]>
    readonly wrong: ReadonlyArray<readonly [string, string]>
  }> = [
    {
      key: "int",
      good: [["1", 1], ["-5", -5], ["0x10", 16], ["1_000", 1000], ["12345678901234567890", 12345678901234567890n]],
      wrong: [
        ["1.0", "integer is expected (got float)"],
        [`"1"`, "integer is expected (got string)"],
        ["true", "integer is expected (got boolean)"],
        ["[1]", "integer is expected (got array)"],
        ["1979-05-27", "integer is expected (got datetime)"]
      ]
    },
    {
      key: "float",
      good: [["1.5", 1.5], ["2", 2], ["-0.25e2", -25], ["inf", Infinity]],
      wrong: [[`"1.5"`, "number is expected (got string)"], ["true", "number is expected (got boolean)"]]
    },
    {
      key: "bool",
      good: [["true", true], ["false", false]],
      wrong: [["1", "boolean is expected (got integer)"], [`"true"`, "boolean is expected (got string)"]]
    },
    {
      key: "str",
      good: [[`"x"`, "x"], [`''`, ""], [`"tab\\there"`, "tab\there"]],
      wrong: [["1", "string is expected (got integer)"], [`["x"]`, "string is expected (got array)"]]
    }
  ]

  for (const row of table) {
    for (const local of both) {
      for (const [value, decoded] of row.good) {
        it(`test.${row.key} = ${value} (${where(local)}) is accepted`, () => {
          assert.deepStrictEqual(expectOk(`[test]\n${row.key} = ${value}\n`, local), { test: { [row.key]: decoded } })
        })
        it(`test.${row.key}-list = [${value}, ${value}] (${where(local)}) is accepted`, () => {
          assert.deepStrictEqual(
            expectOk(`[test]\n${row.key}-list = [${value}, ${value}]\n`, local),
            { test: { [`${row.key}-list`]: [decoded, decoded] } }
          )
        })
      }
      for (const [value, tail] of row.wrong) {
        it(`test.${row.key} = ${value} (${where(local)}) is rejected`, () => {
          expectError(`[test]\n${row.key} = ${value}\n`, local, `invalid type for test.${row.key}, ${tail}`)
        })
        if (!value.startsWith("[")) {
          it(`test.${row.key}-list with a bad second item ${value} (${where(local)}) is rejected`, () => {
            const good = row.good[0]![0]
            expectError(
              `[test]\n${row.key}-list = [${good}, ${value}]\n`,
              local,
              `invalid type for test.${row.key}-list[1], ${tail}`
            )
          })
        }
      }
      it(`test.${row.key}-list = ${row.good[0]![0]} (not an array, ${where(local)}) is rejected`, () => {
        const tomlType = row.key === "int" ? "integer" : row.key === "bool" ? "boolean" : row.key === "str" ? "string" : "float"
        expectError(
          `[test]\n${row.key}-list = ${row.good[0]![0]}\n`,
          local,
          `invalid type for test.${row.key}-list, array is expected (got ${tomlType})`
        )
      })
    }
  }

  it("an empty list is accepted for every list type", () => {
    assert.deepStrictEqual(
      expectOk(`[test]\nint-list = []\nbool-list = []\nfloat-list = []\nstr-list = []\n`, true),
      { test: { "int-list": [], "bool-list": [], "float-list": [], "str-list": [] } }
    )
  })

  it("the first wrong parameter in definition order is reported", () => {
    expectError(`[test]\nstr = 1\nint = "x"\n`, true, "invalid type for test.int, integer is expected (got string)")
  })

  it("without the plugin its section is unknown", () => {
    expectError(`[test]\nint = 1\n`, true, "unsupported config sections: 'test'", Effect.runSync(Plugins.make([Plugins.neuroCli])))
  })
})

describe("UserConfig validation: sections, keys, scopes, aliases", () => {
  it("unknown sections are listed sorted", () => {
    for (const local of both) {
      expectError(`[zeta]\na = 1\n[beta]\nb = 2\n[job]\n`, local, "unsupported config sections: 'beta', 'zeta'")
    }
  })

  it("an unknown top-level key is an unsupported section", () => {
    expectError(`name = "x"\n`, true, "unsupported config sections: 'name'")
  })

  it("unknown keys of a known section are listed sorted", () => {
    for (const local of both) {
      expectError(`[job]\nzz = 1\nunknown-name = true\nps-format = "x"\n`, local, "unknown parameters job.unknown-name, job.zz")
    }
  })

  it("a known section must be a table", () => {
    expectError(`job = 1\n`, true, "'job' should be a section, got integer 1")
    expectError(`storage = ["a"]\n`, false, `'storage' should be a section, got array ["a"]`)
    expectError(`alias = "ls"\n`, true, `'alias' should be a section, got string "ls"`)
  })

  it("scopes: a LOCAL parameter is unknown in the global file, GLOBAL and ALL ones are accepted in both", () => {
    expectError(`[scoped]\nlocal-only = "x"\n`, false, "unknown parameters scoped.local-only")
    assert.deepStrictEqual(expectOk(`[scoped]\nlocal-only = "x"\n`, true), { scoped: { "local-only": "x" } })
    for (const local of both) {
      assert.deepStrictEqual(expectOk(`[scoped]\nglobal-only = "g"\nboth = "b"\n`, local), {
        scoped: { "global-only": "g", both: "b" }
      })
    }
  })

  it("a section whose parameters are all local stays a known section in the global file", () => {
    expectError(`[localsec]\nx = "1"\n`, false, "unknown parameters localsec.x")
    assert.deepStrictEqual(expectOk(`[localsec]\n`, false), { localsec: {} })
  })

  it("aliases: names and bodies are checked, contents are not", () => {
    for (const local of both) {
      expectError(`[alias.0123]\ncmd = "ls"\n`, local, "invalid alias name 0123")
      expectError(`[alias."a b"]\ncmd = "ls"\n`, local, "invalid alias name a b")
      expectError(
        `[alias]\nnew-name = true\n`,
        local,
        "invalid alias command type boolean for alias new-name, run 'neuro help aliases' for getting info about specifying aliases in config files"
      )
      assert.deepStrictEqual(expectOk(`[alias.lsl]\ncmd = "storage ls -l"\nanything = 1\n[alias.X-1]\nexec = "echo"\n`, local), {
        alias: { lsl: { cmd: "storage ls -l", anything: 1 }, "X-1": { exec: "echo" } }
      })
    }
  })

  it("without plugins only [alias] is accepted", () => {
    assert.deepStrictEqual(expectOk(`[alias.pss]\ncmd = "job ps --short"\n`, false, bare), {
      alias: { pss: { cmd: "job ps --short" } }
    })
    expectError(`[job]\nps-format = "x"\n`, true, "unsupported config sections: 'job'", bare)
  })

  it("a TOML syntax error names the file and the position", () => {
    const error = expectError(`[job]\nps-format = \n`, true, "cannot parse TOML: invalid value (line 2, column 13)")
    assert.include(error.message, FILE)
  })

  it("keys named like Object.prototype members are data, not prototype changes", () => {
    const data = expectOk(`[alias.constructor]\ncmd = "x"\n`, true)
    assert.deepStrictEqual(Object.keys(data["alias"] as object), ["constructor"])
    expectError(`["__proto__"]\na = 1\n`, true, "unsupported config sections: '__proto__'")
  })
})

describe("UserConfig.merge", () => {
  const rows: ReadonlyArray<readonly [string, object, object, object]> = [
    ["empty", {}, {}, {}],
    ["empty newer", { a: "b" }, {}, { a: "b" }],
    ["empty older", {}, { a: "b" }, { a: "b" }],
    ["not overlapped", { a: "b" }, { c: "d" }, { a: "b", c: "d" }],
    ["tables merge", { a: { b: "1", c: "2" } }, { a: { b: "3", d: "4" } }, { a: { b: "3", c: "2", d: "4" } }],
    ["deep tables merge", { a: { b: { c: 1, d: 2 } } }, { a: { b: { d: 3 } } }, { a: { b: { c: 1, d: 3 } } }],
    ["a scalar replaces a table", { a: { b: 1 } }, { a: 2 }, { a: 2 }],
    ["a table replaces a scalar", { a: 2 }, { a: { b: 1 } }, { a: { b: 1 } }],
    ["lists are replaced, not joined", { a: { l: [1, 2] } }, { a: { l: [3] } }, { a: { l: [3] } }]
  ]
  for (const [name, older, newer, expected] of rows) {
    it(name, () => {
      assert.deepStrictEqual(UserConfig.merge(older as never, newer as never), expected)
    })
  }

  it("keeps older keys first, then new keys in the newer file's order", () => {
    const merged = UserConfig.merge({ x: 1, y: 2 }, { z: 3, y: 4, a: 5 })
    assert.deepStrictEqual(Object.keys(merged), ["x", "y", "z", "a"])
  })
})

describe("Plugins", () => {
  const run = (...ps: Array<Plugins.Plugin>) => Effect.runSync(Effect.either(Plugins.make(ps)))

  it("every define method registers its type", () => {
    const service = Effect.runSync(Plugins.make([testPlugin]))
    const test = service.spec(Plugins.ConfigScope.ALL).get("test")
    assert.deepStrictEqual(test && Object.fromEntries(test), {
      int: { type: "int", list: false },
      bool: { type: "bool", list: false },
      float: { type: "float", list: false },
      str: { type: "str", list: false },
      "int-list": { type: "int", list: true },
      "bool-list": { type: "bool", list: true },
      "float-list": { type: "float", list: true },
      "str-list": { type: "str", list: true }
    })
    assert.deepStrictEqual(service.plugins, ["test-plugin"])
  })

  it("spec filters by scope but keeps emptied sections", () => {
    const service = Effect.runSync(Plugins.make([testPlugin]))
    const global = service.spec(Plugins.ConfigScope.GLOBAL)
    assert.deepStrictEqual([...global.get("scoped")!.keys()], ["global-only", "both"])
    assert.strictEqual(global.get("localsec")!.size, 0)
    assert.deepStrictEqual([...service.spec(Plugins.ConfigScope.LOCAL).get("scoped")!.keys()], ["local-only", "both"])
  })

  it("registering under [alias] fails", () => {
    const result = run({ name: "p", setup: ({ config }) => config.defineStr("alias", "foo") })
    assert.isTrue(Either.isLeft(result) && result.left.description === "Registering aliases is not supported yet.")
  })

  it("registering a parameter twice fails, also across plugins", () => {
    const p = { name: "p", setup: ({ config }: Plugins.PluginManager) => config.defineStr("foo", "bar") }
    const result = run(p, { name: "q", setup: ({ config }) => config.defineInt("foo", "bar") })
    assert.isTrue(Either.isLeft(result) && result.left.description === "Config parameter foo.bar already registered")
  })

  it("a plugin throwing anything else fails with a ConfigError naming it", () => {
    const result = run({
      name: "crashy",
      setup: () => {
        throw new TypeError("boom")
      }
    })
    assert.isTrue(Either.isLeft(result) && result.left.description === "Plugin crashy failed to set up: boom")
  })

  it("an asynchronous setup is refused", () => {
    const result = run({ name: "later", setup: (() => Promise.resolve()) as unknown as Plugins.Plugin["setup"] })
    assert.isTrue(
      Either.isLeft(result) && result.left.description === "Plugin later has an asynchronous setup; setup must be synchronous"
    )
  })

  it("version checker: exclusive records replace others; a second exclusive one fails", () => {
    const text = (a: string, b: string) => `${a}->${b}`
    const ok = Effect.runSync(Plugins.make([{
      name: "v",
      setup: ({ versionChecker }) => {
        versionChecker.register("a", text)
        versionChecker.register("b", text, { exclusive: true, delay: 10 })
        versionChecker.register("c", text)
      }
    }]))
    assert.deepStrictEqual(ok.versionChecks.map((r) => [r.packageName, r.exclusive, r.delay]), [["b", true, 10]])
    const result = run({
      name: "v",
      setup: ({ versionChecker }) => {
        versionChecker.register("b", text, { exclusive: true })
        versionChecker.register("c", text, { exclusive: true })
      }
    })
    assert.isTrue(Either.isLeft(result) && result.left.description === "Exclusive record for package b already exists")
  })

  it("neuroCli defines the keys of config.md §8.3 with their scopes", () => {
    const service = Effect.runSync(Plugins.make([Plugins.neuroCli]))
    assert.deepStrictEqual(
      service.parameters.map((p) => `${p.section}.${p.name}:${p.type}${p.list ? "[]" : ""}:${p.scope}`),
      [
        "job.ps-format:str:3",
        "job.top-format:str:3",
        "job.life-span:str:3",
        "job.cluster-name:str:2",
        "job.org-name:str:2",
        "storage.cp-exclude:str[]:3",
        "storage.cp-exclude-from-files:str[]:3"
      ]
    )
  })
})

// ---- files on disk -------------------------------------------------------------------------------

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "neuro-userconfig-test-")))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const write = (file: string, text: string) => {
  fs.mkdirSync(join(file, ".."), { recursive: true })
  fs.writeFileSync(file, text)
}

const Files = Layer.merge(NodeFileSystem.layer, NodePath.layer)
const WithPlugins = Layer.merge(Files, Plugins.layer([Plugins.neuroCli, testPlugin]))

/** A temp dir with `home/.neuro` (config dir) and `work/proj/sub/deeper` (project). */
const setup = Effect.map(tempDir, (root) => ({
  root,
  configDir: join(root, "home", ".neuro"),
  project: join(root, "work", "proj"),
  cwd: join(root, "work", "proj", "sub", "deeper")
}))

describe("UserConfig.load", () => {
  it.scoped("no files: empty config", () =>
    Effect.gen(function*() {
      const { configDir, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      assert.deepStrictEqual(yield* UserConfig.load({ configDir, cwd }), {})
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("global only", () =>
    Effect.gen(function*() {
      const { configDir, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      write(join(configDir, "user.toml"), `[alias.pss]\ncmd = "job ps --short"\n`)
      assert.deepStrictEqual(yield* UserConfig.load({ configDir, cwd }), { alias: { pss: { cmd: "job ps --short" } } })
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("local only, found from a subdirectory", () =>
    Effect.gen(function*() {
      const { configDir, cwd, project } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      write(join(project, ".neuro.toml"), `[job]\ncluster-name = "gpu"\n`)
      assert.deepStrictEqual(yield* UserConfig.load({ configDir, cwd }), { job: { "cluster-name": "gpu" } })
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("merge: the local file wins key by key, tables merge recursively", () =>
    Effect.gen(function*() {
      const { configDir, cwd, project } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      write(
        join(configDir, "user.toml"),
        `[job]\nps-format = "global"\nlife-span = "1d"\n[storage]\ncp-exclude = ["a", "b"]\n[alias.x]\ncmd = "g"\nhelp = "from global"\n[test]\nint = 1\n`
      )
      write(
        join(project, ".neuro.toml"),
        `[alias.x]\ncmd = "l"\n[alias.y]\ncmd = "only local"\n[job]\nps-format = "local"\norg-name = "NO_ORG"\n[storage]\ncp-exclude = ["c"]\n`
      )
      const data = yield* UserConfig.load({ configDir, cwd })
      assert.deepStrictEqual(data, {
        job: { "ps-format": "local", "life-span": "1d", "org-name": "NO_ORG" },
        storage: { "cp-exclude": ["c"] },
        alias: { x: { cmd: "l", help: "from global" }, y: { cmd: "only local" } },
        test: { int: 1 }
      })
      assert.deepStrictEqual(Object.keys(data), ["job", "storage", "alias", "test"])
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("each file is validated on its own before merging, and the error names that file", () =>
    Effect.gen(function*() {
      const { configDir, cwd, project } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      const globalFile = join(configDir, "user.toml")
      const localFile = join(project, ".neuro.toml")
      // a LOCAL parameter is refused in user.toml even though the local file could hold it
      write(globalFile, `[scoped]\nlocal-only = "x"\n`)
      write(localFile, `[scoped]\nlocal-only = "y"\n`)
      let error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.strictEqual(error.description, "unknown parameters scoped.local-only")
      assert.strictEqual(error.path, globalFile)
      // the pinned cluster only in the global file
      write(globalFile, `[job]\norg-name = "acme"\n`)
      error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.match(error.description, /^org name is not allowed in global user config file/)
      assert.strictEqual(error.path, globalFile)
      // a bad local file
      write(globalFile, `[job]\nps-format = "ok"\n`)
      write(localFile, `[job]\nps-format = 1\n`)
      error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.strictEqual(error.description, "invalid type for job.ps-format, string is expected (got integer)")
      assert.strictEqual(error.path, localFile)
      assert.include(error.message, localFile)
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("user.toml that is not a regular file is an error", () =>
    Effect.gen(function*() {
      const { configDir, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      fs.mkdirSync(join(configDir, "user.toml"), { recursive: true })
      const error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.strictEqual(error.description, "User config file should be a regular file")
      assert.strictEqual(error.path, join(configDir, "user.toml"))
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("a .neuro.toml directory marks the project root but cannot be loaded", () =>
    Effect.gen(function*() {
      const { configDir, cwd, project } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      fs.mkdirSync(join(project, ".neuro.toml"))
      assert.strictEqual(yield* UserConfig.findProjectRoot(cwd), project)
      const error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.strictEqual(error.description, "User config file should be a regular file")
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("a missing config dir is fine; files are re-read on each run", () =>
    Effect.gen(function*() {
      const { configDir, cwd, project } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      const service = yield* Effect.provide(UserConfig.UserConfig, UserConfig.layer({ configDir, cwd }))
      assert.deepStrictEqual(yield* service.load, {})
      write(join(project, ".neuro.toml"), `[job]\ncluster-name = "c1"\n`)
      assert.deepStrictEqual(yield* service.load, { job: { "cluster-name": "c1" } })
      write(join(project, ".neuro.toml"), `[job]\ncluster-name = "c2"\n`)
      assert.deepStrictEqual(yield* service.load, { job: { "cluster-name": "c2" } })
    }).pipe(Effect.provide(WithPlugins)))

  it.scoped("invalid UTF-8 is a ConfigError", () =>
    Effect.gen(function*() {
      const { configDir, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      fs.mkdirSync(configDir, { recursive: true })
      fs.writeFileSync(join(configDir, "user.toml"), Buffer.from([0x5b, 0xff, 0x5d, 0x0a]))
      const error = yield* Effect.flip(UserConfig.load({ configDir, cwd }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(error.description, "user config is not valid UTF-8 text")
    }).pipe(Effect.provide(WithPlugins)))
})

describe("UserConfig.findProjectRoot", () => {
  it.scoped("in the root dir, in a subdir, from the argument; the nearest project wins", () =>
    Effect.gen(function*() {
      const { project, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      write(join(project, ".neuro.toml"), "")
      assert.strictEqual(yield* UserConfig.findProjectRoot(project), project)
      assert.strictEqual(yield* UserConfig.findProjectRoot(cwd), project)
      assert.strictEqual(yield* UserConfig.findProjectRoot(join(project, "sub")), project)
      write(join(project, "sub", ".neuro.toml"), "")
      assert.strictEqual(yield* UserConfig.findProjectRoot(cwd), join(project, "sub"))
    }).pipe(Effect.provide(Files)))

  it.scoped("a relative start is resolved against the current directory", () =>
    Effect.gen(function*() {
      const { project, cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      write(join(project, ".neuro.toml"), "")
      const path = yield* Path.Path
      const relative = path.relative(process.cwd(), cwd)
      assert.strictEqual(yield* UserConfig.findProjectRoot(relative), project)
    }).pipe(Effect.provide(Files)))

  it.scoped("no project: ConfigError naming the start", () =>
    Effect.gen(function*() {
      const { cwd } = yield* setup
      fs.mkdirSync(cwd, { recursive: true })
      // the temp dir's ancestors hold no .neuro.toml on a sane machine; check rather than assume
      const ancestorsClean = (() => {
        for (let d = cwd; d !== join(d, ".."); d = join(d, "..")) if (fs.existsSync(join(d, ".neuro.toml"))) return false
        return true
      })()
      if (!ancestorsClean) return
      const error = yield* Effect.flip(UserConfig.findProjectRoot(cwd))
      assert.strictEqual(error.description, `Project root is not found for ${cwd}`)
    }).pipe(Effect.provide(Files)))

  it.effect("stops before the filesystem root: /.neuro.toml is never looked at", () =>
    Effect.gen(function*() {
      const looked: Array<string> = []
      const fake = FileSystem.layerNoop({
        stat: (path) => {
          looked.push(path)
          return Effect.fail(
            new SystemError({ reason: "NotFound", module: "FileSystem", method: "stat", pathOrDescriptor: path })
          )
        }
      })
      const error = yield* Effect.flip(UserConfig.findProjectRoot("/a/b").pipe(Effect.provide(Layer.merge(fake, Path.layer))))
      assert.deepStrictEqual(looked, ["/a/b/.neuro.toml", "/a/.neuro.toml"])
      assert.strictEqual(error.description, "Project root is not found for /a/b")
    }))

  it.effect("an unreadable candidate is an error, not 'no project'", () =>
    Effect.gen(function*() {
      const fake = FileSystem.layerNoop({
        stat: (path) =>
          Effect.fail(new SystemError({ reason: "PermissionDenied", module: "FileSystem", method: "stat", pathOrDescriptor: path }))
      })
      const error = yield* Effect.flip(UserConfig.findProjectRoot("/a/b").pipe(Effect.provide(Layer.merge(fake, Path.layer))))
      assert.strictEqual(error.path, "/a/b/.neuro.toml")
      assert.match(error.description, /^cannot read user config/)
    }))
})
