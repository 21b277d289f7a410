import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import { baseUrl, jsonResponse, optionalIdentity } from "./http.js"
import type { ClusterSpec, PlatformState, PresetSpec } from "./state.js"

const presetJson = (p: PresetSpec) => ({
  name: p.name,
  credits_per_hour: p.creditsPerHour ?? "0",
  cpu: p.cpu,
  memory: p.memory,
  memory_mb: Math.floor(p.memory / 2 ** 20),
  ...(p.gpu !== undefined ? { gpu: p.gpu } : {}),
  ...(p.gpuModel !== undefined ? { gpu_model: p.gpuModel } : {}),
  ...(p.tpu !== undefined ? { tpu: { type: p.tpu.type, software_version: p.tpu.softwareVersion } } : {}),
  scheduler_enabled: p.schedulerEnabled ?? false,
  preemptible_node: p.preemptibleNode ?? false,
  is_preemptible: p.schedulerEnabled ?? false,
  is_preemptible_node_required: p.preemptibleNode ?? false
})

/** Base path of a cluster's services on LocalPlatform. */
/** @internal */
export const clusterPath = (cluster: string) => `/api/v1/clusters/${encodeURIComponent(cluster)}`

/** @internal */
export const clusterJson = (base: string, c: ClusterSpec) => {
  const prefix = `${base}${clusterPath(c.name)}`
  return {
    name: c.name,
    orgs: c.orgs ?? [null],
    registry_url: `${base}/`,
    storage_url: `${prefix}/storage`,
    // platform-api advertises the auth service's public URL (NP_AUTH_PUBLIC_URL,
    // `https://<host>/api/v1/users`), which is where the users API is served
    users_url: `${base}/api/v1/users`,
    monitoring_url: `${base}/api/v1/jobs`,
    secrets_url: `${prefix}/secrets`,
    disks_url: `${prefix}/disk`,
    buckets_url: `${prefix}/buckets`,
    metrics_url: `${prefix}/metrics`,
    timezone: "UTC",
    energy_schedules: [],
    resource_presets: (c.presets ?? []).map(presetJson)
  }
}

/** @internal */
export const authJson = (base: string, state: PlatformState) => ({
  auth_url: `${base}/oauth/authorize`,
  token_url: `${base}/oauth/token`,
  logout_url: `${base}/oauth/logout`,
  client_id: state.clientId,
  audience: state.audience,
  callback_urls: ["http://127.0.0.1:54540", "http://127.0.0.1:54541", "http://127.0.0.1:54542"],
  headless_callback_url: `${base}/oauth/show-code`,
  success_redirect_url: `${base}/oauth/welcome`
})

/** `GET /api/v1/config`, as platform-api answers it. */
/** @internal */
export const configRoutes = (state: PlatformState) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/api/v1/config",
      Effect.gen(function*() {
        const base = yield* baseUrl
        const identity = yield* optionalIdentity(state)
        const body: Record<string, unknown> = authJson(base, state)
        if (identity === undefined) return jsonResponse({ ...body, authorized: false })
        return jsonResponse({
          ...body,
          authorized: true,
          clusters: state.clusters.map((c) => clusterJson(base, c))
        })
      })
    )
  )
