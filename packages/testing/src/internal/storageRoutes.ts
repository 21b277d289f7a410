/**
 * The storage service (platform-storage-api) on a folder: `<dataDir>/storage/<cluster>/...`.
 * Same paths, `?op=` operations, headers, NDJSON listings and `{"error","errno"}` answers as
 * the real server (protocol/storage.md §3, §8), so neuro-sdk 23.2 can use it unchanged.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { constants, createReadStream, type Stats } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { canonical } from "./acl.js"
import { confinedPath, decodeSegments, safeSegments } from "./confine.js"
import { authenticate, errorResponse, handle, jsonResponse, ownsPath, plainError, reply, Reply, testHook } from "./http.js"
import type { Identity, PlatformState } from "./state.js"

/** Test hook: names a listing of `path` on `cluster` must add (the "bad server" test). */
interface Hostile {
  readonly cluster: string
  readonly path: string
  readonly names: ReadonlyArray<string>
}

const hostileByState = new WeakMap<PlatformState, Array<Hostile>>()

const strerror: Record<string, string> = {
  ENOENT: "No such file or directory",
  EEXIST: "File exists",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  ENOTEMPTY: "Directory not empty",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EBUSY: "Device or resource busy",
  EXDEV: "Invalid cross-device link",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  ELOOP: "Too many levels of symbolic links"
}

const codeOf = (e: unknown): string => (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : "EIO")

const osError = (e: unknown, message?: string) => {
  const code = codeOf(e)
  if (code === "ENOENT") return plainError(404, "Not Found")
  return errorResponse(400, message ?? strerror[code] ?? code, { errno: code })
}

const fail = (response: HttpServerResponse.HttpServerResponse) => reply(response)
const notFound = () => fail(plainError(404, "Not Found"))

const tryFs = <A>(f: () => Promise<A>, message?: (code: string) => string | undefined) =>
  Effect.tryPromise({ try: f, catch: (e) => new Reply(osError(e, message?.(codeOf(e)))) })

const lstatOrUndefined = (p: string) => Effect.promise(() => fsp.lstat(p).catch((): Stats | undefined => undefined))

/** Opening flags that never follow a symlink at the leaf (a job may plant one in its volume). */
const WRITE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW
const WRITE_EXISTING = constants.O_RDWR | constants.O_NOFOLLOW

const withDate = (response: HttpServerResponse.HttpServerResponse) => HttpServerResponse.setHeader(response, "Date", new Date().toUTCString())

interface Target {
  readonly cluster: string
  /** Path from the cluster's storage root: `/alice/data/a.csv`. */
  readonly path: string
  /** Where it lives on disk. */
  readonly local: string
  readonly uri: string
  readonly identity: Identity
}

const typeOf = (st: Stats) => (st.isSymbolicLink() ? "SYMLINK" : st.isDirectory() ? "DIRECTORY" : st.isFile() ? "FILE" : "UNKNOWN")

const statusJson = (name: string, st: Stats, permission: string) => ({
  path: name,
  type: typeOf(st),
  length: st.isDirectory() ? 0 : st.isSymbolicLink() ? 1 : st.size,
  modificationTime: Math.trunc(st.mtimeMs / 1000),
  permission
})

const ndjson = (lines: ReadonlyArray<unknown>, last?: unknown) => {
  const text = lines.map((l) => JSON.stringify(l) + "\r\n").join("") + (last === undefined ? "" : JSON.stringify(last))
  return HttpServerResponse.text(text, { contentType: "application/x-ndjson" })
}

const wantsNdjson = (req: HttpServerRequest.HttpServerRequest) => (req.headers["accept"] ?? "").includes("application/x-ndjson")

/** @internal */
export const storageRoutes = (state: PlatformState) => {
  const root = (cluster: string) => join(state.dataDir, "storage", cluster)
  const homesMade = new Set<string>()

  const ensureHome = (cluster: string, user: string) =>
    Effect.promise(async () => {
      const key = `${cluster}\0${user}`
      if (homesMade.has(key)) return
      const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? [null]
      const owner = user.split("/")[0]!
      for (const org of orgs) await fsp.mkdir(join(root(cluster), ...(org === null ? [] : [org]), owner), { recursive: true })
      homesMade.add(key)
    })

  const level = (t: { readonly identity: Identity; readonly uri: string }) => state.acl.actionOn(t.identity.user, t.uri)

  /**
   * Whether the user may see `uri` at all: some access on it, or on something below it (the auth
   * service's permission tree for it is not `deny`). Grants held through role memberships count,
   * and URIs compare in their canonical (percent-decoded) form.
   */
  const visible = (user: string, cluster: string, uri: string): boolean => {
    if (state.acl.actionOn(user, uri) !== undefined) return true
    const prefix = canonical(uri) + "/"
    const below = (u: string) => canonical(u).startsWith(prefix)
    if (!user.includes("/")) {
      const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? [null]
      for (const org of orgs) if (below(`storage://${cluster}/${org === null ? "" : org + "/"}${user}`)) return true
    }
    for (const role of [user, ...state.acl.memberships(user)]) {
      if ((state.acl.grants.get(role) ?? []).some((g) => below(g.uri))) return true
    }
    return false
  }

  /**
   * platform-storage-api's `_check_user_permissions`: a denied read or write is a bare 404 (the
   * server turns the auth check's 403 into 404 and hides inaccessible paths), never a 403.
   */
  const need = (t: Target, action: "read" | "write" | "manage") =>
    Effect.suspend(() => (state.acl.can(t.identity.user, t.uri, action) ? Effect.void : notFound()))

  /**
   * The file a storage path maps to, confined to the cluster's storage folder: a path that is not
   * a plain descent, or whose existing part a symlink would redirect, is a bare 404.
   */
  const localPath = (cluster: string, segments: ReadonlyArray<string>) =>
    Effect.promise(() => confinedPath(root(cluster), segments)).pipe(
      Effect.flatMap((local) => (local === undefined ? notFound() : Effect.succeed(local)))
    )

  const parseOp = (req: HttpServerRequest.HttpServerRequest, url: URL) => {
    const ops = ["LISTSTATUS", "GETFILESTATUS", "MKDIRS", "CREATE", "WRITE", "OPEN", "DELETE", "RENAME", "GETDISKUSAGE"]
    const found: Array<string> = []
    const op = url.searchParams.get("op")
    if (op !== null) found.push(op.toUpperCase())
    for (const key of url.searchParams.keys()) if (ops.includes(key.toUpperCase())) found.push(key.toUpperCase())
    const unique = [...new Set(found)]
    if (unique.length > 1) return fail(errorResponse(400, `Ambiguous operations: ${unique.join(", ")}`))
    if (unique.length === 1) {
      return ops.includes(unique[0]!) ? Effect.succeed(unique[0]!) : fail(errorResponse(400, `Unknown operation: ${unique[0]}`))
    }
    const byMethod: Record<string, string> = { GET: "OPEN", HEAD: "OPEN", PUT: "CREATE", PATCH: "WRITE", DELETE: "DELETE", POST: "RENAME" }
    const m = byMethod[req.method.toUpperCase()]
    return m === undefined ? fail(plainError(405, "Method Not Allowed")) : Effect.succeed(m)
  }

  // ------------------------------------------------------------------ operations
  const listStatus = (t: Target, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      if (!visible(t.identity.user, t.cluster, t.uri)) return yield* notFound()
      const st = yield* lstatOrUndefined(t.local)
      if (st === undefined) return yield* notFound()
      if (!st.isDirectory()) return yield* fail(errorResponse(400, "Not a directory", { errno: "ENOTDIR" }))
      const names = yield* tryFs(() => fsp.readdir(t.local))
      const entries: Array<Record<string, unknown>> = []
      for (const name of names) {
        const cst = yield* lstatOrUndefined(join(t.local, name))
        if (cst === undefined) continue
        const uri = `${t.uri.replace(/\/$/, "")}/${name}`
        if (!visible(t.identity.user, t.cluster, uri)) continue
        entries.push(statusJson(name, cst, state.acl.actionOn(t.identity.user, uri) ?? "read"))
      }
      for (const h of hostileByState.get(state) ?? []) {
        if (h.cluster !== t.cluster || h.path !== t.path) continue
        for (const name of h.names) {
          entries.push({ path: name, type: "FILE", length: 5, modificationTime: Math.trunc(Date.now() / 1000), permission: "manage" })
        }
      }
      if (wantsNdjson(req)) return withDate(ndjson(entries.map((e) => ({ FileStatus: e }))))
      return withDate(jsonResponse({ FileStatuses: { FileStatus: entries } }))
    })

  const getFileStatus = (t: Target) =>
    Effect.gen(function*() {
      if (!visible(t.identity.user, t.cluster, t.uri)) return yield* notFound()
      const st = yield* lstatOrUndefined(t.local)
      if (st === undefined) return yield* notFound()
      return withDate(jsonResponse({ FileStatus: statusJson(t.path, st, level(t) ?? "read") }))
    })

  const diskUsage = (t: Target) =>
    Effect.gen(function*() {
      yield* need(t, "read")
      if ((yield* lstatOrUndefined(t.local)) === undefined) return yield* notFound()
      const s = yield* tryFs(() => fsp.statfs(t.local))
      const total = s.blocks * s.bsize
      const free = s.bavail * s.bsize
      return withDate(jsonResponse({ total, used: total - s.bfree * s.bsize, free }))
    })

  /** The first existing ancestor that is not a directory, when there is one. */
  const fileAncestor = (t: Target) =>
    Effect.promise(async () => {
      const parts = t.path.split("/").filter((p) => p !== "")
      let cur = root(t.cluster)
      for (let i = 0; i < parts.length - 1; i++) {
        cur = join(cur, parts[i]!)
        const st = await fsp.lstat(cur).catch(() => undefined)
        if (st === undefined) return false
        if (!st.isDirectory()) return true
      }
      return false
    })

  const mkdirs = (t: Target) =>
    Effect.gen(function*() {
      yield* need(t, "write")
      const st = yield* lstatOrUndefined(t.local)
      if (st !== undefined) {
        if (st.isDirectory()) return HttpServerResponse.empty({ status: 201 })
        return yield* fail(errorResponse(400, "File exists", { errno: "EEXIST" }))
      }
      if (yield* fileAncestor(t)) return yield* fail(errorResponse(400, "Predecessor is not a directory", { errno: "ENOTDIR" }))
      yield* tryFs(() => fsp.mkdir(t.local, { recursive: true }))
      return HttpServerResponse.empty({ status: 201 })
    })

  const writeBody = (req: HttpServerRequest.HttpServerRequest, handleP: fsp.FileHandle, start: number, limit: number) =>
    Effect.gen(function*() {
      let pos = start
      let left = limit
      yield* Stream.runForEach(
        Stream.mapError(req.stream, () => new Reply(plainError(400, "Bad Request"))),
        (chunk) =>
          Effect.gen(function*() {
            if (left <= 0) return
            const part = chunk.length > left ? chunk.subarray(0, left) : chunk
            yield* tryFs(() => handleP.write(part, 0, part.length, pos))
            pos += part.length
            left -= part.length
          })
      )
    })

  const create = (t: Target, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(t, "write")
      const st = yield* lstatOrUndefined(t.local)
      if (st?.isDirectory() === true) return yield* fail(errorResponse(400, "Destination is a directory", { errno: "EISDIR" }))
      if (yield* fileAncestor(t)) return yield* fail(errorResponse(400, "Not a directory", { errno: "ENOTDIR" }))
      yield* tryFs(() => fsp.mkdir(join(t.local, ".."), { recursive: true }))
      yield* Effect.acquireUseRelease(
        tryFs(() => fsp.open(t.local, WRITE_NEW)),
        (h) => writeBody(req, h, 0, Number.POSITIVE_INFINITY),
        (h) => Effect.promise(() => h.close())
      )
      return HttpServerResponse.empty({ status: 201 })
    })

  const write = (t: Target, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      for (const h of ["if-match", "if-none-match", "if-range", "if-unmodified-since"]) {
        if (req.headers[h] !== undefined) return yield* fail(errorResponse(400, `Unsupported header ${h}`))
      }
      if (!(req.headers["content-type"] ?? "").startsWith("application/octet-stream")) {
        return yield* fail(errorResponse(400, "Content-Type should be application/octet-stream"))
      }
      const range = req.headers["content-range"]
      if (range === undefined) return yield* fail(errorResponse(400, "Required header Content-Range"))
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim())
      if (m === null || Number(m[2]) < Number(m[1])) return yield* fail(errorResponse(400, `Invalid header Content-Range: ${range}`))
      yield* need(t, "write")
      const st = yield* lstatOrUndefined(t.local)
      if (st === undefined) return yield* notFound()
      if (st.isDirectory()) return yield* fail(errorResponse(400, "Destination is a directory", { errno: "EISDIR" }))
      const start = Number(m[1])
      yield* Effect.acquireUseRelease(
        tryFs(() => fsp.open(t.local, WRITE_EXISTING)),
        (h) => writeBody(req, h, start, Number(m[2]) - start + 1),
        (h) => Effect.promise(() => h.close())
      )
      return HttpServerResponse.empty({ status: 200 })
    })

  const open = (t: Target, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(t, "read")
      const st = yield* lstatOrUndefined(t.local)
      if (st === undefined) return yield* notFound()
      if (st.isDirectory()) return yield* fail(errorResponse(400, "Is a directory", { errno: "EISDIR" }))
      if (!st.isFile()) return yield* notFound()
      const size = st.size
      const headers = {
        "Last-Modified": st.mtime.toUTCString(),
        "X-File-Type": "FILE",
        "X-File-Permission": level(t) ?? "read",
        "X-File-Length": String(size),
        "Accept-Range": "bytes"
      }
      const body = (start: number, end: number) =>
        end < start
          ? Stream.empty
          : NodeStream.fromReadable(() => createReadStream(t.local, { start, end, highWaterMark: 256 * 1024 }), () => "read failed")
      const range = req.headers["range"]
      const head = req.method.toUpperCase() === "HEAD"
      if (range === undefined) {
        return HttpServerResponse.stream(head ? Stream.empty : body(0, size - 1), {
          status: 200,
          headers,
          contentType: "application/octet-stream",
          contentLength: size
        })
      }
      const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim())
      const start = m === null ? Number.NaN : Number(m[1])
      const end = m === null ? Number.NaN : Math.min(m[2] === "" ? size - 1 : Number(m[2]), size - 1)
      if (m === null || !(start < size) || end < start) {
        return HttpServerResponse.empty({ status: 416, headers: { "Content-Range": `bytes */${size}` } })
      }
      return HttpServerResponse.stream(head ? Stream.empty : body(start, end), {
        status: 206,
        headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${size}` },
        contentType: "application/octet-stream",
        contentLength: end - start + 1
      })
    })

  const remove = (t: Target, url: URL, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const raw = url.searchParams.get("recursive")
      const r = raw === null ? "true" : raw.toLowerCase()
      if (!["true", "false", "1", "0"].includes(r)) return yield* fail(errorResponse(400, `Invalid recursive value ${raw}`))
      const recursive = r === "true" || r === "1"
      if (!visible(t.identity.user, t.cluster, t.uri)) return yield* notFound()
      const st = yield* lstatOrUndefined(t.local)
      if (st === undefined) return yield* notFound()
      yield* need(t, "write")
      if (st.isDirectory() && !recursive) return yield* fail(errorResponse(400, "Target is a directory", { errno: "EISDIR" }))
      const lines: Array<{ path: string; is_dir: boolean }> = []
      let failure: { error: string; errno: string } | undefined
      const walk = async (local: string, path: string, isDir: boolean): Promise<void> => {
        if (isDir) {
          for (const e of await fsp.readdir(local, { withFileTypes: true })) {
            await walk(join(local, e.name), `${path}/${e.name}`, e.isDirectory())
          }
          await fsp.rmdir(local)
        } else {
          await fsp.unlink(local)
        }
        lines.push({ path, is_dir: isDir })
      }
      yield* Effect.promise(() =>
        walk(t.local, t.path, st.isDirectory()).catch((e: unknown) => {
          const code = codeOf(e)
          failure = { error: strerror[code] ?? code, errno: code }
        })
      )
      if (!wantsNdjson(req)) {
        if (failure !== undefined) return errorResponse(400, failure.error, { errno: failure.errno })
        return HttpServerResponse.empty({ status: 204 })
      }
      return ndjson(lines, failure)
    })

  const rename = (t: Target, url: URL) =>
    Effect.gen(function*() {
      const destination = url.searchParams.get("destination")
      if (destination === null || destination === "") return yield* fail(errorResponse(400, "No destination"))
      // the query string is decoded already: the destination is a plain path, never decoded again
      const parent = t.path.replace(/\/[^/]*$/, "")
      const full = destination.startsWith("/") ? destination : `${parent}/${destination}`
      const segments = full.split("/").filter((s, i, all) => !(s === "" && (i === 0 || i === all.length - 1)))
      if (!safeSegments(segments)) return yield* fail(errorResponse(400, "Invalid destination"))
      const dstPath = "/" + segments.join("/")
      const dst: Target = { ...t, path: dstPath, local: yield* localPath(t.cluster, segments), uri: `storage://${t.cluster}${dstPath}` }
      if (!visible(t.identity.user, t.cluster, t.uri)) return yield* notFound()
      if ((yield* lstatOrUndefined(t.local)) === undefined) return yield* notFound()
      yield* need(t, "write")
      yield* need(dst, "write")
      yield* tryFs(() => fsp.rename(t.local, dst.local), (code) =>
        code === "EISDIR" ? "Destination is a directory" : code === "ENOTDIR" ? "Destination is not a directory" : undefined)
      return HttpServerResponse.empty({ status: 204 })
    })

  const storage = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://local")
    const m = /^\/api\/v1\/clusters\/([^/]+)\/storage(\/.*)?$/.exec(url.pathname)
    if (m === null) return yield* notFound()
    const cluster = decodeURIComponent(m[1]!)
    if (!state.clusters.some((c) => c.name === cluster)) return yield* notFound()
    const identity = yield* authenticate(state)
    // decoded as a whole before it is split: an encoded `..%2F` is refused, never joined
    const segments = decodeSegments(m[2] ?? "/")
    if (segments === undefined) return yield* notFound()
    const path = "/" + segments.join("/")
    yield* ensureHome(cluster, identity.user)
    const op = yield* parseOp(req, url)
    const local = yield* localPath(cluster, segments)
    const t: Target = { cluster, path, local, uri: `storage://${cluster}${path === "/" ? "" : path}`, identity }
    switch (op) {
      case "LISTSTATUS":
        return yield* listStatus(t, req)
      case "GETFILESTATUS":
        return yield* getFileStatus(t)
      case "GETDISKUSAGE":
        return yield* diskUsage(t)
      case "MKDIRS":
        return yield* mkdirs(t)
      case "CREATE":
        return yield* create(t, req)
      case "WRITE":
        return yield* write(t, req)
      case "OPEN":
        return yield* open(t, req)
      case "DELETE":
        return yield* remove(t, url, req)
      case "RENAME":
        return yield* rename(t, url)
      default:
        return yield* fail(errorResponse(400, `Unknown operation: ${op}`))
    }
  }).pipe(handle)

  /** Test control (not part of the platform API): make listings of a path carry unsafe names. */
  const hostile = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* testHook(state)
    const body = yield* Effect.orElseSucceed(req.json, () => undefined)
    if (typeof body !== "object" || body === null) return yield* fail(errorResponse(400, "expected {cluster, path, names}"))
    const { cluster, path, names } = body as { cluster?: unknown; path?: unknown; names?: unknown }
    if (typeof cluster !== "string" || typeof path !== "string" || !Array.isArray(names)) {
      return yield* fail(errorResponse(400, "expected {cluster, path, names}"))
    }
    if (!ownsPath(state, cluster, identity.user, path)) {
      return yield* fail(errorResponse(403, "Test hooks act on the caller's own folders only"))
    }
    const list = hostileByState.get(state) ?? []
    list.push({ cluster, path, names: names.map(String) })
    hostileByState.set(state, list)
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.all("/api/v1/clusters/:cluster/storage", storage),
    HttpRouter.all("/api/v1/clusters/:cluster/storage/*", storage),
    HttpRouter.post("/_local/storage/hostile", hostile)
  )
}
