/**
 * Progress delivery of the transfer engine.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { ProgressCallback, StorageProgress } from "../../Storage.js"
import { makeLimiter } from "./limiter.js"

/** Builds and delivers one progress event (built only when someone listens). */
/** @internal */
export type Emit = ((make: () => StorageProgress) => Effect.Effect<void>) & {
  /** Whether anyone listens (events are worth building). */
  readonly listening?: boolean
}

/** Progress delivery: one event at a time, in emission order. */
/** @internal */
export const serialized = (progress: ProgressCallback | undefined): Effect.Effect<Emit> =>
  Effect.map(makeLimiter(1), (lock): Emit => {
    if (progress === undefined) return Object.assign((_: () => StorageProgress) => Effect.void, { listening: false })
    return Object.assign((make: () => StorageProgress) => lock.withPermits(1)(Effect.suspend(() => progress(make()))), { listening: true })
  })
