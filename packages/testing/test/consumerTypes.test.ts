/**
 * A consumer's type-check: a project that imports every public module of @neuro-sdk/core, node
 * and testing, plus the README's TypeScript blocks, compiled with a plain `tsc` against the BUILT
 * `.d.ts` (`npm run build`; the test builds first) — `strict`, with and without
 * `exactOptionalPropertyTypes`, with the DOM lib, `skipLibCheck: false`. And what a browser app
 * bundling @neuro-sdk/core from its sources sees: the core sources under the DOM lib and no Node
 * types.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { join } from "node:path"
import { parseBlocks, readmes, ROOT } from "./readmeBlocks.js"

const DIR = join(ROOT, "node_modules", ".cache", "neuro-consumer")
const TSC = join(ROOT, "node_modules/typescript/bin/tsc")

const tsc = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [TSC, ...args], { cwd: ROOT, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: stdout + stderr })
    })
  })

/** Every module a consumer can import: the package and each `src/*.ts` (the `./*` export). */
const publicModules = (pkg: string) => [
  `@neuro-sdk/${pkg}`,
  ...fs.readdirSync(join(ROOT, "packages", pkg, "src"))
    .filter((name) => name.endsWith(".ts") && name !== "index.ts" && name !== "bin.ts")
    .map((name) => `@neuro-sdk/${pkg}/${name.slice(0, -3)}`)
]

const writeProject = (name: string, files: ReadonlyArray<string>, options: Record<string, unknown>) => {
  const path = join(DIR, `tsconfig.${name}.json`)
  fs.writeFileSync(
    path,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        noEmit: true,
        ...options
      },
      files
    })
  )
  return path
}

describe("consumer type-check", () => {
  it("the built .d.ts and the README's blocks compile under strict, with and without exactOptionalPropertyTypes, DOM lib, skipLibCheck false", {
    timeout: 600_000
  }, async () => {
    const build = await tsc(["-b", join(ROOT, "tsconfig.build.json")])
    assert.strictEqual(build.code, 0, build.output)
    fs.mkdirSync(DIR, { recursive: true })
    const modules = ["core", "node", "testing"].flatMap(publicModules)
    assert.isAbove(modules.length, 30)
    fs.writeFileSync(
      join(DIR, "modules.ts"),
      modules.map((m, i) => `import * as M${i} from "${m}"\n`).join("") +
        `export const modules = [${modules.map((_, i) => `M${i}`).join(", ")}]\n`
    )
    const blocks = readmes().flatMap(parseBlocks).filter((b) => b.lang === "ts" && b.tags.length === 0)
    assert.isNotEmpty(blocks)
    const blockFiles = blocks.map((block, i) => {
      const file = join(DIR, `readme${i}.ts`)
      fs.writeFileSync(file, block.code)
      return file
    })
    for (const exact of [true, false]) {
      const project = writeProject(`built-${exact}`, [join(DIR, "modules.ts"), ...blockFiles], {
        exactOptionalPropertyTypes: exact,
        types: ["node"]
      })
      const r = await tsc(["-p", project])
      assert.strictEqual(r.code, 0, `exactOptionalPropertyTypes: ${exact}\n${r.output}`)
    }
  })

  it("@neuro-sdk/core's sources compile under the DOM lib without Node's types (a browser bundle)", {
    timeout: 300_000
  }, async () => {
    fs.mkdirSync(DIR, { recursive: true })
    const modules = publicModules("core")
    fs.writeFileSync(
      join(DIR, "core.ts"),
      modules.map((m, i) => `import * as M${i} from "${m}"\n`).join("") +
        `export const modules = [${modules.map((_, i) => `M${i}`).join(", ")}]\n`
    )
    const project = writeProject("core-source", [join(DIR, "core.ts")], {
      exactOptionalPropertyTypes: true,
      types: [],
      customConditions: ["source"]
    })
    const r = await tsc(["-p", project])
    assert.strictEqual(r.code, 0, r.output)
  })
})
