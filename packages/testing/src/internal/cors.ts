/**
 * CORS for pages of other origins (the browser layers of @neuro-sdk/core): off unless origins
 * are configured; a request from another origin, or without an `Origin`, is answered exactly as
 * without CORS (the real platform's clients, neuro-sdk included, send no `Origin`).
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"

/** Response headers a page may read: paging, ranges, errors, retries, the log's position. */
const EXPOSED = "content-length, content-range, content-disposition, etag, last-modified, link, location, retry-after, x-error, docker-content-digest, docker-upload-uuid, range"

const METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"

/** @internal */
export const corsMiddleware = (origins: ReadonlyArray<string>) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  origins.length === 0 ? app : Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const origin = req.headers["origin"]
    if (origin === undefined || !(origins.includes("*") || origins.includes(origin))) return app
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      return Effect.succeed(HttpServerResponse.empty({
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": METHODS,
          "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "",
          "access-control-max-age": "600",
          vary: "Origin"
        }
      }))
    }
    return Effect.map(app, (response) =>
      HttpServerResponse.setHeaders(response, {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSED,
        vary: "Origin"
      }))
  })
