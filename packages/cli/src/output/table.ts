/**
 * Plain-text tables that fit the terminal: columns get their natural width, and when the table is
 * wider than the terminal the widest columns give way first; cells that no longer fit wrap onto
 * more lines (at spaces when there are any).
 *
 * @since 1.0.0
 */
import type { Term } from "./term.js"
import { paint, visibleLength } from "./term.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface Column {
  readonly title: string
  readonly align?: "left" | "right" | "center" | undefined
  /** Never wider than this (wrapped beyond). */
  readonly maxWidth?: number | undefined
  /** Never narrower than this, even to fit the terminal. */
  readonly minWidth?: number | undefined
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Columns available (default: unlimited). */
  readonly width?: number | undefined
  /** Print the title row (default true). */
  readonly header?: boolean | undefined
  /** Spaces between columns (default 2). */
  readonly gap?: number | undefined
  /** Paints the title row bold when colours are on. */
  readonly term?: Term | undefined
}

const lengthOf = (cell: string): number => Math.max(0, ...cell.split("\n").map(visibleLength))

/** Breaks `line` into pieces of at most `width` characters, preferring to break after spaces. */
const wrapLine = (line: string, width: number): Array<string> => {
  const chars = [...line]
  if (chars.length <= width) return [line]
  const out: Array<string> = []
  let start = 0
  while (chars.length - start > width) {
    let end = start + width
    const space = chars.lastIndexOf(" ", end)
    if (space > start) end = space + 1
    out.push(chars.slice(start, end).join("").trimEnd())
    start = end
  }
  out.push(chars.slice(start).join(""))
  return out
}

const align = (text: string, width: number, how: Column["align"]): string => {
  const room = width - visibleLength(text)
  if (room <= 0) return text
  if (how === "right") return " ".repeat(room) + text
  if (how === "center") return " ".repeat(Math.floor(room / 2)) + text + " ".repeat(room - Math.floor(room / 2))
  return text + " ".repeat(room)
}

/** Column widths: natural, capped by `maxWidth`, then narrowed widest-first to fit `total`. */
const fitWidths = (columns: ReadonlyArray<Column>, cells: ReadonlyArray<ReadonlyArray<string>>, total: number | undefined, gap: number) => {
  const widths = columns.map((column, i) => {
    const natural = Math.max(visibleLength(column.title), ...cells.map((row) => lengthOf(row[i] ?? "")))
    return column.maxWidth === undefined ? natural : Math.min(natural, Math.max(column.maxWidth, 1))
  })
  if (total === undefined) return widths
  const room = total - gap * (columns.length - 1)
  const longestWord = (text: string) => Math.max(0, ...text.split(/\s+/).map((w) => w.length))
  // first down to a comfortable floor (10 columns, whole title words), then further if need be
  const floors = [
    (i: number) => Math.max(columns[i]!.minWidth ?? 0, longestWord(columns[i]!.title), Math.min(widths[i]!, 10)),
    (i: number) => Math.max(columns[i]!.minWidth ?? 0, 3)
  ]
  let sum = widths.reduce((a, b) => a + b, 0)
  for (const floor of floors) {
    const limits = widths.map((_, i) => floor(i))
    while (sum > room) {
      let widest = -1
      for (let i = 0; i < widths.length; i++) {
        if (widths[i]! > limits[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i
      }
      if (widest < 0) break
      widths[widest]!--
      sum--
    }
  }
  return widths
}

/**
 * The lines of a table.
 *
 * @since 1.0.0
 * @category rendering
 */
export const render = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  options: Options = {}
): Array<string> => {
  const gap = options.gap ?? 2
  const header = options.header ?? true
  const widths = fitWidths(columns, header ? [...rows, columns.map((c) => c.title)] : rows, options.width, gap)
  const lines: Array<string> = []
  const emit = (row: ReadonlyArray<string>, title: boolean) => {
    const wrapped = columns.map((_, i) => (row[i] ?? "").split("\n").flatMap((line) => wrapLine(line, widths[i]!)))
    const height = Math.max(1, ...wrapped.map((w) => w.length))
    for (let l = 0; l < height; l++) {
      const parts = columns.map((column, i) => align(wrapped[i]![l] ?? "", widths[i]!, column.align))
      const line = parts.join(" ".repeat(gap)).trimEnd()
      lines.push(title && options.term !== undefined ? paint(options.term, "bold", line) : line)
    }
  }
  if (header) emit(columns.map((c) => c.title), true)
  for (const row of rows) emit(row, false)
  return lines
}

/**
 * Key/value lines (`Name   value`), keys padded to the longest one.
 *
 * @since 1.0.0
 * @category rendering
 */
export const keyValues = (pairs: ReadonlyArray<readonly [string, string]>, term?: Term): Array<string> => {
  const width = Math.max(0, ...pairs.map(([k]) => visibleLength(k)))
  return pairs.map(([k, v]) => `${align(k, width, "left")}  ${term === undefined ? v : paint(term, "bold", v)}`.trimEnd())
}
