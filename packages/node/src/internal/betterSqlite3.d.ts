/**
 * The part of better-sqlite3 the config store uses (the package ships no types, and
 * `@types/better-sqlite3` is not a dependency).
 */
declare module "better-sqlite3" {
  namespace Database {
    interface Statement {
      /** Whether the statement returns rows (a `SELECT`, or a write with `RETURNING`). */
      readonly reader: boolean
      all(...params: ReadonlyArray<unknown>): Array<unknown>
      run(...params: ReadonlyArray<unknown>): unknown
    }
    interface Options {
      readonly readonly?: boolean
      readonly fileMustExist?: boolean
      /** Milliseconds to wait for a locked database (default 5000). */
      readonly timeout?: number
    }
  }
  class Database {
    constructor(filename: string, options?: Database.Options)
    prepare(source: string): Database.Statement
    pragma(source: string): unknown
    close(): this
  }
  export default Database
}
