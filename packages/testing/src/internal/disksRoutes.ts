/**
 * The disks service (platform-disk-api, Feb 2023) of each cluster, at the cluster's `disks_url`:
 * same paths, bodies, lookups by id or name and status codes (protocol/disks.md §2). A disk is a
 * folder under `<dataDir>/disks/<cluster>/<id>` (`DiskRecord.path`) that jobs can mount; it is
 * ready at once.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { authenticate, errorResponse, handle, jsonResponse, plainError, reply } from "./http.js"
import { jobsStoreOf } from "./jobsStore.js"
import type { DiskRecord, PlatformState } from "./state.js"

const NAME_PATTERN = /^[a-z](?:-?[a-z0-9])*$/

/** ISO-8601 with a `+00:00` offset, as Python's `isoformat()` writes UTC times. */
const iso = (d: Date) => d.toISOString().replace(/Z$/, "+00:00")

/** aiohttp's `HTTPNotFound(text=...)`: the text alone, as `text/plain`. */
const plainError404 = (text: string) => HttpServerResponse.text(text, { status: 404 })

/** The URI permissions of a disk are checked on. */
/** @internal */
export const diskUri = (d: DiskRecord) => `disk://${d.cluster}/${d.org === null ? "" : d.org + "/"}${d.owner}/${d.id}`

const usedBytes = async (dir: string): Promise<number> => {
  let total = 0
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isDirectory()) total += await usedBytes(p)
    else if (e.isFile()) total += (await fsp.lstat(p).catch(() => ({ size: 0 }))).size
  }
  return total
}

const diskJson = (d: DiskRecord) => ({
  id: d.id,
  storage: d.storage,
  owner: d.owner,
  name: d.name ?? null,
  org_name: d.org,
  status: d.status,
  created_at: iso(d.createdAt),
  last_usage: d.lastUsage === undefined ? null : iso(d.lastUsage),
  life_span: d.lifeSpanSeconds ?? null,
  used_bytes: d.usedBytes ?? null
})

/** @internal */
export const disksRoutes = (state: PlatformState) => {
  const clusterOf = (req: HttpServerRequest.HttpServerRequest) => {
    const m = /^\/api\/v1\/clusters\/([^/]+)\/disk(?:\/([^/]*))?\/?$/.exec(new URL(req.url, "http://local").pathname)
    if (m === null) return reply(plainError(404, "Not Found"))
    const cluster = decodeURIComponent(m[1]!)
    if (!state.clusters.some((c) => c.name === cluster)) return reply(plainError(404, "Not Found"))
    return Effect.succeed({ cluster, idOrName: m[2] === undefined ? undefined : decodeURIComponent(m[2]) })
  }

  /**
   * The disk service's cleanup: a disk with a life span that no active job mounts is deleted once
   * the life span has passed since its last use (or its creation). Run before every answer.
   */
  const purgeExpired = Effect.promise(async () => {
    const now = Date.now()
    const jobs = jobsStoreOf(state)
    for (const d of [...state.disks.values()]) {
      if (d.lifeSpanSeconds === undefined) continue
      const since = (d.lastUsage ?? d.createdAt).getTime()
      if (now - since < d.lifeSpanSeconds * 1000 || jobs.mountsDisk(d.id)) continue
      state.disks.delete(d.id)
      await fsp.rm(d.path, { recursive: true, force: true }).catch(() => undefined)
    }
  })

  const missing = (uri: string, action: string) =>
    reply(HttpServerResponse.unsafeJson({ missing: [{ uri, action }] }, { status: 403 }))

  const refresh = (d: DiskRecord) =>
    Effect.promise(async () => {
      d.usedBytes = await usedBytes(d.path)
      return d
    })

  /** By id first, then by name of `owner` (default: the caller). */
  const resolve = (req: HttpServerRequest.HttpServerRequest, cluster: string, idOrName: string, caller: string) => {
    const byId = state.disks.get(idOrName)
    if (byId !== undefined && byId.cluster === cluster) return Effect.succeed(byId)
    const owner = new URL(req.url, "http://local").searchParams.get("owner") ?? caller
    for (const d of state.disks.values()) {
      if (d.cluster === cluster && d.owner === owner && d.name === idOrName) return Effect.succeed(d)
    }
    return reply(plainError404(`Disk ${idOrName} not found`))
  }

  const create = Effect.gen(function*() {
    yield* purgeExpired
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const body = yield* Effect.catchAll(req.json, () => reply(errorResponse(400, "Invalid JSON body")))
    if (typeof body !== "object" || body === null || Array.isArray(body)) return yield* reply(errorResponse(400, "Invalid input type."))
    const { storage, life_span, name, org_name } = body as Record<string, unknown>
    if (typeof storage !== "number" || !Number.isInteger(storage) || storage < 0) {
      return yield* reply(errorResponse(400, "{'storage': ['Not a valid integer or less than 0.']}"))
    }
    if (life_span !== undefined && life_span !== null && (typeof life_span !== "number" || !Number.isFinite(life_span))) {
      return yield* reply(errorResponse(400, "{'life_span': ['Not a valid period of time.']}"))
    }
    if (name !== undefined && name !== null && (typeof name !== "string" || !NAME_PATTERN.test(name) || name.length < 3 || name.length > 40)) {
      return yield* reply(errorResponse(400, "{'name': ['String does not match expected pattern.']}"))
    }
    if (org_name !== undefined && org_name !== null && typeof org_name !== "string") {
      return yield* reply(errorResponse(400, "{'org_name': ['Not a valid string.']}"))
    }
    const org = typeof org_name === "string" && org_name !== "" ? org_name : null
    const home = `disk://${cluster}/${org === null ? "" : org + "/"}${identity.user}`
    if (!state.acl.can(identity.user, home, "write")) return yield* missing(home, "write")
    const diskName = typeof name === "string" ? name : undefined
    if (diskName !== undefined) {
      for (const d of state.disks.values()) {
        if (d.cluster === cluster && d.owner === identity.user && d.name === diskName) {
          return yield* reply(errorResponse(409, `Disk with name ${diskName} already exists for user ${identity.user}`))
        }
      }
    }
    const id = `disk-${randomUUID()}`
    const path = join(state.dataDir, "disks", cluster, id)
    yield* Effect.promise(() => fsp.mkdir(path, { recursive: true }))
    const record: DiskRecord = {
      id,
      owner: identity.user,
      cluster,
      org,
      name: diskName,
      storage,
      usedBytes: 0,
      status: "Ready",
      createdAt: new Date(),
      lastUsage: undefined,
      lifeSpanSeconds: typeof life_span === "number" ? life_span : undefined,
      path
    }
    state.disks.set(id, record)
    return jsonResponse(diskJson(record), 201)
  }).pipe(handle)

  const list = Effect.gen(function*() {
    yield* purgeExpired
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const out: Array<ReturnType<typeof diskJson>> = []
    for (const d of [...state.disks.values()]) {
      if (d.cluster !== cluster || !state.acl.can(identity.user, diskUri(d), "read")) continue
      out.push(diskJson(yield* refresh(d)))
    }
    return jsonResponse(out)
  }).pipe(handle)

  const get = Effect.gen(function*() {
    yield* purgeExpired
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster, idOrName } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const disk = yield* resolve(req, cluster, idOrName ?? "", identity.user)
    if (!state.acl.can(identity.user, diskUri(disk), "read")) return yield* missing(diskUri(disk), "read")
    return jsonResponse(diskJson(yield* refresh(disk)))
  }).pipe(handle)

  const remove = Effect.gen(function*() {
    yield* purgeExpired
    const req = yield* HttpServerRequest.HttpServerRequest
    const { cluster, idOrName } = yield* clusterOf(req)
    const identity = yield* authenticate(state)
    const disk = yield* resolve(req, cluster, idOrName ?? "", identity.user)
    if (!state.acl.can(identity.user, diskUri(disk), "write")) return yield* missing(diskUri(disk), "write")
    state.disks.delete(disk.id)
    yield* Effect.promise(() => fsp.rm(disk.path, { recursive: true, force: true }))
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.post("/api/v1/clusters/:cluster/disk", create),
    HttpRouter.get("/api/v1/clusters/:cluster/disk", list),
    HttpRouter.get("/api/v1/clusters/:cluster/disk/*", get),
    HttpRouter.del("/api/v1/clusters/:cluster/disk/*", remove)
  )
}
