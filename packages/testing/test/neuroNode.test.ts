import { assert, describe, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import { Config, Factory, Storage } from "@neuro-sdk/core"
import { NeuroNode, NodeConfigStore, NodeWebSocket } from "@neuro-sdk/node"
import * as Layer from "effect/Layer"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LocalPlatform } from "../src/index.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(join(tmpdir(), "neuro-node-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * A token login written the way neuro-sdk 23.2 writes it (`neuro login-with-token` in Python): the
 * `/config` answer turned into the stored JSON forms, its SQL and file modes. Python's stdlib only.
 */
const PY_LOGIN = `
import json, os, sqlite3, sys, time, urllib.request
d, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url + "/config", headers={"Authorization": "Bearer " + token})
cfg = json.load(urllib.request.urlopen(req))
assert cfg["authorized"] is True
auth = {k: cfg.get(k) for k in ("auth_url", "token_url", "logout_url", "client_id", "audience", "headless_callback_url", "success_redirect_url")}
auth["callback_urls"] = cfg.get("callback_urls", [])
def preset(p):
    return {"name": p["name"], "credits_per_hour": str(p.get("credits_per_hour", "0")), "cpu": p["cpu"], "memory": p["memory"],
            "gpu": p.get("gpu"), "gpu_model": p.get("gpu_model"), "tpu_type": (p.get("tpu") or {}).get("type"),
            "tpu_software_version": (p.get("tpu") or {}).get("software_version"),
            "scheduler_enabled": p.get("scheduler_enabled", False), "preemptible_node": p.get("preemptible_node", False)}
clusters = [{"name": c["name"], "orgs": c.get("orgs", [None]), **{k: c[k] for k in ("registry_url", "storage_url", "users_url", "monitoring_url", "secrets_url", "disks_url", "buckets_url")},
             "presets": [preset(p) for p in c.get("resource_presets", [])]} for c in cfg["clusters"]]
os.makedirs(d, 0o700, exist_ok=True); os.chmod(d, 0o700)
conn = sqlite3.connect(d + "/db"); os.chmod(d + "/db", 0o600)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("CREATE TABLE main (auth_config TEXT, token TEXT, expiration_time REAL, refresh_token TEXT, url TEXT, admin_url TEXT, version TEXT, cluster_name TEXT, org_name TEXT, clusters TEXT, timestamp REAL)")
conn.execute("INSERT INTO main VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (json.dumps(auth), token, time.time() + 3600, "", url, cfg.get("admin_url"), "23.2.0", clusters[0]["name"], clusters[0]["orgs"][0], json.dumps(clusters), time.time()))
conn.commit(); conn.close()
`

/** Reads the stored login like neuro-sdk does and calls `/config` with the stored token. */
const PY_USE = `
import json, sqlite3, sys, urllib.request
d = sys.argv[1]
row = sqlite3.connect(d + "/db").execute("SELECT token, url, cluster_name, clusters FROM main ORDER BY timestamp DESC LIMIT 1").fetchone()
req = urllib.request.Request(row[1] + "/config", headers={"Authorization": "Bearer " + row[0]})
cfg = json.load(urllib.request.urlopen(req))
print(json.dumps({"authorized": cfg["authorized"], "cluster": row[2], "clusters": [c["name"] for c in json.loads(row[3])]}))
`

/** Runs Python without blocking the event loop (the platform it talks to runs in this process). */
const pythonAsync = (script: string, ...args: Array<string>) =>
  Effect.async<string, Error>((resume) => {
    execFile("python3", ["-c", script, ...args], { encoding: "utf8" }, (error, stdout, stderr) =>
      resume(error === null ? Effect.succeed(stdout) : Effect.fail(new Error(`${error.message}\n${stderr}`))))
  })

const FIXTURE = join(import.meta.dirname, "fixtures", "neuro-23.2", "db")

/** The fixture copied into a fresh config directory with the modes a login leaves (git keeps no modes). */
const fixtureCopy = Effect.map(tempDir, (root) => {
  const dir = join(root, "conf")
  fs.mkdirSync(dir, { mode: 0o700 })
  fs.copyFileSync(FIXTURE, join(dir, "db"))
  fs.chmodSync(join(dir, "db"), 0o600)
  return dir
})

const sqlite = (file: string, query: string) =>
  execFileSync("python3", ["-c", "import json,sqlite3,sys; print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))", file, query], {
    encoding: "utf8"
  })

describe("NeuroNode: the SDK over a config directory shared with the Python CLI", () => {
  it.scopedLive("the committed neuro-sdk 23.2 fixture database loads and yields a working client", () =>
    Effect.gen(function*() {
      const dir = yield* fixtureCopy
      const platform = yield* LocalPlatform.make({ users: ["alice"], tokenSecret: "neuro-sdk-ts-fixture", clusters: [{ name: "default", orgs: [null, "acme"] }, { name: "other", orgs: ["acme"] }] })
      const transport = Layer.merge(Layer.succeed(HttpClient.HttpClient, platform.inProcessClient), NodeWebSocket.layer)
      const listed = yield* Effect.gen(function*() {
        const config = yield* Config.Config
        assert.strictEqual(yield* config.username, "alice")
        assert.strictEqual(yield* config.clusterName, "default")
        assert.isNull(yield* config.orgName)
        const presets = yield* config.presets
        assert.deepStrictEqual([...presets.keys()], ["cpu-small", "gpu-large", "tpu"])
        assert.strictEqual(BigDecimal.format(presets.get("cpu-small")!.creditsPerHour), "1.5")
        assert.strictEqual(presets.get("gpu-large")!.gpuModel, "nvidia-tesla-v100")
        assert.strictEqual(presets.get("tpu")!.tpuType, "v2-8")
        assert.isTrue(presets.get("tpu")!.preemptibleNode)
        assert.deepStrictEqual((yield* config.clusters).get("other")!.orgs, ["acme"])
        const storage = yield* Storage.Storage
        yield* storage.mkdir("storage:fixture/ok", { parents: true })
        return yield* Stream.runCollect(storage.list("storage:fixture"))
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: dir, transport })))
      assert.deepStrictEqual([...listed].map((s) => s.name), ["ok"])
    }))

  it.scopedLive("a database this SDK writes has the fixture's schema and column encodings, byte for byte", () =>
    Effect.gen(function*() {
      const dir = yield* fixtureCopy
      const data = yield* NodeConfigStore.make({ path: dir }).load
      const ours = join(yield* tempDir, "ours")
      const store = NodeConfigStore.make({ path: ours })
      yield* store.save(data)
      yield* store.saveCookies([])
      const schema = "SELECT type, name, sql FROM sqlite_master WHERE name IN ('main', 'cookie_session', 'cookie_session_index') ORDER BY name"
      assert.strictEqual(sqlite(join(ours, "db"), schema), sqlite(FIXTURE, schema))
      const columns = "SELECT auth_config, token, expiration_time, refresh_token, url, admin_url, version, cluster_name, org_name, clusters, typeof(expiration_time), typeof(timestamp) FROM main"
      assert.strictEqual(sqlite(join(ours, "db"), columns), sqlite(FIXTURE, columns))
    }))

  it.scopedLive("a login written by Python is used as it is", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["alice"] })
      const dir = join(yield* tempDir, "conf")
      yield* pythonAsync(PY_LOGIN, dir, platform.apiUrl.toString(), Redacted.value(platform.token("alice")))
      const configCallsOf = Effect.map(platform.requests, (rs) => rs.filter((r) => r.path.endsWith("/config")).length)
      const before = yield* configCallsOf
      const listed = yield* Effect.gen(function*() {
        const config = yield* Config.Config
        assert.strictEqual(yield* config.username, "alice")
        assert.strictEqual(yield* config.clusterName, "default")
        const storage = yield* Storage.Storage
        yield* storage.mkdir("storage:from-python", { parents: true })
        return yield* Stream.runCollect(storage.list("storage:"))
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: dir })))
      assert.deepStrictEqual([...listed].map((s) => s.name), ["from-python"])
      // the stored version is 23.2.0: no /config round trip to re-validate the login
      assert.strictEqual((yield* configCallsOf) - before, 0)
    }))

  it.scopedLive("a login made by this SDK is used by Python", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["bob"], clusters: [{ name: "first" }, { name: "second" }] })
      const dir = join(yield* tempDir, "conf")
      yield* Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(platform.token("bob"), { url: platform.apiUrl })).pipe(
        Effect.provide(NeuroNode.layerFactory({ path: dir }))
      )
      const seen = JSON.parse(yield* pythonAsync(PY_USE, dir)) as unknown
      assert.deepStrictEqual(seen, { authorized: true, cluster: "first", clusters: ["first", "second"] })
    }))

  it.scopedLive("user.toml and .neuro.toml are read; a project pin wins and blocks switching", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({ users: ["carol"], clusters: [{ name: "first" }, { name: "second" }] })
      const root = yield* tempDir
      const dir = join(root, "conf")
      const project = join(root, "project")
      fs.mkdirSync(join(project, "sub"), { recursive: true })
      yield* Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(platform.token("carol"), { url: platform.apiUrl })).pipe(
        Effect.provide(NeuroNode.layerFactory({ path: dir }))
      )
      fs.writeFileSync(join(dir, "user.toml"), `[job]\nps-format = "id, status"\n`)
      fs.writeFileSync(join(project, ".neuro.toml"), `[job]\ncluster-name = "second"\n`)
      yield* Effect.gen(function*() {
        const config = yield* Config.Config
        assert.strictEqual(yield* config.clusterName, "second")
        const user = yield* config.getUserConfig
        assert.deepStrictEqual(user["job"], { "ps-format": "id, status", "cluster-name": "second" })
        const refused = yield* Effect.flip(config.switchCluster("first"))
        assert.strictEqual(refused._tag, "ConfigError")
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: join(project, "sub") })))

      fs.writeFileSync(join(dir, "user.toml"), `[jobb]\nx = 1\n`)
      // like neuro-sdk, the user config is read when it is needed, and a bad file fails that read
      const [bad, badCluster] = yield* Effect.gen(function*() {
        const config = yield* Config.Config
        return [yield* Effect.flip(config.getUserConfig), yield* Effect.flip(config.clusterName)] as const
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: root })))
      for (const error of [bad, badCluster]) {
        assert.strictEqual(error._tag, "ConfigError")
        assert.include(error.message, join(dir, "user.toml"))
        assert.include(error.message, "jobb")
      }
    }))

  it.scopedLive("switchCluster and switchOrg persist in the database: the next client starts there", () =>
    Effect.gen(function*() {
      const platform = yield* LocalPlatform.serve({
        users: ["dana"],
        clusters: [{ name: "first", orgs: [null] }, { name: "second", orgs: ["acme", "zeta"] }]
      })
      const dir = join(yield* tempDir, "conf")
      yield* Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(platform.token("dana"), { url: platform.apiUrl })).pipe(
        Effect.provide(NeuroNode.layerFactory({ path: dir }))
      )
      yield* Effect.gen(function*() {
        const config = yield* Config.Config
        yield* config.switchCluster("second")
        yield* config.switchOrg("zeta")
      }).pipe(Effect.provide(NeuroNode.layer({ path: dir, cwd: dir })))
      const [cluster, org] = yield* Effect.flatMap(Config.Config, (c) => Effect.all([c.clusterName, c.orgName])).pipe(
        Effect.provide(NeuroNode.layer({ path: dir, cwd: dir }))
      )
      assert.deepStrictEqual([cluster, org], ["second", "zeta"])
      assert.strictEqual(sqlite(join(dir, "db"), "SELECT cluster_name, org_name FROM main").trim(), `[["second", "zeta"]]`)
    }))

  it.scopedLive("without a login the layer fails with the ConfigError asking to log in", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "none")
      const error = yield* Effect.flip(Effect.provide(Config.Config, NeuroNode.layer({ path: dir, cwd: dir })))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(error.message, `Config at ${dir} does not exists. Please login.`)
    }))
})
