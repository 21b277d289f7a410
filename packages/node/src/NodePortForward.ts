/**
 * Node implementation of `Jobs.LocalTcpServer`: the local TCP listener `jobs.portForward` accepts
 * connections on (core itself never touches `node:net`).
 *
 * ```ts
 * Effect.scoped(Effect.gen(function*() {
 *   const jobs = yield* Jobs.Jobs
 *   const { port } = yield* jobs.portForward("job-id", 0, 8080)
 *   // connect to localhost:<port>
 * })).pipe(Effect.provide(NodePortForward.layer))
 * ```
 *
 * @since 1.0.0
 */
import { LocalTcpServer } from "@neuro-sdk/core/Jobs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { once } from "./internal/lazy.js"

/** The socket server module, imported on the first `listen`. */
const loadSocketServer = once(() => import("@effect/platform-node/NodeSocketServer"))

/**
 * Listen with `node:net` on the given host and port until the scope closes.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: LocalTcpServer.Service = LocalTcpServer.of({
  listen: ({ host, port }) => Effect.flatMap(Effect.promise(loadSocketServer), (m) => m.make({ host, port }))
})

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<LocalTcpServer> = Layer.succeed(LocalTcpServer, make)
