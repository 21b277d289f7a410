/**
 * Prices as decimals (neuro-sdk's `Decimal`): effect's `BigDecimal` read from the wire's text or
 * number, and written back the way Python's `str(Decimal)` writes it.
 *
 * @internal
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * A finite decimal from text (surrounding whitespace allowed, as Python's `Decimal`) or from a
 * JSON number (its shortest text, not its binary expansion); `undefined` for anything else
 * (including `NaN` and `Infinity`, which Python's `Decimal` would accept).
 */
/** @internal */
export const parseDecimal = (u: string | number): BigDecimal.BigDecimal | undefined => {
  const text = typeof u === "number" ? (Number.isFinite(u) ? String(u) : "") : u.trim()
  return DECIMAL_TEXT.test(text) ? Option.getOrUndefined(BigDecimal.fromString(text)) : undefined
}

/**
 * Python's `str(Decimal)` of the value: the scale kept (`1.50`), scientific notation for
 * positive exponents and very small values (`1E+2`, `1E-7`).
 */
/** @internal */
export const formatDecimal = (d: BigDecimal.BigDecimal): string => {
  const negative = d.value < 0n
  const digits = (negative ? -d.value : d.value).toString()
  const exponent = -d.scale
  const adjusted = exponent + digits.length - 1
  let body: string
  if (exponent <= 0 && adjusted >= -6) {
    const point = digits.length + exponent
    body = exponent === 0
      ? digits
      : point > 0
      ? `${digits.slice(0, point)}.${digits.slice(point)}`
      : `0.${"0".repeat(-point)}${digits}`
  } else {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    body = `${mantissa}E${adjusted >= 0 ? "+" : ""}${adjusted}`
  }
  return negative ? `-${body}` : body
}

/** Python's `f"{d:.{places}f}"`: rounded half to even at `places` decimals, never in exponent form. */
/** @internal */
export const toFixed = (d: BigDecimal.BigDecimal, places: number): string => {
  const rounded = BigDecimal.round(d, { scale: places, mode: "half-even" })
  const negative = rounded.value < 0n
  const digits = (negative ? -rounded.value : rounded.value).toString().padStart(places + 1, "0")
  const body = places > 0 ? `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}` : digits
  return negative ? `-${body}` : body
}

/** A decimal on the wire (JSON text or number) ⇄ `BigDecimal`; encodes to Python's text. */
/** @internal */
export const DecimalFromWire = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.BigDecimalFromSelf, {
  strict: true,
  decode: (v, _, ast) => {
    const d = parseDecimal(v)
    return d === undefined ? ParseResult.fail(new ParseResult.Type(ast, v, "not a finite decimal number")) : ParseResult.succeed(d)
  },
  encode: (d) => ParseResult.succeed(formatDecimal(d))
})

/** A decimal stored as text (the config database) ⇄ `BigDecimal`. */
/** @internal */
export const DecimalFromText = Schema.transformOrFail(Schema.String, Schema.BigDecimalFromSelf, {
  strict: true,
  decode: (v, _, ast) => {
    const d = parseDecimal(v)
    return d === undefined ? ParseResult.fail(new ParseResult.Type(ast, v, "not a finite decimal number")) : ParseResult.succeed(d)
  },
  encode: (d) => ParseResult.succeed(formatDecimal(d))
})
