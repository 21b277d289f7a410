/**
 * Where the platform's services live: the API URL and, per cluster, the service URLs announced
 * by `/config`.
 *
 * The Config subsystem provides the real implementation (current cluster from the config
 * database, following `switchCluster`); `Endpoints.make` builds a fixed one.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ConfigError } from "./Errors.js"
import type { Cluster } from "./ServerConfig.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Endpoints extends Context.Tag("@neuro-sdk/core/Endpoints")<Endpoints, Endpoints.Service>() {}

/**
 * @since 1.0.0
 */
export declare namespace Endpoints {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /** The API URL given at login, e.g. `https://api.example.org/api/v1`. */
    readonly apiUrl: URL
    /** The cluster named, or the current one when no name is given. */
    readonly cluster: (name?: string) => Effect.Effect<Cluster, ConfigError>
  }
}

/**
 * The per-cluster services.
 *
 * @since 1.0.0
 * @category models
 */
export type ClusterService = "registry" | "storage" | "users" | "monitoring" | "secrets" | "disks" | "buckets"

/**
 * The base URL of a cluster service.
 *
 * @since 1.0.0
 * @category accessors
 */
export const serviceUrl = (cluster: Cluster, service: ClusterService): URL => {
  const url = {
    registry: cluster.registryUrl,
    storage: cluster.storageUrl,
    users: cluster.usersUrl,
    monitoring: cluster.monitoringUrl,
    secrets: cluster.secretsUrl,
    disks: cluster.disksUrl,
    buckets: cluster.bucketsUrl
  }[service]
  return new URL(url)
}

/**
 * Fixed endpoints: an API URL and the clusters of a `/config` answer.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: {
  readonly apiUrl: string | URL
  readonly clusters: ReadonlyArray<Cluster>
  /** Current cluster; defaults to the first one. */
  readonly clusterName?: string | undefined
}): Endpoints.Service => {
  const apiUrl = new URL(options.apiUrl)
  const byName = new Map(options.clusters.map((c) => [c.name, c]))
  const current = options.clusterName ?? options.clusters[0]?.name
  return Endpoints.of({
    apiUrl,
    cluster: (name) => {
      const wanted = name ?? current
      if (wanted === undefined) {
        return Effect.fail(new ConfigError({ description: "There are no clusters available. Please logout and login again." }))
      }
      const found = byName.get(wanted)
      return found === undefined
        ? Effect.fail(
          new ConfigError({
            description: `Cluster ${wanted} doesn't exist in the list of available clusters (${
              [...byName.keys()].join(", ") || "none"
            }). Please logout and login again.`
          })
        )
        : Effect.succeed(found)
    }
  })
}

/**
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Parameters<typeof make>[0]): Layer.Layer<Endpoints> => Layer.succeed(Endpoints, make(options))
