/**
 * Who may do what on LocalPlatform. Every endpoint checks its resource URI here.
 *
 * Rules (those of the platform's auth service, simplified to one process):
 * - a role owns every URI whose path starts with its name after the cluster (and optional org):
 *   `storage://default/alice/...`, `job://default/alice/job-1`, `secret://default/acme/alice/k`;
 * - other access needs a grant of an action on the URI or on a parent of it (a folder covers what
 *   is under it); `manage` implies `write` implies `read`;
 * - a service account's role (`alice/service-accounts/ci`) owns nothing of its creator's: it gets
 *   exactly what is shared with it.
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

/** `uri` equals `prefix` or lies under it (segment-wise). */
/** @internal */
export const covers = (prefix: string, uri: string): boolean => {
  const p = trimSlashes(prefix)
  const u = trimSlashes(uri)
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
    const list = (this.grants.get(role) ?? []).filter((g) => trimSlashes(g.uri) !== trimSlashes(uri))
    list.push({ uri: trimSlashes(uri), action })
    this.grants.set(role, list)
  }

  revoke(role: string, uri: string): boolean {
    const list = this.grants.get(role) ?? []
    const kept = list.filter((g) => trimSlashes(g.uri) !== trimSlashes(uri))
    this.grants.set(role, kept)
    return kept.length !== list.length
  }

  /** The strongest action `role` has on `uri`, if any. */
  actionOn(role: string, uri: string): Action | undefined {
    if (!role.includes("/") && this.ownerOf(uri) === role) return "manage"
    let best: Action | undefined
    for (const g of this.grants.get(role) ?? []) {
      if (covers(g.uri, uri) && (best === undefined || rank[g.action] > rank[best])) best = g.action
    }
    return best
  }

  can(role: string, uri: string, action: Action): boolean {
    const has = this.actionOn(role, uri)
    return has !== undefined && rank[has] >= rank[action]
  }
}
