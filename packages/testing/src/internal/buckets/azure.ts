/**
 * A local Azure Blob Storage endpoint at `{base}/azure` (path-style like Azurite: the account is
 * the first path segment, the container the next one) serving the `azure` buckets' provider
 * buckets: List Blobs (prefix, delimiter, marker, maxresults), Get Container Properties, Put Blob,
 * Put Block, Put Block List, Get Blob / Get Blob Properties (`x-ms-range` or `Range`, `If-Match`),
 * Delete Blob. Requests are authorized by service SAS tokens signed like Azure's (HMAC-SHA256 of the
 * string-to-sign with the account key): signature, expiry, resource (container or blob),
 * permissions and, for persistent credentials, the identifier (`si`) are checked. Public buckets
 * may be read anonymously.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import type { PlatformState } from "../state.js"
import {
  type BucketStore,
  bucketStore,
  commitObject,
  decodeToken,
  encodeToken,
  listPage,
  type ObjectRecord,
  type ProviderBucket,
  receiveBody,
  sortedKeys
} from "./store.js"

const SAS_VERSION = "2021-12-02"
const MAX_BLOCK_ID_BYTES = 64

// ---------------------------------------------------------------------------------------------
// SAS
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface SasSpec {
  readonly container: string
  readonly blob?: string | undefined
  /** Azure permission letters, e.g. `racwdl`. */
  readonly permissions: string
  readonly expiresAt: number
  /** A stored access policy name; ours is the persistent credential's id. */
  readonly identifier?: string | undefined
}

const sasTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** The service SAS string-to-sign (version 2020-12-06 and later). */
const stringToSign = (store: BucketStore, p: Readonly<Record<string, string>>, container: string, blob: string | undefined) =>
  [
    p["sp"] ?? "",
    p["st"] ?? "",
    p["se"] ?? "",
    `/blob/${store.azureAccount}/${container}${blob === undefined ? "" : "/" + blob}`,
    p["si"] ?? "",
    p["sip"] ?? "",
    p["spr"] ?? "",
    p["sv"] ?? "",
    p["sr"] ?? "",
    p["snapshot"] ?? "",
    p["ses"] ?? "",
    p["rscc"] ?? "",
    p["rscd"] ?? "",
    p["rsce"] ?? "",
    p["rscl"] ?? "",
    p["rsct"] ?? ""
  ].join("\n")

const sign = (store: BucketStore, text: string) => createHmac("sha256", store.azureKey).update(text, "utf8").digest("base64")

/** A service SAS query string for a container (`sr=c`) or one blob (`sr=b`). */
/** @internal */
export const azureSas = (store: BucketStore, spec: SasSpec): string => {
  const p: Record<string, string> = {
    sv: SAS_VERSION,
    spr: "https,http",
    se: sasTime(spec.expiresAt),
    sr: spec.blob === undefined ? "c" : "b",
    sp: spec.permissions,
    ...(spec.identifier === undefined ? {} : { si: spec.identifier })
  }
  p["sig"] = sign(store, stringToSign(store, p, spec.container, spec.blob))
  return new URLSearchParams(p).toString()
}

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------

interface AzureFailure {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly headers?: Readonly<Record<string, string>> | undefined
}

const fail = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  Effect.fail<AzureFailure>({ status, code, message, headers })

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const commonHeaders = () => ({
  Date: new Date().toUTCString(),
  "x-ms-request-id": randomUUID(),
  "x-ms-version": SAS_VERSION,
  Server: "LocalPlatform-Azure-Blob"
})

const errorResponse = (f: AzureFailure, head: boolean) => {
  const requestId = randomUUID()
  const headers = { ...commonHeaders(), "x-ms-request-id": requestId, "x-ms-error-code": f.code, ...f.headers }
  if (head) return HttpServerResponse.empty({ status: f.status, headers })
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${f.code}</Code><Message>${xmlEscape(f.message)}\n` +
    `RequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`
  return HttpServerResponse.text(body, { status: f.status, contentType: "application/xml", headers })
}

const newEtag = () => `"0x8D${randomBytes(7).toString("hex").toUpperCase().slice(0, 13)}"`

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

interface Parsed {
  readonly method: string
  readonly container: string
  /** `undefined` for container requests. */
  readonly blob: string | undefined
  readonly params: ReadonlyMap<string, string>
}

type Need = "r" | "l" | "w" | "d"

const parse = (req: HttpServerRequest.HttpServerRequest): Effect.Effect<Parsed, AzureFailure> => {
  const raw = req.url
  const q = raw.indexOf("?")
  const rawPath = q < 0 ? raw : raw.slice(0, q)
  const m = /^\/azure\/([^/]+)(?:\/(.*))?$/.exec(rawPath)
  if (m === null) return fail(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
  try {
    const container = decodeURIComponent(m[1]!)
    const blob = m[2] === undefined || m[2] === "" ? undefined : m[2].split("/").map(decodeURIComponent).join("/")
    const params = new Map(new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)).entries())
    return Effect.succeed({ method: req.method.toUpperCase(), container, blob, params })
  } catch {
    return fail(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
  }
}

const authFailed = (detail: string) =>
  fail(403, "AuthenticationFailed", `Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. ${detail}`)

/** The SAS of the request checked against the operation; anonymous reads of public buckets pass. */
const authorize = (store: BucketStore, p: Parsed, need: Need): Effect.Effect<void, AzureFailure> =>
  Effect.gen(function*() {
    const onIt = store.bucketsOn(p.container, "azure")
    const sig = p.params.get("sig")
    if (sig === undefined) {
      if ((need === "r" || need === "l") && onIt.some((b) => b.public)) return
      return yield* fail(404, "ResourceNotFound", "The specified resource does not exist.")
    }
    const sas = Object.fromEntries(p.params)
    const sr = sas["sr"]
    if (sr !== "c" && !(sr === "b" && p.blob !== undefined)) return yield* authFailed("Signed resource is not valid for this request.")
    const expected = sign(store, stringToSign(store, sas, p.container, sr === "b" ? p.blob : undefined))
    if (expected.length !== sig.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(sig))) {
      return yield* authFailed("Signature did not match.")
    }
    const now = Date.now()
    const expiry = Date.parse(sas["se"] ?? "")
    if (Number.isNaN(expiry) || now > expiry) return yield* authFailed("Signed expiry time must be after the current time.")
    if (sas["st"] !== undefined && now < Date.parse(sas["st"])) return yield* authFailed("Signed start time is in the future.")
    const si = sas["si"]
    if (si !== undefined) {
      const c = store.persistent.get(si)
      if (c === undefined || !onIt.some((b) => c.bucketIds.includes(b.id))) return yield* authFailed("The signed identifier does not exist.")
    }
    const sp = sas["sp"] ?? ""
    const allowed = need === "w" ? sp.includes("w") || sp.includes("c") : sp.includes(need)
    if (!allowed) return yield* fail(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
  })

// ---------------------------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------------------------

/** @internal */
export const azureRoutes = (state: PlatformState) => {
  const store = bucketStore(state)

  const blobHeaders = (o: ObjectRecord) => ({
    ...commonHeaders(),
    ETag: o.etag,
    "Last-Modified": o.modified.toUTCString(),
    "x-ms-creation-time": (o.created ?? o.modified).toUTCString(),
    "x-ms-blob-type": "BlockBlob",
    "x-ms-lease-state": "available",
    "x-ms-lease-status": "unlocked",
    "x-ms-server-encrypted": "true",
    "Accept-Ranges": "bytes"
  })

  const listBlobs = (pb: ProviderBucket, p: Parsed, base: string) =>
    Effect.gen(function*() {
      const prefix = p.params.get("prefix") ?? ""
      const delimiter = p.params.get("delimiter") ?? ""
      const maxText = p.params.get("maxresults")
      const max = maxText === undefined ? 5000 : Number(maxText)
      if (!Number.isInteger(max) || max < 1) return yield* fail(400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range.")
      const marker = p.params.get("marker")
      const after = marker === undefined || marker === "" ? undefined : decodeToken(marker)
      if (marker !== undefined && marker !== "" && after === undefined) return yield* fail(400, "OutOfRangeInput", "One of the request inputs is out of range.")
      const page = listPage(sortedKeys(pb.objects.keys()), prefix, delimiter, after, Math.min(max, 5000))
      const items = page.items.map((item) => {
        if (item.prefix) return `<BlobPrefix><Name>${xmlEscape(item.key)}</Name></BlobPrefix>`
        const o = pb.objects.get(item.key)!
        return `<Blob><Name>${xmlEscape(item.key)}</Name><Properties>` +
          `<Creation-Time>${(o.created ?? o.modified).toUTCString()}</Creation-Time><Last-Modified>${o.modified.toUTCString()}</Last-Modified>` +
          `<Etag>${o.etag}</Etag><Content-Length>${o.size}</Content-Length><Content-Type>application/octet-stream</Content-Type>` +
          (o.md5 ? `<Content-MD5>${Buffer.from(o.md5, "hex").toString("base64")}</Content-MD5>` : "<Content-MD5 />") +
          "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>" +
          "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>" +
          "</Properties><OrMetadata /></Blob>"
      })
      const body = `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="${xmlEscape(base)}/azure/" ContainerName="${xmlEscape(pb.name)}">` +
        `<Prefix>${xmlEscape(prefix)}</Prefix><Marker>${xmlEscape(marker ?? "")}</Marker>` +
        `<MaxResults>${max}</MaxResults>` + (delimiter === "" ? "" : `<Delimiter>${xmlEscape(delimiter)}</Delimiter>`) +
        `<Blobs>${items.join("")}</Blobs><NextMarker>${page.next === undefined ? "" : encodeToken(page.next)}</NextMarker></EnumerationResults>`
      return HttpServerResponse.text(body, { status: 200, contentType: "application/xml", headers: commonHeaders() })
    })

  const getBlob = (pb: ProviderBucket, key: string, req: HttpServerRequest.HttpServerRequest, head: boolean) =>
    Effect.gen(function*() {
      const o = pb.objects.get(key)
      if (o === undefined) return yield* fail(404, "BlobNotFound", "The specified blob does not exist.")
      const ifMatch = req.headers["if-match"]
      if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== o.etag) {
        return yield* fail(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
      }
      const body = (start: number, end: number) =>
        head || end < start ? Stream.empty : NodeStream.fromReadable(() => createReadStream(o.file, { start, end, highWaterMark: 256 * 1024 }), () => "read failed")
      const range = (req.headers["x-ms-range"] ?? req.headers["range"] ?? "").trim()
      const md5 = o.md5 ? { "Content-MD5": Buffer.from(o.md5, "hex").toString("base64") } : {}
      if (range === "") {
        return HttpServerResponse.stream(body(0, o.size - 1), {
          status: 200,
          headers: { ...blobHeaders(o), ...md5, "Content-Length": String(o.size) },
          contentType: "application/octet-stream",
          contentLength: o.size
        })
      }
      const m = /^bytes=(\d+)-(\d*)$/.exec(range)
      if (m === null) return yield* fail(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.")
      const start = Number(m[1])
      const end = m[2] === "" ? o.size - 1 : Math.min(Number(m[2]), o.size - 1)
      if (start >= o.size || end < start) {
        return yield* fail(416, "InvalidRange", "The range specified is invalid for the current size of the resource.", { "Content-Range": `bytes */${o.size}` })
      }
      return HttpServerResponse.stream(body(start, end), {
        status: 206,
        headers: { ...blobHeaders(o), "Content-Range": `bytes ${start}-${end}/${o.size}`, "Content-Length": String(end - start + 1) },
        contentType: "application/octet-stream",
        contentLength: end - start + 1
      })
    })

  const received = (req: HttpServerRequest.HttpServerRequest, pb: ProviderBucket) =>
    Effect.flatMap(receiveBody(pb, req.stream), (r) => (r === undefined ? fail(400, "InvalidInput", "The request body terminated unexpectedly.") : Effect.succeed(r)))

  const putBlob = (pb: ProviderBucket, key: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const type = req.headers["x-ms-blob-type"]
      if (type === undefined) return yield* fail(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
      if (type !== "BlockBlob") return yield* fail(400, "InvalidHeaderValue", "LocalPlatform stores block blobs only (x-ms-blob-type: BlockBlob).")
      const r = yield* received(req, pb)
      const o = yield* commitObject(pb, key, r.file, { size: r.size, etag: newEtag(), md5: r.md5 })
      pb.blocks.delete(key)
      return putAnswer(o)
    })

  const putAnswer = (o: ObjectRecord) =>
    HttpServerResponse.empty({
      status: 201,
      headers: {
        ...commonHeaders(),
        ETag: o.etag,
        "Last-Modified": o.modified.toUTCString(),
        ...(o.md5 ? { "Content-MD5": Buffer.from(o.md5, "hex").toString("base64") } : {}),
        "x-ms-request-server-encrypted": "true",
        "Content-Length": "0"
      }
    })

  const badBlock = fail(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.")

  const putBlock = (pb: ProviderBucket, key: string, p: Parsed, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const id = p.params.get("blockid") ?? ""
      const decoded = Buffer.from(id, "base64")
      if (id === "" || decoded.length === 0 || decoded.length > MAX_BLOCK_ID_BYTES || decoded.toString("base64") !== id) return yield* badBlock
      let blocks = pb.blocks.get(key)
      if (blocks === undefined) {
        // set before the body is read: blocks of one blob are staged concurrently
        blocks = new Map<string, ObjectRecord>()
        pb.blocks.set(key, blocks)
      }
      const other = blocks.keys().next()
      if (!other.done && Buffer.from(other.value, "base64").length !== decoded.length) {
        return yield* fail(400, "InvalidBlobOrBlock", "The specified blob or block content is invalid.")
      }
      const r = yield* received(req, pb)
      const old = blocks.get(id)
      blocks.set(id, { file: r.file, size: r.size, etag: "", modified: new Date(), md5: r.md5 })
      if (old !== undefined) yield* Effect.promise(() => fsp.rm(old.file, { force: true }))
      return HttpServerResponse.empty({
        status: 201,
        headers: {
          ...commonHeaders(),
          "Content-MD5": Buffer.from(r.md5, "hex").toString("base64"),
          "x-ms-request-server-encrypted": "true",
          "Content-Length": "0"
        }
      })
    })

  const putBlockList = (pb: ProviderBucket, key: string, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const r = yield* received(req, pb)
      const text = yield* Effect.promise(() => fsp.readFile(r.file, "utf8"))
      yield* Effect.promise(() => fsp.rm(r.file, { force: true }))
      if (!/<BlockList\s*\/?>/.test(text)) return yield* fail(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
      const blocks = pb.blocks.get(key) ?? new Map<string, ObjectRecord>()
      const chosen: Array<ObjectRecord> = []
      for (const m of text.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)) {
        const block = m[1] === "Committed" ? undefined : blocks.get(m[2]!.trim())
        if (block === undefined) return yield* fail(400, "InvalidBlockList", "The specified block list is invalid.")
        chosen.push(block)
      }
      const target = join(pb.dir, `.tmp-${randomUUID()}`)
      const md5 = createHash("md5")
      let size = 0
      yield* Effect.promise(async () => {
        const out = await fsp.open(target, "w")
        try {
          for (const b of chosen) {
            const data = await fsp.readFile(b.file)
            md5.update(data)
            await out.write(data)
            size += data.length
          }
        } finally {
          await out.close()
        }
      })
      const o = yield* commitObject(pb, key, target, { size, etag: newEtag(), md5: md5.digest("hex") })
      pb.blocks.delete(key)
      yield* Effect.promise(() => Promise.all([...blocks.values()].map((b) => fsp.rm(b.file, { force: true }))))
      return putAnswer(o)
    })

  const deleteBlob = (pb: ProviderBucket, key: string) =>
    Effect.gen(function*() {
      const o = pb.objects.get(key)
      if (o === undefined) return yield* fail(404, "BlobNotFound", "The specified blob does not exist.")
      pb.objects.delete(key)
      yield* Effect.promise(() => fsp.rm(o.file, { force: true }))
      return HttpServerResponse.empty({ status: 202, headers: { ...commonHeaders(), "x-ms-delete-type-permanent": "true", "Content-Length": "0" } })
    })

  const containerRequest = (pb: ProviderBucket, p: Parsed, base: string) =>
    Effect.gen(function*() {
      if (p.params.get("restype") !== "container") return yield* fail(400, "InvalidQueryParameterValue", "restype=container is required.")
      const comp = p.params.get("comp")
      if (p.method === "GET" && comp === "list") {
        yield* authorize(store, p, "l")
        return yield* listBlobs(pb, p, base)
      }
      if ((p.method === "GET" || p.method === "HEAD") && comp === undefined) {
        yield* authorize(store, p, "r")
        return HttpServerResponse.empty({
          status: 200,
          headers: { ...commonHeaders(), ETag: "\"0x8D0000000000000\"", "Last-Modified": new Date(0).toUTCString(), "x-ms-lease-status": "unlocked", "x-ms-lease-state": "available", "x-ms-has-immutability-policy": "false", "x-ms-has-legal-hold": "false" }
        })
      }
      return yield* fail(403, "AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.")
    })

  const blobRequest = (pb: ProviderBucket, key: string, p: Parsed, req: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const comp = p.params.get("comp")
      switch (p.method) {
        case "GET":
        case "HEAD":
          if (comp !== undefined) return yield* fail(400, "UnsupportedQueryParameter", `comp=${comp} is not supported by LocalPlatform.`)
          yield* authorize(store, p, "r")
          return yield* getBlob(pb, key, req, p.method === "HEAD")
        case "PUT":
          yield* authorize(store, p, "w")
          if (comp === undefined) return yield* putBlob(pb, key, req)
          if (comp === "block") return yield* putBlock(pb, key, p, req)
          if (comp === "blocklist") return yield* putBlockList(pb, key, req)
          return yield* fail(400, "UnsupportedQueryParameter", `comp=${comp} is not supported by LocalPlatform.`)
        case "DELETE":
          yield* authorize(store, p, "d")
          return yield* deleteBlob(pb, key)
        default:
          return yield* fail(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
      }
    })

  const route = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const head = req.method.toUpperCase() === "HEAD"
    const host = req.headers["host"] ?? "127.0.0.1"
    return yield* Effect.gen(function*() {
      const p = yield* parse(req)
      const pb = store.providerBucket(p.container)
      if (pb === undefined || store.bucketsOn(p.container, "azure").length === 0) {
        return yield* fail(404, "ContainerNotFound", "The specified container does not exist.")
      }
      return p.blob === undefined ? yield* containerRequest(pb, p, `http://${host}`) : yield* blobRequest(pb, p.blob, p, req)
    }).pipe(Effect.catchAll((f) => Effect.succeed(errorResponse(f, head))))
  })

  return HttpRouter.empty.pipe(HttpRouter.all("/azure/*", route))
}
