/**
 * The files of LocalPlatform's registry, as Docker Distribution lays them out under
 * `<dataDir>/registry`, and the look-ups both the registry routes and the jobs (which unpack
 * images of this registry) make: names and references checked, a tag or digest resolved to a
 * manifest, the linux/amd64 entry of a manifest list or OCI index.
 *
 * `blobs/sha256/<hex>`: every blob, manifests too (content-addressed);
 * `repositories/<repo>/_layers/sha256/<hex>`: a blob linked into a repository;
 * `repositories/<repo>/_manifests/revisions/sha256/<hex>`: a manifest of the repository (holds its media type);
 * `repositories/<repo>/_manifests/tags/<tag>`: holds the digest the tag points at;
 * `_uploads/<uuid>`: uploads in progress.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"

/** @internal */
export const DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
/** @internal */
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
/** @internal */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
/** @internal */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
/** @internal */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([DOCKER_V2, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX])

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
/** A repository name of the Distribution spec (`alice/img`, `org/project/img`). */
/** @internal */
export const REPO_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
/** @internal */
export const TAG_RE = /^[\w][\w.-]{0,127}$/
/** @internal */
export const DIGEST_RE = /^sha256:([a-f0-9]{64})$/

/** Where the registry keeps its files (`<dataDir>/registry`). */
/** @internal */
export const registryRoot = (dataDir: string) => join(dataDir, "registry")

/** The paths of a registry's files (`root` is `registryRoot(dataDir)`; `repo` matches `REPO_RE`). */
/** @internal */
export const registryPaths = (root: string) => {
  const repoDir = (repo: string) => join(root, "repositories", ...repo.split("/"))
  return {
    root,
    blobPath: (hex: string) => join(root, "blobs", "sha256", hex),
    repoDir,
    layerLink: (repo: string, hex: string) => join(repoDir(repo), "_layers", "sha256", hex),
    revisionPath: (repo: string, hex: string) => join(repoDir(repo), "_manifests", "revisions", "sha256", hex),
    tagsDir: (repo: string) => join(repoDir(repo), "_manifests", "tags"),
    uploadPath: (id: string) => join(root, "_uploads", id)
  }
}

/** @internal */
export type RegistryPaths = ReturnType<typeof registryPaths>

/** @internal */
export const exists = (p: string): Promise<boolean> => fsp.stat(p).then(() => true, () => false)

/** @internal */
export const readText = (p: string): Promise<string | undefined> => fsp.readFile(p, "utf8").then((t): string | undefined => t, () => undefined)

/** The sha256 of a file (hex). */
/** @internal */
export const sha256OfFile = (path: string): Promise<string> =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(path).on("data", (c) => hash.update(c)).on("end", () => resolve(hash.digest("hex"))).on("error", reject)
  })

/** The digest hex a reference (tag or `sha256:` digest) points at in `repo`, if that manifest is there. */
/** @internal */
export const resolveReference = async (paths: RegistryPaths, repo: string, reference: string): Promise<string | undefined> => {
  const d = DIGEST_RE.exec(reference)
  if (d !== null) return (await exists(paths.revisionPath(repo, d[1]!))) ? d[1]! : undefined
  if (!TAG_RE.test(reference)) return undefined
  const digest = (await readText(join(paths.tagsDir(repo), reference)))?.trim()
  const m = digest === undefined ? null : DIGEST_RE.exec(digest)
  if (m === null || !(await exists(paths.revisionPath(repo, m[1]!)))) return undefined
  return m[1]!
}

/** The media type a manifest of `repo` was pushed with (Docker schema 2 when unrecorded). */
/** @internal */
export const manifestMediaType = async (paths: RegistryPaths, repo: string, hex: string): Promise<string> =>
  ((await readText(paths.revisionPath(repo, hex))) ?? DOCKER_V2).trim()

/**
 * The digest hex of the linux/amd64 entry of a manifest list or OCI index (a parsed document), as
 * Distribution picks for clients that do not read lists; `undefined` when there is none.
 */
/** @internal */
export const amd64Entry = (doc: unknown): string | undefined => {
  const manifests = typeof doc === "object" && doc !== null && "manifests" in doc && Array.isArray(doc.manifests)
    ? (doc.manifests as ReadonlyArray<unknown>)
    : []
  for (const m of manifests) {
    if (typeof m !== "object" || m === null) continue
    const entry = m as { digest?: unknown; platform?: { architecture?: unknown; os?: unknown } }
    if (entry.platform?.architecture === "amd64" && entry.platform.os === "linux" && typeof entry.digest === "string") {
      return DIGEST_RE.exec(entry.digest)?.[1]
    }
  }
  return undefined
}
