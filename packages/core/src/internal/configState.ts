import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import { CONFIG_VERSION, ConfigData } from "../ConfigData.js"
import { ConfigError } from "../Errors.js"
import type { ServerConfig } from "../ServerConfig.js"

/** A fresh login state from a `/config` answer: first cluster, its first org. */
/** @internal */
export const fromServer = (options: {
  readonly server: ServerConfig
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly expirationTime: number
  readonly refreshToken: Redacted.Redacted<string>
}): ConfigData => {
  const first = options.server.clusters[0]
  return new ConfigData({
    authConfig: options.server.auth,
    token: options.token,
    expirationTime: options.expirationTime,
    refreshToken: options.refreshToken,
    url: options.url,
    ...(options.server.adminUrl !== undefined ? { adminUrl: options.server.adminUrl } : {}),
    version: CONFIG_VERSION,
    ...(first !== undefined ? { clusterName: first.name } : {}),
    orgName: first?.orgs[0] ?? null,
    clusters: options.server.clusters
  })
}

const orgLabel = (org: string | null) => org ?? "NO_ORG"

/** @internal */
export const unknownCluster = (name: string, data: ConfigData, tip: string) =>
  new ConfigError({
    description: `Cluster ${name} doesn't exist in the list of available clusters (${
      data.clusters.map((c) => c.name).join(", ") || "none"
    }). ${tip}`
  })

/** Python's `str` order: by code point (not UTF-16 unit, not locale). */
/** @internal */
export const compareCodePoints = (a: string, b: string): number => {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(j)!
    if (x !== y) return x < y ? -1 : 1
    i += x > 0xffff ? 2 : 1
    j += y > 0xffff ? 2 : 1
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0
}

/**
 * Switch cluster; the current org (`currentOrg`: the `.neuro.toml` pin when there is one, as
 * neuro-sdk's `org_name`) stays when the new cluster has it, else "no org" when allowed, else the
 * first org in Python's sort order (neuro-sdk's rule).
 */
/** @internal */
export const switchCluster = (
  data: ConfigData,
  name: string,
  currentOrg: string | null = data.orgName
): Either.Either<ConfigData, ConfigError> => {
  const cluster = data.clusters.find((c) => c.name === name)
  if (cluster === undefined) return Either.left(unknownCluster(name, data, "Please choose one of them."))
  let org: string | null
  if (cluster.orgs.includes(currentOrg)) org = currentOrg
  else if (cluster.orgs.includes(null)) org = null
  else org = [...cluster.orgs].sort((a, b) => compareCodePoints(a ?? "", b ?? ""))[0] ?? null
  return Either.right(new ConfigData({ ...data, clusterName: name, orgName: org }))
}

/**
 * Switch org within the current cluster (`clusterName`: the `.neuro.toml` pin when there is one,
 * as neuro-sdk's `cluster_name`).
 */
/** @internal */
export const switchOrg = (
  data: ConfigData,
  org: string | null,
  clusterName: string | undefined = data.clusterName
): Either.Either<ConfigData, ConfigError> => {
  const cluster = data.clusters.find((c) => c.name === clusterName)
  if (cluster === undefined) {
    return Either.left(unknownCluster(clusterName ?? "(none)", data, "Please logout and login again."))
  }
  if (!cluster.orgs.includes(org)) {
    return Either.left(
      new ConfigError({
        description: `Org ${orgLabel(org)} doesn't exist in the list of available orgs (${
          cluster.orgs.map(orgLabel).join(", ")
        }) for cluster '${cluster.name}'.`
      })
    )
  }
  return Either.right(new ConfigData({ ...data, orgName: org }))
}
