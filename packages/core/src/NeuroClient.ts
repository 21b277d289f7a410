/**
 * The whole client: `ApiClient` and every subsystem service, built over a session
 * (`Config`, `AuthToken`, `Endpoints`), a transport (`HttpClient`, `WebSocketDialer`) and the
 * local file system. The counterpart of neuro-sdk's `Client`.
 *
 * @since 1.0.0
 */
import * as Layer from "effect/Layer"
import * as ApiClient from "./ApiClient.js"
import * as Storage from "./Storage.js"

/**
 * Options of the client.
 *
 * @since 1.0.0
 * @category models
 */
export interface Options {
  readonly apiClient?: ApiClient.Options | undefined
}

/**
 * Subsystem layers, each over `ApiClient` and the session services.
 */
const subsystems = Layer.mergeAll(Storage.layer)

/**
 * `ApiClient` plus every subsystem service.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}) => Layer.provideMerge(subsystems, ApiClient.layer(options.apiClient))
