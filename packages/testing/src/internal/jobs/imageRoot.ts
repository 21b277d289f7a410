/**
 * An image of LocalPlatform's registry made a root file system for jobs (`JobRunner.ImageRoot`).
 *
 * The reference is resolved as a pull would: tag or digest to a manifest, a manifest list or OCI
 * index to its linux/amd64 entry, then the image manifest's config and layers, each blob read
 * from the registry's files and checked against its sha256 digest. The layers are unpacked in
 * order (`layerUnpack.ts`: whiteouts, links, modes, confined to the root) into a private temporary
 * folder, which is renamed to `<dataDir>/images/sha256/<manifest hex>` once complete: an image is
 * unpacked once, later jobs find the folder, and two platforms racing on the same data folder
 * both end with one whole copy (the loser's rename fails and its copy is removed). Within one
 * process, concurrent starts of the same image share one unpacking.
 *
 * The folder holds `rootfs/` (the file system, with empty `proc`, `dev`, `sys` and `tmp` mount
 * points added where the image has none, as container runtimes provide them) and `image.json`
 * (what `ImageRoot` carries besides the folder). Gzip and uncompressed layers are read (told apart
 * by their first bytes); zstd needs a newer Node.js than LocalPlatform supports and is refused.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { createGunzip } from "node:zlib"
import type * as JobRunner from "../../JobRunner.js"
import * as storage from "../registryStorage.js"
import { DIGEST_RE, DOCKER_LIST, OCI_INDEX, REPO_RE, TAG_RE } from "../registryStorage.js"
import { ImageError } from "./imageError.js"
import { applyDirModes, unpackLayer, type UnpackState } from "./layerUnpack.js"

/** A repository of LocalPlatform's registry and a tag or `sha256:` digest in it. */
/** @internal */
export interface ImageRef {
  readonly repo: string
  readonly reference: string
}

/**
 * The repository and reference of `image` when it names LocalPlatform's registry: as platform-api's
 * `Container.belongs_to_registry`, the image starts with `<registry host>/`; what follows is
 * `<repo>[:<tag>][@<digest>]` (the digest wins, the tag defaults to `latest` as Docker's does).
 * `undefined` for an image of any other registry.
 */
/** @internal */
export const parseImage = (image: string, registryHost: string): ImageRef | undefined => {
  if (registryHost === "" || !image.startsWith(`${registryHost}/`)) return undefined
  const rest = image.slice(registryHost.length + 1)
  const at = rest.indexOf("@")
  const named = at < 0 ? rest : rest.slice(0, at)
  const colon = named.indexOf(":")
  const repo = colon < 0 ? named : named.slice(0, colon)
  const reference = at >= 0 ? rest.slice(at + 1) : colon < 0 ? "latest" : named.slice(colon + 1)
  return { repo, reference }
}

const Descriptor = Schema.Struct({
  digest: Schema.String,
  mediaType: Schema.optional(Schema.String),
  urls: Schema.optional(Schema.Array(Schema.String))
})

const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  config: Descriptor,
  layers: Schema.Array(Descriptor)
})

const strings = Schema.optionalWith(Schema.Array(Schema.String), { nullable: true })

/** The part of an image configuration (OCI image spec, Docker's is the same) a container uses. */
const ImageConfig = Schema.Struct({
  config: Schema.optionalWith(
    Schema.Struct({
      Entrypoint: strings,
      Cmd: strings,
      Env: strings,
      WorkingDir: Schema.optionalWith(Schema.String, { nullable: true })
    }),
    { nullable: true }
  )
})

/** What `image.json` keeps next to `rootfs/`. */
const Unpacked = Schema.Struct({
  digest: Schema.String,
  entrypoint: Schema.Array(Schema.String),
  cmd: Schema.Array(Schema.String),
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  workingDir: Schema.optional(Schema.String)
})

const corrupt = (description: string) => new ImageError({ reason: "Corrupt", description })
const notFound = (description: string) => new ImageError({ reason: "NotFound", description })

/** A blob of the registry, checked against its digest hex. */
const verifiedBlob = async (paths: storage.RegistryPaths, hex: string, what: string): Promise<string> => {
  const path = paths.blobPath(hex)
  const actual = await storage.sha256OfFile(path).catch(() => undefined)
  if (actual === undefined) throw notFound(`${what} sha256:${hex} is missing from the registry`)
  if (actual !== hex) throw corrupt(`${what} sha256:${hex} does not match its digest (its content is sha256:${actual})`)
  return path
}

const readJson = async <A, I>(schema: Schema.Schema<A, I>, paths: storage.RegistryPaths, hex: string, what: string): Promise<A> => {
  const text = await fsp.readFile(await verifiedBlob(paths, hex, what), "utf8")
  const decoded = Schema.decodeUnknownEither(Schema.parseJson(schema))(text)
  if (Either.isLeft(decoded)) throw corrupt(`${what} sha256:${hex} is not one LocalPlatform can read: ${decoded.left.message}`)
  return decoded.right
}

/** The digest hex of the image manifest `ref` names (a list's linux/amd64 entry for a list). */
const resolveManifest = async (paths: storage.RegistryPaths, ref: ImageRef): Promise<string> => {
  const name = `${ref.repo}${DIGEST_RE.test(ref.reference) ? "@" : ":"}${ref.reference}`
  if (!REPO_RE.test(ref.repo) || !(TAG_RE.test(ref.reference) || DIGEST_RE.test(ref.reference))) {
    throw new ImageError({ reason: "InvalidName", description: `invalid image reference ${name}` })
  }
  if (!(await storage.exists(paths.repoDir(ref.repo)))) throw notFound(`repository ${ref.repo} is not in the registry`)
  const hex = await storage.resolveReference(paths, ref.repo, ref.reference)
  if (hex === undefined) throw notFound(`manifest unknown: ${name}`)
  const mediaType = await storage.manifestMediaType(paths, ref.repo, hex)
  if (mediaType !== DOCKER_LIST && mediaType !== OCI_INDEX) return hex
  const list = JSON.parse(await fsp.readFile(await verifiedBlob(paths, hex, "manifest list"), "utf8")) as unknown
  const chosen = storage.amd64Entry(list)
  if (chosen === undefined) {
    throw new ImageError({ reason: "Unsupported", description: `${name} has no linux/amd64 image` })
  }
  if (!(await storage.exists(paths.revisionPath(ref.repo, chosen)))) throw notFound(`manifest unknown: ${ref.repo}@sha256:${chosen}`)
  return chosen
}

/** The layer's bytes as a tar stream (gunzipped when they are gzip). */
const tarStreamOf = async (path: string, layer: string): Promise<Readable> => {
  const head = Buffer.alloc(4)
  const handle = await fsp.open(path, "r")
  try {
    await handle.read(head, 0, 4, 0)
  } finally {
    await handle.close()
  }
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 })
  if (head[0] === 0x1f && head[1] === 0x8b) return raw.pipe(createGunzip())
  if (head.readUInt32LE(0) === 0xfd2fb528) {
    raw.destroy()
    throw new ImageError({ reason: "Unsupported", description: `layer ${layer} is zstd-compressed, which LocalPlatform cannot unpack` })
  }
  return raw
}

const systemError = (e: unknown) => typeof e === "object" && e !== null && "syscall" in e

const unpackLayers = async (paths: storage.RegistryPaths, repo: string, layers: ReadonlyArray<typeof Descriptor.Type>, state: UnpackState) => {
  for (const layer of layers) {
    const m = DIGEST_RE.exec(layer.digest)
    if (m === null) throw corrupt(`invalid layer digest ${JSON.stringify(layer.digest)}`)
    if (layer.urls !== undefined) {
      throw new ImageError({ reason: "Unsupported", description: `layer ${layer.digest} is a foreign layer (not stored in the registry)` })
    }
    if (!(await storage.exists(paths.layerLink(repo, m[1]!)))) throw notFound(`blob unknown to registry: ${layer.digest}`)
    const path = await verifiedBlob(paths, m[1]!, "layer")
    const tar = await tarStreamOf(path, layer.digest)
    await unpackLayer(tar, state, layer.digest).catch((e: unknown) => {
      if (e instanceof ImageError) throw e
      if (systemError(e)) throw new ImageError({ reason: "Io", description: `layer ${layer.digest}: ${String(e)}`, cause: e })
      throw corrupt(`layer ${layer.digest} is not a tar archive LocalPlatform can read: ${e instanceof Error ? e.message : String(e)}`)
    })
  }
}

const MOUNT_POINTS: ReadonlyArray<readonly [string, number]> = [["proc", 0o755], ["dev", 0o755], ["sys", 0o755], ["tmp", 0o1777]]

const addMountPoints = async (rootfs: string) => {
  for (const [name, mode] of MOUNT_POINTS) {
    const p = join(rootfs, name)
    if (await fsp.lstat(p).then(() => false, () => true)) {
      await fsp.mkdir(p)
      await fsp.chmod(p, mode)
    }
  }
}

const envRecord = (env: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const kv of env) {
    const eq = kv.indexOf("=")
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return out
}

/** Unpacks the image manifest `hex` into a temporary folder of `cacheDir`, then renames it to `final`. */
const unpackInto = async (paths: storage.RegistryPaths, repo: string, hex: string, cacheDir: string, final: string) => {
  const manifest = await readJson(ImageManifest, paths, hex, "manifest")
  const configHex = DIGEST_RE.exec(manifest.config.digest)?.[1]
  if (configHex === undefined) throw corrupt(`invalid config digest ${JSON.stringify(manifest.config.digest)}`)
  const config = (await readJson(ImageConfig, paths, configHex, "image config")).config
  const tmp = join(cacheDir, `.unpacking-${randomUUID()}`)
  try {
    await fsp.mkdir(join(tmp, "rootfs"), { recursive: true, mode: 0o700 })
    const state: UnpackState = { root: await fsp.realpath(join(tmp, "rootfs")), dirModes: new Map() }
    await unpackLayers(paths, repo, manifest.layers, state)
    await applyDirModes(state)
    await addMountPoints(state.root)
    const unpacked: typeof Unpacked.Encoded = {
      digest: `sha256:${hex}`,
      entrypoint: config?.Entrypoint ?? [],
      cmd: config?.Cmd ?? [],
      env: envRecord(config?.Env ?? []),
      ...(config?.WorkingDir !== undefined && config.WorkingDir !== "" ? { workingDir: config.WorkingDir } : {})
    }
    await fsp.writeFile(join(tmp, "image.json"), JSON.stringify(unpacked))
    await fsp.mkdir(join(cacheDir, "sha256"), { recursive: true })
    await fsp.rename(tmp, final).catch((e: unknown) => {
      // another platform on the same data folder finished first: its copy is the same
      const code = (e as { code?: unknown }).code
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e
    })
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true })
  }
}

/** The unpacked image at `final`, if it is there. */
const cached = async (final: string): Promise<JobRunner.ImageRoot | undefined> => {
  const text = await fsp.readFile(join(final, "image.json"), "utf8").catch(() => undefined)
  if (text === undefined) return undefined
  const u = Schema.decodeUnknownSync(Schema.parseJson(Unpacked))(text)
  return { dir: join(final, "rootfs"), digest: u.digest, entrypoint: u.entrypoint, cmd: u.cmd, env: u.env, workingDir: u.workingDir }
}

const inFlight = new Map<string, Promise<JobRunner.ImageRoot>>()

const imageRootPromise = async (dataDir: string, ref: ImageRef): Promise<JobRunner.ImageRoot> => {
  const paths = storage.registryPaths(storage.registryRoot(dataDir))
  const hex = await resolveManifest(paths, ref)
  const cacheDir = imagesDir(dataDir)
  const final = join(cacheDir, "sha256", hex)
  const found = await cached(final)
  if (found !== undefined) return found
  let running = inFlight.get(final)
  if (running === undefined) {
    running = (async () => {
      await fsp.mkdir(cacheDir, { recursive: true, mode: 0o700 })
      await unpackInto(paths, ref.repo, hex, cacheDir, final)
      return (await cached(final))!
    })().finally(() => inFlight.delete(final))
    inFlight.set(final, running)
  }
  return running
}

/** Where unpacked images are kept (`<dataDir>/images`). */
/** @internal */
export const imagesDir = (dataDir: string) => join(dataDir, "images")

/**
 * The root file system of an image of the registry on `dataDir` (unpacked on first use, then
 * from the cache), with the configuration the image's container gets.
 */
/** @internal */
export const imageRoot = (dataDir: string, ref: ImageRef): Effect.Effect<JobRunner.ImageRoot, ImageError> =>
  Effect.tryPromise({
    try: () => imageRootPromise(dataDir, ref),
    catch: (e) =>
      e instanceof ImageError
        ? e
        : new ImageError({ reason: "Io", description: `the image could not be unpacked: ${e instanceof Error ? e.message : String(e)}`, cause: e })
  })
