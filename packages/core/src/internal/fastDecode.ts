/**
 * Compiled decoders with an optional fast path.
 *
 * A Schema stays the definition of every wire model. For the hot ones (a job in a listing of
 * 100,000), walking the Schema's AST per value costs more than the rest of the client together,
 * so the Schema can carry a hand-written decoder of the same model (`withFastPath`): it checks
 * the JSON value and builds the result directly, or answers `Reject`. A rejected value goes
 * through the Schema, which gives the answer: its value, or its error naming the fields. A fast
 * path must therefore agree with the Schema on every value it accepts, and accept nothing the
 * Schema refuses (tests compare both over fixtures and mutated inputs); it may refuse more (a rare
 * form it does not handle), which only costs time.
 *
 * Fast paths are written for JSON values (what `JSON.parse` returns: plain objects and arrays,
 * no inherited or symbol keys).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

/**
 * What a fast path answers for a value it does not accept.
 *
 * @internal
 */
export const Reject: unique symbol = Symbol.for("@neuro-sdk/core/FastDecode/Reject")

/** @internal */
export type Reject = typeof Reject

/**
 * A hand-written decoder: the decoded value, or `Reject`.
 *
 * @internal
 */
export type FastPath<A> = (u: unknown) => A | Reject

const FastPathId: unique symbol = Symbol.for("@neuro-sdk/core/FastDecode/FastPath")

/**
 * `schema` carrying `fast` as its fast path (an annotation: decoding with the Schema itself is
 * unchanged).
 *
 * @internal
 */
export const withFastPath = <A, I>(schema: Schema.Schema<A, I>, fast: FastPath<A>): Schema.Schema<A, I> =>
  schema.annotations({ [FastPathId]: fast })

/**
 * A compiled decoder: `sync` decodes at once (the fast path first, then the Schema, synchronously);
 * `effect` also runs Schemas that need to suspend.
 *
 * @internal
 */
export interface Decoder<A> {
  readonly sync: (u: unknown) => Either.Either<A, ParseResult.ParseError>
  readonly effect: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
}

const OPTIONS: AST.ParseOptions = { errors: "all" }

const compiled = new WeakMap<AST.AST, Decoder<unknown>>()

const compile = <A, I>(schema: Schema.Schema<A, I>): Decoder<A> => {
  const fast = Option.getOrUndefined(AST.getAnnotation<FastPath<A>>(schema.ast, FastPathId))
  const full = ParseResult.decodeUnknownEither(schema, OPTIONS)
  const fullEffect = ParseResult.decodeUnknown(schema, OPTIONS)
  const toError = (issue: ParseResult.ParseIssue) => new ParseResult.ParseError({ issue })
  const slow = (u: unknown): Either.Either<A, ParseResult.ParseError> => Either.mapLeft(full(u), toError)
  const sync = fast === undefined ? slow : (u: unknown): Either.Either<A, ParseResult.ParseError> => {
    const a = fast(u)
    return a === Reject ? slow(u) : Either.right(a)
  }
  return {
    sync,
    effect: (u) => {
      const r = sync(u)
      // a Schema that must suspend fails the synchronous run: run it again as an Effect
      return Either.isRight(r) ? Effect.succeed(r.right) : Effect.mapError(fullEffect(u), toError)
    }
  }
}

/**
 * The decoder of `schema` (with its fast path when it has one), compiled once per schema.
 *
 * @internal
 */
export const decoderOf = <A, I>(schema: Schema.Schema<A, I>): Decoder<A> => {
  const hit = compiled.get(schema.ast)
  if (hit !== undefined) return hit as Decoder<A>
  const made = compile(schema)
  compiled.set(schema.ast, made as Decoder<unknown>)
  return made
}

/**
 * A blank instance of a `Schema.Class`, for a fast path to fill field by field: given every field
 * (those with a default included) in the class's order, it is what `new Class(fields, true)`
 * builds (same prototype, same own fields), without the constructor's copy of the fields and its
 * pass over the class's fields for defaults, which cost more than the decoding. The fast path's
 * tests compare its results with the constructor's.
 *
 * @internal
 */
export const blank = <A>(Class: { readonly prototype: A }): Record<string, unknown> =>
  Object.create(Class.prototype as object) as Record<string, unknown>
