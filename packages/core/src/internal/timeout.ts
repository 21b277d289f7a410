/**
 * A cheaper `Effect.timeoutFail` for the per-request path.
 *
 * `Effect.timeoutFail` races the effect against `Clock.sleep` in two child fibers, which costs
 * more than the rest of a request's bookkeeping. With the live clock (what a program runs on), the
 * effect runs in one child fiber watched by a plain timer; under another clock (`TestClock` in
 * tests), time is that clock's, so `Effect.timeoutFail` is used.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** The longest delay `setTimeout` takes (longer ones fire at once). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

const onLiveClock = <A, E, R, E2>(self: Effect.Effect<A, E, R>, millis: number, onTimeout: () => E2) =>
  Effect.flatMap(Effect.fork(self), (fiber) =>
    Effect.async<A, E | E2>((resume) => {
      let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
        timer = undefined
        fiber.unsafeInterruptAsFork(FiberId.none)
        resume(Effect.fail(onTimeout()))
      }, millis)
      fiber.addObserver((exit: Exit.Exit<A, E>) => {
        if (timer === undefined) return
        clearTimeout(timer)
        timer = undefined
        resume(exit)
      })
      // the waiting fiber was interrupted: so is the effect
      return Effect.sync(() => {
        clearTimeout(timer)
        timer = undefined
        fiber.unsafeInterruptAsFork(FiberId.none)
      })
    }))

/**
 * `self`, failing with `onTimeout()` when it has not completed within `duration` (then `self` is
 * interrupted).
 *
 * @internal
 */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => {
  const millis = Duration.toMillis(duration)
  return Effect.clockWith((clock) =>
    clock === liveClock && millis <= MAX_TIMER_MILLIS
      ? onLiveClock(self, millis, onTimeout)
      : Effect.timeoutFail(self, { duration, onTimeout })
  )
}
