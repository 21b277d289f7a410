/**
 * A fixed `Config` for unit tests that run a service over a fake transport: user, clusters,
 * current cluster and org, token; what these tests never read dies if read.
 */
import { Config, Errors, type ServerConfig } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

const unused = Effect.die("not used by these tests")

export const makeConfigStub = (options: {
  readonly apiUrl: string
  readonly clusters: ReadonlyArray<ServerConfig.Cluster>
  readonly username?: string
  readonly orgName?: string | null
  readonly token?: string
}) => {
  const clusters = options.clusters
  return Config.Config.of({
    username: Effect.succeed(options.username ?? "alice"),
    clusters: Effect.succeed(new Map(clusters.map((c) => [c.name, c]))),
    clusterName: Effect.succeed(clusters[0]!.name),
    clusterOrgs: Effect.succeed([null]),
    orgName: Effect.succeed(options.orgName ?? null),
    presets: Effect.succeed(new Map()),
    getCluster: (name) => {
      const found = clusters.find((c) => c.name === name)
      return found === undefined ? Effect.fail(new Errors.ConfigError({ description: `no cluster ${name}` })) : Effect.succeed(found)
    },
    apiUrl: new URL(options.apiUrl),
    adminUrl: Effect.succeed(undefined),
    serviceAccountsUrl: new URL(`${options.apiUrl}/service_accounts`),
    registryUrl: unused,
    storageUrl: unused,
    monitoringUrl: unused,
    secretsUrl: unused,
    diskApiUrl: unused,
    bucketApiUrl: unused,
    token: Effect.succeed(Redacted.make(options.token ?? "token")),
    fetch: unused,
    switchCluster: () => unused,
    switchOrg: () => unused,
    getUserConfig: Effect.succeed({})
  })
}
