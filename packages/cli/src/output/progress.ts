/**
 * Progress of storage transfers. On a terminal: one status line (bar, bytes, rate, ETA, files)
 * rewritten in place at most 10 times a second, with finished files and failures printed above
 * it. Elsewhere: plain lines (`src -> dst` per file with `--verbose`, failures always).
 *
 * @since 1.0.0
 */
import type { ProgressCallback, StorageProgress } from "@neuro-sdk/core/Storage"
import * as Effect from "effect/Effect"
import { formatEta, formatRate, formatSize } from "./format.js"
import type { Term } from "./term.js"
import { paint, visibleLength } from "./term.js"

/** Redraws per second at most. */
const REDRAW_INTERVAL_MS = 100
const BAR_WIDTH = 20

/**
 * @since 1.0.0
 * @category models
 */
export interface Progress {
  readonly callback: ProgressCallback
  /** Announce one top-level copy (`Copying src => dst` on a terminal, `--verbose` elsewhere). */
  readonly begin: (src: string, dst: string, totals?: { readonly bytes: number; readonly files: number } | undefined) => void
  /** Draw the final state and end the status line. */
  readonly end: () => void
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make = (
  term: Term,
  options: {
    readonly bar: boolean
    readonly label: (url: URL) => string
    /** One file is copied: the size its start event announces is the total. */
    readonly single?: boolean | undefined
  }
): Progress => {
  const bar = options.bar
  const verbose = term.verbosity > 0
  const inFlight = new Map<string, number>()
  let totals: { bytes: number; files: number } | undefined
  let doneBytes = 0
  let doneFiles = 0
  let current = ""
  let started = 0
  let lastDraw = 0
  let drawn = false

  const status = (): string => {
    const partial = [...inFlight.values()].reduce((a, b) => a + b, 0)
    const bytes = doneBytes + partial
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const rate = bytes / seconds
    const parts: Array<string> = []
    if (totals !== undefined && totals.bytes > 0) {
      const ratio = Math.min(bytes / totals.bytes, 1)
      const full = Math.round(ratio * BAR_WIDTH)
      parts.push(paint(term, "green", "█".repeat(full)) + paint(term, "gray", "░".repeat(BAR_WIDTH - full)))
      parts.push(`${String(Math.floor(ratio * 100)).padStart(3)}%`)
      parts.push(`${formatSize(bytes)}/${formatSize(totals.bytes)}`)
      parts.push(formatRate(rate))
      parts.push(`ETA ${rate > 0 ? formatEta((totals.bytes - bytes) / rate) : "-:--"}`)
      parts.push(`${doneFiles}/${totals.files} files`)
    } else {
      parts.push(formatSize(bytes), formatRate(rate), `${doneFiles} files`)
    }
    let line = parts.join("  ")
    const width = (term.width ?? 80) - 1
    const room = width - visibleLength(line) - 2
    if (current !== "" && room > 3) {
      const name = current.length > room ? "…" + current.slice(current.length - room + 1) : current
      line += "  " + name
    }
    return line
  }

  const draw = (force: boolean) => {
    const now = Date.now()
    if (!force && now - lastDraw < REDRAW_INTERVAL_MS) return
    lastDraw = now
    drawn = true
    term.out(`\r\x1b[2K${status()}`)
  }

  /** A line above the status line. */
  const line = (text: string, toErr = false) => {
    if (bar && drawn) term.out("\r\x1b[2K")
    if (toErr) term.err(text + "\n")
    else term.out(text + "\n")
    if (bar && drawn) draw(true)
  }

  const onEvent = (event: StorageProgress) => {
    switch (event._tag) {
      case "StorageProgressStart":
        // a single file: its size is the total (a folder's total comes from `begin`, when known)
        if (totals === undefined && options.single === true) totals = { bytes: event.size, files: 1 }
        inFlight.set(event.src.href, 0)
        current = options.label(event.src)
        if (bar) draw(false)
        break
      case "StorageProgressStep":
        inFlight.set(event.src.href, event.current)
        if (bar) draw(false)
        break
      case "StorageProgressComplete":
        inFlight.delete(event.src.href)
        doneBytes += event.size
        doneFiles++
        if (verbose) line(`${options.label(event.src)} -> ${options.label(event.dst)}`)
        else if (bar) draw(false)
        break
      case "StorageProgressEnterDir":
        if (verbose) line(`${options.label(event.src)} -> ${options.label(event.dst)}`)
        break
      case "StorageProgressFail":
        line(`${paint(term, "red", "Failure:")} ${options.label(event.src)} -> ${options.label(event.dst)} [${event.message}]`, true)
        break
      default:
        break
    }
  }

  return {
    callback: (event) => Effect.sync(() => onEvent(event)),
    begin: (src, dst, t) => {
      totals = t
      started = Date.now()
      if (bar) term.out(`Copying ${src} => ${dst}\n`)
      else if (verbose) term.out(`Copy ${src} -> ${dst}\n`)
    },
    end: () => {
      if (!bar) return
      current = ""
      inFlight.clear()
      draw(true)
      term.out("\n")
      drawn = false
    }
  }
}
