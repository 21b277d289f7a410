/**
 * A FIFO counting semaphore (transfer engine).
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** @internal */
export interface Limiter {
  readonly withPermits: (n: 1) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * A FIFO counting semaphore whose acquire and release are O(1) however many fibers wait
 * (Effect's semaphore wakes every waiter on each release).
 */
/** @internal */
export const makeLimiter = (permits: number): Effect.Effect<Limiter> =>
  Effect.sync(() => {
    let free = permits
    const waiting = new Set<Deferred.Deferred<void>>()
    const release = Effect.sync(() => {
      const next = waiting.values().next()
      if (next.done === true) free++
      else {
        waiting.delete(next.value)
        Deferred.unsafeDone(next.value, Exit.void)
      }
    })
    const acquire = (restore: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        if (free > 0) {
          free--
          return Effect.void
        }
        return Effect.flatMap(Deferred.make<void>(), (d) => {
          waiting.add(d)
          return restore(Deferred.await(d)).pipe(
            Effect.onInterrupt(() => (waiting.delete(d) ? Effect.void : release))
          )
        })
      })
    return {
      withPermits: () => (effect) =>
        Effect.uninterruptibleMask((restore) => Effect.zipRight(acquire(restore), Effect.ensuring(restore(effect), release)))
    }
  })
