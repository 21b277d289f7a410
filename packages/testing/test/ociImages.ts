/**
 * Small OCI images built in a test: layers are tar archives written with tar-stream (any entry,
 * hostile ones too), the config and manifest are JSON, and `pushImage` uploads them to
 * LocalPlatform's registry over its Distribution API (monolithic blob uploads, manifest PUT).
 * `writeOciLayout` writes the same image as an OCI image layout, for skopeo.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { type Headers, pack } from "tar-stream"

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

export const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`

export interface Entry {
  readonly header: Headers
  readonly data?: Uint8Array | string | undefined
}

export const dir = (name: string, mode = 0o755): Entry => ({ header: { name, type: "directory", mode } })
export const file = (name: string, data: Uint8Array | string, mode = 0o644): Entry => ({ header: { name, type: "file", mode }, data })
export const symlink = (name: string, target: string): Entry => ({ header: { name, type: "symlink", linkname: target, mode: 0o777 } })
export const hardlink = (name: string, target: string): Entry => ({ header: { name, type: "link", linkname: target, mode: 0o644 } })

/** A tar archive of the entries, in order. */
export const tarOf = (entries: ReadonlyArray<Entry>): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const p = pack()
    const chunks: Array<Buffer> = []
    p.on("data", (c: Buffer) => chunks.push(c))
    p.on("end", () => resolve(Buffer.concat(chunks)))
    p.on("error", reject)
    const next = (i: number): void => {
      if (i === entries.length) return p.finalize()
      const e = entries[i]!
      const done = (err?: Error | null) => (err ? reject(err) : next(i + 1))
      if (e.data === undefined) p.entry(e.header, done)
      else p.entry(e.header, Buffer.from(e.data), done)
    }
    next(0)
  })

export interface Blob {
  readonly digest: string
  readonly data: Buffer
  readonly mediaType: string
}

export interface BuiltImage {
  readonly manifest: Blob
  readonly config: Blob
  readonly layers: ReadonlyArray<Blob>
}

const blobOf = (data: Buffer, mediaType: string): Blob => ({ digest: sha256(data), data, mediaType })

/** An image of these layers (gzip unless `gzip: false`) and this container configuration. */
export const buildImage = async (
  layers: ReadonlyArray<ReadonlyArray<Entry>>,
  config: Record<string, unknown>,
  options: { readonly gzip?: boolean; readonly architecture?: string } = {}
): Promise<BuiltImage> => {
  const tars = await Promise.all(layers.map(tarOf))
  const blobs = tars.map((t) => (options.gzip === false ? blobOf(t, OCI_LAYER) : blobOf(gzipSync(t), OCI_LAYER_GZIP)))
  return imageOfBlobs(blobs, config, tars.map((t) => sha256(t)), options.architecture)
}

/** An image whose layers are these blobs as they are (e.g. not a tar at all). */
export const imageOfBlobs = (
  layers: ReadonlyArray<Blob>,
  config: Record<string, unknown>,
  diffIds: ReadonlyArray<string> = layers.map((l) => l.digest),
  architecture = "amd64"
): BuiltImage => {
  const configBlob = blobOf(
    Buffer.from(JSON.stringify({ architecture, os: "linux", config, rootfs: { type: "layers", diff_ids: diffIds } })),
    OCI_CONFIG
  )
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configBlob.digest, size: configBlob.data.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length }))
  }
  return { manifest: blobOf(Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST), config: configBlob, layers }
}

/** An OCI index of images, by architecture (all linux). */
export const indexOf = (images: Readonly<Record<string, BuiltImage>>): Blob =>
  blobOf(
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: Object.entries(images).map(([architecture, i]) => ({
        mediaType: OCI_MANIFEST,
        digest: i.manifest.digest,
        size: i.manifest.data.length,
        platform: { architecture, os: "linux" }
      }))
    })),
    OCI_INDEX
  )

/** A registry client for one user of a LocalPlatform at `base` (`http://host:port`). */
export const registryClient = (base: string, user: string, token: string) => {
  const auth = `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`
  const expect201 = async (res: Response, what: string) => {
    if (res.status !== 201) throw new Error(`${what}: ${res.status} ${await res.text()}`)
  }
  const pushBlob = async (repo: string, blob: Blob) =>
    expect201(
      await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, {
        method: "POST",
        headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
        body: blob.data
      }),
      `blob ${blob.digest}`
    )
  const putManifest = async (repo: string, reference: string, manifest: Blob) =>
    expect201(
      await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
        method: "PUT",
        headers: { Authorization: auth, "Content-Type": manifest.mediaType },
        body: manifest.data
      }),
      `manifest ${repo}:${reference}`
    )
  /** Push an image's blobs and manifest; tag it (or push by digest when `tag` is undefined). */
  const pushImage = async (repo: string, tag: string | undefined, image: BuiltImage) => {
    for (const b of [image.config, ...image.layers]) await pushBlob(repo, b)
    await putManifest(repo, tag ?? image.manifest.digest, image.manifest)
  }
  return { pushBlob, putManifest, pushImage }
}

/** The image as an OCI image layout in `dir`, its manifest named `tag`. */
export const writeOciLayout = (dir: string, tag: string, image: BuiltImage): void => {
  fs.mkdirSync(join(dir, "blobs", "sha256"), { recursive: true })
  for (const b of [image.config, image.manifest, ...image.layers]) {
    fs.writeFileSync(join(dir, "blobs", "sha256", b.digest.slice(7)), b.data)
  }
  fs.writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  fs.writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: OCI_MANIFEST,
        digest: image.manifest.digest,
        size: image.manifest.data.length,
        annotations: { "org.opencontainers.image.ref.name": tag }
      }]
    })
  )
}
