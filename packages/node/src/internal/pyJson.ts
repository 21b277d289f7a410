/**
 * JSON text as Python's `json.dumps` writes it with default settings: `", "` and `": "`
 * separators, non-ASCII characters escaped as `\uXXXX`. The config database holds JSON in this
 * form; writing the same bytes keeps a database written by us indistinguishable from one written
 * by neuro-sdk.
 */

const escapeString = (s: string): string =>
  JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))

/**
 * A number as Python prints it. Integral values are taken for Python `int`s (the JSON they came
 * from had no fraction); other values follow `float.__repr__`: the shortest round-tripping digits
 * (as JavaScript), in exponent form with at least two exponent digits when the decimal exponent is
 * below -4 or at least 16. Non-finite values are written `NaN`, `Infinity`, `-Infinity`, as Python
 * does (not strict JSON).
 */
const number = (n: number): string => {
  if (Number.isNaN(n)) return "NaN"
  if (n === Infinity) return "Infinity"
  if (n === -Infinity) return "-Infinity"
  if (Number.isInteger(n)) return Object.is(n, -0) ? "0" : BigInt(n).toString()
  const [mantissa, exponentText] = n.toExponential().split("e") as [string, string]
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`
  }
  return String(n)
}

/** @internal */
export const dumps = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  switch (typeof value) {
    case "string":
      return escapeString(value)
    case "number":
      return number(value)
    case "boolean":
      return value ? "true" : "false"
    case "object": {
      if (Array.isArray(value)) return "[" + value.map(dumps).join(", ") + "]"
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
      return "{" + entries.map(([k, v]) => `${escapeString(k)}: ${dumps(v)}`).join(", ") + "}"
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} as JSON`)
  }
}
