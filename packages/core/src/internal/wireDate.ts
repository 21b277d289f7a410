import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** A date as the platform's services write it (ISO 8601 text) ⇄ `Date`; anything else fails. */
/** @internal */
export const WireDate = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (s, _, ast) => {
    const d = new Date(s)
    return Number.isNaN(d.getTime())
      ? ParseResult.fail(new ParseResult.Type(ast, s, `not an ISO 8601 date: ${JSON.stringify(s)}`))
      : ParseResult.succeed(d)
  },
  encode: (d) => ParseResult.succeed(d.toISOString())
})
