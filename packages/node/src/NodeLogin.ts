/**
 * Node pieces of the browser login: the local OAuth callback server (ports 54540-54542 like
 * neuro-sdk) and a `BrowserOpener` that opens the system browser.
 *
 * @since 1.0.0
 */
import { AuthError } from "@neuro-sdk/core/Errors"
import { BrowserOpener, CallbackServer } from "@neuro-sdk/core/Login"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ChildProcess from "node:child_process"
import type { Server } from "node:http"
import { once } from "./internal/lazy.js"

// only a browser login starts a server or a process
const loadHttp = once(() => import("node:http"))
const loadChildProcess = once(() => import("node:child_process"))

const listenOn = (server: Server, host: string, port: number) =>
  Effect.async<boolean, AuthError>((resume) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening)
      if (error.code === "EADDRINUSE") resume(Effect.succeed(false))
      else resume(Effect.fail(new AuthError({ description: `cannot start the login callback server: ${error.message}` })))
    }
    const onListening = () => {
      server.off("error", onError)
      resume(Effect.succeed(true))
    }
    server.once("error", onError)
    server.once("listening", onListening)
    server.listen(port, host)
  })

/**
 * @since 1.0.0
 * @category constructors
 */
export const callbackServer: CallbackServer.Service = {
  listen: ({ callbackUrls, successRedirectUrl }) =>
    Effect.gen(function*() {
      const code = yield* Deferred.make<string, AuthError>()
      const { createServer } = yield* Effect.promise(loadHttp)
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://localhost")
        if (url.pathname !== "/") {
          res.writeHead(404).end("Not Found")
          return
        }
        const q = url.searchParams
        const given = q.get("code")
        const error = q.get("error")
        if (given !== null && error === null) {
          if (successRedirectUrl) res.writeHead(302, { Location: successRedirectUrl }).end()
          else res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end("OK")
          Deferred.unsafeDone(code, Effect.succeed(given))
          return
        }
        if (error !== null) {
          const description = q.get("error_description") ?? error
          const status = error === "unauthorized" ? 401 : error === "access_denied" ? 403 : 400
          res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(description)
          Deferred.unsafeDone(code, Effect.fail(new AuthError({ description })))
          return
        }
        res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" }).end("The 'code' query parameter is missing.")
        Deferred.unsafeDone(code, Effect.fail(new AuthError({ description: "failed to get an authorization code" })))
      })
      yield* Effect.addFinalizer(() => Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }))
      const urls = callbackUrls.map((u) => new URL(u))
      // WHATWG keeps the brackets of an IPv6 host in `hostname` (`[::1]`); `listen` wants it bare
      const uriHost = urls[0]?.hostname ?? "127.0.0.1"
      const listenHost = uriHost.replace(/^\[(.*)\]$/, "$1")
      for (const url of urls) {
        const port = Number(url.port || 80)
        if (yield* listenOn(server, listenHost, port)) {
          return { redirectUri: `http://${uriHost}:${port}`, code: Deferred.await(code) }
        }
      }
      return yield* Effect.fail(new AuthError({ description: "No free ports for the login callback server." }))
    })
}

/**
 * @since 1.0.0
 * @category layers
 */
export const layerCallbackServer: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, callbackServer)

const openCommand = (url: string): readonly [string, ReadonlyArray<string>] => {
  switch (process.platform) {
    case "darwin":
      return ["open", [url]]
    case "win32":
      return ["cmd", ["/c", "start", "", url]]
    default:
      return ["xdg-open", [url]]
  }
}

const openWith = (spawn: typeof ChildProcess.spawn, url: URL): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const [command, args] = openCommand(url.toString())
    const fallback = () => {
      process.stderr.write(`Open this URL in your browser to log in:\n${url.toString()}\n`)
      resume(Effect.void)
    }
    try {
      const child = spawn(command, [...args], { stdio: "ignore", detached: true })
      child.once("error", fallback)
      child.once("spawn", () => {
        child.unref()
        resume(Effect.void)
      })
    } catch {
      fallback()
    }
  })

/**
 * Opens URLs in the system browser (`xdg-open`, `open`, `start`); when none can be started, prints
 * the URL on stderr for the user to open.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerBrowserOpener: Layer.Layer<BrowserOpener> = Layer.succeed(
  BrowserOpener,
  BrowserOpener.of({
    open: (url) => Effect.flatMap(Effect.promise(loadChildProcess), ({ spawn }) => openWith(spawn, url))
  })
)
