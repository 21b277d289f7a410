/**
 * Decode errors described without the values received.
 *
 * `ParseResult.TreeFormatter` prints the actual value of every failed field. An answer of the
 * wrong shape can hold credentials (bucket keys, session tokens, service account tokens, job
 * environments), and a deeply nested one makes the printer overflow the stack. The description
 * built here names each failing place by its path and says what was expected there: nothing of
 * the value is printed, and the issue tree is walked with an explicit stack.
 */
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"

/** How many failing places a description names before it counts the rest. */
const MAX_REPORTED = 8
/** Longest expected-type text kept (a big union or struct printed whole is noise). */
const MAX_EXPECTED = 120
/** Longest object key kept in a path (keys come from the answer). */
const MAX_KEY = 40

const IDENTIFIER_KEY = /^[A-Za-z_$][\w$-]*$/

const truncate = (s: string, max: number): string => (s.length <= max ? s : s.slice(0, max - 1) + "…")

const keyText = (key: PropertyKey, first: boolean): string => {
  if (typeof key === "number") return `[${key}]`
  if (typeof key === "symbol") return `[${truncate(String(key), MAX_KEY)}]`
  if (IDENTIFIER_KEY.test(key)) return (first ? "" : ".") + truncate(key, MAX_KEY)
  return `[${JSON.stringify(truncate(key, MAX_KEY))}]`
}

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0 ? "at the top level" : "at " + path.map((k, i) => keyText(k, i === 0)).join("")

const named = (ast: AST.AST): Option.Option<string> =>
  AST.getTitleAnnotation(ast).pipe(
    Option.orElse(() => AST.getIdentifierAnnotation(ast)),
    Option.orElse(() => AST.getDescriptionAnnotation(ast))
  )

/** What a schema node accepts, in words; built from the schema only, never from data. */
const expected = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "TypeLiteral":
      return Option.getOrElse(named(ast), () => "an object")
    case "TupleType":
      return Option.getOrElse(named(ast), () => "an array")
    case "Transformation":
      return expected(ast.to)
    case "Refinement":
      return Option.getOrElse(named(ast), () => `a valid ${expected(ast.from)}`)
    case "Union": {
      const members = [...new Set(ast.types.map(expected))]
      return truncate(members.join(" | "), MAX_EXPECTED)
    }
    default:
      return truncate(String(ast), MAX_EXPECTED)
  }
}

type Pending = readonly [issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>]

const isList = (
  issues: ParseResult.SingleOrNonEmpty<ParseResult.ParseIssue>
): issues is readonly [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>] => Array.isArray(issues)

const issuesOf = (issue: ParseResult.Composite): ReadonlyArray<ParseResult.ParseIssue> =>
  isList(issue.issues) ? issue.issues : [issue.issues]

const isPlainUnionMiss = (issue: ParseResult.ParseIssue): boolean =>
  issue._tag === "Type" || (issue._tag === "Composite" && issue.ast._tag === "Union" && issuesOf(issue).every(isPlainUnionMiss))

const children = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): ReadonlyArray<Pending> | string => {
  switch (issue._tag) {
    case "Pointer":
      return [[issue.issue, path.concat(issue.path)]]
    case "Composite":
      // a value no member of a union accepts, at the same place: the union is what was expected
      if (isPlainUnionMiss(issue)) return `expected ${expected(issue.ast)}`
      return issuesOf(issue).map((i): Pending => [i, path])
    case "Refinement":
      return issue.kind === "From" ? [[issue.issue, path]] : `expected ${expected(issue.ast)}`
    case "Transformation":
      return issue.kind === "Transformation"
        ? `expected ${expected(issue.ast.from)} convertible to ${expected(issue.ast.to)}`
        : [[issue.issue, path]]
    case "Type":
      return `expected ${expected(issue.ast)}`
    case "Missing":
      return "is missing"
    case "Unexpected":
      return "is not expected"
    case "Forbidden":
      return "cannot be decoded"
  }
}

/**
 * A decode error as text: `at [0].credentials.secret_access_key: expected string; at name: is
 * missing`. Paths and expected types only; the received values are never printed.
 *
 * @internal
 */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const found: Array<string> = []
  let total = 0
  const stack: Array<Pending> = [[error.issue, []]]
  while (stack.length > 0) {
    const [issue, path] = stack.pop()!
    const next = children(issue, path)
    if (typeof next === "string") {
      total++
      if (found.length < MAX_REPORTED) found.push(`${pathText(path)}: ${next}`)
    } else {
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!)
    }
  }
  const more = total - found.length
  return found.join("; ") + (more > 0 ? `; and ${more} more` : "")
}

/**
 * JSON text of a received value, for a message; a value too deeply nested to print (the printer
 * would overflow the stack) is not printed.
 *
 * @internal
 */
export const jsonText = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return "(a value too deeply nested to show)"
  }
}
