/**
 * Helpers shared by the command groups.
 *
 * @since 1.0.0
 */
import { Parser } from "@neuro-sdk/core/Parser"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { usageError } from "../output/errors.js"

/**
 * A URI as the Python CLI prints it: the short form (`storage:x`, `image:name`) for the current
 * user, cluster and org; the full one with `--full-uri` or when there is no short form.
 *
 * @since 1.0.0
 * @category formatting
 */
export const uriFormatter = (fullUri: boolean) =>
  Effect.map(Parser, (parser) => (uri: URL | string): Effect.Effect<string> =>
    fullUri
      ? Effect.succeed(String(uri))
      : parser.normalizeUri(uri, { short: true }).pipe(
        Effect.map((short) => parser.uriToStr(short)),
        Effect.orElseSucceed(() => String(uri))
      ))

/**
 * An unknown option is passed on by @effect/cli as an argument: refuse it like click does.
 *
 * @since 1.0.0
 * @category validation
 */
export const noOptions = (args: ReadonlyArray<string>) => {
  const bad = args.find((a) => a.startsWith("-") && a.length > 1)
  return bad === undefined ? Effect.void : Effect.fail(usageError(`No such option: ${bad}`))
}

const MEMORY = /^(\d+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?[bB]?$/
const FACTOR: Record<string, number> = {
  "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15
}

/**
 * Bytes of a size such as `16M` (10^6), `16Mi` (2^20), `100` (the Python CLI's `parse_memory`).
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseMemory = (text: string): Either.Either<number, string> => {
  const m = MEMORY.exec(text)
  return m === null ? Either.left(`Unable parse value: ${text}`) : Either.right(Number(m[1]) * FACTOR[m[2] ?? ""]!)
}
