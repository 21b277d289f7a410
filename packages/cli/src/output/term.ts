/**
 * The terminal the CLI writes to: whether stdout is a TTY, whether colours are on, its width, and
 * the writes themselves (synchronous, so a process that exits right after loses nothing).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { writeSync } from "node:fs"

/**
 * @since 1.0.0
 * @category models
 */
export interface Term {
  /** stdout is a terminal. */
  readonly tty: boolean
  /** ANSI colours and styles are written. */
  readonly color: boolean
  /** Columns of the terminal (`COLUMNS` when set); `undefined`: not a terminal, lines are not cut. */
  readonly width: number | undefined
  readonly height: number
  /** -1 with `--quiet`, 1 with `--verbose`, else 0. */
  readonly verbosity: number
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

/**
 * @since 1.0.0
 * @category tags
 */
export class TermTag extends Context.Tag("@neuro-sdk/cli/Term")<TermTag, Term>() {}

/**
 * `--color`: `auto` (default) colours a terminal unless `NO_COLOR` is set; `always`/`yes` and
 * `never`/`no` force it.
 *
 * @since 1.0.0
 * @category models
 */
export type ColorMode = "auto" | "always" | "never" | "yes" | "no"

/**
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: { readonly color: ColorMode; readonly verbosity: number }): Term => {
  const tty = process.stdout.isTTY === true
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ""
  const color = options.color === "always" || options.color === "yes"
    ? true
    : options.color === "never" || options.color === "no"
    ? false
    : tty && !noColor && process.env.TERM !== "dumb"
  const envColumns = Number(process.env.COLUMNS)
  const width = Number.isInteger(envColumns) && envColumns > 0 ? envColumns : tty ? process.stdout.columns ?? 80 : undefined
  const height = tty ? process.stdout.rows ?? 25 : 25
  return {
    tty,
    color,
    width,
    height,
    verbosity: options.verbosity,
    out: (text) => writeAll(1, text),
    err: (text) => writeAll(2, text)
  }
}

const writeAll = (fd: number, text: string): void => {
  const bytes = Buffer.from(text, "utf8")
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset)
    } catch (error) {
      // a non-blocking pipe that is full: try again; a closed one (EPIPE): stop writing
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") continue
      return
    }
  }
}

/**
 * Print a line on stdout.
 *
 * @since 1.0.0
 * @category output
 */
export const print = (text: string): Effect.Effect<void, never, TermTag> =>
  Effect.map(TermTag, (term) => term.out(text + "\n"))

/**
 * Print a line on stderr.
 *
 * @since 1.0.0
 * @category output
 */
export const printErr = (text: string): Effect.Effect<void, never, TermTag> =>
  Effect.map(TermTag, (term) => term.err(text + "\n"))

/**
 * Print a line on stdout only with `--verbose`.
 *
 * @since 1.0.0
 * @category output
 */
export const verbose = (text: string): Effect.Effect<void, never, TermTag> =>
  Effect.flatMap(TermTag, (term) => term.verbosity > 0 ? print(text) : Effect.void)

// ---------------------------------------------------------------------------------------------
// styles
// ---------------------------------------------------------------------------------------------

const SGR: Record<string, string> = {
  bold: "1",
  dim: "2",
  italic: "3",
  underline: "4",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  gray: "90"
}

/**
 * @since 1.0.0
 * @category styles
 */
export type Style = keyof typeof SGR

/**
 * `text` in the given style when colours are on.
 *
 * @since 1.0.0
 * @category styles
 */
export const paint = (term: Term, style: Style, text: string): string =>
  term.color && text !== "" ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

/**
 * `text` without ANSI escape sequences.
 *
 * @since 1.0.0
 * @category styles
 */
export const stripAnsi = (text: string): string => text.replace(ANSI, "")

/**
 * Columns `text` takes on a terminal (escape sequences take none; wide characters are not
 * measured, like most terminals' own width guesses for them would not be either).
 *
 * @since 1.0.0
 * @category styles
 */
export const visibleLength = (text: string): number => [...stripAnsi(text)].length
