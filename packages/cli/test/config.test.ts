import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { LocalPlatform } from "@neuro-sdk/testing"
import type { Harness } from "./helpers.js"
import { start } from "./helpers.js"

/** Python's `json.dumps` text (`", "` and `": "` separators), the form neuro-sdk stores. */
const pyDumps = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(", ")}]`
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyDumps(v)}`).join(", ")}}`
  }
  return JSON.stringify(value ?? null)
}

interface Db {
  exec(sql: string): void
  prepare(sql: string): { run(...args: Array<unknown>): unknown; all(...args: Array<unknown>): Array<Record<string, unknown>> }
  pragma(sql: string): unknown
  close(): void
}
const openDb = (file: string): Db => {
  const Database = createRequire(import.meta.url)("better-sqlite3") as new(file: string) => Db
  return new Database(file)
}

/**
 * A token login stored the way neuro-sdk 23.2 (`neuro login-with-token` of the Python CLI) stores
 * it: the `/config` answer turned into its stored JSON forms, its table, WAL mode and file modes.
 */
const pythonLogin = async (dir: string, url: string, token: string) => {
  const cfg = await (await fetch(`${url}/config`, { headers: { Authorization: `Bearer ${token}` } })).json() as Record<string, any>
  const keys = ["auth_url", "token_url", "logout_url", "client_id", "audience", "headless_callback_url", "success_redirect_url"]
  const auth: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, cfg[k] ?? null]))
  auth.callback_urls = cfg.callback_urls ?? []
  const preset = (p: Record<string, any>) => ({
    name: p.name,
    credits_per_hour: String(p.credits_per_hour ?? "0"),
    cpu: p.cpu,
    memory: p.memory,
    gpu: p.gpu ?? null,
    gpu_model: p.gpu_model ?? null,
    tpu_type: p.tpu?.type ?? null,
    tpu_software_version: p.tpu?.software_version ?? null,
    scheduler_enabled: p.scheduler_enabled ?? false,
    preemptible_node: p.preemptible_node ?? false
  })
  const urls = ["registry_url", "storage_url", "users_url", "monitoring_url", "secrets_url", "disks_url", "buckets_url"]
  const clusters = (cfg.clusters as Array<Record<string, any>>).map((c) => ({
    name: c.name,
    orgs: c.orgs ?? [null],
    ...Object.fromEntries(urls.map((k) => [k, c[k]])),
    presets: (c.resource_presets ?? []).map(preset)
  }))
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const db = openDb(join(dir, "db"))
  fs.chmodSync(join(dir, "db"), 0o600)
  db.pragma("journal_mode = WAL")
  db.exec(
    "CREATE TABLE main (auth_config TEXT, token TEXT, expiration_time REAL, refresh_token TEXT, url TEXT, admin_url TEXT, version TEXT, cluster_name TEXT, org_name TEXT, clusters TEXT, timestamp REAL)"
  )
  const now = Date.now() / 1000
  db.prepare("INSERT INTO main VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").run(
    pyDumps(auth), token, now + 3600, "", url, cfg.admin_url ?? null, "23.2.0", clusters[0]!.name, clusters[0]!.orgs[0], pyDumps(clusters), now
  )
  db.close()
}

describe("neuro config", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["alice", "bob"], clusters: [{ name: "first", orgs: [null], presets: LocalPlatform.DEFAULT_PRESETS }, { name: "second", orgs: ["acme", "zeta"] }] })
  })
  afterAll(() => h.close())

  it("without a login: one clear line, exit code 70, no stack", async () => {
    const r = await h.neuro(["ls"])
    assert.strictEqual(r.code, 70)
    assert.strictEqual(r.stdout, "")
    assert.strictEqual(r.stderr, `ERROR: Config at ${h.configDir} does not exists. Please login.\n`)
  })

  it("login-with-token, show, show-token, get-clusters, switch-cluster, switch-org, docker, logout", async () => {
    const login = await h.neuro(["config", "login-with-token", h.token("alice"), h.platform.apiUrl.toString()])
    assert.strictEqual(login.code, 0, login.stderr)
    assert.include(login.stdout, `Logged into ${h.platform.apiUrl} as alice, current cluster is first, org is NO_ORG`)
    assert.isTrue(fs.existsSync(join(h.configDir, "db")))

    const show = await h.neuro(["config", "show"])
    assert.strictEqual(show.code, 0, show.stderr)
    assert.match(show.stdout, /User Name\s+alice\n/)
    assert.match(show.stdout, /Current Cluster\s+first\n/)
    assert.match(show.stdout, /Current Org\s+<no-org>\n/)
    assert.include(show.stdout, `API URL              ${h.platform.apiUrl}`)
    assert.match(show.stdout, /Resource Presets:\nName\s+#CPU\s+Memory/)
    assert.match(show.stdout, /cpu-small\s+1\s+2\.1 GB/)

    const token = await h.neuro(["config", "show-token"])
    assert.strictEqual(token.code, 0, token.stderr)
    assert.match(token.stdout.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/)

    const clusters = await h.neuro(["config", "get-clusters"])
    assert.strictEqual(clusters.code, 0, clusters.stderr)
    assert.include(clusters.stdout, "Available clusters:\n* Name: first\n  Orgs: NO_ORG\n")
    assert.include(clusters.stdout, "  Name: second\n  Orgs: acme, zeta\n")

    const bad = await h.neuro(["config", "switch-cluster", "nope"])
    assert.strictEqual(bad.code, 70)
    assert.match(bad.stderr, /^ERROR: .*nope.*first, second.*\n$/)

    const noName = await h.neuro(["config", "switch-cluster"])
    assert.strictEqual(noName.code, 2)
    assert.include(noName.stderr, "Interactive mode is disabled for non-TTY mode")

    const sw = await h.neuro(["config", "switch-cluster", "second"])
    assert.strictEqual(sw.code, 0, sw.stderr)
    assert.strictEqual(sw.stdout, "The current cluster is second\n")
    const org = await h.neuro(["config", "switch-org", "zeta"])
    assert.strictEqual(org.stdout, "The current org_name is zeta\n")
    const after = await h.neuro(["config", "show"])
    assert.match(after.stdout, /Current Cluster\s+second\n/)
    assert.match(after.stdout, /Current Org\s+zeta\n/)
    const noOrg = await h.neuro(["config", "switch-org", "NO_ORG"])
    assert.strictEqual(noOrg.code, 70, "the cluster second has no NO_ORG")
    assert.match(noOrg.stderr, /^ERROR: /)

    // config docker: the registry's credential helper added, the rest of the file kept
    const dockerDir = join(h.work, "docker-config")
    fs.mkdirSync(dockerDir)
    fs.writeFileSync(join(dockerDir, "config.json"), JSON.stringify({ auths: { "other.example": {} }, credHelpers: { "gcr.io": "gcloud" } }))
    const docker = await h.neuro(["config", "docker", "--docker-config", dockerDir])
    assert.strictEqual(docker.code, 0, docker.stderr)
    const registryHost = new URL(h.platform.url).host
    assert.include(docker.stdout, `You can use docker client with neuro registry: ${registryHost}`)
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(join(dockerDir, "config.json"), "utf8")), {
      auths: { "other.example": {} },
      credHelpers: { "gcr.io": "gcloud", [registryHost]: "neuro" }
    })
    fs.writeFileSync(join(dockerDir, "config.json"), "{ not json")
    const broken = await h.neuro(["config", "docker", "--docker-config", dockerDir])
    assert.notStrictEqual(broken.code, 0)
    assert.match(broken.stderr, /^ERROR: .*config\.json is not a Docker configuration file.*\n$/)
    assert.strictEqual(fs.readFileSync(join(dockerDir, "config.json"), "utf8"), "{ not json", "a file it cannot read is left as it is")

    const logout = await h.neuro(["config", "logout"])
    assert.strictEqual(logout.code, 0, logout.stderr)
    assert.strictEqual(logout.stdout, "Logged out\n")
    assert.strictEqual((await h.neuro(["config", "show"])).code, 70)
  })

  it("a second login replaces the first one (logs out first, like the Python CLI)", async () => {
    await h.login("alice")
    const again = await h.neuro(["config", "login-with-token", h.token("bob"), h.platform.apiUrl.toString()])
    assert.strictEqual(again.code, 0, again.stderr)
    assert.include(again.stdout, "as bob")
    assert.match((await h.neuro(["config", "show"])).stdout, /User Name\s+bob\n/)
    await h.neuro(["config", "logout"])
  })

  it("a bad token: exit code 77 and one line", async () => {
    const r = await h.neuro(["config", "login-with-token", "not-a-token", h.platform.apiUrl.toString()])
    assert.notStrictEqual(r.code, 0)
    assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
    assert.match(r.stderr, /^ERROR: /)
  })

  it("`neuro ls` works after a login written by the Python CLI (its config database)", async () => {
    await pythonLogin(h.configDir, h.platform.apiUrl.toString(), h.token("alice"))
    const mk = await h.neuro(["mkdir", "-p", "storage:from-python/inside"])
    assert.strictEqual(mk.code, 0, mk.stderr)
    const ls = await h.neuro(["ls"])
    assert.strictEqual(ls.code, 0, ls.stderr)
    assert.strictEqual(ls.stdout, "from-python\n")
    const show = await h.neuro(["config", "show"])
    assert.match(show.stdout, /User Name\s+alice\n/)
    await h.neuro(["config", "logout"])
  })

  it("--help works on every level and usage errors exit 2", async () => {
    // groups: a short list of their commands, one line each
    for (const args of [[], ["--help"], ["-q", "--help"], ["config"], ["config", "--help"], ["storage", "-h"]]) {
      const r = await h.neuro(args)
      assert.strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`)
      assert.match(r.stdout, /^Usage: neuro( config| storage)?( \[OPTIONS\])? COMMAND \[ARGS\]\.\.\.\n/)
      assert.isAtMost(Math.max(...r.stdout.split("\n").map((l) => l.length)), 200)
    }
    const root = await h.neuro(["--help"])
    assert.match(root.stdout, /^Command groups:\n  acl {2,}Access Control List management\.$/m)
    assert.match(root.stdout, /^  ls {2,}List directory contents/m)
    assert.match((await h.neuro(["config"])).stdout, /^  login-with-token {2,}Log into Neuro Platform with a token\.$/m)
    // commands: @effect/cli's help with their options and arguments
    for (const args of [["config", "login-with-token", "--help"], ["ls", "--help"], ["storage", "cp", "--help"], ["run", "-h"]]) {
      const r = await h.neuro(args)
      assert.strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`)
      assert.include(r.stdout, "USAGE")
      assert.include(r.stdout, "OPTIONS")
      assert.notInclude(r.stdout, "\x1b[", "no colours when stdout is not a terminal")
    }
    const missing = await h.neuro(["config", "login-with-token"])
    assert.strictEqual(missing.code, 2)
    assert.include(missing.stderr, "TOKEN")
    const unknown = await h.neuro(["frobnicate"])
    assert.strictEqual(unknown.code, 2)
  })

  it("shell completion scripts for bash, zsh and fish", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await h.neuro(["--completions", shell])
      assert.strictEqual(r.code, 0, r.stderr)
      assert.include(r.stdout, "neuro")
      assert.include(r.stdout, "login-with-token")
      const generated = await h.neuro(["completion", "generate", shell])
      assert.strictEqual(generated.stdout, r.stdout, "`completion generate SHELL` prints the same script")
    }
  })
})
