/**
 * The jobs API of platform-api on LocalPlatform: `POST/GET {api}/jobs`, `GET/DELETE
 * {api}/jobs/{id}`, `PUT {api}/jobs/{id}/max_run_time_minutes`, with the same JSON, status codes
 * (202 on create, 204 on kill, 400 `{"error"}` for bad input and unknown jobs, 403 `{"missing"}`
 * without permission) and NDJSON streaming of listings.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { authenticate, baseUrl, errorResponse, handle, jsonResponse, reply, requestUrl, testHook } from "./http.js"
import { jobDocument, jobText, jsonListing, ndjsonChunks } from "./jobsJson.js"
import { Invalid, JOB_NAME, parseJobRequest } from "./jobsRequest.js"
import {
  baseOwner,
  current,
  isFinished,
  type JobRecord,
  jobsStoreOf,
  type JobsStore,
  jobUri,
  nowMicros,
  type Status,
  STATUSES
} from "./jobsStore.js"
import type { Identity, PlatformState } from "./state.js"

// ---------------------------------------------------------------------------- permissions

/** @internal */
export type JobAction = "read" | "write" | "manage"

/** The job's URI with its name instead of its id (platform-api also accepts shares of that). */
const namedUri = (job: JobRecord) => (job.name === undefined ? undefined : jobUri({ ...job, id: job.name }))

/** @internal */
export const mayAccess = (state: PlatformState, user: string, job: JobRecord, action: JobAction): boolean => {
  if (state.acl.can(user, jobUri(job), action)) return true
  const named = namedUri(job)
  return named !== undefined && state.acl.can(user, named, action)
}

/** @internal */
export const forbidden = (missing: ReadonlyArray<{ readonly uri: string; readonly action: string }>) =>
  HttpServerResponse.unsafeJson({ missing }, { status: 403 })

// ---------------------------------------------------------------------------- list filters

const CLUSTER_NAME = /^[a-z0-9](?:-?[a-z0-9])*$/
const ROLE_NAME = /^[a-z0-9](?:[-/]?[a-z0-9])*$/

const parseBool = (value: string): boolean => {
  const v = value.toLowerCase()
  if (v === "0" || v === "false") return false
  if (v === "1" || v === "true") return true
  throw new Invalid("Required \"0\", \"1\", \"false\" or \"true\"")
}

/** `iso8601.parse_date`: a date-time with an optional offset (none = UTC), in microseconds. */
/** @internal */
export const parseDate = (s: string): number => {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
    s.trim()
  )
  if (m === null) throw new Invalid(`Unable to parse date string '${s}'`)
  const [, y, mo, d, h = "0", mi = "0", sec = "0", frac = "", tz] = m
  let micros = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) * 1000
  micros += Number((frac + "000000").slice(0, 6))
  if (tz !== undefined && tz.toUpperCase() !== "Z") {
    const sign = tz.startsWith("-") ? -1 : 1
    const digits = tz.slice(1).replace(":", "")
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0")
    micros -= sign * offset * 60 * 1_000_000
  }
  if (!Number.isFinite(micros)) throw new Invalid(`Unable to parse date string '${s}'`)
  return micros
}

interface Filter {
  readonly statuses: ReadonlySet<string>
  readonly owners: ReadonlySet<string>
  readonly baseOwners: ReadonlySet<string>
  readonly clusters: ReadonlySet<string>
  readonly orgs: ReadonlySet<string>
  readonly tags: ReadonlySet<string>
  readonly ids: ReadonlySet<string>
  readonly name: string | undefined
  readonly since: number
  readonly until: number
  readonly materialized: boolean | undefined
  readonly beingDropped: boolean | undefined
  readonly logsRemoved: boolean | undefined
}

const parseFilter = (q: URLSearchParams): Filter => {
  const statuses = new Set<string>()
  for (const s of q.getAll("status")) {
    if (!STATUSES.includes(s as Status)) throw new Invalid(`'${s}' is not a valid JobStatus`)
    statuses.add(s)
  }
  const bools: Record<string, boolean | undefined> = {}
  for (const k of ["materialized", "being_dropped", "logs_removed"]) {
    const v = q.get(k)
    if (v !== null) bools[k] = parseBool(v)
  }
  const checkName = (n: string | null): string | undefined => {
    if (n === null) return undefined
    if (n.length < 3 || n.length > 40 || !JOB_NAME.test(n)) throw new Invalid(`name: does not match pattern ${JOB_NAME.source}`)
    return n
  }
  const base = {
    statuses,
    tags: new Set(q.getAll("tag")),
    materialized: bools["materialized"],
    beingDropped: bools["being_dropped"],
    logsRemoved: bools["logs_removed"]
  }
  const hostname = q.get("hostname")
  if (hostname === null) {
    const owners = q.getAll("owner").map((o) => {
      if (o.length < 3 || !ROLE_NAME.test(o)) throw new Invalid(`owner: does not match pattern ${ROLE_NAME.source}`)
      return o
    })
    const names = (key: string, pattern: RegExp) =>
      q.getAll(key).map((c) => {
        if (c.length < 3 || !pattern.test(c)) throw new Invalid(`${key}: does not match pattern ${pattern.source}`)
        return c
      })
    const since = q.get("since")
    const until = q.get("until")
    return {
      ...base,
      owners: new Set(owners),
      baseOwners: new Set(names("base_owner", CLUSTER_NAME)),
      clusters: new Set(names("cluster_name", CLUSTER_NAME)),
      orgs: new Set(names("org_name", CLUSTER_NAME)),
      ids: new Set(),
      name: checkName(q.get("name")),
      since: since ? parseDate(since) : Number.NEGATIVE_INFINITY,
      until: until ? parseDate(until) : Number.POSITIVE_INFINITY
    }
  }
  for (const key of ["name", "owner", "cluster_name", "since", "until"]) {
    if (q.has(key)) throw new Invalid("Invalid request")
  }
  const label = hostname.split(".")[0]!
  const sep = label.lastIndexOf("--")
  const empty = new Set<string>()
  const everything = { owners: empty, clusters: empty, orgs: empty, since: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY }
  if (sep < 0) return { ...base, ...everything, baseOwners: empty, ids: new Set([label]), name: undefined }
  return { ...base, ...everything, baseOwners: new Set([label.slice(sep + 2)]), ids: empty, name: checkName(label.slice(0, sep)) }
}

const matches = (f: Filter, job: JobRecord): boolean => {
  if (f.statuses.size > 0 && !f.statuses.has(current(job).status)) return false
  if (f.owners.size > 0 && !f.owners.has(job.owner)) return false
  if (f.baseOwners.size > 0 && !f.baseOwners.has(baseOwner(job.owner))) return false
  if (f.clusters.size > 0 && !f.clusters.has(job.cluster)) return false
  if (f.orgs.size > 0 && (job.org === null || !f.orgs.has(job.org))) return false
  if (f.name !== undefined && f.name !== job.name) return false
  if (f.ids.size > 0 && !f.ids.has(job.id)) return false
  for (const t of f.tags) if (!job.tags.includes(t)) return false
  const created = job.statuses[0]!.at
  if (created < f.since || created > f.until) return false
  if (f.materialized !== undefined) return f.materialized === job.materialized
  if (f.beingDropped !== undefined) return !f.beingDropped
  if (f.logsRemoved !== undefined) return !f.logsRemoved
  return true
}

// ---------------------------------------------------------------------------- handlers

const invalid = (message: string) => reply(errorResponse(400, message))

const readBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => req.json).pipe(
  Effect.catchAll(() => invalid("Expecting value: line 1 column 1 (char 0)"))
)

const guard = <A>(f: () => A) =>
  Effect.try({ try: f, catch: (e) => e }).pipe(
    Effect.catchAll((e) => (e instanceof Invalid ? invalid(e.message) : Effect.die(e)))
  )

/** platform-api's `_resolve_job`: by id, else by name among the caller's jobs (newest); then the permission check. */
/** @internal */
export const resolveJob = (state: PlatformState, store: JobsStore, identity: Identity, idOrName: string, action: JobAction) =>
  Effect.gen(function*() {
    let job = store.jobs.get(idOrName)
    if (job === undefined) {
      for (let i = store.ordered.length - 1; i >= 0; i--) {
        const j = store.ordered[i]!
        if (j.owner === identity.user && j.name === idOrName) {
          job = j
          break
        }
      }
    }
    if (job === undefined) return yield* invalid(`no such job ${idOrName}`)
    if (!mayAccess(state, identity.user, job, action)) return yield* reply(forbidden([{ uri: jobUri(job), action }]))
    return job
  })

const pythonJson = (o: Record<string, unknown>) =>
  "{" + Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ") + "}"

/** @internal */
export const jobsRoutes = (state: PlatformState) => {
  const store = () => jobsStoreOf(state)

  const create = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const url = new URL(req.url, "http://local")
    const body = yield* readBody
    if (typeof body !== "object" || body === null || Array.isArray(body)) return yield* invalid("value is not a dict")
    const payload = body as Record<string, unknown>
    const firstCluster = state.clusters[0]
    if (firstCluster === undefined) return yield* reply(HttpServerResponse.unsafeJson({ error: "No clusters" }, { status: 403 }))
    const clusterRaw = payload["cluster_name"] ?? firstCluster.name
    if (typeof clusterRaw !== "string") return yield* invalid("cluster_name: value is not a string")
    const defaultCluster = state.clusters.find((c) => c.name === clusterRaw)
    const defaultOrgs = defaultCluster?.orgs ?? [null]
    const defaultOrg = defaultOrgs.includes(null) ? null : defaultOrgs[0] ?? null
    const orgRaw = "org_name" in payload ? payload["org_name"] : defaultOrg
    if (orgRaw !== null && typeof orgRaw !== "string") return yield* invalid("org_name: value is not a string")
    const cluster = defaultCluster
    if (cluster === undefined) {
      return yield* reply(
        HttpServerResponse.unsafeJson({ error: "User is not allowed to submit jobs to the specified cluster" }, { status: 403 })
      )
    }
    const org = orgRaw as string | null
    if (!(cluster.orgs ?? [null]).includes(org)) {
      return yield* reply(
        HttpServerResponse.unsafeJson({
          error: "User is not allowed to submit jobs to the specified cluster as a member of given organization"
        }, { status: 403 })
      )
    }
    const request = yield* guard(() =>
      parseJobRequest({ ...payload, cluster_name: cluster.name, org_name: org }, {
        fromPreset: url.searchParams.has("from_preset"),
        cluster,
        org
      })
    )
    // permissions, as platform-api's infer_permissions_from_container
    const user = identity.user
    const needed: Array<{ uri: string; action: "read" | "write" }> = [
      { uri: `job://${cluster.name}/${org === null ? "" : org + "/"}${user}`, action: "write" }
    ]
    const host = req.headers["host"] ?? ""
    if (host !== "" && request.container.image.startsWith(host + "/")) {
      const path = request.container.image.slice(host.length + 1).replace(/[:@].*$/, "")
      needed.push({ uri: `image://${cluster.name}/${path}`, action: "read" })
    }
    const secretUris = new Set([...Object.values(request.container.secretEnv), ...request.container.secretVolumes.map((v) => v.uri)])
    for (const uri of secretUris) needed.push({ uri, action: "read" })
    for (const v of request.container.volumes) needed.push({ uri: v.uri, action: v.readOnly ? "read" : "write" })
    for (const v of request.container.diskVolumes) needed.push({ uri: v.uri, action: v.readOnly ? "read" : "write" })
    const missing = needed.filter((p) => !state.acl.can(user, p.uri, p.action))
    if (missing.length > 0) return yield* reply(forbidden(missing))

    const jobs = store()
    if (request.name !== undefined && request.name.startsWith("job-")) {
      return yield* invalid("Failed to create job: job name cannot start with 'job-' prefix.")
    }
    const quota = jobs.quotaOf(user)
    if (!request.waitForJobsQuota && quota !== undefined && jobs.activeCount(baseOwner(user), cluster.name) >= quota) {
      return yield* invalid(`Jobs limit quota exceeded for user '${baseOwner(user)}'`)
    }
    const id = jobs.newId()
    let env = request.container.env
    if (request.passConfig) {
      if ("NEURO_PASSED_CONFIG" in env) return yield* invalid("Cannot pass config: ENV 'NEURO_PASSED_CONFIG' already specified")
      const base = yield* baseUrl
      const data = pythonJson({ token: state.issueToken(user), cluster: cluster.name, org_name: org, url: `${base}/api/v1` })
      env = { ...env, NEURO_PASSED_CONFIG: Buffer.from(data).toString("base64") }
    }
    if (request.privileged && !jobs.allowPrivileged) {
      return yield* invalid(`Cluster ${cluster.name} does not allow privileged jobs`)
    }
    if (request.priority !== "normal" && !jobs.allowJobPriority) {
      return yield* invalid(`Cluster ${cluster.name} does not allow specifying job priority`)
    }
    if (request.name !== undefined) {
      const same = jobs.ordered.find((j) => j.owner === user && j.name === request.name && !isFinished(current(j).status))
      if (same !== undefined) {
        return yield* invalid(
          `Failed to create job: job with name '${request.name}' and owner '${user}' already exists: '${same.id}'`
        )
      }
    }
    const presets = cluster.presets ?? []
    const preset = presets.find((p) => p.name === request.presetName)
    const r = request.container.resources
    const fitting = presets.filter((p) =>
      p.cpu >= r.cpu && p.memory >= r.memory && (p.gpu ?? 0) >= (r.gpu ?? 0) &&
      (r.gpuModel === undefined || p.gpuModel === r.gpuModel)
    )
    const price = preset !== undefined
      ? preset.creditsPerHour ?? "0"
      : fitting.length > 0
      ? String(Math.min(...fitting.map((p) => Number(p.creditsPerHour ?? "0"))))
      : String(Math.max(0, ...presets.map((p) => Number(p.creditsPerHour ?? "0"))))
    const job: JobRecord = {
      id,
      owner: user,
      cluster: cluster.name,
      org,
      name: request.name,
      presetName: request.presetName,
      tags: request.tags,
      description: request.description,
      schedulerEnabled: request.schedulerEnabled,
      preemptibleNode: request.preemptibleNode,
      passConfig: request.passConfig,
      privileged: request.privileged,
      priority: request.priority,
      maxRunTimeMinutes: request.maxRunTimeMinutes,
      scheduleTimeout: request.scheduleTimeout,
      restartPolicy: request.restartPolicy,
      energyScheduleName: request.energyScheduleName,
      internalHostname: `${id}.platform-jobs`,
      internalHostnameNamed: request.name === undefined ? undefined : `${request.name}--${baseOwner(user)}.platform-jobs`,
      container: { ...request.container, env },
      registryHost: host === "" ? undefined : host,
      statuses: [{ status: "pending", at: nowMicros(), reason: "Creating", description: null }],
      materialized: false,
      pricePerHour: price,
      managed: true,
      logs: jobs.makeLogBook(id, true),
      process: undefined,
      rendered: undefined
    }
    const response = jobText(job)
    jobs.add(job)
    return HttpServerResponse.text(response, { status: 202, contentType: "application/json" })
  }).pipe(handle)

  const list = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* authenticate(state)
    const q = requestUrl(req).searchParams
    const filter = yield* guard(() => parseFilter(q))
    const reverse = yield* guard(() => parseBool(q.get("reverse") ?? "0"))
    let limit: number | undefined
    if (q.has("limit")) {
      limit = Number(q.get("limit"))
      if (!Number.isInteger(limit)) return yield* invalid(`invalid literal for int() with base 10: '${q.get("limit")}'`)
      if (limit <= 0) return yield* invalid("limit should be > 0")
    }
    const jobs = store()
    const snapshot = jobs.ordered.slice()
    if (reverse) snapshot.reverse()
    const now = nowMicros()
    function* selected() {
      let n = 0
      for (const job of snapshot) {
        if (limit !== undefined && n >= limit) return
        if (!matches(filter, job) || !mayAccess(state, identity.user, job, "read")) continue
        n++
        yield job
      }
    }
    if ((req.headers["accept"] ?? "").includes("application/x-ndjson")) {
      // platform-api prepares the response before reading the jobs: the empty first chunk makes the
      // server send the status and headers at once, as there
      const body = Stream.concat(Stream.succeed(new Uint8Array(0)), Stream.fromIteratorSucceed(ndjsonChunks(selected(), now), 1))
      return HttpServerResponse.stream(body, { status: 200, headers: { "Content-Type": "application/x-ndjson" } })
    }
    // as `jsonResponse({ jobs })`, byte for byte
    return HttpServerResponse.uint8Array(jsonListing(selected(), now), { contentType: "application/json" })
  }).pipe(handle)

  const idOf = Effect.map(HttpRouter.params, (p) => decodeURIComponent(p["id"] ?? ""))

  const get = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    const job = yield* resolveJob(state, store(), identity, yield* idOf, "read")
    return HttpServerResponse.uint8Array(jobDocument(job), { contentType: "application/json" })
  }).pipe(handle)

  const kill = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    const jobs = store()
    const job = yield* resolveJob(state, jobs, identity, yield* idOf, "write")
    jobs.cancel(job, "UserRequested")
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  const bumpLifeSpan = Effect.gen(function*() {
    const identity = yield* authenticate(state)
    const job = yield* resolveJob(state, store(), identity, yield* idOf, "write")
    const body = yield* readBody
    if (typeof body !== "object" || body === null || Array.isArray(body)) return yield* invalid("value is not a dict")
    const o = body as Record<string, unknown>
    for (const k of Object.keys(o)) {
      if (k !== "max_run_time_minutes" && k !== "additional_max_run_time_minutes") return yield* invalid(`${k} is not allowed key`)
    }
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== "number" || !Number.isInteger(v)) return yield* invalid(`${k}: value is not int`)
      if (v < 1) return yield* invalid(`${k}: value is less than 1`)
    }
    const absolute = o["max_run_time_minutes"] as number | undefined
    const additional = o["additional_max_run_time_minutes"] as number | undefined
    if ((absolute === undefined) === (additional === undefined)) {
      return yield* invalid("Exactly one of 'max_run_time_minutes' and 'additional_max_run_time_minutes' allowed")
    }
    job.maxRunTimeMinutes = absolute ?? (job.maxRunTimeMinutes ?? 0) + additional!
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  /**
   * Test control (not part of the platform API): add `count` finished or pending jobs directly to
   * the store, without running anything, for listing tests at scale.
   */
  const seed = Effect.gen(function*() {
    const identity = yield* testHook(state)
    const body = yield* readBody
    const o = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>
    const count = typeof o["count"] === "number" ? o["count"] : 1
    // the caller's own jobs only: seeding into somebody else's list is refused
    const owner = typeof o["owner"] === "string" ? o["owner"] : identity.user
    if (owner !== identity.user) return yield* reply(errorResponse(403, "Test hooks act on the caller's own jobs only"))
    const cluster = typeof o["cluster"] === "string" ? o["cluster"] : state.clusters[0]?.name ?? "default"
    const clusterSpec = state.clusters.find((c) => c.name === cluster)
    if (clusterSpec === undefined) return yield* reply(errorResponse(400, `Unknown cluster ${cluster}`))
    const org = typeof o["org"] === "string" ? o["org"] : null
    if (org !== null && !(clusterSpec.orgs ?? []).includes(org)) return yield* reply(errorResponse(400, `Unknown org ${org}`))
    const status = typeof o["status"] === "string" && STATUSES.includes(o["status"] as Status) ? (o["status"] as Status) : "succeeded"
    const tags = Array.isArray(o["tags"]) ? o["tags"].map(String) : []
    const name = typeof o["name"] === "string" ? o["name"] : undefined
    const start = typeof o["createdAt"] === "string" ? yield* guard(() => parseDate(o["createdAt"] as string)) : nowMicros()
    const step = (typeof o["stepMillis"] === "number" ? o["stepMillis"] : 0.001) * 1000
    const jobs = store()
    const ids: Array<string> = []
    for (let i = 0; i < count; i++) {
      const id = jobs.newId()
      const at = Math.round(start + i * step)
      const statuses: Array<JobRecord["statuses"][number]> = [{ status: "pending", at, reason: "Creating", description: null }]
      if (status !== "pending") {
        statuses.push({
          status,
          at: at + 1,
          reason: status === "failed" ? "Error" : status === "cancelled" ? "UserRequested" : null,
          description: null,
          ...(status === "succeeded" ? { exitCode: 0 } : status === "failed" ? { exitCode: 1 } : {})
        })
      }
      jobs.add({
        id,
        owner,
        cluster,
        org,
        name,
        presetName: "cpu-small",
        tags,
        description: undefined,
        schedulerEnabled: false,
        preemptibleNode: false,
        passConfig: false,
        privileged: false,
        priority: "normal",
        maxRunTimeMinutes: undefined,
        scheduleTimeout: undefined,
        restartPolicy: "never",
        energyScheduleName: undefined,
        internalHostname: `${id}.platform-jobs`,
        internalHostnameNamed: undefined,
        container: {
          image: "ubuntu:latest",
          command: "true",
          env: {},
          resources: { cpu: 1, memory: 2 ** 31, shm: false },
          volumes: [],
          secretVolumes: [],
          diskVolumes: [],
          secretEnv: {},
          tty: false
        },
        statuses,
        materialized: false,
        pricePerHour: "1",
        managed: false,
        logs: jobs.makeLogBook(id, false),
        process: undefined,
        rendered: undefined
      })
      ids.push(id)
    }
    return jsonResponse({ ids }, 201)
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.post("/api/v1/jobs", create),
    HttpRouter.get("/api/v1/jobs", list),
    HttpRouter.get("/api/v1/jobs/:id", get),
    HttpRouter.del("/api/v1/jobs/:id", kill),
    HttpRouter.put("/api/v1/jobs/:id/max_run_time_minutes", bumpLifeSpan),
    HttpRouter.post("/_local/jobs/seed", seed)
  )
}
