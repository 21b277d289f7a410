/** The fenced code blocks of README.md and of the package READMEs (see readme.test.ts). */
import * as fs from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
// inside the repository so that the blocks resolve @neuro-sdk/* as a consumer would
export const CACHE = join(ROOT, "node_modules", ".cache", "neuro-readme")

export interface Block {
  readonly file: string
  readonly line: number
  readonly lang: string
  readonly tags: ReadonlyArray<string>
  readonly runs: ReadonlyArray<string | undefined>
  readonly code: string
}

export const readmes = (): Array<string> => {
  const packages = fs.readdirSync(join(ROOT, "packages"))
    .map((name) => join("packages", name, "README.md"))
    .filter((path) => fs.existsSync(join(ROOT, path)))
  return ["README.md", ...packages]
}

export const parseBlocks = (file: string): Array<Block> => {
  const lines = fs.readFileSync(join(ROOT, file), "utf8").split("\n")
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]!)
    if (open === null) continue
    const [lang = "", ...rest] = open[2]!.trim().split(/\s+/)
    const start = i
    const body: Array<string> = []
    for (i++; i < lines.length && lines[i] !== open[1]; i++) body.push(lines[i]!)
    const run = rest.find((tag) => tag.startsWith("run="))
    blocks.push({
      file,
      line: start + 1,
      lang,
      tags: rest.filter((tag) => !tag.startsWith("run=")),
      runs: run === undefined ? [undefined] : run.slice(4).split(","),
      code: body.join("\n") + "\n"
    })
  }
  return blocks
}
