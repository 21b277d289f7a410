/**
 * Formatting of sizes, times and durations the way the Python CLI shows them.
 *
 * @since 1.0.0
 */

const UNITS = ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]

/**
 * A size in decimal units (`1 Byte`, `540 Bytes`, `2.3 MB`), as `humanize.naturalsize`.
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatSize = (value: number | undefined | null): string => {
  if (value === undefined || value === null) return ""
  const abs = Math.abs(value)
  if (abs === 1) return `${value} Byte`
  if (abs < 1000) return `${Math.trunc(value)} Bytes`
  let unit = 0
  let scaled = abs / 1000
  while (scaled >= 1000 && unit < UNITS.length - 1) {
    scaled /= 1000
    unit++
  }
  return `${value < 0 ? "-" : ""}${scaled.toFixed(1)} ${UNITS[unit]}`
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * Local time as `YYYY-MM-DD HH:MM:SS` (the `ls -l` format).
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatLocalTime = (date: Date): string =>
  `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/**
 * A moment as people read it: `today at 14:03`, `yesterday`, `Mar 05 2025`; ISO with `iso`.
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatWhen = (date: Date | undefined, iso = false, now = new Date()): string => {
  if (date === undefined) return ""
  if (iso) return date.toISOString()
  const sameDay = (a: Date, b: Date) =>
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`
  if (sameDay(date, now)) return `today at ${time}`
  const yesterday = new Date(now.getTime() - 86_400_000)
  if (sameDay(date, yesterday)) return `yesterday at ${time}`
  return `${MONTHS[date.getMonth()]} ${pad(date.getDate())} ${date.getFullYear()}`
}

/**
 * Seconds as `1d2h3m4s` (zero parts left out; `0s` for zero).
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatDuration = (seconds: number): string => {
  let rest = Math.round(seconds)
  const parts: Array<string> = []
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0) parts.push(`${n}${unit}`)
  }
  return parts.length === 0 ? "0s" : parts.join("")
}

const TIMEDELTA = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/

/**
 * Seconds of a `1d2h3m4s` duration; `undefined` when the text is not one.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseDuration = (text: string): number | undefined => {
  const m = TIMEDELTA.exec(text.trim())
  if (m === null || text.trim() === "") return undefined
  const [d, h, mi, s] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? 0 : Number(x)))
  return d! * 86400 + h! * 3600 + mi! * 60 + s!
}

/**
 * A date given as ISO-8601 text or as a `1d2h` delta back from now.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseDateOrDelta = (text: string, now = Date.now()): Date | undefined => {
  const delta = parseDuration(text)
  if (delta !== undefined) return new Date(now - delta * 1000)
  const date = new Date(text)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/**
 * Bytes per second, e.g. `12.3 MB/s`.
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatRate = (bytesPerSecond: number): string => `${formatSize(Math.round(bytesPerSecond))}/s`

/**
 * Remaining time as `M:SS` or `H:MM:SS`.
 *
 * @since 1.0.0
 * @category formatting
 */
export const formatEta = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "-:--"
  const s = Math.ceil(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}
