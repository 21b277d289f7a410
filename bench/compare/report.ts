/**
 * Medians of repeated runs, aligned tables and goal rows for `npm run bench -- compare`.
 */
import type { RunResult } from "./proc.js"

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The medians of one client's runs of one measure (each figure's median on its own). */
export interface Row {
  readonly runs: number
  /** Seconds of the measured operation (the client's own timing, or wall time for curl and startup). */
  readonly seconds: number
  /** CPU seconds of the client during the operation (self-reported; whole process for curl and startup). */
  readonly opCpu: number
  readonly procCpu: number
  readonly rssMb: number
  readonly serverCpu: number
  /** Medians of the other numeric fields of the clients' RESULT lines (count, bytes, firstMs). */
  readonly result: Readonly<Record<string, number>>
}

export const toRow = (runs: ReadonlyArray<RunResult>, selfTimed: boolean): Row => {
  const seconds = runs.map((r) => selfTimed ? r.result?.["seconds"] ?? Number.NaN : r.wall)
  const opCpu = runs.map((r) => selfTimed ? r.result?.["opCpu"] ?? Number.NaN : r.procCpu)
  const keys = new Set(runs.flatMap((r) => Object.keys(r.result ?? {})))
  const result: Record<string, number> = {}
  for (const k of keys) if (k !== "seconds" && k !== "opCpu") result[k] = median(runs.map((r) => r.result?.[k] ?? Number.NaN))
  return {
    runs: runs.length,
    seconds: median(seconds),
    opCpu: median(opCpu),
    procCpu: median(runs.map((r) => r.procCpu)),
    rssMb: median(runs.map((r) => r.rssMb)),
    serverCpu: median(runs.map((r) => r.serverCpu)),
    result
  }
}

/** Columns left-aligned up to `leftColumns`, right-aligned after. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, leftColumns = 1): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const fmt = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()
  return [fmt(headers), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n")
}

export const fixed = (n: number | undefined, digits: number): string =>
  n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(digits)

/** A number with about three significant digits. */
export const num = (n: number | undefined): string => {
  if (n === undefined || !Number.isFinite(n)) return "-"
  const a = Math.abs(n)
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toFixed(3)
}

export interface Goal {
  readonly measure: string
  readonly goal: string
  readonly measured: string
  /** `undefined`: could not be judged (a column is missing). */
  readonly met: boolean | undefined
}

export const verdict = (met: boolean | undefined): string => (met === undefined ? "n/a" : met ? "MET" : "NOT MET")

export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b

/** A goal on a value (a ratio or an absolute figure); `missing` explains a value that is absent. */
export const goal = (
  measure: string,
  text: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  show: (v: number) => string,
  missing: string
): Goal =>
  value === undefined || !Number.isFinite(value)
    ? { measure, goal: text, measured: missing, met: undefined }
    : { measure, goal: text, measured: show(value), met: ok(value) }
