import { assert, describe, it } from "@effect/vitest"
import { ConfigData } from "@neuro-sdk/core/ConfigData"
import { SessionCookie } from "@neuro-sdk/core/ConfigData"
import { AuthConfigFromStore, ClusterFromStore } from "@neuro-sdk/core/ServerConfig"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeConfigStore from "../src/NodeConfigStore.js"
import { dumps } from "../src/internal/pyJson.js"

// The JSON texts neuro-sdk 23.2 writes (protocol/config.md §2.2, §2.3), byte for byte.
const AUTH_JSON =
  `{"auth_url": "https://auth.example.org/authorize", "token_url": "https://auth.example.org/oauth/token", "logout_url": "https://auth.example.org/v2/logout", "client_id": "Xk3vQ0cli", "audience": "https://platform.example.org", "headless_callback_url": "https://app.example.org/oauth/show-code", "success_redirect_url": null, "callback_urls": ["http://127.0.0.1:54540", "http://127.0.0.1:54541", "http://127.0.0.1:54542"]}`
const CLUSTERS_JSON =
  `[{"name": "default", "orgs": [null, "acme"], "registry_url": "https://registry.default.example.org", "storage_url": "https://api.example.org/api/v1/storage", "users_url": "https://api.example.org/api/v1/users", "monitoring_url": "https://api.example.org/api/v1/jobs", "secrets_url": "https://api.example.org/api/v1/secrets", "disks_url": "https://api.example.org/api/v1/disk", "buckets_url": "https://api.example.org/api/v1/buckets", "presets": [{"name": "cpu-small", "credits_per_hour": "1.5", "cpu": 0.5, "memory": 1073741824, "gpu": null, "gpu_model": null, "tpu_type": null, "tpu_software_version": null, "scheduler_enabled": false, "preemptible_node": false}]}]`

const sample = (overrides: Partial<ConstructorParameters<typeof ConfigData>[0]> = {}) =>
  new ConfigData({
    authConfig: Schema.decodeSync(Schema.parseJson(AuthConfigFromStore))(AUTH_JSON),
    token: Redacted.make("access.jwt.token"),
    expirationTime: 1_900_000_000.5,
    refreshToken: Redacted.make("refresh-123"),
    url: "https://api.example.org/api/v1",
    version: "23.2.0",
    clusterName: "default",
    orgName: "acme",
    clusters: Schema.decodeSync(Schema.parseJson(Schema.Array(ClusterFromStore)))(CLUSTERS_JSON),
    ...overrides
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-store-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs a Python script with the stdlib `sqlite3` module — the module neuro-sdk uses. */
const python = (script: string, ...args: Array<string>) =>
  execFileSync("python3", ["-c", script, ...args], { encoding: "utf8" })

/** What neuro-sdk's loader checks, written in Python against its sqlite3 module. */
const PY_CHECK = `
import json, sqlite3, sys, os, stat
d = sys.argv[1]
print(oct(stat.S_IMODE(os.stat(d).st_mode)), oct(stat.S_IMODE(os.stat(d + "/db").st_mode)))
conn = sqlite3.connect(d + "/db")
schema = {n: s for t, n, s in conn.execute("SELECT type, name, sql FROM sqlite_master") if t in ("table", "index") and not n.startswith("sqlite")}
print(json.dumps(schema, sort_keys=True))
row = conn.execute("SELECT auth_config, token, expiration_time, refresh_token, url, admin_url, version, cluster_name, org_name, clusters FROM main ORDER BY timestamp DESC LIMIT 1").fetchone()
print(json.dumps([row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]]))
print(row[0])
print(row[9])
print(json.dumps(json.loads(row[9])[0]["presets"][0]["credits_per_hour"]))
print(conn.execute("PRAGMA journal_mode").fetchone()[0])
`

/** Writes a database the way neuro-sdk 23.2 does (its SQL, its JSON, its modes). */
const PY_WRITE = `
import sqlite3, sys, os, time
d, auth, clusters = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(d, 0o700, exist_ok=True); os.chmod(d, 0o700)
conn = sqlite3.connect(d + "/db"); os.chmod(d + "/db", 0o600)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("CREATE TABLE main (auth_config TEXT, token TEXT, expiration_time REAL, refresh_token TEXT, url TEXT, admin_url TEXT, version TEXT, cluster_name TEXT, org_name TEXT, clusters TEXT, timestamp REAL)")
conn.execute("INSERT INTO main VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (auth, "py.jwt.token", 1800000000.25, "py-refresh", "https://api.example.org/api/v1", None, "23.2.0", "default", None, clusters, time.time()))
conn.commit(); conn.close()
`

describe("NodeConfigStore: the config database of neuro-sdk 23.2", () => {
  it.effect("writes JSON byte-identical to Python's json.dumps", () =>
    Effect.sync(() => {
      const data = sample()
      assert.strictEqual(dumps(Schema.encodeSync(AuthConfigFromStore)(data.authConfig)), AUTH_JSON)
      assert.strictEqual(dumps(Schema.encodeSync(Schema.Array(ClusterFromStore))(data.clusters)), CLUSTERS_JSON)
      const value = { "ключ": "значение €😀\n\u0001\u007f\u0080", n: 7, f: 0.25, b: [true, null] }
      const fromPython = python(`import json, sys; print(json.dumps(json.loads(sys.argv[1])), end="")`, JSON.stringify(value))
      assert.strictEqual(dumps(value), fromPython)
      assert.strictEqual(
        dumps([NaN, Infinity, -Infinity, 1.5e-7, 1e-5, 0.0001, 0.1, 0.5, 7, 1073741824, 1e21, 1.25e-10, 123456.789]),
        python(
          `import json; print(json.dumps([float("nan"), float("inf"), float("-inf"), 1.5e-7, 1e-5, 0.0001, 0.1, 0.5, 7, 1073741824, 10**21, 1.25e-10, 123456.789]), end="")`
        )
      )
    }))

  it.scopedLive("a saved login reads in Python exactly as neuro-sdk expects", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      const store = NodeConfigStore.make({ path: dir })
      yield* store.save(sample())
      yield* store.saveCookies([new SessionCookie({ name: "NEURO_STORAGEAPI_SESSION", domain: "localhost", path: "/", value: "v1", timestamp: Date.now() / 1000 })])
      const [modes, schema, fields, auth, clusters, credits, journal] = python(PY_CHECK, dir).trimEnd().split("\n")
      assert.strictEqual(modes, "0o700 0o600")
      assert.deepStrictEqual(JSON.parse(schema!), {
        main: NodeConfigStore.SCHEMA.main,
        cookie_session: NodeConfigStore.SCHEMA.cookie_session,
        cookie_session_index: NodeConfigStore.SCHEMA.cookie_session_index
      })
      assert.deepStrictEqual(JSON.parse(fields!), [
        "access.jwt.token", 1_900_000_000.5, "refresh-123", "https://api.example.org/api/v1", null, "23.2.0", "default", "acme"
      ])
      assert.strictEqual(auth, AUTH_JSON)
      assert.strictEqual(clusters, CLUSTERS_JSON)
      assert.strictEqual(credits, `"1.5"`)
      assert.strictEqual(journal, "wal")
    }))

  it.scopedLive("loads a database written by Python the way neuro-sdk writes it", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      python(PY_WRITE, dir, AUTH_JSON, CLUSTERS_JSON)
      const loaded = yield* NodeConfigStore.make({ path: dir }).load
      assert.strictEqual(Redacted.value(loaded.token), "py.jwt.token")
      assert.strictEqual(Redacted.value(loaded.refreshToken), "py-refresh")
      assert.strictEqual(loaded.expirationTime, 1_800_000_000.25)
      assert.strictEqual(loaded.adminUrl, undefined)
      assert.strictEqual(loaded.clusterName, "default")
      assert.strictEqual(loaded.orgName, null)
      assert.deepStrictEqual(loaded.clusters[0]!.orgs, [null, "acme"])
      assert.strictEqual(BigDecimal.format(loaded.clusters[0]!.presets.get("cpu-small")!.creditsPerHour), "1.5")
      assert.deepStrictEqual(loaded.authConfig.callbackUrls, ["http://127.0.0.1:54540", "http://127.0.0.1:54541", "http://127.0.0.1:54542"])
      assert.strictEqual(loaded.authConfig.successRedirectUrl, undefined)
    }))

  it.scopedLive("round-trips a login, and updateToken touches the token columns only", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      const store = NodeConfigStore.make({ path: dir })
      assert.isFalse(yield* store.exists)
      yield* store.save(sample({ adminUrl: "https://api.example.org/apis/admin/v1" }))
      assert.isTrue(yield* store.exists)
      yield* store.updateToken({ token: Redacted.make("new.token"), expirationTime: 42.5, refreshToken: Redacted.make("r2") })
      const loaded = yield* store.load
      assert.strictEqual(Redacted.value(loaded.token), "new.token")
      assert.strictEqual(loaded.expirationTime, 42.5)
      assert.strictEqual(Redacted.value(loaded.refreshToken), "r2")
      assert.strictEqual(loaded.adminUrl, "https://api.example.org/apis/admin/v1")
      assert.strictEqual(loaded.orgName, "acme")
      assert.deepStrictEqual(loaded.clusters, sample().clusters)
      const recovery = yield* store.loadRecovery
      assert.strictEqual(recovery.url, "https://api.example.org/api/v1")
      assert.strictEqual(recovery.clusterName, "default")
      assert.strictEqual(recovery.orgName, "acme")
      assert.strictEqual(Redacted.value(recovery.refreshToken), "r2")
    }))

  describe("refuses what neuro-sdk refuses, with its messages", () => {
    const cases: ReadonlyArray<{
      readonly name: string
      readonly spoil: (dir: string) => void
      readonly message: (dir: string) => string
    }> = [
      { name: "missing directory", spoil: (dir) => fs.rmSync(dir, { recursive: true }), message: (dir) => `Config at ${dir} does not exists. Please login.` },
      {
        name: "path is a file",
        spoil: (dir) => {
          fs.rmSync(dir, { recursive: true })
          fs.writeFileSync(dir, "old")
        },
        message: (dir) => `Config at ${dir} is not a directory. Please logout and login again.`
      },
      {
        name: "db is a directory",
        spoil: (dir) => {
          for (const f of fs.readdirSync(dir)) fs.rmSync(join(dir, f))
          fs.mkdirSync(join(dir, "db"))
        },
        message: (dir) => `Config ${dir}/db is not a regular file. Please logout and login again.`
      },
      { name: "directory mode 0755", spoil: (dir) => fs.chmodSync(dir, 0o755), message: (dir) => `Config ${dir} has compromised permission bits, run 'chmod 700 ${dir}' first` },
      {
        name: "db mode 0644",
        spoil: (dir) => fs.chmodSync(join(dir, "db"), 0o644),
        message: (dir) => `Config at ${dir}/db has compromised permission bits, run 'chmod 600 ${dir}/db' first`
      },
      {
        name: "bad clusters JSON",
        spoil: (dir) => python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("UPDATE main SET clusters='[{'"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "clusters NULL",
        spoil: (dir) => python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("UPDATE main SET clusters=NULL"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "a required auth_config key missing",
        spoil: (dir) =>
          python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("UPDATE main SET auth_config='{\\"auth_url\\": \\"x\\"}'"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "a cluster URL that is not a URL",
        spoil: (dir) =>
          python(
            `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("UPDATE main SET clusters=replace(clusters, 'https://api.example.org/api/v1/secrets', 'not a url')"); c.commit()`,
            dir
          ),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "an API URL that is not a URL",
        spoil: (dir) => python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("UPDATE main SET url='::'"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "an extra column in main",
        spoil: (dir) => python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("ALTER TABLE main ADD COLUMN extra TEXT"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      },
      {
        name: "no row",
        spoil: (dir) => python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("DELETE FROM main"); c.commit()`, dir),
        message: () => "Malformed config. Please logout and login again."
      }
    ]
    for (const c of cases) {
      it.scopedLive(c.name, () =>
        Effect.gen(function*() {
          const dir = join(yield* tempDir, "conf")
          const store = NodeConfigStore.make({ path: dir })
          yield* store.save(sample())
          c.spoil(dir)
          const error = yield* Effect.flip(store.load)
          assert.strictEqual(error._tag, "ConfigError")
          assert.strictEqual(error.message, c.message(dir))
        }))
    }
  })

  it.scopedLive("a save repairs the modes, and logout removes the files but keeps user.toml", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      const store = NodeConfigStore.make({ path: dir })
      yield* store.save(sample())
      fs.chmodSync(dir, 0o755)
      fs.chmodSync(join(dir, "db"), 0o644)
      yield* store.save(sample())
      assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700)
      assert.strictEqual(fs.statSync(join(dir, "db")).mode & 0o777, 0o600)
      fs.writeFileSync(join(dir, "user.toml"), "[job]\n")
      yield* store.remove
      assert.deepStrictEqual(fs.readdirSync(dir), ["user.toml"])
      fs.rmSync(join(dir, "user.toml"))
      yield* store.save(sample())
      yield* store.remove
      assert.isFalse(fs.existsSync(dir))
    }))

  it.scopedLive("session cookies: kept 5 minutes, only fresh ones loaded, a foreign table schema is replaced", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      const store = NodeConfigStore.make({ path: dir })
      yield* store.save(sample())
      // a cookie table with other SQL (e.g. from another version) is dropped and recreated
      python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); c.execute("CREATE TABLE cookie_session (name TEXT)"); c.commit()`, dir)
      assert.deepStrictEqual(yield* store.loadCookies, [])
      const now = Date.now() / 1000
      yield* store.saveCookies([
        new SessionCookie({ name: "NEURO_STORAGEAPI_SESSION", domain: "localhost", path: "/", value: "fresh", timestamp: now }),
        new SessionCookie({ name: "NEURO_REGISTRYAPI_SESSION", domain: "localhost", path: "/", value: "stale", timestamp: now - 301 })
      ])
      const loaded = yield* store.loadCookies
      assert.deepStrictEqual(loaded.map((c) => [c.name, c.value]), [["NEURO_STORAGEAPI_SESSION", "fresh"]])
      const rows = python(`import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+"/db"); print(c.execute("SELECT count(*) FROM cookie_session").fetchone()[0])`, dir)
      assert.strictEqual(rows.trim(), "1")
    }))

  it.scopedLive("waits for a Python writer holding the database lock, then saves", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "conf")
      const store = NodeConfigStore.make({ path: dir })
      yield* store.save(sample())
      const holder = spawn("python3", [
        "-c",
        `import sqlite3,sys,time
c=sqlite3.connect(sys.argv[1]+"/db", isolation_level=None)
c.execute("BEGIN EXCLUSIVE"); c.execute("UPDATE main SET version='held'")
print("locked", flush=True); time.sleep(1.0); c.execute("COMMIT")`,
        dir
      ])
      yield* Effect.async<void>((resume) => {
        holder.stdout.once("data", () => resume(Effect.void))
      })
      const started = Date.now()
      yield* store.save(sample({ version: "23.2.0" }))
      assert.isAtLeast(Date.now() - started, 300)
      const loaded = yield* store.load
      assert.strictEqual(loaded.version, "23.2.0")
      yield* Effect.async<void>((resume) => {
        if (holder.exitCode !== null) resume(Effect.void)
        else holder.once("exit", () => resume(Effect.void))
      })
    }))

  it.effect("resolvePath: explicit path, then NEUROMATION_CONFIG (empty = cwd), then ~/.neuro", () =>
    Effect.sync(() => {
      assert.strictEqual(NodeConfigStore.resolvePath("/x/conf", { NEUROMATION_CONFIG: "/y" }), "/x/conf")
      assert.strictEqual(NodeConfigStore.resolvePath(undefined, { NEUROMATION_CONFIG: "/y" }), "/y")
      assert.strictEqual(NodeConfigStore.resolvePath(undefined, { NEUROMATION_CONFIG: "" }), process.cwd())
      assert.match(NodeConfigStore.resolvePath(undefined, {}), /\/\.neuro$/)
      assert.notInclude(NodeConfigStore.resolvePath("~/c", {}), "~")
    }))
})
