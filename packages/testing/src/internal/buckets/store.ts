/**
 * What the buckets API and the three provider endpoints (`s3.ts`, `azure.ts`, `gcs.ts`) share:
 * platform buckets, credentials, and the emulated provider buckets whose objects live in files
 * under `<dataDir>/buckets/<provider bucket>/`.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { createWriteStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import type { PlatformState } from "../state.js"

/** Wire strings of `Bucket.Provider` the 23.2 SDK understands. */
/** @internal */
export const PROVIDERS = ["aws", "minio", "azure", "gcp", "open_stack"] as const

/** @internal */
export type ProviderType = typeof PROVIDERS[number]

/** The emulated endpoint that serves a provider's buckets. */
/** @internal */
export type Endpoint = "s3" | "azure" | "gcs"

/** @internal */
export const endpointOf = (provider: ProviderType): Endpoint => provider === "azure" ? "azure" : provider === "gcp" ? "gcs" : "s3"

/** @internal */
export interface BucketRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly org: string | null
  readonly name: string | undefined
  readonly provider: ProviderType
  /** The bucket's name inside the provider (`credentials.bucket_name`). */
  readonly providerBucketName: string
  readonly createdAt: Date
  readonly imported: boolean
  public: boolean
  /** Import credentials, handed out verbatim. */
  readonly importCredentials: Readonly<Record<string, string>> | undefined
}

/** @internal */
export interface PersistentRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly name: string | undefined
  readonly readOnly: boolean
  bucketIds: Array<string>
  readonly accessKeyId: string
  readonly secret: string
  /** The service-account key of `gcp` buckets (made when first handed out). */
  gcpKey?: ServiceAccountKey | undefined
}

/** @internal */
export interface ServiceAccountKey {
  readonly email: string
  readonly keyId: string
  readonly privateKeyPem: string
  readonly publicKeyPem: string
}

/** A temporary key pair (`make_tmp_credentials`, or the one behind a signed URL). */
/** @internal */
export interface TemporaryKey {
  readonly accessKeyId: string
  readonly secret: string
  readonly sessionToken: string | undefined
  readonly expiresAt: number
  readonly bucketIds: ReadonlyArray<string>
  readonly write: boolean
}

/** A GCS access token: handed out by `make_tmp_credentials` or by the token endpoint for a key. */
/** @internal */
export interface AccessToken {
  readonly expiresAt: number
  readonly bucketIds: ReadonlyArray<string>
  readonly write: boolean
  /** The persistent credential a key-issued token belongs to (gone with it). */
  readonly persistentId?: string | undefined
}

/** An object of an emulated provider bucket; its bytes are in `file`. */
/** @internal */
export interface ObjectRecord {
  readonly file: string
  readonly size: number
  readonly etag: string
  readonly modified: Date
  /** Set by the Azure and GCS endpoints (S3 has no creation time). */
  readonly created?: Date | undefined
  /** Hex MD5 of the bytes, `""` when unknown (S3 multipart). */
  readonly md5?: string | undefined
  /** CRC32C of the bytes (GCS), when known. */
  readonly crc32c?: number | undefined
  /** GCS generation (microseconds). */
  readonly generation?: number | undefined
}

/** @internal */
export interface MultipartUpload {
  readonly key: string
  readonly dir: string
  readonly parts: Map<number, ObjectRecord>
}

/** A GCS resumable upload session. */
/** @internal */
export interface ResumableSession {
  readonly key: string
  readonly file: string
  size: number
  done: ObjectRecord | undefined
}

/** An emulated provider bucket: an index of objects in memory, their bytes in a folder. */
/** @internal */
export interface ProviderBucket {
  readonly name: string
  readonly dir: string
  readonly objects: Map<string, ObjectRecord>
  /** S3 multipart uploads by id. */
  readonly uploads: Map<string, MultipartUpload>
  /** Azure uncommitted blocks by blob name, then by block id. */
  readonly blocks: Map<string, Map<string, ObjectRecord>>
  /** GCS resumable sessions by upload id. */
  readonly sessions: Map<string, ResumableSession>
}

/** Everything the buckets API and the provider endpoints share. */
/** @internal */
export class BucketStore {
  readonly buckets = new Map<string, BucketRecord>()
  readonly persistent = new Map<string, PersistentRecord>()
  readonly temporary = new Map<string, TemporaryKey>()
  readonly accessTokens = new Map<string, AccessToken>()
  readonly providerBuckets = new Map<string, ProviderBucket>()
  /** Region of the emulated S3 endpoint. */
  readonly region = "us-east-1"
  /** The emulated Azure storage account (the first path segment, as Azurite's) and its key. */
  readonly azureAccount = "azure"
  readonly azureKey = randomBytes(64)
  /** Key of the emulated GCS signed URLs. */
  readonly gcsSigningKey = randomBytes(32)
  constructor(readonly root: string) {}

  providerBucket(name: string): ProviderBucket | undefined {
    return this.providerBuckets.get(name)
  }

  /** The platform buckets backed by an emulated provider bucket of that endpoint. */
  bucketsOn(providerBucketName: string, endpoint: Endpoint = "s3"): Array<BucketRecord> {
    return [...this.buckets.values()].filter((b) => b.providerBucketName === providerBucketName && endpointOf(b.provider) === endpoint)
  }

  async makeProviderBucket(name: string): Promise<void> {
    const dir = join(this.root, name)
    await fsp.mkdir(dir, { recursive: true })
    this.providerBuckets.set(name, { name, dir, objects: new Map(), uploads: new Map(), blocks: new Map(), sessions: new Map() })
  }
}

const stores = new WeakMap<PlatformState, BucketStore>()

/** @internal */
export const bucketStore = (state: PlatformState): BucketStore => {
  let store = stores.get(state)
  if (store === undefined) {
    store = new BucketStore(join(state.dataDir, "buckets"))
    stores.set(state, store)
  }
  return store
}

// ---------------------------------------------------------------------------------------------
// object bytes
// ---------------------------------------------------------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c
  }
  return table
})()

/** CRC32C (Castagnoli) of `data` continuing from `crc` (start with 0). */
/** @internal */
export const crc32c = (crc: number, data: Uint8Array): number => {
  let c = ~crc
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** @internal */
export const crc32cBase64 = (crc: number): string => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(crc >>> 0)
  return b.toString("base64")
}

/** @internal */
export interface Received {
  readonly file: string
  readonly size: number
  readonly md5: string
  readonly crc32c: number
}

/** A request body written to a fresh temporary file of the bucket, with its MD5 and CRC32C; `undefined` when cut. */
/** @internal */
export const receiveBody = <E, R>(pb: ProviderBucket, body: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Received | undefined, never, R> =>
  Effect.gen(function*() {
    const file = join(pb.dir, `.tmp-${randomUUID()}`)
    const md5 = createHash("md5")
    let crc = 0
    let size = 0
    const out = createWriteStream(file)
    const written = yield* Stream.runForEach(body, (chunk) =>
      Effect.async<void>((resume) => {
        md5.update(chunk)
        crc = crc32c(crc, chunk)
        size += chunk.length
        if (out.write(chunk)) resume(Effect.void)
        else out.once("drain", () => resume(Effect.void))
      })).pipe(Effect.either)
    yield* Effect.async<void>((resume) => {
      out.end(() => resume(Effect.void))
    })
    if (written._tag === "Left") {
      yield* Effect.promise(() => fsp.rm(file, { force: true }))
      return undefined
    }
    return { file, size, md5: md5.digest("hex"), crc32c: crc }
  })

/** A received file becomes the object `key` (replacing the one before). */
/** @internal */
export const commitObject = (
  pb: ProviderBucket,
  key: string,
  file: string,
  fields: Omit<ObjectRecord, "file" | "modified" | "created">
): Effect.Effect<ObjectRecord> =>
  Effect.promise(async () => {
    const target = join(pb.dir, randomUUID())
    await fsp.rename(file, target)
    const old = pb.objects.get(key)
    const now = new Date()
    const record: ObjectRecord = { ...fields, file: target, modified: now, created: now }
    pb.objects.set(key, record)
    if (old !== undefined) await fsp.rm(old.file, { force: true })
    return record
  })

/** Keys in S3/Azure/GCS order: by UTF-8 bytes. */
/** @internal */
export const sortedKeys = (keys: Iterable<string>): Array<string> =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")))

/** @internal */
export interface ListItem {
  readonly key: string
  /** A common prefix (a folder), not an object. */
  readonly prefix: boolean
}

/**
 * One page of a prefix/delimiter listing over sorted keys, after the item `after` (returned on
 * the previous page): objects and common prefixes in key order, at most `max`; `next` is the last
 * item when more follow.
 */
/** @internal */
export const listPage = (
  keys: ReadonlyArray<string>,
  prefix: string,
  delimiter: string,
  after: ListItem | undefined,
  max: number
): { readonly items: ReadonlyArray<ListItem>; readonly next: ListItem | undefined } => {
  const items: Array<ListItem> = []
  const afterBytes = after === undefined ? undefined : Buffer.from(after.key)
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue
    if (after !== undefined && (Buffer.compare(Buffer.from(key), afterBytes!) <= 0 || (after.prefix && key.startsWith(after.key)))) continue
    const rest = key.slice(prefix.length)
    const at = delimiter === "" ? -1 : rest.indexOf(delimiter)
    const entry: ListItem = at >= 0 ? { key: prefix + rest.slice(0, at + delimiter.length), prefix: true } : { key, prefix: false }
    const last = items[items.length - 1]
    if (entry.prefix && last !== undefined && last.prefix && last.key === entry.key) continue
    if (items.length === max) return { items, next: last }
    items.push(entry)
  }
  return { items, next: undefined }
}

/** A listing position as an opaque page token. */
/** @internal */
export const encodeToken = (item: ListItem): string => Buffer.from(JSON.stringify({ k: item.key, p: item.prefix })).toString("base64url")

/** @internal */
export const decodeToken = (token: string): ListItem | undefined => {
  try {
    const d: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
    if (typeof d !== "object" || d === null) return undefined
    const { k, p } = d as { k?: unknown; p?: unknown }
    return typeof k === "string" && typeof p === "boolean" ? { key: k, prefix: p } : undefined
  } catch {
    return undefined
  }
}
