/**
 * The config database shared with the Python CLI: `<dir>/db`, a SQLite file with exactly the
 * tables, columns and JSON encodings of neuro-sdk 23.2, in a directory only its owner may read
 * (`0700`, the file `0600`). `neuro login` in Python, then this store loads the login — and back.
 *
 * Every operation opens the file, works in one transaction and closes it, like neuro-sdk, so a
 * Python process can use the same database at the same time (WAL journal, 5 s busy timeout).
 *
 * @since 1.0.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import { ConfigData, SessionCookie } from "@neuro-sdk/core/ConfigData"
import { ConfigStore } from "@neuro-sdk/core/ConfigStore"
import type { RecoveryData } from "@neuro-sdk/core/ConfigStore"
import { ConfigError } from "@neuro-sdk/core/Errors"
import { AuthConfigFromStore, ClusterFromStore } from "@neuro-sdk/core/ServerConfig"
import type Database from "better-sqlite3"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { homedir } from "node:os"
import { join, resolve } from "node:path"
import { once } from "./internal/lazy.js"
import { dumps } from "./internal/pyJson.js"

/** better-sqlite3, imported when a store first opens its database. */
const loadSqlite = once(() =>
  Promise.all([import("better-sqlite3"), import("@effect/sql/SqlError")]).then(([sqlite, error]) => ({
    Database: sqlite.default,
    SqlError: error.SqlError
  }))
)

type Sqlite = Awaited<ReturnType<typeof loadSqlite>>

/** One connection: statements run one at a time, each failure an `SqlError` as @effect/sql reports it. */
interface Connection {
  readonly unsafe: <Row extends object = Record<string, unknown>>(
    sql: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  readonly close: () => void
}

/** Opens `file` (created when missing); the journal is switched to WAL unless `wal` is false. */
const connect = ({ Database, SqlError }: Sqlite, file: string, wal: boolean): Connection => {
  const db = new Database(file)
  if (wal) db.pragma("journal_mode = WAL")
  const prepared = new Map<string, Database.Statement>()
  const prepare = (sql: string): Database.Statement => {
    let statement = prepared.get(sql)
    if (statement === undefined) prepared.set(sql, statement = db.prepare(sql))
    return statement
  }
  return {
    unsafe: <Row extends object>(sql: string, params: ReadonlyArray<unknown> = []) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<Row>, SqlError> => {
        let statement: Database.Statement
        try {
          statement = prepare(sql)
        } catch (cause) {
          return Effect.fail(new SqlError({ cause, message: "Failed to prepare statement " }))
        }
        try {
          if (statement.reader) return Effect.succeed(statement.all(...params) as Array<Row>)
          statement.run(...params)
          return Effect.succeed([])
        } catch (cause) {
          return Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
        }
      }),
    close: () => db.close()
  }
}

/**
 * The exact schema neuro-sdk creates and checks (it compares the SQL text in `sqlite_master`).
 *
 * @since 1.0.0
 * @category constants
 */
export const SCHEMA = {
  main:
    "CREATE TABLE main (auth_config TEXT, token TEXT, expiration_time REAL, refresh_token TEXT, url TEXT, admin_url TEXT, version TEXT, cluster_name TEXT, org_name TEXT, clusters TEXT, timestamp REAL)",
  cookie_session: "CREATE TABLE cookie_session (name TEXT, domain TEXT, path TEXT, cookie TEXT, timestamp REAL)",
  cookie_session_index: "CREATE UNIQUE INDEX cookie_session_index ON cookie_session (name)"
} as const

/** Session cookies live this long (seconds). */
const COOKIE_MAX_AGE = 300

const MALFORMED = "Malformed config. Please logout and login again."

/**
 * Where the config directory is: an explicit path wins, then `NEUROMATION_CONFIG` (empty means
 * the current directory, as in neuro-sdk), then `~/.neuro`. A leading `~` is expanded.
 *
 * @since 1.0.0
 * @category constructors
 */
export const resolvePath = (path?: string | undefined, env: NodeJS.ProcessEnv = process.env): string => {
  const chosen = path ?? env["NEUROMATION_CONFIG"] ?? join(homedir(), ".neuro")
  const expanded = chosen === "~" ? homedir() : chosen.startsWith("~/") ? join(homedir(), chosen.slice(2)) : chosen
  return resolve(expanded)
}

/**
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** The config directory (default: `NEUROMATION_CONFIG`, else `~/.neuro`). */
  readonly path?: string | undefined
}

interface MainRow {
  readonly auth_config: unknown
  readonly token: unknown
  readonly expiration_time: unknown
  readonly refresh_token: unknown
  readonly url: unknown
  readonly admin_url: unknown
  readonly version: unknown
  readonly cluster_name: unknown
  readonly org_name: unknown
  readonly clusters: unknown
}

const UrlText = Schema.String.pipe(Schema.filter((s) => URL.canParse(s)))

const MainRowSchema = Schema.Struct({
  auth_config: Schema.parseJson(AuthConfigFromStore),
  token: Schema.String,
  expiration_time: Schema.Number,
  refresh_token: Schema.String,
  url: UrlText,
  admin_url: Schema.NullOr(Schema.Union(Schema.Literal(""), UrlText)),
  version: Schema.String,
  cluster_name: Schema.NullOr(Schema.String),
  org_name: Schema.NullOr(Schema.String),
  clusters: Schema.parseJson(Schema.Array(ClusterFromStore))
})

const modeOf = (path: string) => fs.statSync(path).mode & 0o777

/**
 * The store over the config directory `dir`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options = {}): ConfigStore.Service => {
  const dir = resolvePath(options.path)
  const file = join(dir, "db")
  const malformed = (cause?: unknown) => new ConfigError({ description: MALFORMED, ...(cause !== undefined ? { cause } : {}) })
  const dbError = (e: SqlError) => new ConfigError({ description: `Config database ${file}: ${e.message}`, cause: e })

  const cannotOpen = (cause: unknown) => new ConfigError({ description: `Cannot open config database ${file}`, cause })

  /** Runs `f` with a fresh connection in one transaction; the connection is closed afterwards. */
  const withDb = <A, E extends ConfigError = never>(
    wal: boolean,
    f: (sql: Connection) => Effect.Effect<A, E | SqlError>
  ): Effect.Effect<A, E | ConfigError> => {
    const open = Effect.flatMap(
      Effect.tryPromise({ try: loadSqlite, catch: cannotOpen }),
      (sqlite) => Effect.try({ try: () => connect(sqlite, file, wal), catch: cannotOpen })
    )
    // IMMEDIATE takes the write lock up front, so a busy database is waited for (busy timeout)
    // instead of failing at once when a read snapshot cannot be upgraded
    const transaction = (sql: Connection) =>
      Effect.acquireUseRelease(
        sql.unsafe(wal ? "BEGIN IMMEDIATE" : "BEGIN"),
        () => Effect.tap(f(sql), () => sql.unsafe("COMMIT")),
        (_, exit) => (exit._tag === "Success" ? Effect.void : Effect.ignore(sql.unsafe("ROLLBACK")))
      )
    const run = Effect.acquireUseRelease(open, transaction, (sql) => Effect.sync(sql.close))
    return Effect.catchIf(run, (e): e is SqlError => e._tag === "SqlError", (e) => Effect.fail(dbError(e)))
  }

  const syncFs = <A>(f: () => A, description: string) =>
    Effect.try({ try: f, catch: (cause) => new ConfigError({ description: `${description}: ${String(cause)}`, cause }) })

  /** Checks neuro-sdk makes before every read, with its messages. */
  const checkReadable = Effect.suspend((): Effect.Effect<void, ConfigError> => {
    const dirStat = fs.statSync(dir, { throwIfNoEntry: false })
    if (dirStat === undefined) return Effect.fail(new ConfigError({ description: `Config at ${dir} does not exists. Please login.` }))
    if (!dirStat.isDirectory()) {
      return Effect.fail(new ConfigError({ description: `Config at ${dir} is not a directory. Please logout and login again.` }))
    }
    const fileStat = fs.statSync(file, { throwIfNoEntry: false })
    if (fileStat === undefined || !fileStat.isFile()) {
      return Effect.fail(new ConfigError({ description: `Config ${file} is not a regular file. Please logout and login again.` }))
    }
    if (process.platform !== "win32") {
      if ((dirStat.mode & 0o777) !== 0o700) {
        return Effect.fail(
          new ConfigError({ description: `Config ${dir} has compromised permission bits, run 'chmod 700 ${dir}' first` })
        )
      }
      if ((fileStat.mode & 0o777) !== 0o600) {
        return Effect.fail(
          new ConfigError({ description: `Config at ${file} has compromised permission bits, run 'chmod 600 ${file}' first` })
        )
      }
    }
    return Effect.void
  })

  /** Directory `0700` (created with parents) and `db` `0600`, as neuro-sdk's read-write open does. */
  const prepareWritable = syncFs(() => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
    const fd = fs.openSync(file, "a", 0o600)
    fs.closeSync(fd)
    if (modeOf(file) !== 0o600) fs.chmodSync(file, 0o600)
  }, `Cannot prepare config directory ${dir}`)

  const schemaOf = (sql: Connection) =>
    Effect.map(
      sql.unsafe<{ type: string; name: string; sql: string | null }>("SELECT type, name, sql FROM sqlite_master"),
      (rows) => {
        const out = new Map<string, string | null>()
        for (const r of rows) {
          if ((r.type === "table" || r.type === "index") && !r.name.startsWith("sqlite")) out.set(r.name, r.sql)
        }
        return out
      }
    )

  /** Creates the cookie table and index, recreating both when their SQL differs. */
  const ensureCookieSchema = (sql: Connection) =>
    Effect.gen(function*() {
      const schema = yield* schemaOf(sql)
      const ok = schema.get("cookie_session") === SCHEMA.cookie_session &&
        schema.get("cookie_session_index") === SCHEMA.cookie_session_index
      if (ok) return
      yield* sql.unsafe("DROP INDEX IF EXISTS cookie_session_index")
      yield* sql.unsafe("DROP TABLE IF EXISTS cookie_session")
      yield* sql.unsafe(SCHEMA.cookie_session)
      yield* sql.unsafe(SCHEMA.cookie_session_index)
    })

  const encode = (data: ConfigData) =>
    Effect.try({
      try: () => ({
        auth_config: dumps(Schema.encodeSync(AuthConfigFromStore)(data.authConfig)),
        clusters: dumps(Schema.encodeSync(Schema.Array(ClusterFromStore))(data.clusters))
      }),
      catch: (cause) => malformed(cause)
    })

  const exists = Effect.sync(() => fs.existsSync(file))

  const load: Effect.Effect<ConfigData, ConfigError> = Effect.gen(function*() {
    yield* checkReadable
    const row = yield* withDb(false, (sql) =>
      Effect.gen(function*() {
        if ((yield* schemaOf(sql)).get("main") !== SCHEMA.main) return yield* Effect.fail(malformed())
        const rows = yield* sql.unsafe<MainRow>(
          "SELECT auth_config, token, expiration_time, refresh_token, url, admin_url, version, cluster_name, org_name, clusters FROM main ORDER BY timestamp DESC LIMIT 1"
        )
        return rows[0]
      })).pipe(Effect.mapError((e) => (e.description === MALFORMED ? e : malformed(e))))
    if (row === undefined) return yield* Effect.fail(malformed())
    const decoded = yield* Schema.decodeUnknown(MainRowSchema)(row).pipe(Effect.mapError(() => malformed()) /* the parse error could quote a token column */)
    return new ConfigData({
      authConfig: decoded.auth_config,
      token: Redacted.make(decoded.token),
      expirationTime: decoded.expiration_time,
      refreshToken: Redacted.make(decoded.refresh_token),
      url: decoded.url,
      ...(decoded.admin_url ? { adminUrl: decoded.admin_url } : {}),
      version: decoded.version,
      ...(decoded.cluster_name !== null ? { clusterName: decoded.cluster_name } : {}),
      orgName: decoded.org_name,
      clusters: decoded.clusters
    })
  })

  const save = (data: ConfigData): Effect.Effect<void, ConfigError> =>
    Effect.gen(function*() {
      const json = yield* encode(data)
      yield* prepareWritable
      const now = (yield* Clock.currentTimeMillis) / 1000
      yield* withDb(true, (sql) =>
        Effect.gen(function*() {
          if (!(yield* schemaOf(sql)).has("main")) yield* sql.unsafe(SCHEMA.main)
          yield* sql.unsafe("DELETE FROM main")
          yield* sql.unsafe(
            "INSERT INTO main (auth_config, token, expiration_time, refresh_token, url, admin_url, version, cluster_name, org_name, clusters, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
              json.auth_config,
              Redacted.value(data.token),
              data.expirationTime,
              Redacted.value(data.refreshToken),
              data.url,
              data.adminUrl || null,
              data.version,
              data.clusterName ?? null,
              data.orgName,
              json.clusters,
              now
            ]
          )
        }))
    })

  const updateToken: ConfigStore.Service["updateToken"] = (u) =>
    Effect.zipRight(
      prepareWritable,
      withDb(true, (sql) =>
        sql.unsafe("UPDATE main SET token=?, expiration_time=?, refresh_token=?", [
          Redacted.value(u.token),
          u.expirationTime,
          Redacted.value(u.refreshToken)
        ]))
    ).pipe(Effect.asVoid)

  const remove = syncFs(() => {
    for (const name of ["db", "db-wal", "db-shm"]) fs.rmSync(join(dir, name), { force: true })
    const st = fs.statSync(dir, { throwIfNoEntry: false })
    if (st === undefined) return
    if (st.isFile()) fs.rmSync(dir)
    else {
      try {
        fs.rmdirSync(dir)
      } catch {
        // not empty (user.toml and the like stay)
      }
    }
  }, `Cannot remove config at ${dir}`)

  const loadRecovery: Effect.Effect<RecoveryData, ConfigError> = Effect.gen(function*() {
    if (!fs.existsSync(file)) return yield* Effect.fail(new ConfigError({ description: `Config at ${dir} does not exists. Please login.` }))
    const row = yield* withDb(false, (sql) =>
      sql.unsafe<{ refresh_token: unknown; url: unknown; cluster_name: unknown; org_name: unknown }>(
        "SELECT refresh_token, url, cluster_name, org_name FROM main ORDER BY timestamp DESC LIMIT 1"
      ).pipe(
        Effect.orElse(() =>
          sql.unsafe<{ refresh_token: unknown; url: unknown; cluster_name: unknown; org_name: unknown }>(
            "SELECT refresh_token, url, cluster_name, NULL AS org_name FROM main ORDER BY timestamp DESC LIMIT 1"
          )
        ),
        Effect.map((rows) => rows[0])
      ))
    const decoded = yield* Schema.decodeUnknown(Schema.Struct({
      refresh_token: Schema.String,
      url: Schema.String,
      cluster_name: Schema.NullOr(Schema.String),
      org_name: Schema.NullOr(Schema.String)
    }))(row).pipe(Effect.mapError(() => malformed()) /* the parse error could quote a token column */)
    return {
      refreshToken: Redacted.make(decoded.refresh_token),
      url: decoded.url,
      clusterName: decoded.cluster_name,
      orgName: decoded.org_name
    }
  })

  const loadCookies: Effect.Effect<ReadonlyArray<SessionCookie>, ConfigError> = Effect.gen(function*() {
    if (!fs.existsSync(file)) return []
    const now = (yield* Clock.currentTimeMillis) / 1000
    return yield* withDb(false, (sql) =>
      Effect.gen(function*() {
        const schema = yield* schemaOf(sql)
        if (
          schema.get("cookie_session") !== SCHEMA.cookie_session ||
          schema.get("cookie_session_index") !== SCHEMA.cookie_session_index
        ) return []
        const rows = yield* sql.unsafe<{ name: string; domain: string; path: string; cookie: string; timestamp: number }>(
          "SELECT name, domain, path, cookie, timestamp FROM cookie_session WHERE timestamp >= ? ORDER BY name",
          [now - COOKIE_MAX_AGE]
        )
        return rows.map((r) =>
          new SessionCookie({ name: String(r.name), domain: String(r.domain), path: String(r.path), value: String(r.cookie), timestamp: Number(r.timestamp) })
        )
      }))
  })

  const saveCookies = (cookies: ReadonlyArray<SessionCookie>): Effect.Effect<void, ConfigError> =>
    Effect.gen(function*() {
      yield* prepareWritable
      const now = (yield* Clock.currentTimeMillis) / 1000
      yield* withDb(true, (sql) =>
        Effect.gen(function*() {
          yield* ensureCookieSchema(sql)
          for (const c of cookies) {
            yield* sql.unsafe(
              "INSERT OR REPLACE INTO cookie_session (name, domain, path, cookie, timestamp) VALUES (?, ?, ?, ?, ?)",
              [c.name, c.domain, c.path, c.value, c.timestamp]
            )
          }
          yield* sql.unsafe("DELETE FROM cookie_session WHERE timestamp < ?", [now - COOKIE_MAX_AGE])
        }))
    })

  return { path: dir, exists, load, save, updateToken, remove, loadRecovery, loadCookies, saveCookies }
}

/**
 * `ConfigStore` over the SQLite database in the config directory.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ConfigStore> => Layer.sync(ConfigStore, () => make(options))
