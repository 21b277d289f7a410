/**
 * Who may do what on LocalPlatform. Every endpoint checks its resource URI here.
 *
 * Rules (those of the platform's auth service, simplified to one process):
 * - a role owns every URI whose path starts with its name after the cluster (and optional org):
 *   `storage://default/alice/...`, `job://default/alice/job-1`, `secret://default/acme/alice/k`;
 * - other access needs a grant of an action on the URI or on a parent of it (a folder covers what
 *   is under it); `manage` implies `write` implies `read`;
 * - a service account's role (`alice/service-accounts/ci`) owns nothing of its creator's: it gets
 *   exactly what is shared with it;
 * - a user manages its sub-roles (`role://alice/...`); every role may read `user://{itself}`;
 * - a grant of `role://R` makes the grantee a member of role R: it gets R's grants too;
 * - URIs compare segment by segment after percent-decoding (`my%20dir` = `my dir`).
 */

/** @internal */
export type Action = "read" | "write" | "manage"

const rank: Record<Action, number> = { read: 1, write: 2, manage: 3 }

/** @internal */
export const isAction = (s: string): s is Action => s === "read" || s === "write" || s === "manage"

/** @internal */
export interface Grant {
  readonly uri: string
  readonly action: Action
}

const trimSlashes = (uri: string) => uri.replace(/\/+$/, "")

const decodeSegment = (segment: string): string => {
  try {
    const d = decodeURIComponent(segment)
    return d.includes("/") ? segment : d
  } catch {
    return segment
  }
}

/** The form URIs are compared in: no trailing `/`, path segments percent-decoded. */
/** @internal */
export const canonical = (uri: string): string => {
  // nothing to trim or decode (the common case): the URI is its own canonical form
  if (!uri.includes("%") && !uri.endsWith("/")) return uri
  const t = trimSlashes(uri)
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(\/.*)?$/i.exec(t)
  if (m === null) return t
  return m[1]! + (m[2] === undefined ? "" : m[2].split("/").map(decodeSegment).join("/"))
}

/** @internal */
export const maxAction = (a: Action | undefined, b: Action | undefined): Action | undefined =>
  a === undefined ? b : b === undefined ? a : rank[a] >= rank[b] ? a : b

/** `uri` equals `prefix` or lies under it (segment-wise). */
/** @internal */
export const covers = (prefix: string, uri: string): boolean => {
  const p = canonical(prefix)
  const u = canonical(uri)
  if (p === u) return true
  // `storage:` style roots (`storage://default`) cover everything on the cluster
  return u.startsWith(p.endsWith(":/") || p.endsWith("://") ? p : p + "/")
}

/** @internal */
export class Acl {
  readonly grants = new Map<string, Array<Grant>>()

  constructor(private readonly orgsOf: (cluster: string) => ReadonlyArray<string | null>) {}

  /** The owner role of a resource URI (`scheme://cluster/[org/]owner/...`), when it names one. */
  ownerOf(uri: string): string | undefined {
    const m = /^[a-z]+:\/\/([^/]+)\/([^/]+)(?:\/([^/]+))?/.exec(uri)
    if (m === null) return undefined
    const [, cluster, first, second] = m
    if (this.orgsOf(cluster!).includes(first!) && second !== undefined) return second
    return first
  }

  grant(role: string, uri: string, action: Action): void {
    const list = (this.grants.get(role) ?? []).filter((g) => canonical(g.uri) !== canonical(uri))
    list.push({ uri: trimSlashes(uri), action })
    this.grants.set(role, list)
  }

  revoke(role: string, uri: string): boolean {
    const list = this.grants.get(role) ?? []
    const kept = list.filter((g) => canonical(g.uri) !== canonical(uri))
    this.grants.set(role, kept)
    return kept.length !== list.length
  }

  /** The grant `role` holds on exactly `uri` (not inherited). */
  grantOn(role: string, uri: string): Grant | undefined {
    return (this.grants.get(role) ?? []).find((g) => canonical(g.uri) === canonical(uri))
  }

  /** Forget a role: its grants, and every grant of membership in it. */
  removeRole(role: string): void {
    this.grants.delete(role)
    for (const [holder, list] of this.grants) {
      this.grants.set(holder, list.filter((g) => canonical(g.uri) !== `role://${role}`))
    }
  }

  /** Whether `role` owns `uri` (its own tree: always `manage`). */
  owns(role: string, uri: string): boolean {
    if (role.includes("/")) return false
    const c = canonical(uri)
    if (c.startsWith("role://")) return c === `role://${role}` || c.startsWith(`role://${role}/`)
    if (c.startsWith("user://")) return false
    return this.ownerOf(c) === role
  }

  /** The roles `role` is a member of (through `role://` grants), directly or not. */
  memberships(role: string): Array<string> {
    const out: Array<string> = []
    const seen = new Set([role])
    const queue = [role]
    while (queue.length > 0) {
      for (const g of this.grants.get(queue.shift()!) ?? []) {
        const c = canonical(g.uri)
        if (!c.startsWith("role://")) continue
        const member = c.slice("role://".length)
        if (seen.has(member)) continue
        seen.add(member)
        out.push(member)
        queue.push(member)
      }
    }
    return out
  }

  /** The strongest action `role` has on `uri`, if any. */
  actionOn(role: string, uri: string): Action | undefined {
    if (this.owns(role, uri)) return "manage"
    let best: Action | undefined = canonical(uri) === `user://${role}` ? "read" : undefined
    for (const r of [role, ...this.memberships(role)]) {
      for (const g of this.grants.get(r) ?? []) {
        if (covers(g.uri, uri)) best = maxAction(best, g.action)
      }
    }
    return best
  }

  can(role: string, uri: string, action: Action): boolean {
    const has = this.actionOn(role, uri)
    return has !== undefined && rank[has] >= rank[action]
  }
}
