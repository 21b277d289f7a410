/**
 * Prices (`Preset.creditsPerHour`, `JobDescription.totalPriceCredits`, `priceCreditsPerHour`) are
 * effect's `BigDecimal`s, for neuro-sdk's `Decimal`: every digit the platform wrote is kept. These
 * helpers read and print them the way Python does.
 *
 * ```ts
 * import { Decimal } from "@neuro-sdk/core"
 * Decimal.format(preset.creditsPerHour)        // "1.50", as Python's str(Decimal("1.50"))
 * Decimal.toFixed(job.totalPriceCredits, 4)     // "10.0100", as f"{d:.4f}"
 * ```
 *
 * @since 1.0.0
 */
import type * as BigDecimal from "effect/BigDecimal"
import * as Option from "effect/Option"
import * as internal from "./internal/decimal.js"

/**
 * A finite decimal from text (surrounding spaces allowed) or a number (its shortest text);
 * `None` for anything else, `NaN` and `Infinity` included.
 *
 * @since 1.0.0
 * @category constructors
 */
export const parse = (input: string | number): Option.Option<BigDecimal.BigDecimal> => Option.fromNullable(internal.parseDecimal(input))

/**
 * Python's `str(Decimal)`: the scale kept (`1.50`), exponent form for positive exponents and values
 * below 1e-6 (`1E+2`, `1E-7`). `BigDecimal.format` normalizes instead (`1.5`, `100`).
 *
 * @since 1.0.0
 * @category formatting
 */
export const format: (d: BigDecimal.BigDecimal) => string = internal.formatDecimal

/**
 * Python's `f"{d:.{places}f}"`: rounded half to even at `places` decimals (what the neuro CLI
 * prints for job prices with 4 places).
 *
 * @since 1.0.0
 * @category formatting
 */
export const toFixed: (d: BigDecimal.BigDecimal, places: number) => string = internal.toFixed
