/**
 * JSON text as Python's `json.dumps` writes it with default settings: `", "` and `": "`
 * separators, non-ASCII characters escaped as `\uXXXX`. The config database holds JSON in this
 * form; writing the same bytes keeps a database written by us indistinguishable from one written
 * by neuro-sdk.
 */

const escapeString = (s: string): string =>
  JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))

const number = (n: number): string => {
  if (!Number.isFinite(n)) throw new TypeError(`cannot encode ${n} as JSON`)
  return JSON.stringify(n)
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
