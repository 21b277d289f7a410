/**
 * A "browser" for login tests: follows the authorization URL to the emulator's authorize endpoint,
 * which approves automatically and redirects to the callback, and then visits that callback.
 *
 * @since 1.0.0
 */
import { AuthError } from "@neuro-sdk/core/Errors"
import { BrowserOpener } from "@neuro-sdk/core/Login"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const visit = (url: string) =>
  Effect.tryPromise({
    try: () => fetch(url, { redirect: "manual" }),
    catch: (cause) => new AuthError({ description: `browser could not open ${url}`, cause })
  })

/**
 * Follow one redirect of the authorization URL and return where it points.
 *
 * @since 1.0.0
 * @category utils
 */
export const authorize = (url: URL): Effect.Effect<URL, AuthError> =>
  Effect.gen(function*() {
    const response = yield* visit(url.toString())
    const location = response.headers.get("location")
    yield* Effect.promise(() => response.arrayBuffer())
    if (location === null) {
      return yield* Effect.fail(new AuthError({ description: `the authorize page answered ${response.status} without a redirect` }))
    }
    return new URL(location, url)
  })

/**
 * The code the headless page would show for an authorization URL (what a user would paste).
 *
 * @since 1.0.0
 * @category utils
 */
export const headlessCode = (url: URL): Effect.Effect<string, AuthError> =>
  Effect.flatMap(authorize(url), (target) => {
    const code = target.searchParams.get("code")
    return code === null
      ? Effect.fail(new AuthError({ description: target.searchParams.get("error_description") ?? "no code" }))
      : Effect.succeed(code)
  })

/**
 * What a user's browser does with the authorization URL: follow it to the emulator's authorize
 * endpoint, which approves, then visit the local callback it redirects to. Usable as the
 * `showBrowser` option of `Factory.login`.
 *
 * @since 1.0.0
 * @category utils
 */
export const open = (url: URL): Effect.Effect<void, AuthError> =>
  Effect.gen(function*() {
    const target = yield* authorize(url)
    const response = yield* visit(target.toString())
    yield* Effect.promise(() => response.arrayBuffer())
  })

/**
 * A `BrowserOpener` that does what `open` does.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<BrowserOpener> = Layer.succeed(BrowserOpener, BrowserOpener.of({ open }))
