import { randomBytes } from "node:crypto"
import { Acl } from "./acl.js"
import * as jwt from "./jwt.js"

/** @internal */
export interface PresetSpec {
  readonly name: string
  readonly cpu: number
  readonly memory: number
  readonly creditsPerHour?: string | undefined
  readonly gpu?: number | undefined
  readonly gpuModel?: string | undefined
  readonly schedulerEnabled?: boolean | undefined
  readonly preemptibleNode?: boolean | undefined
  readonly tpu?: { readonly type: string; readonly softwareVersion: string } | undefined
}

/** @internal */
export interface ClusterSpec {
  readonly name: string
  readonly orgs?: ReadonlyArray<string | null> | undefined
  readonly presets?: ReadonlyArray<PresetSpec> | undefined
  /**
   * Provider of the buckets created on the cluster (default `minio`): `aws`, `minio` and
   * `open_stack` buckets are served by the local S3 endpoint, `azure` by the Azure Blob one, `gcp`
   * by the GCS one, each with credentials of that provider's shape.
   */
  readonly bucketProvider?: "aws" | "minio" | "open_stack" | "azure" | "gcp" | undefined
}

/** @internal */
export const defaultPresets: ReadonlyArray<PresetSpec> = [
  { name: "cpu-small", cpu: 1, memory: 2 * 2 ** 30, creditsPerHour: "1" },
  { name: "cpu-medium", cpu: 2, memory: 4 * 2 ** 30, creditsPerHour: "2" },
  { name: "cpu-large", cpu: 4, memory: 8 * 2 ** 30, creditsPerHour: "4" },
  {
    name: "gpu-small",
    cpu: 4,
    memory: 16 * 2 ** 30,
    creditsPerHour: "10",
    gpu: 1,
    gpuModel: "nvidia-tesla-t4",
    schedulerEnabled: true,
    preemptibleNode: true
  }
]

/** @internal */
export const defaultClusters: ReadonlyArray<ClusterSpec> = [{ name: "default", orgs: [null], presets: defaultPresets }]

/** @internal */
export interface RequestMatch {
  readonly method?: string | undefined
  readonly path?: string | RegExp | undefined
}

/** @internal */
export interface FaultRule extends RequestMatch {
  readonly kind: "status" | "drop" | "latency"
  readonly status?: number | undefined
  readonly retryAfter?: string | undefined
  readonly delayMillis?: number | undefined
  readonly probability: number
  remaining: number
}

/** @internal */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The newest `capacity` recorded requests, oldest first, in a ring: recording one costs the same
 * however many were recorded before.
 */
/** @internal */
export class RequestLog {
  private readonly items: Array<RecordedRequest> = []
  private next = 0

  constructor(readonly capacity: number) {}

  push(request: RecordedRequest): void {
    if (this.items.length < this.capacity) this.items.push(request)
    else this.items[this.next] = request
    this.next = (this.next + 1) % this.capacity
  }

  get length(): number {
    return this.items.length
  }

  toArray(): Array<RecordedRequest> {
    if (this.items.length < this.capacity) return this.items.slice()
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)]
  }
}

/** How many of the newest requests `LocalPlatform.requests` keeps. */
/** @internal */
export const MAX_RECORDED_REQUESTS = 10_000

/** How many verified `Authorization` headers `PlatformState.authenticate` remembers. */
const MAX_VERIFIED_HEADERS = 1024

/** @internal */
export type FaultDecision =
  | { readonly _tag: "None" }
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly _tag: "Drop" }

const matches = (m: RequestMatch, method: string, path: string): boolean =>
  (m.method === undefined || m.method.toUpperCase() === method) &&
  (m.path === undefined || (typeof m.path === "string" ? path.startsWith(m.path) : m.path.test(path)))

/** @internal */
export class Faults {
  rules: Array<FaultRule> = []

  add(rule: FaultRule): void {
    this.rules.push(rule)
  }

  clear(): void {
    this.rules = []
  }

  private take(kind: FaultRule["kind"], method: string, path: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.kind !== kind || rule.remaining <= 0 || !matches(rule, method, path)) continue
      if (rule.probability < 1 && Math.random() >= rule.probability) continue
      rule.remaining -= 1
      return rule
    }
    return undefined
  }

  latency(method: string, path: string): number {
    return this.take("latency", method, path)?.delayMillis ?? 0
  }

  decide(method: string, path: string): FaultDecision {
    const drop = this.take("drop", method, path)
    if (drop !== undefined) return { _tag: "Drop" }
    const status = this.take("status", method, path)
    if (status !== undefined) return { _tag: "Status", status: status.status ?? 502, retryAfter: status.retryAfter }
    return { _tag: "None" }
  }
}

/** @internal */
export interface User {
  readonly name: string
}

/** @internal */
export interface Identity {
  readonly user: string
  readonly claims: Record<string, unknown>
}

/** @internal */
export interface OAuthState {
  /** Who the authorize endpoint approves: a user name, `undefined` = the first user, `"deny"` = nobody. */
  approve: string | "deny" | undefined
  tokenTtlSeconds: number
  readonly codes: Map<string, {
    readonly user: string
    readonly challenge: string
    readonly redirectUri: string
    readonly clientId: string
    readonly expiresAt: number
  }>
  readonly refreshTokens: Map<string, string>
  /** Raw form bodies received by the token endpoint (for protocol tests). */
  readonly tokenRequests: Array<string>
  refreshCount: number
}

/** A disk of the disks service; its contents live in `path` (a folder under the data dir). */
/** @internal */
export interface DiskRecord {
  readonly id: string
  readonly owner: string
  readonly cluster: string
  readonly org: string | null
  readonly name: string | undefined
  readonly storage: number
  usedBytes: number | undefined
  status: "Pending" | "Ready" | "Broken"
  readonly createdAt: Date
  lastUsage: Date | undefined
  readonly lifeSpanSeconds: number | undefined
  readonly path: string
}

/** @internal */
export class PlatformState {
  /** Key signing the platform's tokens (HS256). */
  readonly secret: string
  readonly users = new Map<string, User>()
  readonly clusters: ReadonlyArray<ClusterSpec>
  readonly faults = new Faults()
  readonly acl: Acl
  /** Folder holding the platform's data (storage trees, disks, job logs). */
  readonly dataDir: string
  /** Secret values by URI `secret://{cluster}/[{org}/]{owner}/{key}`. */
  readonly secrets = new Map<string, Uint8Array>()
  /** Disks by id. */
  readonly disks = new Map<string, DiskRecord>()
  /** Sub-roles that exist (`alice/roles/team`, `alice/service-accounts/ci`); tokens of other sub-roles are refused. */
  readonly roles = new Set<string>()
  readonly requests = new RequestLog(MAX_RECORDED_REQUESTS)
  recordRequests = true
  /** Whether the `/_local/*` test hooks answer (off unless the platform was started with them). */
  readonly testHooks: boolean
  /** Origins whose pages may call the platform (CORS); none by default. */
  readonly corsOrigins: ReadonlyArray<string>
  readonly clientId = "local-platform-cli"
  readonly audience = "https://local-platform.neu.ro"
  readonly oauth: OAuthState = {
    approve: undefined,
    tokenTtlSeconds: 86400,
    codes: new Map(),
    refreshTokens: new Map(),
    tokenRequests: [],
    refreshCount: 0
  }

  constructor(options: {
    readonly clusters?: ReadonlyArray<ClusterSpec> | undefined
    readonly users?: ReadonlyArray<string> | undefined
    readonly dataDir: string
    readonly tokenSecret?: string | undefined
    readonly testHooks?: boolean | undefined
    readonly corsOrigins?: ReadonlyArray<string> | undefined
  }) {
    this.testHooks = options.testHooks ?? false
    this.corsOrigins = options.corsOrigins ?? []
    this.secret = options.tokenSecret ?? randomBytes(32).toString("hex")
    this.dataDir = options.dataDir
    this.clusters = options.clusters ?? defaultClusters
    this.acl = new Acl((cluster) => this.clusters.find((c) => c.name === cluster)?.orgs ?? [null])
    for (const name of options.users ?? ["user"]) this.addUser(name)
  }

  addUser(name: string): User {
    const existing = this.users.get(name)
    if (existing !== undefined) return existing
    const user: User = { name }
    this.users.set(name, user)
    return user
  }

  issueToken(user: string, options: { readonly ttlSeconds?: number | undefined; readonly claims?: Record<string, unknown> } = {}): string {
    const now = Math.floor(Date.now() / 1000)
    return jwt.sign(
      {
        [jwt.USER_CLAIM]: user,
        sub: user,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        ...(options.ttlSeconds !== undefined ? { exp: now + options.ttlSeconds } : {}),
        ...options.claims
      },
      this.secret
    )
  }

  /**
   * Claims of `Authorization` headers whose signature was verified, by header: a signature is a
   * pure function of the token and the (fixed) secret, so it is checked once per header. Expiry,
   * the user and the sub-role are checked on every call, so an expired token or a deleted role is
   * refused at once. Bounded: the oldest header is forgotten first.
   */
  private readonly verifiedHeaders = new Map<string, Record<string, unknown>>()

  /** The identity behind an `Authorization` header (Bearer, or Basic with the token as password). */
  authenticate(header: string | undefined): Identity | undefined {
    if (header === undefined) return undefined
    let claims = this.verifiedHeaders.get(header)
    if (claims === undefined) {
      claims = verifyHeader(header, this.secret)
      if (claims === undefined) return undefined
      if (this.verifiedHeaders.size >= MAX_VERIFIED_HEADERS) {
        this.verifiedHeaders.delete(this.verifiedHeaders.keys().next().value!)
      }
      this.verifiedHeaders.set(header, claims)
    }
    if (typeof claims.exp === "number" && claims.exp <= Date.now() / 1000) return undefined
    const name = claims["identity"] ?? claims[jwt.USER_CLAIM]
    if (typeof name !== "string" || !this.users.has(name.split("/")[0]!)) return undefined
    if (name.includes("/") && !this.roles.has(name)) return undefined
    return { user: name, claims }
  }
}

/** The verified claims of the token in an `Authorization` header (Bearer, or Basic with the token as password). */
const verifyHeader = (header: string, secret: string): Record<string, unknown> | undefined => {
  let token: string | undefined
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (bearer) token = bearer[1]
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header)
  if (basic) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    if (colon >= 0) token = decoded.slice(colon + 1)
  }
  return token === undefined ? undefined : jwt.verify(token, secret)
}
