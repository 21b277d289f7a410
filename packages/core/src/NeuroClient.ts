/**
 * The whole client: `ApiClient` and every subsystem service, built over a session
 * (`Config`, `AuthToken`, `Endpoints`), a transport (`HttpClient`, `WebSocketDialer`) and the
 * local file system. The counterpart of neuro-sdk's `Client`.
 *
 * @since 1.0.0
 */
import * as Layer from "effect/Layer"
import * as ApiClient from "./ApiClient.js"
import * as Images from "./Images.js"
import * as Jobs from "./Jobs.js"
import * as Parser from "./Parser.js"
import * as Storage from "./Storage.js"
import * as Users from "./Users.js"
import * as Secrets from "./Secrets.js"
import * as Disks from "./Disks.js"
import * as ServiceAccounts from "./ServiceAccounts.js"
import * as Buckets from "./Buckets.js"

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
const subsystems = Layer.mergeAll(Storage.layer, Parser.layer, Jobs.layer, Users.layer, Secrets.layer, Disks.layer, ServiceAccounts.layer, Images.layer, Buckets.layer)

/**
 * `ApiClient` plus every subsystem service.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}) => Layer.provideMerge(subsystems, ApiClient.layer(options.apiClient))
