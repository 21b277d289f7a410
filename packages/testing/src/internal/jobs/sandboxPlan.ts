/**
 * The file system a sandboxed job sees, as bubblewrap arguments.
 *
 * The sandbox's root is a fresh tmpfs (bubblewrap's own) in which every entry of the source root
 * (this machine's `/`, or the image's unpacked folder) is bound read-only. A mount point that
 * does not exist in the source (`/mnt/d`, a secret file under `/etc/secrets`) cannot be created in
 * a read-only folder, so its deepest existing ancestor is "shadowed": a tmpfs takes its place and
 * its entries are bound into it again, read-only, next to the new mount point; then it is made
 * read-only too. `/proc`, `/dev`, `/tmp` (and `/var/tmp`, `/dev/shm`) are the sandbox's own; on
 * this machine's root, `/root` is an empty tmpfs too (its files stay private), and it is the home
 * folder; an image's `/root` is shadowed and stays writable.
 */
import * as fs from "node:fs"
import { join, posix } from "node:path"
import type * as JobRunner from "../../JobRunner.js"
import { shlexSplit } from "../jobsShell.js"

type Kind = "dir" | "file" | "other"

/** @internal */
export interface Resolved {
  /** The canonical path inside the root (symlinks followed within the root), missing parts as given. */
  readonly path: string
  /** The part of `path` that exists. */
  readonly existing: string
  /** What `path` is, `undefined` when it does not exist. */
  readonly kind: Kind | undefined
}

const kindOf = (st: fs.Stats): Kind => (st.isDirectory() ? "dir" : st.isFile() ? "file" : "other")

/**
 * Where `path` leads in the file system rooted at the folder `root`, following symlinks as the
 * container would (absolute targets from `root`, `..` never above it).
 */
/** @internal */
export const resolveIn = (root: string, path: string): Resolved => {
  let done: Array<string> = []
  let todo = path.split("/").filter((s) => s !== "" && s !== ".")
  let hops = 0
  while (todo.length > 0) {
    const part = todo.shift()!
    if (part === "..") {
      done.pop()
      continue
    }
    const next = [...done, part]
    let st: fs.Stats
    try {
      st = fs.lstatSync(join(root, ...next))
    } catch {
      const existing = "/" + done.join("/")
      return { path: posix.join(existing, posix.normalize([part, ...todo].join("/"))), existing, kind: undefined }
    }
    if (st.isSymbolicLink() && hops++ < 40) {
      const target = fs.readlinkSync(join(root, ...next))
      if (target.startsWith("/")) done = []
      todo = [...target.split("/").filter((s) => s !== "" && s !== "."), ...todo]
      continue
    }
    done = next
    if (todo.length === 0) return { path: "/" + done.join("/"), existing: "/" + done.join("/"), kind: st.isSymbolicLink() ? "other" : kindOf(st) }
  }
  return { path: "/" + done.join("/"), existing: "/" + done.join("/"), kind: "dir" }
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : dir + "/")

/** @internal */
export interface SandboxInput {
  readonly spec: JobRunner.JobSpec
  /** The host files holding the secret files' contents, in the order of `spec.secretFiles`. */
  readonly secretHostFiles: ReadonlyArray<string>
  readonly shell: string
  readonly inheritEnv: ReadonlyArray<string>
}

/** @internal */
export interface SandboxPlan {
  /** bubblewrap's arguments up to the command (the caller adds `--info-fd` and such). */
  readonly args: ReadonlyArray<string>
  readonly argv: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  /** The working directory inside the sandbox. */
  readonly cwd: string
  /** The host file a path of the sandbox names when it starts (`undefined` if none). */
  readonly hostFile: (path: string) => string | undefined
}

interface Layout {
  readonly root: string
  /** Folders that are the sandbox's own empty tmpfs. */
  readonly fresh: ReadonlyArray<string>
  readonly shadows: Set<string>
}

/** Marks the deepest existing ancestor of a missing mount point for shadowing. */
const needMountPoint = (layout: Layout, path: string): string => {
  const r = resolveIn(layout.root, path)
  const inFresh = layout.fresh.some((f) => under(r.path, f))
  if (r.kind === undefined && !inFresh && r.existing !== "/" && resolveIn(layout.root, r.existing).kind === "dir") {
    layout.shadows.add(r.existing)
  }
  return r.path
}

/** Binds the entries of the source folder `dir` into the sandbox's `dir`, read-only. */
const bindEntries = (layout: Layout, dir: string, args: Array<string>): void => {
  let names: Array<string>
  try {
    names = fs.readdirSync(join(layout.root, dir)).sort()
  } catch {
    return
  }
  for (const name of names) {
    const path = posix.join(dir, name)
    if (layout.shadows.has(path) || layout.fresh.some((f) => f === path)) continue
    const src = join(layout.root, path)
    try {
      const st = fs.lstatSync(src)
      if (st.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(src), path)
      else args.push(st.isDirectory() || st.isFile() ? "--ro-bind" : "--ro-bind-try", src, path)
    } catch {
      // gone or unreadable: left out
    }
  }
}

const depth = (p: string) => p.split("/").filter((s) => s !== "").length

/** The command as the platform runs it: the job's entrypoint and command over the image's. */
const commandOf = (spec: JobRunner.JobSpec, shell: string): Array<string> => {
  const image = spec.imageRoot
  const entrypoint = spec.entrypoint !== undefined && spec.entrypoint !== ""
    ? shlexSplit(spec.entrypoint) ?? []
    : [...(image?.entrypoint ?? [])]
  const cmd = spec.command !== undefined && spec.command !== ""
    ? shlexSplit(spec.command) ?? []
    : spec.entrypoint !== undefined && spec.entrypoint !== ""
    ? []
    : [...(image?.cmd ?? [])]
  const argv = [...entrypoint, ...cmd]
  return argv.length === 0 ? [shell, "-c", ""] : argv
}

const environmentOf = (input: SandboxInput): Record<string, string> => {
  const env: Record<string, string> = {}
  if (input.spec.imageRoot !== undefined) Object.assign(env, input.spec.imageRoot.env)
  else {
    for (const name of input.inheritEnv) {
      const v = process.env[name]
      if (v !== undefined) env[name] = v
    }
  }
  env["PATH"] ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  env["HOME"] ??= "/root"
  env["HOSTNAME"] = input.spec.id
  return Object.assign(env, input.spec.env)
}

/** The file system, command and environment of a job's sandbox. */
/** @internal */
export const planSandbox = (input: SandboxInput): SandboxPlan => {
  const { spec } = input
  const image = spec.imageRoot
  const root = image?.dir ?? "/"
  // on this machine's root, /root is hidden; an image's /root is writable with its files kept
  const imageHome = image !== undefined && resolveIn(root, "/root").kind === "dir"
  const fresh = ["/proc", "/dev", "/tmp", ...(imageHome ? [] : ["/root"])]
  if (resolveIn(root, "/var/tmp").kind === "dir") fresh.push("/var/tmp")
  const layout: Layout = { root, fresh, shadows: new Set(imageHome ? ["/root"] : []) }
  const cwd = posix.resolve("/", spec.workingDir ?? image?.workingDir ?? "/")
  const mounts = [...spec.mounts]
    .sort((a, b) => depth(a.containerPath) - depth(b.containerPath))
    .map((m) => ({ ...m, path: needMountPoint(layout, m.containerPath) }))
  const secrets = spec.secretFiles.map((s, i) => ({ src: input.secretHostFiles[i]!, path: needMountPoint(layout, s.containerPath) }))
  const injected = image === undefined ? [] : ["/etc/resolv.conf", "/etc/hosts"].filter((f) => fs.existsSync(f))
  const injectedAt = injected.map((f) => ({ src: f, path: needMountPoint(layout, f) }))
  const workdir = needMountPoint(layout, cwd)
  const args: Array<string> = []
  bindEntries(layout, "/", args)
  for (const dir of [...layout.shadows].sort((a, b) => depth(a) - depth(b))) {
    args.push("--tmpfs", dir)
    bindEntries(layout, dir, args)
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm")
  for (const dir of fresh) if (dir !== "/proc" && dir !== "/dev") args.push("--tmpfs", dir)
  // a working directory that is not there is made, empty and writable (outside the mounts; before
  // them, which may be inside it)
  const madeWorkdir = resolveIn(root, cwd).kind === undefined && !mounts.some((m) => under(workdir, m.path)) &&
    !fresh.some((f) => under(workdir, f))
  if (madeWorkdir) args.push("--tmpfs", workdir)
  for (const f of injectedAt) args.push("--ro-bind", f.src, f.path)
  for (const m of mounts) args.push(m.readOnly ? "--ro-bind" : "--bind", m.hostPath, m.path)
  for (const s of secrets) args.push("--ro-bind", s.src, s.path)
  if (!madeWorkdir && workdir !== "/") args.push("--dir", workdir)
  // what was made writable to place mount points becomes read-only again (an image's /root stays writable)
  for (const dir of [...layout.shadows, "/"]) if (dir !== "/root") args.push("--remount-ro", dir)
  args.push("--chdir", workdir)
  const hostFile = (path: string): string | undefined => {
    const p = posix.resolve("/", path)
    const mount = [...mounts].reverse().find((m) => under(p, m.path))
    if (mount !== undefined) return join(mount.hostPath, posix.relative(mount.path, p))
    if (fresh.some((f) => under(p, f))) return undefined
    const r = resolveIn(root, p)
    return r.kind === undefined ? undefined : join(root, r.path)
  }
  return { args, argv: commandOf(spec, input.shell), env: environmentOf(input), cwd: workdir, hostFile }
}

/**
 * The host file of the executable `name` in a sandbox, searched as `execvp` would (names without
 * `/` in the `PATH`, from the working directory `cwd`); `hostFile` maps the sandbox's paths to
 * this machine's. `undefined` when there is none.
 */
/** @internal */
export const findExecutable = (
  hostFile: (path: string) => string | undefined,
  cwd: string,
  name: string,
  path: string | undefined
): string | undefined => {
  const candidates = name.includes("/")
    ? [posix.resolve(cwd, name)]
    : (path ?? "").split(":").filter((d) => d !== "").map((d) => posix.join(posix.resolve(cwd, d), name))
  for (const candidate of candidates) {
    const host = hostFile(candidate)
    if (host === undefined) continue
    try {
      const st = fs.statSync(host)
      if (st.isFile() && (st.mode & 0o111) !== 0) return host
    } catch {
      // not there
    }
  }
  return undefined
}
