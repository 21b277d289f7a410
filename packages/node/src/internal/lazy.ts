/**
 * Modules loaded on first use: `@neuro-sdk/node` imports only what every program needs, and the
 * heavy dependencies (SQLite, `ws`, the HTTP client, socket servers) when a layer first uses them.
 */

/**
 * `load` run once, on the first call; every later call gets the same promise (a failed import stays
 * failed, as a failed static import would).
 */
export const once = <A>(load: () => Promise<A>): () => Promise<A> => {
  let loaded: Promise<A> | undefined
  return () => (loaded ??= load())
}
