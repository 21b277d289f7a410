/**
 * Validation of `POST /jobs` bodies with platform-api's rules (its trafaret validators): the
 * nested `container` form sent by `Jobs.run` and the flat form with `?from_preset` sent by
 * `Jobs.start`, preset resolution, defaults, and the URIs of volumes, secrets and disks.
 */
import type { ContainerSpec, Priority, ResourcesSpec, RestartPolicy } from "./jobsStore.js"
import { shlexSplit } from "./jobsShell.js"
import type { ClusterSpec, PresetSpec } from "./state.js"

/** A rejected body: the platform answers 400 with `{"error": message}`. */
/** @internal */
export class Invalid {
  readonly _tag = "Invalid"
  constructor(readonly message: string) {}
}

/** @internal */
export interface JobRequest {
  readonly name: string | undefined
  readonly description: string | undefined
  readonly presetName: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly passConfig: boolean
  readonly waitForJobsQuota: boolean
  readonly privileged: boolean
  readonly priority: Priority
  readonly scheduleTimeout: number | undefined
  readonly maxRunTimeMinutes: number | undefined
  readonly restartPolicy: RestartPolicy
  readonly energyScheduleName: string | undefined
  readonly schedulerEnabled: boolean
  readonly preemptibleNode: boolean
  readonly container: ContainerSpec
}

/** @internal */
export const JOB_NAME = /^[a-z](?:-?[a-z0-9])*$/
const TAG = /^\S*$/

type Obj = Record<string, unknown>

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

const fail = (message: string): never => {
  throw new Invalid(message)
}

const str = (v: unknown, key: string, opts: { readonly blank?: boolean } = {}): string => {
  if (typeof v !== "string") return fail(`${key}: value is not a string`)
  if (opts.blank === false && v === "") return fail(`${key}: blank value is not allowed`)
  return v
}

const bool = (v: unknown, key: string): boolean => {
  if (typeof v !== "boolean") return fail(`${key}: value should be True or False`)
  return v
}

const num = (v: unknown, key: string): number => {
  if (typeof v !== "number" || !Number.isFinite(v)) return fail(`${key}: value can't be converted to float`)
  return v
}

const int = (v: unknown, key: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v)) return fail(`${key}: value is not int`)
  return v
}

const noExtraKeys = (o: Obj, allowed: ReadonlyArray<string>, where: string) => {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where}${k}: ${k} is not allowed key`)
}

const command = (v: unknown, key: string): string => {
  const s = str(v, key)
  if (shlexSplit(s) === undefined) fail(`${key}: invalid command format`)
  return s
}

const checkPath = (path: string, key: string) => {
  if (path.split("/").includes("..")) fail(`${key}: Invalid path: '${path}'`)
}

const mountPath = (v: unknown, key: string): string => {
  const s = str(v, key)
  if (!s.startsWith("/")) fail(`${key}: Mount path must be absolute: '${s}'`)
  checkPath(s, key)
  return "/" + s.split("/").filter((p) => p !== "" && p !== ".").join("/")
}

/** `scheme://cluster/path` checked like platform-api's `create_path_uri_validator`. */
const pathUri = (v: unknown, key: string, scheme: string, cluster: string, minParts: number): string => {
  const s = str(v, key)
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)$/i.exec(s)
  if (m === null) {
    if (s.includes("#")) fail(`${key}: Fragment part is not allowed in URI`)
    if (s.includes("?")) fail(`${key}: Query part is not allowed in URI`)
    return fail(`${key}: Invalid URI scheme: '${s.split(":")[0]}' != '${scheme}'`)
  }
  if (m[1] !== scheme) fail(`${key}: Invalid URI scheme: '${m[1]}' != '${scheme}'`)
  if (m[2] !== cluster) fail(`${key}: Invalid URI cluster: '${m[2]}' != '${cluster}'`)
  let path: string
  try {
    path = decodeURIComponent(m[3]!)
  } catch {
    path = m[3]!
  }
  if (minParts > 0 && path.split("/").filter((p) => p !== "").length + 1 < minParts) {
    fail(`${key}: Invalid URI path: Wrong number of path items`)
  }
  checkPath(path, key)
  return s
}

const uniqueDst = (items: ReadonlyArray<{ readonly dstPath: string }>, key: string) => {
  const seen = new Set<string>()
  for (const i of items) {
    if (seen.has(i.dstPath)) fail(`${key}: destination path '${i.dstPath}' was encountered multiple times`)
    seen.add(i.dstPath)
  }
}

const list = (v: unknown, key: string): ReadonlyArray<unknown> => {
  if (!Array.isArray(v)) return fail(`${key}: value is not a list`)
  return v
}

const resources = (v: unknown, gpuModels: ReadonlyArray<string>): ResourcesSpec => {
  if (!isObj(v)) return fail("container.resources: value is not a dict")
  noExtraKeys(v, ["cpu", "memory", "memory_mb", "shm", "gpu", "gpu_model", "tpu"], "container.resources.")
  if (v["cpu"] === undefined) fail("container.resources.cpu: is required")
  const cpu = num(v["cpu"], "container.resources.cpu")
  if (cpu < 0.1) fail("container.resources.cpu: value is less than 0.1")
  let memory: number
  if (v["memory"] !== undefined) {
    memory = int(v["memory"], "container.resources.memory")
    if (memory < 16 * 2 ** 20) fail(`container.resources.memory: value is less than ${16 * 2 ** 20}`)
  } else if (v["memory_mb"] !== undefined) {
    const mb = int(v["memory_mb"], "container.resources.memory_mb")
    if (mb < 16) fail("container.resources.memory_mb: value is less than 16")
    memory = mb * 2 ** 20
  } else {
    return fail("container.resources: Either memory or memory_mb should be present")
  }
  const out: { -readonly [K in keyof ResourcesSpec]: ResourcesSpec[K] } = { cpu, memory }
  if (v["shm"] !== undefined) out.shm = bool(v["shm"], "container.resources.shm")
  if (v["gpu"] !== undefined) {
    const gpu = int(v["gpu"], "container.resources.gpu")
    if (gpu < 0) fail("container.resources.gpu: value is less than 0")
    out.gpu = gpu
    if (v["gpu_model"] !== undefined && v["gpu_model"] !== null) {
      const model = str(v["gpu_model"], "container.resources.gpu_model")
      if (!gpuModels.includes(model)) fail(`container.resources.gpu_model: value doesn't match any variant`)
      out.gpuModel = model
    }
  } else if (v["gpu_model"] !== undefined) {
    fail("container.resources.gpu_model: gpu_model is not allowed key")
  }
  if (v["tpu"] !== undefined) {
    const t = v["tpu"]
    if (!isObj(t) || typeof t["type"] !== "string" || typeof t["software_version"] !== "string") {
      fail("container.resources.tpu: value is not a dict")
    }
    return fail("container.resources.tpu: TPU is not available on this cluster")
  }
  return out
}

const CONTAINER_KEYS = [
  "image",
  "entrypoint",
  "command",
  "env",
  "resources",
  "http",
  "tty",
  "secret_env",
  "secret_volumes",
  "disk_volumes",
  "working_dir",
  "volumes"
]

const container = (v: Obj, cluster: string, gpuModels: ReadonlyArray<string>, where: string): ContainerSpec => {
  const image = str(v["image"] ?? fail(`${where}image: is required`), `${where}image`)
  const env: Record<string, string> = {}
  if (v["env"] !== undefined) {
    const e = v["env"]
    if (!isObj(e)) fail(`${where}env: value is not a dict`)
    for (const [k, val] of Object.entries(e as Obj)) env[k] = str(val, `${where}env.${k}`)
  }
  let http: ContainerSpec["http"]
  if (v["http"] !== undefined) {
    const h = v["http"]
    if (!isObj(h)) return fail(`${where}http: value is not a dict`)
    noExtraKeys(h, ["port", "health_check_path", "requires_auth"], `${where}http.`)
    const port = int(h["port"] ?? fail(`${where}http.port: is required`), `${where}http.port`)
    if (port < 0 || port > 65535) fail(`${where}http.port: value is out of range`)
    http = {
      port,
      healthCheckPath: h["health_check_path"] === undefined ? "/" : str(h["health_check_path"], `${where}http.health_check_path`),
      requiresAuth: h["requires_auth"] === undefined ? false : bool(h["requires_auth"], `${where}http.requires_auth`)
    }
  }
  const secretEnv: Record<string, string> = {}
  if (v["secret_env"] !== undefined) {
    const e = v["secret_env"]
    if (!isObj(e)) fail(`${where}secret_env: value is not a dict`)
    for (const [k, val] of Object.entries(e as Obj)) secretEnv[k] = pathUri(val, `${where}secret_env.${k}`, "secret", cluster, 3)
  }
  const volumeList = <A extends { readonly dstPath: string }>(key: string, f: (o: Obj, k: string) => A): ReadonlyArray<A> => {
    if (v[key] === undefined) return []
    const items = list(v[key], `${where}${key}`).map((item, i) => {
      const k = `${where}${key}[${i}]`
      if (!isObj(item)) return fail(`${k}: value is not a dict`)
      return f(item, k)
    })
    uniqueDst(items, `${where}${key}`)
    return items
  }
  const volumes = volumeList("volumes", (o, k) => {
    noExtraKeys(o, ["src_storage_uri", "dst_path", "read_only"], `${k}.`)
    return {
      uri: pathUri(o["src_storage_uri"] ?? fail(`${k}.src_storage_uri: is required`), `${k}.src_storage_uri`, "storage", cluster, 0),
      dstPath: mountPath(o["dst_path"] ?? fail(`${k}.dst_path: is required`), `${k}.dst_path`),
      readOnly: o["read_only"] === undefined ? true : bool(o["read_only"], `${k}.read_only`)
    }
  })
  const secretVolumes = volumeList("secret_volumes", (o, k) => {
    noExtraKeys(o, ["src_secret_uri", "dst_path"], `${k}.`)
    return {
      uri: pathUri(o["src_secret_uri"] ?? fail(`${k}.src_secret_uri: is required`), `${k}.src_secret_uri`, "secret", cluster, 3),
      dstPath: mountPath(o["dst_path"] ?? fail(`${k}.dst_path: is required`), `${k}.dst_path`)
    }
  })
  const diskVolumes = volumeList("disk_volumes", (o, k) => {
    noExtraKeys(o, ["src_disk_uri", "dst_path", "read_only"], `${k}.`)
    return {
      uri: pathUri(o["src_disk_uri"] ?? fail(`${k}.src_disk_uri: is required`), `${k}.src_disk_uri`, "disk", cluster, 3),
      dstPath: mountPath(o["dst_path"] ?? fail(`${k}.dst_path: is required`), `${k}.dst_path`),
      readOnly: o["read_only"] === undefined ? true : bool(o["read_only"], `${k}.read_only`)
    }
  })
  let workingDir: string | undefined
  if (v["working_dir"] !== undefined) {
    workingDir = str(v["working_dir"], `${where}working_dir`)
    if (!workingDir.startsWith("/")) fail(`${where}working_dir: does not match pattern /.*`)
  }
  return {
    image,
    ...(v["entrypoint"] !== undefined ? { entrypoint: command(v["entrypoint"], `${where}entrypoint`) } : {}),
    ...(v["command"] !== undefined ? { command: command(v["command"], `${where}command`) } : {}),
    ...(workingDir !== undefined ? { workingDir } : {}),
    env,
    resources: resources(v["resources"] ?? fail(`${where}resources: is required`), gpuModels),
    ...(http !== undefined ? { http } : {}),
    volumes,
    secretVolumes,
    diskVolumes,
    secretEnv,
    tty: v["tty"] === undefined ? false : bool(v["tty"], `${where}tty`)
  }
}

const JOB_KEYS = [
  "name",
  "description",
  "preset_name",
  "tags",
  "pass_config",
  "wait_for_jobs_quota",
  "privileged",
  "priority",
  "schedule_timeout",
  "max_run_time_minutes",
  "cluster_name",
  "org_name",
  "restart_policy",
  "energy_schedule_name",
  "scheduler_enabled",
  "is_preemptible",
  "preemptible_node",
  "is_preemptible_node_required"
]

/** `?from_preset`: resources come from the preset (only `shm` may be given), first preset by default. */
const applyPreset = (payload: Obj, presets: ReadonlyArray<PresetSpec>): PresetSpec => {
  const given = payload["resources"]
  if (isObj(given) && Object.keys(given).some((k) => k !== "shm")) fail("Both preset and resources are not allowed")
  if (presets.length === 0) fail("At least one preset is required to run a job")
  const name = payload["preset_name"]
  const preset = name === undefined || name === null || name === ""
    ? presets[0]!
    : presets.find((p) => p.name === name) ?? fail(`preset_name: Preset was not found`)
  payload["preset_name"] = preset.name
  payload["scheduler_enabled"] = preset.schedulerEnabled ?? false
  payload["preemptible_node"] = preset.preemptibleNode ?? false
  delete payload["is_preemptible"]
  delete payload["is_preemptible_node_required"]
  const shm = isObj(given) && typeof given["shm"] === "boolean" ? given["shm"] : false
  payload["resources"] = {
    cpu: preset.cpu,
    memory: preset.memory,
    shm,
    ...(preset.gpu !== undefined && preset.gpu > 0 ? { gpu: preset.gpu, gpu_model: preset.gpuModel ?? null } : {})
  }
  return preset
}

/**
 * The job request in a `POST /jobs` body (cluster and org already chosen by the caller).
 * Throws `Invalid`.
 */
/** @internal */
export const parseJobRequest = (
  body: Obj,
  options: { readonly fromPreset: boolean; readonly cluster: ClusterSpec; readonly org: string | null }
): JobRequest => {
  const payload: Obj = { ...body }
  const presets = options.cluster.presets ?? []
  const gpuModels = [...new Set(presets.flatMap((p) => (p.gpuModel !== undefined ? [p.gpuModel] : [])))]
  if (options.fromPreset) {
    const preset = applyPreset(payload, presets)
    if (preset.gpuModel !== undefined && !gpuModels.includes(preset.gpuModel)) gpuModels.push(preset.gpuModel)
    noExtraKeys(payload, [...JOB_KEYS, ...CONTAINER_KEYS], "")
  } else {
    noExtraKeys(payload, [...JOB_KEYS, "container"], "")
  }
  let name: string | undefined
  if (payload["name"] !== undefined && payload["name"] !== null) {
    name = str(payload["name"], "name")
    if (name.length < 3) fail("name: String is shorter than 3 characters")
    if (name.length > 40) fail("name: String is longer than 40 characters")
    if (!JOB_NAME.test(name)) fail(`name: does not match pattern ${JOB_NAME.source}`)
  }
  let tags: Array<string> = []
  if (payload["tags"] !== undefined) {
    const t = list(payload["tags"], "tags")
    if (t.length > 16) fail("tags: list length is greater than 16")
    tags = t.map((x, i) => {
      const s = str(x, `tags[${i}]`)
      if (s.length < 1 || s.length > 256 || !TAG.test(s)) fail(`tags[${i}]: does not match pattern ${TAG.source}`)
      return s
    })
  }
  const priorityRaw = payload["priority"] ?? "normal"
  if (priorityRaw !== "low" && priorityRaw !== "normal" && priorityRaw !== "high") {
    fail("priority: value doesn't match any variant")
  }
  let scheduleTimeout: number | undefined
  if (payload["schedule_timeout"] !== undefined) {
    scheduleTimeout = num(payload["schedule_timeout"], "schedule_timeout")
    if (scheduleTimeout < 1 || scheduleTimeout >= 30 * 24 * 3600) fail("schedule_timeout: value is out of range")
  }
  let maxRunTimeMinutes: number | undefined
  if (payload["max_run_time_minutes"] !== undefined) {
    maxRunTimeMinutes = int(payload["max_run_time_minutes"], "max_run_time_minutes")
    if (maxRunTimeMinutes < 1) fail("max_run_time_minutes: value is less than 1")
  }
  const restartRaw = payload["restart_policy"] ?? "never"
  if (restartRaw !== "never" && restartRaw !== "on-failure" && restartRaw !== "always") {
    fail("restart_policy: value doesn't match any variant")
  }
  const first = <A>(keys: ReadonlyArray<string>, f: (v: unknown, k: string) => A, dflt: A): A => {
    for (const k of keys) if (payload[k] !== undefined) return f(payload[k], k)
    return dflt
  }
  const schedulerEnabled = first(["scheduler_enabled", "is_preemptible"], bool, false)
  const preemptibleNode = first(["preemptible_node", "is_preemptible_node_required"], bool, false)
  if (scheduleTimeout !== undefined && schedulerEnabled) fail("schedule_timeout is not allowed for scheduled jobs")
  if (payload["energy_schedule_name"] !== undefined) {
    fail("energy_schedule_name: value doesn't match any variant")
  }
  const c = options.fromPreset
    ? container(payload, options.cluster.name, gpuModels, "")
    : isObj(payload["container"])
    ? (noExtraKeys(payload["container"], CONTAINER_KEYS, "container."),
      container(payload["container"], options.cluster.name, gpuModels, "container."))
    : fail("container: is required")
  return {
    name,
    description: payload["description"] === undefined ? undefined : str(payload["description"], "description"),
    presetName: payload["preset_name"] === undefined ? undefined : str(payload["preset_name"], "preset_name"),
    tags: [...new Set(tags)].sort(),
    passConfig: payload["pass_config"] === undefined ? false : bool(payload["pass_config"], "pass_config"),
    waitForJobsQuota: payload["wait_for_jobs_quota"] === undefined ? false : bool(payload["wait_for_jobs_quota"], "wait_for_jobs_quota"),
    privileged: payload["privileged"] === undefined ? false : bool(payload["privileged"], "privileged"),
    priority: priorityRaw as Priority,
    scheduleTimeout,
    maxRunTimeMinutes,
    restartPolicy: restartRaw as RestartPolicy,
    energyScheduleName: undefined,
    schedulerEnabled,
    preemptibleNode,
    container: c
  }
}
