/**
 * The source modules form no import cycle, so each of them can be the first one loaded.
 *
 * A cycle between a public module and its `internal/` implementation works only in one import
 * order: load the other module first and a `const` of the cycle is read before it is initialized
 * (`ReferenceError: Cannot access 'X' before initialization`). Two checks:
 *
 * - dynamic: every file of `packages/core/src` and `packages/testing/src` is imported alone, as
 *   the first module of a fresh module graph, and every one of its exports is defined. This runs
 *   in a child Node process with native ES modules (through `tsx`): vitest's own module runner
 *   does not reproduce the failure (there, a binding read too early is silently `undefined`,
 *   even after `vi.resetModules()`). A resolve hook gives every module of `packages/x/src` a
 *   `?graph=N` query, so each entry gets fresh copies of the workspace sources (and shares only
 *   `node_modules`);
 * - static: the runtime imports between the files of `packages/core/src` (everything but
 *   `import type` / `export type`) form no cycle.
 */
import { assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"

const packagesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const repoDir = path.dirname(packagesDir)
const coreSrc = path.join(packagesDir, "core", "src")
const testingSrc = path.join(packagesDir, "testing", "src")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(dir, f))
    .sort()

const rel = (file: string) => path.relative(packagesDir, file).split(path.sep).join("/")

// ---------------------------------------------------------------------------------------------
// dynamic: each module first, in a fresh native module graph
// ---------------------------------------------------------------------------------------------

/** Loader hook of the child: `?graph=N` on the entry is passed on to every workspace source it imports. */
const hooks = (packagesUrl: string) => `
const ROOT = ${JSON.stringify(packagesUrl)}
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  const graph = context.parentURL ? new URL(context.parentURL).searchParams.get("graph") : null
  const inSources = resolved.url.startsWith(ROOT) && /^[^/]+\\/src\\//.test(resolved.url.slice(ROOT.length))
  return graph !== null && inSources && !resolved.url.includes("?") ? { ...resolved, url: resolved.url + "?graph=" + graph } : resolved
}`

const MARK = "@@moduleGraph "

/** Imports each file in turn, each in its own graph; prints one result line per file. */
const childScript = (packagesUrl: string) => `
import { register } from "node:module"
import { pathToFileURL } from "node:url"
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks(packagesUrl))}))
const files = JSON.parse(process.env.MODULE_GRAPH_FILES)
let graph = 0
for (const file of files) {
  let result
  try {
    const mod = await import(pathToFileURL(file).href + "?graph=" + ++graph)
    result = { file, undefinedExports: Object.keys(mod).filter((name) => mod[name] === undefined) }
  } catch (e) {
    result = { file, error: String(e) }
  }
  process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(result) + "\\n")
}`

interface LoadResult {
  readonly file: string
  readonly error?: string
  readonly undefinedExports?: ReadonlyArray<string>
}

/** Loads each file first in a fresh native module graph (one child process for all of them). */
const loadEachFirst = (files: ReadonlyArray<string>, packagesUrl: string): Promise<Map<string, LoadResult>> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", "--input-type=module", "-e", childScript(packagesUrl)],
      {
        cwd: repoDir,
        env: { ...process.env, MODULE_GRAPH_FILES: JSON.stringify(files) },
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024
      },
      (error, stdout, stderr) => {
        const results = new Map<string, LoadResult>()
        for (const line of stdout.split("\n")) {
          if (line.startsWith(MARK)) {
            const result = JSON.parse(line.slice(MARK.length)) as LoadResult
            results.set(result.file, result)
          }
        }
        if (error !== null && results.size === 0) reject(new Error(`${error.message}\n${stderr}`))
        else resolve(results)
      }
    )
  })

const packagesUrl = pathToFileURL(packagesDir + path.sep).href

describe("each source module loads first in a fresh module graph", () => {
  const files = [...sourceFiles(coreSrc), ...sourceFiles(testingSrc)]
  let results = new Map<string, LoadResult>()

  beforeAll(async () => {
    results = await loadEachFirst(files, packagesUrl)
  }, 300_000)

  it("finds the source files", () => {
    // a broken path would make the tests of this group vanish silently
    expect(files.map(rel)).toEqual(expect.arrayContaining([
      "core/src/Jobs.ts",
      "core/src/internal/jobsWire.ts",
      "core/src/internal/users.ts",
      "testing/src/JobRunner.ts",
      "testing/src/internal/jobsRunner.ts"
    ]))
  })

  for (const file of files) {
    it(rel(file), () => {
      const result = results.get(file)
      assert.isDefined(result, "the child process did not report this file")
      expect(result.error).toBeUndefined()
      expect(result.undefinedExports).toEqual([])
    })
  }

  it("the check reports a module that needs its cycle loaded in the other order", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "module-graph-"))
    try {
      const pkgSrc = path.join(dir, "pkg", "src")
      fs.mkdirSync(pkgSrc, { recursive: true })
      fs.writeFileSync(path.join(dir, "pkg", "package.json"), JSON.stringify({ type: "module" }))
      // Public.ts re-binds a value of its internal module, which needs a value of Public.ts
      fs.writeFileSync(path.join(pkgSrc, "Public.ts"), `import * as internal from "./internal.js"\nexport const model = "m"\nexport const make = internal.make\n`)
      fs.writeFileSync(path.join(pkgSrc, "internal.ts"), `import { model } from "./Public.js"\nexport const make = () => model\n`)
      const [pub, int] = [path.join(pkgSrc, "Public.ts"), path.join(pkgSrc, "internal.ts")]
      const results = await loadEachFirst([pub, int], pathToFileURL(dir + path.sep).href)
      expect(results.get(pub)).toEqual({ file: pub, undefinedExports: [] })
      // loaded first, internal.ts runs Public.ts while its own `make` is not initialized yet
      expect(results.get(int)).toHaveProperty("error", expect.stringMatching(/ReferenceError: Cannot access 'make' before initialization/))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// static: no cycle among runtime imports of packages/core/src
// ---------------------------------------------------------------------------------------------

/**
 * Relative modules a file needs at run time: `import` / `export ... from` declarations that are
 * not `type`-only. With `verbatimModuleSyntax`, `import { type A } from "./a.js"` still loads
 * `./a.js` (it becomes `import {} from "./a.js"`), so it counts.
 */
const runtimeImports = (file: string): Array<string> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const out: Array<string> = []
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause?.isTypeOnly) continue
      specifier = statement.moduleSpecifier
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue
      specifier = statement.moduleSpecifier
    }
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue
    out.push(path.resolve(path.dirname(file), specifier.text.replace(/\.js$/, ".ts")))
  }
  return out
}

/** A cycle of the graph as a path `[a, b, ..., a]`, or `undefined` when there is none. */
const findCycle = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> | undefined => {
  const done = new Set<string>()
  const onPath: Array<string> = []
  const visit = (node: string): Array<string> | undefined => {
    const at = onPath.indexOf(node)
    if (at >= 0) return [...onPath.slice(at), node]
    if (done.has(node)) return undefined
    onPath.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    onPath.pop()
    done.add(node)
    return undefined
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

describe("runtime imports of packages/core/src", () => {
  const files = sourceFiles(coreSrc)
  const graph = new Map(files.map((f) => [f, runtimeImports(f)]))

  it("are parsed (value imports counted, type-only imports skipped)", () => {
    const jobs = graph.get(path.join(coreSrc, "Jobs.ts"))
    assert.isDefined(jobs)
    // `import * as internal from "./internal/jobs.js"` is a runtime import
    expect(jobs).toContain(path.join(coreSrc, "internal", "jobs.ts"))
    // and so is `export { ... } from "./internal/jobsModels.js"`
    expect(jobs).toContain(path.join(coreSrc, "internal", "jobsModels.ts"))
    // `import type { ApiClient } from "./ApiClient.js"` is not
    expect(jobs).not.toContain(path.join(coreSrc, "ApiClient.ts"))
  })

  it("resolve to existing files", () => {
    const missing = [...graph].flatMap(([from, tos]) => tos.filter((to) => !graph.has(to)).map((to) => `${rel(from)} -> ${rel(to)}`))
    expect(missing).toEqual([])
  })

  it("form no cycle", () => {
    const cycle = findCycle(graph)
    expect(cycle?.map(rel).join(" -> ")).toBeUndefined()
  })

  it("the cycle finder finds a cycle", () => {
    const cycle = findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["b"]], ["d", []]]))
    expect(cycle).toEqual(["b", "c", "b"])
  })
})
