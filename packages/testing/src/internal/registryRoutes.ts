/**
 * The platform registry (platform-registry-api in front of a Docker Distribution registry) on
 * `<dataDir>/registry`: a Docker Registry HTTP API v2 subset under `/v2` — version check,
 * catalog and tag listings with `n`/`last` pagination and `Link` headers, manifests (GET, HEAD,
 * PUT, DELETE by tag or digest, `Docker-Content-Digest`), blobs (HEAD, GET, DELETE) and the blob
 * upload flow (POST, PATCH, PUT `?digest=`, cross-repository mount) — enough for the Docker Engine
 * to push and pull, and for neuro-sdk's `client.images`.
 *
 * Auth is that of the real front: HTTP Basic whose password is a platform token (the user name is
 * ignored); no credentials → 401 `WWW-Authenticate: Basic realm="Docker Registry"`; a malformed
 * `Authorization` → 400. Repositories are `[org/]owner/name` and are checked against the ACL as
 * `image://{cluster}/{repo}`: `read` for GET/HEAD, `write` otherwise (plus `read` on the source of
 * a mount). The catalog lists only readable repositories. Every cluster's `registry_url` is this
 * one registry; it belongs to the first cluster.
 *
 * Storage: the layout of `registryStorage.ts` (blobs by digest, repositories linking them).
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { dirname, join } from "node:path"
import { baseUrl, handle, plainError, reply, Reply } from "./http.js"
import * as storage from "./registryStorage.js"
import { DIGEST_RE, DOCKER_LIST, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, REPO_RE, TAG_RE } from "./registryStorage.js"
import type { Identity, PlatformState } from "./state.js"

const MAX_MANIFEST = 4 * 1024 * 1024

const COMMON_HEADERS = {
  "Docker-Distribution-API-Version": "registry/2.0",
  "X-Service-Version": "platform-registry-api/local"
}

/** platform-registry-api `RepoURL._path_re` (greedy repo). */
const REPO_PATH_RE = /^\/v2\/(.+)\/((tags|manifests|blobs)\/.*)$/

interface Uploads {
  readonly byId: Map<string, { readonly repo: string }>
}

const uploadsByState = new WeakMap<PlatformState, Uploads>()

const withCommon = (response: HttpServerResponse.HttpServerResponse, headers: Record<string, string> = {}) =>
  HttpServerResponse.setHeaders(response, { ...COMMON_HEADERS, ...headers })

const registryError = (status: number, code: string, message: string, detail: unknown = {}) =>
  withCommon(
    HttpServerResponse.unsafeJson({ errors: [{ code, message, detail }] }, { status, contentType: "application/json; charset=utf-8" })
  )

const fail = (response: HttpServerResponse.HttpServerResponse) => reply(response)

const nameUnknown = (repo: string) => fail(registryError(404, "NAME_UNKNOWN", "repository name not known to registry", { name: repo }))
const manifestUnknown = (reference: string, message = "manifest unknown") =>
  fail(registryError(404, "MANIFEST_UNKNOWN", message, { Tag: reference }))
const blobUnknown = (digest: string) => fail(registryError(404, "BLOB_UNKNOWN", "blob unknown to registry", digest))
const uploadUnknown = () => fail(registryError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"))
const digestInvalid = (detail: string) => fail(registryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", detail))
const unsupported = () => fail(registryError(405, "UNSUPPORTED", "The operation is unsupported."))

const unauthorized = () =>
  fail(withCommon(plainError(401, "Unauthorized"), { "WWW-Authenticate": `Basic realm="Docker Registry"` }))

const exists = (p: string) => Effect.promise(() => storage.exists(p))
const readText = (p: string) => Effect.promise(() => storage.readText(p))
const io = <A>(f: () => Promise<A>) => Effect.promise(f)

const writeAtomic = (path: string, data: string | Uint8Array) =>
  io(async () => {
    await fsp.mkdir(dirname(path), { recursive: true })
    const tmp = `${path}.${randomUUID()}.tmp`
    await fsp.writeFile(tmp, data)
    await fsp.rename(tmp, path)
  })

const sha256File = (path: string) => io(() => storage.sha256OfFile(path))

/** Media types a client accepts (all `Accept` headers, parameters dropped). */
const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

const accepted = (req: HttpServerRequest.HttpServerRequest): Set<string> =>
  new Set((req.headers["accept"] ?? "").split(",").map((s) => s.split(";")[0]!.trim().toLowerCase()).filter((s) => s !== ""))

/** @internal */
export const registryRoutes = (state: PlatformState) => {
  const paths = storage.registryPaths(storage.registryRoot(state.dataDir))
  const { blobPath, layerLink, repoDir, revisionPath, root, tagsDir, uploadPath } = paths
  const uploads = (): Uploads => {
    let u = uploadsByState.get(state)
    if (u === undefined) {
      u = { byId: new Map() }
      uploadsByState.set(state, u)
    }
    return u
  }
  const cluster = () => state.clusters[0]?.name ?? "default"
  const imageUri = (repo: string) => `image://${cluster()}/${repo}`

  /** platform-registry-api's Basic auth: the password is the token, the user name is ignored. */
  const authenticate = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const header = req.headers["authorization"]
    if (header === undefined || header.trim() === "") return yield* unauthorized()
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
    if (m === null) return yield* fail(withCommon(plainError(400, "Bad Request")))
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8")
    if (!decoded.includes(":")) return yield* fail(withCommon(plainError(400, "Bad Request")))
    const identity = state.authenticate(header)
    if (identity === undefined) return yield* unauthorized()
    return identity
  })

  const need = (identity: Identity, repo: string, action: "read" | "write") =>
    state.acl.can(identity.user, imageUri(repo), action) ? Effect.void : fail(withCommon(plainError(403, "Forbidden")))

  // -------------------------------------------------------------------------------------------
  // repositories
  // -------------------------------------------------------------------------------------------

  /** Every repository (a folder with `_manifests`), sorted. */
  const allRepos = io(async () => {
    const out: Array<string> = []
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])
      for (const e of entries) {
        if (!e.isDirectory()) continue
        if (e.name === "_manifests" && prefix !== "") out.push(prefix)
        if (e.name.startsWith("_")) continue
        await walk(join(dir, e.name), prefix === "" ? e.name : `${prefix}/${e.name}`)
      }
    }
    await walk(join(root, "repositories"), "")
    return out.sort()
  })

  const tagsOf = (repo: string) =>
    io(() => fsp.readdir(tagsDir(repo)).then((names) => names.filter((n) => !n.endsWith(".tmp")).sort(), () => undefined))

  const pageSize = (url: URL, fallback: number | undefined) =>
    Effect.gen(function*() {
      const raw = url.searchParams.get("n")
      if (raw === null || raw === "") return fallback
      const n = Number(raw)
      if (!Number.isInteger(n) || n <= 0) {
        return yield* fail(registryError(400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", { n: raw }))
      }
      return n
    })

  const page = (items: ReadonlyArray<string>, url: URL, n: number | undefined) => {
    const last = url.searchParams.get("last")
    const rest = last === null || last === "" ? items : items.filter((i) => i > last)
    if (n === undefined || rest.length <= n) return { items: rest, next: undefined }
    const shown = rest.slice(0, n)
    return { items: shown, next: shown[shown.length - 1]! }
  }

  const linkHeader = (base: string, path: string, n: number, last: string): Record<string, string> => ({
    Link: `<${base}${path}?${new URLSearchParams({ n: String(n), last }).toString()}>; rel="next"`
  })

  const catalog = (identity: Identity, url: URL) =>
    Effect.gen(function*() {
      const n = (yield* pageSize(url, 100))!
      const readable = (yield* allRepos).filter((r) => state.acl.can(identity.user, imageUri(r), "read"))
      const p = page(readable, url, n)
      const base = yield* baseUrl
      return withCommon(
        HttpServerResponse.unsafeJson({ repositories: p.items }),
        p.next === undefined ? {} : linkHeader(base, "/v2/_catalog", n, p.next)
      )
    })

  const tagsList = (identity: Identity, repo: string, url: URL) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "read")
      const all = yield* tagsOf(repo)
      if (all === undefined) return yield* nameUnknown(repo)
      const n = yield* pageSize(url, undefined)
      const p = page(all, url, n)
      const base = yield* baseUrl
      return withCommon(
        HttpServerResponse.unsafeJson({ name: repo, tags: p.items }),
        p.next === undefined || n === undefined ? {} : linkHeader(base, `/v2/${repo}/tags/list`, n, p.next)
      )
    })

  // -------------------------------------------------------------------------------------------
  // manifests
  // -------------------------------------------------------------------------------------------

  /** The digest hex a reference (tag or digest) points at in `repo`, if any. */
  const resolve = (repo: string, reference: string) => io(() => storage.resolveReference(paths, repo, reference))

  const manifestResponse = (hex: string, mediaType: string, head: boolean) =>
    Effect.gen(function*() {
      const bytes = yield* io(() => fsp.readFile(blobPath(hex)))
      const headers = { "Docker-Content-Digest": `sha256:${hex}`, Etag: `"sha256:${hex}"` }
      return withCommon(
        HttpServerResponse.stream(head ? Stream.empty : Stream.succeed(new Uint8Array(bytes)), {
          status: 200,
          contentType: mediaType,
          contentLength: bytes.length
        }),
        headers
      )
    })

  /** The linux/amd64 entry of a manifest list, as Distribution picks for clients without list support. */
  const defaultPlatform = (hex: string) =>
    io(() => fsp.readFile(blobPath(hex), "utf8").then((t): unknown => JSON.parse(t), () => undefined).then(storage.amd64Entry))

  const getManifest = (identity: Identity, repo: string, reference: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "read")
      if (!(yield* exists(repoDir(repo)))) return yield* nameUnknown(repo)
      const hex = yield* resolve(repo, reference)
      if (hex === undefined) return yield* manifestUnknown(reference)
      const mediaType = yield* io(() => storage.manifestMediaType(paths, repo, hex))
      const supports = accepted(req)
      const head = req.method.toUpperCase() === "HEAD"
      if (mediaType === OCI_MANIFEST && !supports.has(OCI_MANIFEST)) {
        return yield* manifestUnknown(reference, "OCI manifest found, but accept header does not support OCI manifests")
      }
      if (mediaType === OCI_INDEX && !supports.has(OCI_INDEX)) {
        return yield* manifestUnknown(reference, "OCI index found, but accept header does not support OCI indexes")
      }
      if (mediaType === DOCKER_LIST && !supports.has(DOCKER_LIST) && !DIGEST_RE.test(reference)) {
        const chosen = yield* defaultPlatform(hex)
        if (chosen === undefined || !(yield* exists(revisionPath(repo, chosen)))) return yield* manifestUnknown(reference)
        const chosenType = yield* io(() => storage.manifestMediaType(paths, repo, chosen))
        return yield* manifestResponse(chosen, chosenType, head)
      }
      return yield* manifestResponse(hex, mediaType, head)
    })

  const references = (doc: Record<string, unknown>, mediaType: string): Array<{ readonly digest: unknown; readonly kind: "blob" | "manifest" }> => {
    if (mediaType === DOCKER_LIST || mediaType === OCI_INDEX) {
      const list = Array.isArray(doc["manifests"]) ? (doc["manifests"] as ReadonlyArray<unknown>) : undefined
      return list === undefined ? [{ digest: undefined, kind: "manifest" }] : list.map((m) => ({
        digest: typeof m === "object" && m !== null ? (m as { digest?: unknown }).digest : undefined,
        kind: "manifest" as const
      }))
    }
    const config = doc["config"]
    const layers = Array.isArray(doc["layers"]) ? (doc["layers"] as ReadonlyArray<unknown>) : undefined
    if (typeof config !== "object" || config === null || layers === undefined) return [{ digest: undefined, kind: "blob" }]
    const out: Array<{ readonly digest: unknown; readonly kind: "blob" | "manifest" }> = [
      { digest: (config as { digest?: unknown }).digest, kind: "blob" }
    ]
    for (const l of layers) {
      if (typeof l !== "object" || l === null) {
        out.push({ digest: undefined, kind: "blob" })
        continue
      }
      // foreign layers (with `urls`) are not stored in the registry
      if (Array.isArray((l as { urls?: unknown }).urls)) continue
      out.push({ digest: (l as { digest?: unknown }).digest, kind: "blob" })
    }
    return out
  }

  const putManifest = (identity: Identity, repo: string, reference: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "write")
      const referenceDigest = DIGEST_RE.exec(reference)
      if (referenceDigest === null && !TAG_RE.test(reference)) {
        return yield* fail(registryError(400, "TAG_INVALID", "manifest tag did not match URI", { Tag: reference }))
      }
      const bytes = new Uint8Array(yield* Effect.orElseSucceed(req.arrayBuffer, () => new ArrayBuffer(0)))
      const invalid = (detail: string) => fail(registryError(400, "MANIFEST_INVALID", "manifest invalid", detail))
      if (bytes.length === 0 || bytes.length > MAX_MANIFEST) return yield* invalid("empty or too large manifest")
      let doc: unknown
      try {
        doc = JSON.parse(new TextDecoder().decode(bytes))
      } catch {
        return yield* invalid("the manifest is not JSON")
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return yield* invalid("the manifest is not a JSON object")
      const record = doc as Record<string, unknown>
      const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
      const declared = typeof record["mediaType"] === "string" ? record["mediaType"] : undefined
      const mediaType = MANIFEST_TYPES.has(contentType) ? contentType : declared ?? ""
      if (!MANIFEST_TYPES.has(mediaType)) return yield* invalid(`unsupported manifest media type "${mediaType || contentType}"`)
      if (record["schemaVersion"] !== 2) return yield* invalid("schemaVersion must be 2")
      if (declared !== undefined && declared !== mediaType) return yield* invalid("mediaType does not match the Content-Type")
      for (const ref of references(record, mediaType)) {
        const m = typeof ref.digest === "string" ? DIGEST_RE.exec(ref.digest) : null
        if (m === null) return yield* invalid("a referenced digest is missing or invalid")
        const found = ref.kind === "blob" ? yield* exists(layerLink(repo, m[1]!)) : yield* exists(revisionPath(repo, m[1]!))
        if (!found) {
          return yield* fail(registryError(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", `sha256:${m[1]}`))
        }
      }
      const hex = createHash("sha256").update(bytes).digest("hex")
      if (referenceDigest !== null && referenceDigest[1] !== hex) return yield* digestInvalid(`sha256:${hex}`)
      if (!(yield* exists(blobPath(hex)))) yield* writeAtomic(blobPath(hex), bytes)
      yield* writeAtomic(revisionPath(repo, hex), mediaType)
      if (referenceDigest === null) yield* writeAtomic(join(tagsDir(repo), reference), `sha256:${hex}`)
      else yield* io(() => fsp.mkdir(tagsDir(repo), { recursive: true }))
      const base = yield* baseUrl
      return withCommon(HttpServerResponse.empty({ status: 201 }), {
        Location: `${base}/v2/${repo}/manifests/sha256:${hex}`,
        "Docker-Content-Digest": `sha256:${hex}`,
        "Content-Length": "0"
      })
    })

  const deleteManifest = (identity: Identity, repo: string, reference: string) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "write")
      const d = DIGEST_RE.exec(reference)
      if (d === null) return yield* unsupported()
      if (!(yield* exists(repoDir(repo)))) return yield* nameUnknown(repo)
      if (!(yield* exists(revisionPath(repo, d[1]!)))) return yield* manifestUnknown(reference)
      yield* io(() => fsp.rm(revisionPath(repo, d[1]!), { force: true }))
      for (const tag of (yield* tagsOf(repo)) ?? []) {
        const target = (yield* readText(join(tagsDir(repo), tag)))?.trim()
        if (target === reference) yield* io(() => fsp.rm(join(tagsDir(repo), tag), { force: true }))
      }
      return withCommon(HttpServerResponse.empty({ status: 202 }), { "Content-Length": "0" })
    })

  // -------------------------------------------------------------------------------------------
  // blobs
  // -------------------------------------------------------------------------------------------

  const blobLocation = (base: string, repo: string, hex: string) => ({
    Location: `${base}/v2/${repo}/blobs/sha256:${hex}`,
    "Docker-Content-Digest": `sha256:${hex}`,
    "Content-Length": "0"
  })

  const getBlob = (identity: Identity, repo: string, digest: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "read")
      const d = DIGEST_RE.exec(digest)
      if (d === null) return yield* fail(registryError(400, "DIGEST_INVALID", "provided digest is invalid", digest))
      const hex = d[1]!
      if (!(yield* exists(layerLink(repo, hex)))) return yield* blobUnknown(digest)
      const st = yield* io(() => fsp.stat(blobPath(hex)).catch(() => undefined))
      if (st === undefined) return yield* blobUnknown(digest)
      const size = st.size
      const head = req.method.toUpperCase() === "HEAD"
      const headers = { "Docker-Content-Digest": digest, Etag: `"${digest}"`, "Accept-Ranges": "bytes" }
      const body = (start: number, end: number) =>
        head || end < start
          ? Stream.empty
          : NodeStream.fromReadable(() => createReadStream(blobPath(hex), { start, end, highWaterMark: 256 * 1024 }), () => "read failed")
      const range = req.headers["range"]
      const m = range === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(range.trim())
      if (m !== null) {
        const start = Number(m[1])
        const end = Math.min(m[2] === "" ? size - 1 : Number(m[2]), size - 1)
        if (start >= size || end < start) {
          return withCommon(HttpServerResponse.empty({ status: 416 }), { "Content-Range": `bytes */${size}` })
        }
        return withCommon(
          HttpServerResponse.stream(body(start, end), {
            status: 206,
            contentType: "application/octet-stream",
            contentLength: end - start + 1
          }),
          { ...headers, "Content-Range": `bytes ${start}-${end}/${size}` }
        )
      }
      return withCommon(
        HttpServerResponse.stream(body(0, size - 1), { status: 200, contentType: "application/octet-stream", contentLength: size }),
        headers
      )
    })

  const deleteBlob = (identity: Identity, repo: string, digest: string) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "write")
      const d = DIGEST_RE.exec(digest)
      if (d === null) return yield* fail(registryError(400, "DIGEST_INVALID", "provided digest is invalid", digest))
      if (!(yield* exists(layerLink(repo, d[1]!)))) return yield* blobUnknown(digest)
      yield* io(() => fsp.rm(layerLink(repo, d[1]!), { force: true }))
      return withCommon(HttpServerResponse.empty({ status: 202 }), { "Content-Length": "0" })
    })

  /** Append the request body to an upload file; the new size. */
  const appendBody = (req: HttpServerRequest.HttpServerRequest, path: string) =>
    Effect.acquireUseRelease(
      io(() => fsp.open(path, "a")),
      (h) =>
        Stream.runForEach(
          Stream.mapError(req.stream, () => new Reply(withCommon(plainError(400, "Bad Request")))),
          (chunk) => io(() => h.write(chunk))
        ),
      (h) => io(() => h.close())
    ).pipe(Effect.zipRight(io(() => fsp.stat(path).then((s) => s.size))))

  /** Move a finished upload into the blob store and link it into `repo`, after checking the digest. */
  const commitUpload = (repo: string, path: string, digest: string | null) =>
    Effect.gen(function*() {
      const d = digest === null ? null : DIGEST_RE.exec(digest)
      if (d === null) {
        yield* io(() => fsp.rm(path, { force: true }))
        return yield* fail(registryError(400, "DIGEST_INVALID", "provided digest is invalid", digest ?? ""))
      }
      const actual = yield* sha256File(path)
      if (actual !== d[1]) {
        yield* io(() => fsp.rm(path, { force: true }))
        return yield* digestInvalid(digest!)
      }
      yield* io(async () => {
        await fsp.mkdir(dirname(blobPath(actual)), { recursive: true })
        await fsp.rename(path, blobPath(actual))
      })
      yield* writeAtomic(layerLink(repo, actual), "")
      return actual
    })

  const uploadHeaders = (base: string, repo: string, id: string, size: number) => ({
    Location: `${base}/v2/${repo}/blobs/uploads/${id}`,
    "Docker-Upload-UUID": id,
    Range: `0-${Math.max(0, size - 1)}`,
    "Content-Length": "0"
  })

  const startUpload = (identity: Identity, repo: string, url: URL, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      yield* need(identity, repo, "write")
      const from = url.searchParams.get("from")
      const mount = url.searchParams.get("mount")
      const base = yield* baseUrl
      if (from !== null && from !== "") {
        if (!REPO_RE.test(from)) return yield* fail(registryError(400, "NAME_INVALID", "invalid repository name", { name: from }))
        yield* need(identity, from, "read")
        const m = mount === null ? null : DIGEST_RE.exec(mount)
        if (m !== null && (yield* exists(layerLink(from, m[1]!)))) {
          yield* writeAtomic(layerLink(repo, m[1]!), "")
          return withCommon(HttpServerResponse.empty({ status: 201 }), blobLocation(base, repo, m[1]!))
        }
      }
      const id = randomUUID()
      const path = uploadPath(id)
      yield* io(async () => {
        await fsp.mkdir(dirname(path), { recursive: true })
        await fsp.writeFile(path, new Uint8Array(0))
      })
      const digest = url.searchParams.get("digest")
      if (digest !== null) {
        yield* appendBody(req, path)
        const hex = yield* commitUpload(repo, path, digest)
        return withCommon(HttpServerResponse.empty({ status: 201 }), blobLocation(base, repo, hex))
      }
      uploads().byId.set(id, { repo })
      return withCommon(HttpServerResponse.empty({ status: 202 }), uploadHeaders(base, repo, id, 0))
    })

  const continueUpload = (
    identity: Identity,
    repo: string,
    id: string,
    url: URL,
    req: HttpServerRequest.HttpServerRequest
  ) =>
    Effect.gen(function*() {
      const method = req.method.toUpperCase()
      yield* need(identity, repo, method === "GET" ? "read" : "write")
      const upload = uploads().byId.get(id)
      const path = uploadPath(id)
      if (upload === undefined || upload.repo !== repo || !(yield* exists(path))) return yield* uploadUnknown()
      const base = yield* baseUrl
      const size = yield* io(() => fsp.stat(path).then((s) => s.size))
      switch (method) {
        case "GET":
          return withCommon(HttpServerResponse.empty({ status: 204 }), uploadHeaders(base, repo, id, size))
        case "DELETE":
          uploads().byId.delete(id)
          yield* io(() => fsp.rm(path, { force: true }))
          return withCommon(HttpServerResponse.empty({ status: 204 }), { "Content-Length": "0" })
        case "PATCH": {
          const range = req.headers["content-range"]
          if (range !== undefined) {
            const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(range.trim())
            if (m === null || Number(m[1]) !== size) {
              return withCommon(HttpServerResponse.empty({ status: 416 }), uploadHeaders(base, repo, id, size))
            }
          }
          const newSize = yield* appendBody(req, path)
          return withCommon(HttpServerResponse.empty({ status: 202 }), uploadHeaders(base, repo, id, newSize))
        }
        case "PUT": {
          yield* appendBody(req, path)
          uploads().byId.delete(id)
          const hex = yield* commitUpload(repo, path, url.searchParams.get("digest"))
          return withCommon(HttpServerResponse.empty({ status: 201 }), blobLocation(base, repo, hex))
        }
        default:
          return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      }
    })

  // -------------------------------------------------------------------------------------------
  // dispatch
  // -------------------------------------------------------------------------------------------

  const registry = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://local")
    const method = req.method.toUpperCase()
    const path = url.pathname
    const identity = yield* authenticate
    if (path === "/v2" || path === "/v2/") {
      if (method !== "GET" && method !== "HEAD") return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      return withCommon(HttpServerResponse.unsafeJson({}))
    }
    if (path === "/v2/_catalog") {
      if (method !== "GET") return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      return yield* catalog(identity, url)
    }
    const m = REPO_PATH_RE.exec(path)
    if (m === null) return yield* fail(withCommon(plainError(404, "Not Found")))
    const repo = m[1]!
    const suffix = m[2]!
    if (!REPO_RE.test(repo)) return yield* fail(registryError(400, "NAME_INVALID", "invalid repository name", { name: repo }))
    if (suffix === "tags/list") {
      if (method !== "GET") return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      return yield* tagsList(identity, repo, url)
    }
    const manifest = /^manifests\/([^/]+)$/.exec(suffix)
    if (manifest !== null) {
      const reference = safeDecode(manifest[1]!)
      if (reference === undefined) return yield* manifestUnknown(manifest[1]!)
      switch (method) {
        case "GET":
        case "HEAD":
          return yield* getManifest(identity, repo, reference, req)
        case "PUT":
          return yield* putManifest(identity, repo, reference, req)
        case "DELETE":
          return yield* deleteManifest(identity, repo, reference)
        default:
          return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      }
    }
    if (suffix === "blobs/uploads/" || suffix === "blobs/uploads") {
      if (method !== "POST") return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      return yield* startUpload(identity, repo, url, req)
    }
    const upload = /^blobs\/uploads\/([A-Za-z0-9-]+)$/.exec(suffix)
    if (upload !== null) return yield* continueUpload(identity, repo, upload[1]!, url, req)
    const blob = /^blobs\/([^/]+)$/.exec(suffix)
    if (blob !== null) {
      const digest = safeDecode(blob[1]!)
      if (digest === undefined) return yield* blobUnknown(blob[1]!)
      switch (method) {
        case "GET":
        case "HEAD":
          return yield* getBlob(identity, repo, digest, req)
        case "DELETE":
          return yield* deleteBlob(identity, repo, digest)
        default:
          return yield* fail(withCommon(plainError(405, "Method Not Allowed")))
      }
    }
    return yield* fail(withCommon(plainError(404, "Not Found")))
  }).pipe(handle)

  return HttpRouter.empty.pipe(
    HttpRouter.all("/v2", registry),
    HttpRouter.all("/v2/*", registry)
  )
}
