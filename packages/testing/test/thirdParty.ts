/**
 * Third-party servers the bucket tests check our code against, each started on a free loopback
 * port in a child process with a temporary directory, and stopped and removed with the scope.
 */
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

const packageDir = (name: string) => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`))

/** A Node script as a child process, ready when its stdout matches `ready` (whose group 1 is the URL). */
const server = (name: string, nodeArgs: ReadonlyArray<string>, args: (dir: string) => ReadonlyArray<string>, ready: RegExp) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly child: ChildProcess; readonly dir: string }, Error>((resume) => {
      const dir = fs.mkdtempSync(join(tmpdir(), `${name}-`))
      const child = spawn(process.execPath, [...nodeArgs, ...args(dir)], { stdio: ["ignore", "pipe", "ignore"] })
      let out = ""
      const onData = (d: Buffer) => {
        out += d.toString()
        const m = ready.exec(out)
        if (m === null) return
        child.stdout!.off("data", onData)
        child.stdout!.resume()
        resume(Effect.succeed({ url: m[1]!, child, dir }))
      }
      child.stdout!.on("data", onData)
      child.on("exit", (code) => resume(Effect.fail(new Error(`${name} exited with ${code}: ${out}`))))
    }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`${name} did not start`) })),
    ({ child, dir }) =>
      Effect.promise(() =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done()
          child.once("exit", () => done())
          child.kill()
          // a graceful close waits for the idle keep-alive connections of our clients to time out
          setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 1000).unref()
        })
      ).pipe(Effect.zipRight(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))))
  )

/** Azurite's blob service (account `devstoreaccount1`). */
export const azurite = server(
  "azurite",
  [],
  (dir) => [
    join(packageDir("azurite"), "dist", "src", "blob", "main.js"),
    // no telemetry: the tests stay on loopback
    ...["--blobHost", "127.0.0.1", "--blobPort", "0", "--location", dir, "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
  ],
  /listens on (http:\/\/127\.0\.0\.1:\d+)/
)

/**
 * s3rver (keys `S3RVER`/`S3RVER`). It signs listing continuation tokens with DES, which OpenSSL 3
 * only has in its legacy provider: without `--openssl-legacy-provider` every truncated listing is a 500.
 */
export const s3rver = server(
  "s3rver",
  ["--openssl-legacy-provider"],
  (dir) => [join(packageDir("s3rver"), "bin", "s3rver.js"), "-a", "127.0.0.1", "-p", "0", "-d", dir, "--silent"],
  /S3rver listening on (127\.0\.0\.1:\d+)/
)
