import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { configRoutes } from "./configRoutes.js"
import { plainError, requestUrl } from "./http.js"
import { oauthRoutes } from "./oauthRoutes.js"
import { storageRoutes } from "./storageRoutes.js"
import { usersRoutes } from "./usersRoutes.js"
import { secretsRoutes } from "./secretsRoutes.js"
import { disksRoutes } from "./disksRoutes.js"
import { serviceAccountsRoutes } from "./serviceAccountsRoutes.js"
import { jobsRoutes } from "./jobsRoutes.js"
import { monitoringRoutes } from "./monitoringRoutes.js"
import { bucketsRoutes } from "./buckets/routes.js"
import { azureRoutes } from "./buckets/azure.js"
import { gcsRoutes } from "./buckets/gcs.js"
import { s3Routes } from "./buckets/s3.js"
import { registryRoutes } from "./registryRoutes.js"
import type { FaultDecision, PlatformState } from "./state.js"
import { corsMiddleware } from "./cors.js"

/** Header by which the in-process transport learns that the emulator dropped the connection. */
/** @internal */
export const DROP_HEADER = "x-local-platform-drop"

const dropConnection = (req: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse => {
  const source = req.source as { readonly socket?: { readonly destroy?: () => void } }
  if (source.socket?.destroy !== undefined) source.socket.destroy()
  return HttpServerResponse.empty({ status: 599, headers: { [DROP_HEADER]: "1" } })
}

let sessionBytes = Buffer.alloc(0)
let sessionAt = 0

/** A fresh random session id (24 hex digits), cut from a pool of random bytes refilled 256 ids at a time. */
const sessionId = (): string => {
  if (sessionAt + 12 > sessionBytes.length) {
    sessionBytes = randomBytes(12 * 256)
    sessionAt = 0
  }
  const id = sessionBytes.toString("hex", sessionAt, sessionAt + 12)
  sessionAt += 12
  return id
}

/**
 * Like the platform's load balancer, storage answers carry a sticky-session cookie
 * (`NEURO_STORAGEAPI_SESSION`) until the client sends one back.
 */
const stickySession = (
  req: HttpServerRequest.HttpServerRequest,
  path: string,
  response: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse => {
  if (!/\/storage(\/|$)/.test(path) || /NEURO_STORAGEAPI_SESSION=/.test(req.headers["cookie"] ?? "")) return response
  return HttpServerResponse.setHeader(
    response,
    "Set-Cookie",
    `NEURO_STORAGEAPI_SESSION=${sessionId()}; Path=/; HttpOnly`
  )
}

/**
 * The Node server hands a websocket handshake request its raw socket and ends that socket after any
 * answer other than `101`: say so (`Connection: close`), or a client that keeps connections alive
 * (aiohttp) sends its next request on a closed socket. The real (aiohttp) services keep such a
 * connection usable; closing it, announced, is the closest a Node server gets.
 */
const closeAfterRefusedUpgrade = (
  req: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse =>
  (req.headers["upgrade"] ?? "").toLowerCase() === "websocket"
    ? HttpServerResponse.setHeader(response, "Connection", "close")
    : response

/** Query parameters that are credentials: S3/GCS signatures and tokens, Azure SAS signatures, GCS upload sessions. */
const SECRET_QUERY = /^(x-amz-signature|x-amz-security-token|x-amz-credential|x-goog-signature|x-goog-credential|sig|upload_id)$/i

const redactQuery = (query: string): string => {
  if (!/(?:^|[?&])(?:sig|upload_id|x-amz-|x-goog-)/i.test(query)) return query
  const params = new URLSearchParams(query)
  for (const key of new Set(params.keys())) if (SECRET_QUERY.test(key)) params.set(key, "<redacted>")
  return "?" + params.toString()
}

const recordRequest = (
  state: PlatformState,
  method: string,
  path: string,
  query: string,
  reqHeaders: Readonly<Record<string, string>>
) => {
  // the newest requests only, and no credentials kept in memory
  const { authorization, cookie, ...headers } = reqHeaders
  state.requests.push({
    method,
    path,
    query: redactQuery(query),
    headers: {
      ...headers,
      // the scheme only (`Bearer <redacted>`): the credential is never kept
      ...(authorization !== undefined ? { authorization: `${authorization.split(" ")[0]} <redacted>` } : {}),
      ...(cookie !== undefined ? { cookie: "<redacted>" } : {})
    }
  })
}

const injectedFailure = (
  req: HttpServerRequest.HttpServerRequest,
  decision: FaultDecision
): HttpServerResponse.HttpServerResponse | undefined => {
  switch (decision._tag) {
    case "Drop":
      return dropConnection(req)
    case "Status": {
      const response = HttpServerResponse.unsafeJson({ error: `injected failure ${decision.status}` }, { status: decision.status })
      return closeAfterRefusedUpgrade(
        req,
        decision.retryAfter === undefined ? response : HttpServerResponse.setHeader(response, "Retry-After", decision.retryAfter)
      )
    }
    case "None":
      return undefined
  }
}

const faultMiddleware = (state: PlatformState) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const url = requestUrl(req)
    const path = url.pathname
    const method = req.method.toUpperCase()
    if (state.recordRequests) recordRequest(state, method, path, url.search, req.headers)
    const serve = Effect.suspend(() => {
      const failure = injectedFailure(req, state.faults.decide(method, path))
      if (failure !== undefined) return Effect.succeed(failure)
      return Effect.map(app, (response) => closeAfterRefusedUpgrade(req, stickySession(req, path, response)))
    })
    const latency = state.faults.latency(method, path)
    return latency > 0 ? Effect.zipRight(Effect.sleep(latency), serve) : serve
  })

/**
 * A websocket echo service for transport tests (not part of the platform API): authenticates like
 * the monitoring service, greets with `hello <user>`, then echoes every message.
 */
const echoRoute = (state: PlatformState) =>
  HttpRouter.get(
    "/_local/ws-echo",
    Effect.gen(function*() {
      const req = yield* HttpServerRequest.HttpServerRequest
      if (!state.testHooks) return plainError(404, "Not Found")
      const identity = state.authenticate(req.headers["authorization"])
      if (identity === undefined) {
        const body = JSON.stringify({ error: "Not authenticated" })
        return HttpServerResponse.text(body, { status: 401, headers: { "X-Error": body }, contentType: "application/json" })
      }
      const socket = yield* req.upgrade
      const write = yield* socket.writer
      yield* socket.runRaw((data) => write(data), { onOpen: write(`hello ${identity.user}`).pipe(Effect.ignore) }).pipe(
        Effect.catchAll(() => Effect.void)
      )
      return HttpServerResponse.empty()
    }).pipe(Effect.scoped, Effect.catchTag("RequestError", () => Effect.succeed(plainError(400, "Bad Request"))))
  )

/** @internal */
export type Routes = (state: PlatformState) => HttpRouter.HttpRouter<never, never>

/** Every service of the platform; each module serves its own paths. */
const services: ReadonlyArray<Routes> = [
  configRoutes,
  oauthRoutes,
  storageRoutes,
  usersRoutes,
  secretsRoutes,
  disksRoutes,
  serviceAccountsRoutes,
  monitoringRoutes,
  jobsRoutes,
  bucketsRoutes,
  s3Routes,
  azureRoutes,
  gcsRoutes,
  registryRoutes
]

/** @internal */
export const makeApp = (state: PlatformState): HttpApp.Default<never, never> => {
  let router = HttpRouter.empty.pipe(echoRoute(state))
  for (const routes of services) router = HttpRouter.concat(router, routes(state))
  const app: HttpApp.Default<never, never> = router.pipe(
    Effect.catchTag("RouteNotFound", () => Effect.succeed(plainError(404, "Not Found"))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.succeed(plainError(499, "Client Closed Request"))
        : Effect.as(Effect.logError("LocalPlatform handler failed", cause), plainError(500, "Internal Server Error"))
    )
  ) as HttpApp.Default<never, never>
  return corsMiddleware(state.corsOrigins)(faultMiddleware(state)(app))
}

