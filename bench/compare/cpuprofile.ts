/**
 * Summary of a V8 `.cpuprofile` (from `node --cpu-prof`): self time grouped by where the code
 * lives (the effect runtime, @effect/platform, our packages, Node internals, GC, ...) and the
 * functions with the most self time.
 *
 *   npx tsx bench/compare/cpuprofile.ts FILE.cpuprofile [TOP]
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a function lives, as a group name. */
export const categorize = (frame: CallFrame): string => {
  const { functionName: name, url } = frame
  if (name === "(garbage collector)") return "GC"
  if (name === "(idle)") return "idle"
  if (name === "(program)") return "V8/native (program)"
  if (url === "") return "V8/native (program)"
  if (url.startsWith("node:")) return "node internals"
  const nm = url.lastIndexOf("/node_modules/")
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/")
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
    if (pkg === "effect") return "effect (runtime, Stream, Schema)"
    if (pkg === "@effect/platform") return "@effect/platform"
    if (pkg.startsWith("@effect/platform-node")) return "@effect/platform-node"
    return pkg
  }
  const ours = /\/packages\/([^/]+)\//.exec(url)
  if (ours) return `ours: @neuro-sdk/${ours[1]}`
  if (url.includes("/bench/")) return "bench client script"
  return `other (${url})`
}

const shortUrl = (url: string): string => {
  const nm = url.lastIndexOf("/node_modules/")
  if (nm >= 0) return url.slice(nm + "/node_modules/".length)
  const p = url.indexOf("/packages/")
  if (p >= 0) return url.slice(p + 1)
  return url.replace(/^file:\/\//, "")
}

export interface Summary {
  readonly totalMs: number
  readonly busyMs: number
  readonly byCategory: ReadonlyArray<readonly [string, number]>
  readonly top: ReadonlyArray<{ readonly ms: number; readonly category: string; readonly name: string; readonly where: string }>
}

export const summarize = (profile: Profile, top = 20): Summary => {
  const byId = new Map<number, ProfileNode>()
  for (const n of profile.nodes) byId.set(n.id, n)
  const selfUs = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const categories = new Map<string, number>()
  const functions = new Map<string, { ms: number; category: string; name: string; where: string }>()
  let total = 0
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined || node.callFrame.functionName === "(root)") continue
    const ms = us / 1000
    total += ms
    const category = categorize(node.callFrame)
    categories.set(category, (categories.get(category) ?? 0) + ms)
    const f = node.callFrame
    const where = f.url === "" ? "" : `${shortUrl(f.url)}:${f.lineNumber + 1}`
    const key = `${f.functionName}@${where}`
    const entry = functions.get(key) ?? { ms: 0, category, name: f.functionName || "(anonymous)", where }
    entry.ms += ms
    functions.set(key, entry)
  }
  const idle = categories.get("idle") ?? 0
  return {
    totalMs: total,
    busyMs: total - idle,
    byCategory: [...categories].sort((a, b) => b[1] - a[1]),
    top: [...functions.values()].filter((f) => f.category !== "idle").sort((a, b) => b.ms - a.ms).slice(0, top)
  }
}

export const format = (s: Summary, title: string): string => {
  const pct = (ms: number) => `${(ms / s.busyMs * 100).toFixed(1).padStart(5)}%`
  const lines = [`${title}: ${s.busyMs.toFixed(0)} ms busy (+ ${(s.totalMs - s.busyMs).toFixed(0)} ms idle)`, "  self time by group (% of busy):"]
  for (const [c, ms] of s.byCategory) if (c !== "idle") lines.push(`    ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${c}`)
  lines.push("  top functions by self time:")
  for (const f of s.top) lines.push(`    ${pct(f.ms)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name.padEnd(32)} ${f.category.padEnd(22)} ${f.where}`)
  return lines.join("\n")
}

export const summarizeFile = (file: string, top = 20): string =>
  format(summarize(JSON.parse(fs.readFileSync(file, "utf8")) as Profile, top), file)

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2)
  if (file === undefined) {
    console.error("usage: npx tsx bench/compare/cpuprofile.ts FILE.cpuprofile [TOP]")
    process.exit(2)
  }
  console.log(summarizeFile(file, top === undefined ? 20 : Number(top)))
}
