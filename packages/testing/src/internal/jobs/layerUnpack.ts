/**
 * Unpacking one image layer (a tar stream) onto a root folder, as a container runtime applies
 * layers: entries replace what lower layers left at their path, OCI whiteouts delete (`.wh.<name>`)
 * or hide a folder's lower contents (`.wh..wh..opq`), hard links and symbolic links are made as
 * recorded, modes are kept (set-user-id and set-group-id bits dropped: the folder lives on this
 * machine; folders keep their owner's `rwx`, so that the user running LocalPlatform can remove
 * the folder, which jobs get read-only anyway), owners are not (the files belong to that user),
 * devices and FIFOs are skipped.
 *
 * Layer entries are untrusted. A name (or hard link target) that is absolute or has a `..`
 * component refuses the layer. The folders of a path are resolved inside the root, as a chroot
 * would: a symbolic link met on the way is followed with the root as `/` and `..` stopping at the
 * root, so a link to `/etc` or `../../..` leads to the root's own `etc` or to the root itself,
 * never outside. The last component of a path is never followed: what is there is removed and
 * the entry created in its place (files with `O_EXCL | O_NOFOLLOW`). Nothing else writes into the
 * folder while a layer is unpacked (it is a private temporary folder), so what was resolved stays so.
 */
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { promisify } from "node:util"
import { extract, type Headers } from "tar-stream"
import { ImageError } from "./imageError.js"

/** What unpacking the layers of one image carries from layer to layer. */
/** @internal */
export interface UnpackState {
  /** The root folder (its real path: no symbolic link in it). */
  readonly root: string
  /** Modes of the folders the layers recorded, by relative path, set once every layer is unpacked. */
  readonly dirModes: Map<string, number>
}

const MAX_LINKS = 40
const WHITEOUT = ".wh."
const OPAQUE = ".wh..wh..opq"
/** Mode bits kept: permissions and the sticky bit. */
const MODE_MASK = 0o1777

const code = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const lstatOrUndefined = (p: string) =>
  fsp.lstat(p).catch((e: unknown) => {
    if (code(e) === "ENOENT") return undefined
    throw e
  })

/** The components of an entry name (`./a//b/` → `["a", "b"]`); refuses absolute names and `..`. */
const entryParts = (name: string, layer: string): ReadonlyArray<string> => {
  if (name.startsWith("/") || name.includes("\0")) {
    throw new ImageError({ reason: "Unsafe", description: `layer ${layer} has an entry outside the image root: ${JSON.stringify(name)}` })
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".")
  if (parts.includes("..")) {
    throw new ImageError({ reason: "Unsafe", description: `layer ${layer} has an entry outside the image root: ${JSON.stringify(name)}` })
  }
  return parts
}

/**
 * The folder `parts` names, resolved inside the root (components relative to it, each a real
 * folder). Symbolic links are followed in the root's scope; missing folders are created (mode
 * 0755, as tar does) when `create`, else the result is `undefined`.
 */
const resolveDir = async (
  root: string,
  parts: ReadonlyArray<string>,
  create: boolean,
  layer: string
): Promise<Array<string> | undefined> => {
  let resolved: Array<string> = []
  const todo = [...parts]
  let links = 0
  while (todo.length > 0) {
    const c = todo.shift()!
    if (c === "" || c === ".") continue
    if (c === "..") {
      resolved.pop()
      continue
    }
    const p = join(root, ...resolved, c)
    const st = await lstatOrUndefined(p)
    if (st === undefined) {
      if (!create) return undefined
      await fsp.mkdir(p, { mode: 0o755 })
      resolved.push(c)
    } else if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) {
        throw new ImageError({ reason: "Corrupt", description: `layer ${layer}: too many symbolic links in ${parts.join("/")}` })
      }
      const target = await fsp.readlink(p)
      if (target.startsWith("/")) resolved = []
      todo.unshift(...target.split("/"))
    } else if (st.isDirectory()) {
      resolved.push(c)
    } else {
      throw new ImageError({ reason: "Corrupt", description: `layer ${layer}: ${parts.join("/")} goes through a file that is not a folder` })
    }
  }
  return resolved
}

/** Removes whatever is at `p` (a folder with its contents; a link, not what it points at). */
const removeAt = (p: string) => fsp.rm(p, { recursive: true, force: true })

/** Removes what is at `p` unless it is a folder and `keepDir`. */
const clearFor = async (p: string, keepDir: boolean): Promise<boolean> => {
  const st = await lstatOrUndefined(p)
  if (st === undefined) return false
  if (keepDir && st.isDirectory()) return true
  await removeAt(p)
  return false
}

const openFd = promisify(fs.open)
const fchmod = promisify(fs.fchmod)

/** A new file at `path` (never through a link: `O_EXCL | O_NOFOLLOW`) with the entry's bytes and mode. */
const writeFile = async (path: string, mode: number, body: Readable) => {
  const fd = await openFd(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600)
  try {
    await fchmod(fd, mode & MODE_MASK)
  } catch (e) {
    fs.closeSync(fd)
    throw e
  }
  // the stream closes the descriptor when it ends or fails
  await pipeline(body, fs.createWriteStream(path, { fd }))
}

/** A layer's entries, one at a time. */
class LayerWriter {
  /** Paths (relative, resolved) this layer made: its own whiteouts do not apply to them. */
  private readonly made = new Set<string>()

  constructor(private readonly state: UnpackState, private readonly layer: string) {}

  async entry(header: Headers, body: Readable): Promise<void> {
    const parts = entryParts(header.name, this.layer)
    if (parts.length === 0) return // the root itself
    const base = parts[parts.length - 1]!
    const parent = (await resolveDir(this.state.root, parts.slice(0, -1), true, this.layer))!
    const rel = [...parent, base].join("/")
    const path = join(this.state.root, ...parent, base)
    if (base === OPAQUE) return this.opaque(parent)
    if (base.startsWith(WHITEOUT)) return this.whiteout(parent, base.slice(WHITEOUT.length))
    const mode = header.mode ?? 0o644
    switch (header.type) {
      case "directory": {
        if (!(await clearFor(path, true))) await fsp.mkdir(path, { mode: 0o700 })
        this.state.dirModes.set(rel, (mode & MODE_MASK) | 0o700)
        break
      }
      case "file":
      case "contiguous-file":
      case undefined:
      case null: {
        await clearFor(path, false)
        await writeFile(path, mode, body)
        break
      }
      case "symlink": {
        await clearFor(path, false)
        await fsp.symlink(header.linkname ?? "", path)
        break
      }
      case "link": {
        const source = await this.linkSource(header.linkname ?? "")
        await clearFor(path, false)
        await fsp.link(source, path)
        break
      }
      default:
        return // devices, FIFOs: not made
    }
    this.made.add(rel)
  }

  /** The file a hard link entry names (an earlier entry of the image, never a folder). */
  private async linkSource(linkname: string): Promise<string> {
    const parts = entryParts(linkname, this.layer)
    const dir = parts.length === 0 ? undefined : await resolveDir(this.state.root, parts.slice(0, -1), false, this.layer)
    const source = dir === undefined ? undefined : join(this.state.root, ...dir, parts[parts.length - 1]!)
    const st = source === undefined ? undefined : await lstatOrUndefined(source)
    if (source === undefined || st === undefined || st.isDirectory()) {
      throw new ImageError({ reason: "Corrupt", description: `layer ${this.layer}: hard link to a missing file ${JSON.stringify(linkname)}` })
    }
    return source
  }

  private async whiteout(parent: ReadonlyArray<string>, name: string): Promise<void> {
    if (name === "" || name === "." || name === "..") {
      throw new ImageError({ reason: "Unsafe", description: `layer ${this.layer} has a whiteout of ${JSON.stringify(name)}` })
    }
    const rel = [...parent, name].join("/")
    if (!this.made.has(rel)) await removeAt(join(this.state.root, ...parent, name))
  }

  private async opaque(parent: ReadonlyArray<string>): Promise<void> {
    const dir = join(this.state.root, ...parent)
    for (const child of await fsp.readdir(dir)) {
      if (!this.made.has([...parent, child].join("/"))) await removeAt(join(dir, child))
    }
  }
}

/** Unpacks a layer's tar stream (already decompressed) onto `state.root`. */
/** @internal */
export const unpackLayer = (tarStream: Readable, state: UnpackState, layer: string): Promise<void> => {
  const writer = new LayerWriter(state, layer)
  const extractor = extract()
  extractor.on("entry", (header: Headers, body: Readable, next: (error?: unknown) => void) => {
    // tar-stream's entry streams (readable-stream 3) have no `readableEnded`: watch for the end
    let ended = false
    let written = false
    body.once("end", () => {
      ended = true
      if (written) next()
    })
    writer.entry(header, body).then(
      () => {
        written = true
        if (ended) next()
        else body.resume() // whatever the entry did not read (folders, links, skipped kinds)
      },
      (e: unknown) => next(e)
    )
  })
  return pipeline(tarStream, extractor)
}

/** Sets the folder modes the layers recorded (after every layer: a read-only folder may get files). */
/** @internal */
export const applyDirModes = async (state: UnpackState): Promise<void> => {
  const deepestFirst = [...state.dirModes].sort((a, b) => b[0].split("/").length - a[0].split("/").length)
  for (const [rel, mode] of deepestFirst) {
    const p = join(state.root, ...rel.split("/"))
    const st = await lstatOrUndefined(p)
    if (st !== undefined && st.isDirectory()) await fsp.chmod(p, mode)
  }
}
