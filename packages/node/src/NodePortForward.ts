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
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { LocalTcpServer } from "@neuro-sdk/core/Jobs"
import * as Layer from "effect/Layer"

/**
 * Listen with `node:net` on the given host and port until the scope closes.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make: LocalTcpServer.Service = LocalTcpServer.of({
  listen: ({ host, port }) => NodeSocketServer.make({ host, port })
})

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<LocalTcpServer> = Layer.succeed(LocalTcpServer, make)
