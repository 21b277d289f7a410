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
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { Readable } from "node:stream"
import { canonical } from "./acl.js"
import { confinedPath, decodeSegments, safeSegments } from "./confine.js"
import {
  errorResponse,
  handle,
  jsonResponse,
  ownsPath,
  plainError,
  reply,
  Reply,
  requestUrl,
  testHook,
  unauthorized
} from "./http.js"
import { BodyError, pumpBody } from "./requestBody.js"
import type { Identity, PlatformState } from "./state.js"

/*
 * Hot path: a request is one Effect step around plain code. File-system metadata calls (realpath,
 * lstat, mkdir, open, close) are synchronous, as they cost a few microseconds on a local disk where
 * a threadpool round trip costs tens; bodies are written as they arrive (`pumpBody`), small files
 * are read in one piece. Failures inside that code are thrown `Reply`s, turned into answers at the
 * top; anything else thrown is a defect (500), as before.
 */

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

type Answer = HttpServerResponse.HttpServerResponse

const notFound = plainError(404, "Not Found")
const created = HttpServerResponse.empty({ status: 201 })

/** Ends the handler with `response` (caught at the top of the request). */
const refuse = (response: Answer): never => {
  throw new Reply(response)
}

/** A synchronous file-system call; an OS error ends the request with its storage answer. */
const fsCall = <A>(f: () => A, message?: (code: string) => string | undefined): A => {
  try {
    return f()
  } catch (e) {
    return refuse(osError(e, message?.(codeOf(e))))
  }
}

/** `lstat`, or `undefined` when there is nothing there (or it cannot be looked at). */
const lstatOrUndefined = (p: string): fs.Stats | undefined => {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false })
  } catch {
    return undefined
  }
}

/** Opening flags that never follow a symlink at the leaf (a job may plant one in its volume). */
const WRITE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW
const WRITE_EXISTING = fs.constants.O_RDWR | fs.constants.O_NOFOLLOW
const READ = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW

/** Files up to this size are read in one piece and answered as one buffer; larger ones stream. */
const WHOLE_READ_LIMIT = 1024 * 1024

let dateSecond = Number.NaN
let dateText = ""

/** The `Date` header value (RFC 7231), formatted once per second. */
const httpDate = (): string => {
  const second = Math.floor(Date.now() / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

const withDate = (response: Answer) => HttpServerResponse.setHeader(response, "Date", httpDate())

interface Target {
  readonly cluster: string
  /** Path from the cluster's storage root: `/alice/data/a.csv`. */
  readonly path: string
  /** Where it lives on disk. */
  readonly local: string
  readonly uri: string
  readonly identity: Identity
}

const typeOf = (st: fs.Stats) => (st.isSymbolicLink() ? "SYMLINK" : st.isDirectory() ? "DIRECTORY" : st.isFile() ? "FILE" : "UNKNOWN")

const statusJson = (name: string, st: fs.Stats, permission: string) => ({
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

const OPS = ["LISTSTATUS", "GETFILESTATUS", "MKDIRS", "CREATE", "WRITE", "OPEN", "DELETE", "RENAME", "GETDISKUSAGE"]
const OP_BY_METHOD: Record<string, string> = { GET: "OPEN", HEAD: "OPEN", PUT: "CREATE", PATCH: "WRITE", DELETE: "DELETE", POST: "RENAME" }

/** The `?op=` of a request (or the one its method implies); refuses ambiguous and unknown ones. */
const parseOp = (req: HttpServerRequest.HttpServerRequest, url: URL): string => {
  const found: Array<string> = []
  const op = url.searchParams.get("op")
  if (op !== null) found.push(op.toUpperCase())
  for (const key of url.searchParams.keys()) if (OPS.includes(key.toUpperCase())) found.push(key.toUpperCase())
  const unique = [...new Set(found)]
  if (unique.length > 1) return refuse(errorResponse(400, `Ambiguous operations: ${unique.join(", ")}`))
  if (unique.length === 1) return OPS.includes(unique[0]!) ? unique[0]! : refuse(errorResponse(400, `Unknown operation: ${unique[0]}`))
  return OP_BY_METHOD[req.method.toUpperCase()] ?? refuse(plainError(405, "Method Not Allowed"))
}

/**
 * Creates (or truncates) the file at `local` for writing, in the threadpool: creating a file
 * changes its directory and may wait for the file system's journal, which must not stall every
 * other request.
 */
const openNew = (local: string): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.open(local, WRITE_NEW, 0o666, (e, fd) => (e === null ? resolve(fd) : reject(new Reply(osError(e)))))
  )

/** Writes all of `data` at `position`. */
const writeAll = (fd: number, data: Uint8Array, position: number) => {
  let done = 0
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done)
}

/**
 * Writes the request body into the open file `fd` from `start`, at most `limit` bytes (the rest is
 * read and dropped), then closes `fd`. An unreadable body is a 400, a failed write its OS error.
 */
const writeBody = (req: HttpServerRequest.HttpServerRequest, fd: number, start: number, limit: number): Promise<void> => {
  let position = start
  let left = limit
  return pumpBody(req, (chunk) => {
    if (left <= 0) return
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk
    writeAll(fd, part, position)
    position += part.length
    left -= part.length
  }).then(
    () => closeQuietly(fd),
    (e: unknown) => {
      closeQuietly(fd)
      throw new Reply(e instanceof BodyError ? plainError(400, "Bad Request") : osError(e))
    }
  )
}

const closeQuietly = (fd: number) => {
  try {
    fs.closeSync(fd)
  } catch {
    // nothing left to do with it
  }
}

/** Bytes `start..end` (inclusive) of the file at `local`, read in one piece. */
const readWhole = (local: string, start: number, end: number): Uint8Array => {
  const fd = fsCall(() => fs.openSync(local, READ))
  try {
    const buffer = Buffer.allocUnsafe(end - start + 1)
    let done = 0
    while (done < buffer.length) {
      const n = fsCall(() => fs.readSync(fd, buffer, done, buffer.length - done, start + done))
      if (n === 0) break
      done += n
    }
    return done === buffer.length ? buffer : buffer.subarray(0, done)
  } finally {
    closeQuietly(fd)
  }
}

/** Opens the file at `local` for reading (the leaf is not followed) when the stream is first read. */
const readStream = (local: string, start: number, end: number): Readable => {
  let fd: number
  try {
    fd = fs.openSync(local, READ)
  } catch (e) {
    return new Readable({ read() {} }).destroy(e instanceof Error ? e : new Error(String(e)))
  }
  return fs.createReadStream("", { fd, start, end, highWaterMark: 256 * 1024 })
}

/** Bytes `start..end` (inclusive) of the file at `local`, streamed. */
const streamFile = (local: string, start: number, end: number): Stream.Stream<Uint8Array, string> =>
  end < start ? Stream.empty : NodeStream.fromReadable(() => readStream(local, start, end), () => "read failed")

/** @internal */
export const storageRoutes = (state: PlatformState) => {
  const root = (cluster: string) => join(state.dataDir, "storage", cluster)
  const homesMade = new Set<string>()

  const ensureHome = (cluster: string, user: string) => {
    const key = `${cluster}\0${user}`
    if (homesMade.has(key)) return
    const orgs = state.clusters.find((c) => c.name === cluster)?.orgs ?? [null]
    const owner = user.split("/")[0]!
    for (const org of orgs) fs.mkdirSync(join(root(cluster), ...(org === null ? [] : [org]), owner), { recursive: true })
    homesMade.add(key)
  }

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
  const need = (t: Target, action: "read" | "write" | "manage") => {
    if (!state.acl.can(t.identity.user, t.uri, action)) refuse(notFound)
  }

  /**
   * The file a storage path maps to, confined to the cluster's storage folder: a path that is not
   * a plain descent, or whose existing part a symlink would redirect, is a bare 404.
   */
  const localPath = (cluster: string, segments: ReadonlyArray<string>): string =>
    confinedPath(root(cluster), segments) ?? refuse(notFound)

  /** The first existing ancestor that is not a directory, when there is one. */
  const fileAncestor = (t: Target): boolean => {
    const parts = t.path.split("/").filter((p) => p !== "")
    let cur = root(t.cluster)
    for (let i = 0; i < parts.length - 1; i++) {
      cur = join(cur, parts[i]!)
      const st = lstatOrUndefined(cur)
      if (st === undefined) return false
      if (!st.isDirectory()) return true
    }
    return false
  }

  // ------------------------------------------------------------------ metadata operations
  const listStatus = (t: Target, req: HttpServerRequest.HttpServerRequest): Answer => {
    if (!visible(t.identity.user, t.cluster, t.uri)) return notFound
    const st = lstatOrUndefined(t.local)
    if (st === undefined) return notFound
    if (!st.isDirectory()) return errorResponse(400, "Not a directory", { errno: "ENOTDIR" })
    const names = fsCall(() => fs.readdirSync(t.local))
    const entries: Array<Record<string, unknown>> = []
    const base = t.uri.replace(/\/$/, "")
    for (const name of names) {
      const cst = lstatOrUndefined(join(t.local, name))
      if (cst === undefined) continue
      const uri = `${base}/${name}`
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
  }

  const getFileStatus = (t: Target): Answer => {
    if (!visible(t.identity.user, t.cluster, t.uri)) return notFound
    const st = lstatOrUndefined(t.local)
    if (st === undefined) return notFound
    return withDate(jsonResponse({ FileStatus: statusJson(t.path, st, level(t) ?? "read") }))
  }

  const diskUsage = (t: Target): Answer => {
    need(t, "read")
    if (lstatOrUndefined(t.local) === undefined) return notFound
    const s = fsCall(() => fs.statfsSync(t.local))
    const total = s.blocks * s.bsize
    const free = s.bavail * s.bsize
    return withDate(jsonResponse({ total, used: total - s.bfree * s.bsize, free }))
  }

  const mkdirs = (t: Target): Answer => {
    need(t, "write")
    const st = lstatOrUndefined(t.local)
    if (st !== undefined) {
      if (st.isDirectory()) return created
      return errorResponse(400, "File exists", { errno: "EEXIST" })
    }
    if (fileAncestor(t)) return errorResponse(400, "Predecessor is not a directory", { errno: "ENOTDIR" })
    fsCall(() => fs.mkdirSync(t.local, { recursive: true }))
    return created
  }

  // ------------------------------------------------------------------ file contents
  const create = (t: Target, req: HttpServerRequest.HttpServerRequest): Answer | Promise<Answer> => {
    need(t, "write")
    const st = lstatOrUndefined(t.local)
    if (st?.isDirectory() === true) return errorResponse(400, "Destination is a directory", { errno: "EISDIR" })
    const parent = join(t.local, "..")
    // a parent that is a directory has only directories above it (its real path was checked)
    if (lstatOrUndefined(parent)?.isDirectory() !== true) {
      if (fileAncestor(t)) return errorResponse(400, "Not a directory", { errno: "ENOTDIR" })
      fsCall(() => fs.mkdirSync(parent, { recursive: true }))
    }
    return openNew(t.local).then((fd) => writeBody(req, fd, 0, Number.POSITIVE_INFINITY)).then(() => created)
  }

  const write = (t: Target, req: HttpServerRequest.HttpServerRequest): Answer | Promise<Answer> => {
    for (const h of ["if-match", "if-none-match", "if-range", "if-unmodified-since"]) {
      if (req.headers[h] !== undefined) return errorResponse(400, `Unsupported header ${h}`)
    }
    if (!(req.headers["content-type"] ?? "").startsWith("application/octet-stream")) {
      return errorResponse(400, "Content-Type should be application/octet-stream")
    }
    const range = req.headers["content-range"]
    if (range === undefined) return errorResponse(400, "Required header Content-Range")
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim())
    if (m === null || Number(m[2]) < Number(m[1])) return errorResponse(400, `Invalid header Content-Range: ${range}`)
    need(t, "write")
    const st = lstatOrUndefined(t.local)
    if (st === undefined) return notFound
    if (st.isDirectory()) return errorResponse(400, "Destination is a directory", { errno: "EISDIR" })
    const start = Number(m[1])
    const fd = fsCall(() => fs.openSync(t.local, WRITE_EXISTING))
    return writeBody(req, fd, start, Number(m[2]) - start + 1).then(() => HttpServerResponse.empty({ status: 200 }))
  }

  const open = (t: Target, req: HttpServerRequest.HttpServerRequest): Answer => {
    need(t, "read")
    const st = lstatOrUndefined(t.local)
    if (st === undefined) return notFound
    if (st.isDirectory()) return errorResponse(400, "Is a directory", { errno: "EISDIR" })
    if (!st.isFile()) return notFound
    const size = st.size
    const headers = {
      "Last-Modified": st.mtime.toUTCString(),
      "X-File-Type": "FILE",
      "X-File-Permission": level(t) ?? "read",
      "X-File-Length": String(size),
      "Accept-Range": "bytes"
    }
    const range = req.headers["range"]
    if (range === undefined) return fileAnswer(req, t.local, 0, size - 1, { status: 200, headers })
    const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim())
    const start = m === null ? Number.NaN : Number(m[1])
    const end = m === null ? Number.NaN : Math.min(m[2] === "" ? size - 1 : Number(m[2]), size - 1)
    if (m === null || !(start < size) || end < start) {
      return HttpServerResponse.empty({ status: 416, headers: { "Content-Range": `bytes */${size}` } })
    }
    return fileAnswer(req, t.local, start, end, { status: 206, headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${size}` } })
  }

  /**
   * Bytes `start..end` of a file as the answer: read in one piece when small (a GET), streamed
   * otherwise; HEAD sends the same headers and no body.
   */
  const fileAnswer = (
    req: HttpServerRequest.HttpServerRequest,
    local: string,
    start: number,
    end: number,
    options: { readonly status: number; readonly headers: Record<string, string> }
  ): Answer => {
    const length = end - start + 1
    if (req.method.toUpperCase() !== "HEAD" && length > 0 && length <= WHOLE_READ_LIMIT) {
      return HttpServerResponse.uint8Array(readWhole(local, start, end), { ...options, contentType: "application/octet-stream" })
    }
    const head = req.method.toUpperCase() === "HEAD"
    return HttpServerResponse.stream(head ? Stream.empty : streamFile(local, start, end), {
      ...options,
      contentType: "application/octet-stream",
      contentLength: length
    })
  }

  // ------------------------------------------------------------------ tree changes
  const remove = (t: Target, url: URL, req: HttpServerRequest.HttpServerRequest): Answer | Promise<Answer> => {
    const raw = url.searchParams.get("recursive")
    const r = raw === null ? "true" : raw.toLowerCase()
    if (!["true", "false", "1", "0"].includes(r)) return errorResponse(400, `Invalid recursive value ${raw}`)
    const recursive = r === "true" || r === "1"
    if (!visible(t.identity.user, t.cluster, t.uri)) return notFound
    const st = lstatOrUndefined(t.local)
    if (st === undefined) return notFound
    need(t, "write")
    if (st.isDirectory() && !recursive) return errorResponse(400, "Target is a directory", { errno: "EISDIR" })
    const lines: Array<{ path: string; is_dir: boolean }> = []
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
    return walk(t.local, t.path, st.isDirectory()).then(
      () => undefined,
      (e: unknown) => ({ error: strerror[codeOf(e)] ?? codeOf(e), errno: codeOf(e) })
    ).then((failure) => {
      if (!wantsNdjson(req)) {
        if (failure !== undefined) return errorResponse(400, failure.error, { errno: failure.errno })
        return HttpServerResponse.empty({ status: 204 })
      }
      return ndjson(lines, failure)
    })
  }

  const rename = (t: Target, url: URL): Answer => {
    const destination = url.searchParams.get("destination")
    if (destination === null || destination === "") return errorResponse(400, "No destination")
    // the query string is decoded already: the destination is a plain path, never decoded again
    const parent = t.path.replace(/\/[^/]*$/, "")
    const full = destination.startsWith("/") ? destination : `${parent}/${destination}`
    const segments = full.split("/").filter((s, i, all) => !(s === "" && (i === 0 || i === all.length - 1)))
    if (!safeSegments(segments)) return errorResponse(400, "Invalid destination")
    const dstPath = "/" + segments.join("/")
    const dst: Target = { ...t, path: dstPath, local: localPath(t.cluster, segments), uri: `storage://${t.cluster}${dstPath}` }
    if (!visible(t.identity.user, t.cluster, t.uri)) return notFound
    if (lstatOrUndefined(t.local) === undefined) return notFound
    need(t, "write")
    need(dst, "write")
    fsCall(() => fs.renameSync(t.local, dst.local), (code) =>
      code === "EISDIR" ? "Destination is a directory" : code === "ENOTDIR" ? "Destination is not a directory" : undefined)
    return HttpServerResponse.empty({ status: 204 })
  }

  // ------------------------------------------------------------------ dispatch
  /** The request's target and operation; refuses what the checks before any operation refuse. */
  const target = (req: HttpServerRequest.HttpServerRequest, url: URL): { readonly t: Target; readonly op: string } => {
    const m = /^\/api\/v1\/clusters\/([^/]+)\/storage(\/.*)?$/.exec(url.pathname)
    if (m === null) return refuse(notFound)
    const cluster = decodeURIComponent(m[1]!)
    if (!state.clusters.some((c) => c.name === cluster)) return refuse(notFound)
    const identity = state.authenticate(req.headers["authorization"]) ?? refuse(unauthorized)
    // decoded as a whole before it is split: an encoded `..%2F` is refused, never joined
    const segments = decodeSegments(m[2] ?? "/") ?? refuse(notFound)
    const path = "/" + segments.join("/")
    ensureHome(cluster, identity.user)
    const op = parseOp(req, url)
    const local = localPath(cluster, segments)
    return { t: { cluster, path, local, uri: `storage://${cluster}${path === "/" ? "" : path}`, identity }, op }
  }

  const serve = (req: HttpServerRequest.HttpServerRequest): Answer | Promise<Answer> => {
    const url = requestUrl(req)
    const { op, t } = target(req, url)
    switch (op) {
      case "LISTSTATUS":
        return listStatus(t, req)
      case "GETFILESTATUS":
        return getFileStatus(t)
      case "GETDISKUSAGE":
        return diskUsage(t)
      case "MKDIRS":
        return mkdirs(t)
      case "CREATE":
        return create(t, req)
      case "WRITE":
        return write(t, req)
      case "OPEN":
        return open(t, req)
      case "DELETE":
        return remove(t, url, req)
      case "RENAME":
        return rename(t, url)
      default:
        return errorResponse(400, `Unknown operation: ${op}`)
    }
  }

  const answerOf = (e: unknown): Answer => {
    if (e instanceof Reply) return e.response
    throw e
  }

  const storage = Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    let outcome: Answer | Promise<Answer>
    try {
      outcome = serve(req)
    } catch (e) {
      return Effect.succeed(answerOf(e))
    }
    if (!(outcome instanceof Promise)) return Effect.succeed(outcome)
    const pending = outcome
    return Effect.promise(() => pending.catch(answerOf))
  })

  /** Test control (not part of the platform API): make listings of a path carry unsafe names. */
  const hostile = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const identity = yield* testHook(state)
    const body = yield* Effect.orElseSucceed(req.json, () => undefined)
    if (typeof body !== "object" || body === null) return yield* reply(errorResponse(400, "expected {cluster, path, names}"))
    const { cluster, path, names } = body as { cluster?: unknown; path?: unknown; names?: unknown }
    if (typeof cluster !== "string" || typeof path !== "string" || !Array.isArray(names)) {
      return yield* reply(errorResponse(400, "expected {cluster, path, names}"))
    }
    if (!ownsPath(state, cluster, identity.user, path)) {
      return yield* reply(errorResponse(403, "Test hooks act on the caller's own folders only"))
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
