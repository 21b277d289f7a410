import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient } from "../ApiClient.js"
import { Config } from "../Config.js"
import type * as DisksModule from "../Disks.js"
import { InvalidInputError } from "../Errors.js"
import { Disk, DiskStatusSchema } from "./disksModels.js"

const DiskWire = Schema.Struct({
  id: Schema.String,
  storage: Schema.Number,
  owner: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  org_name: Schema.optional(Schema.NullOr(Schema.String)),
  status: DiskStatusSchema,
  created_at: Schema.Date,
  last_usage: Schema.optional(Schema.NullOr(Schema.Date)),
  life_span: Schema.optional(Schema.NullOr(Schema.Number)),
  used_bytes: Schema.optional(Schema.NullOr(Schema.Number))
})
type DiskWire = typeof DiskWire.Type

const toDisk = (w: DiskWire, clusterName: string): Disk =>
  new Disk(
    {
      id: w.id,
      storage: w.storage,
      owner: w.owner,
      status: w.status,
      clusterName,
      orgName: w.org_name ?? null,
      createdAt: w.created_at,
      lastUsage: w.last_usage ?? null,
      name: w.name ?? null,
      timeoutUnused: w.life_span === undefined || w.life_span === null ? null : Duration.millis(w.life_span * 1000),
      usedBytes: w.used_bytes ?? null
    },
    true
  )

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config

  const decodeDisk = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.flatMap(api.json(request, DiskWire), (w) => Effect.map(config.clusterName, (c) => toDisk(w, c)))

  const list: DisksModule.Disks.Service["list"] = (options) =>
    Stream.unwrap(Effect.gen(function*() {
      const url = yield* api.service("disks", { clusterName: options?.clusterName })
      const items = yield* api.json(HttpClientRequest.get(url), Schema.Array(DiskWire))
      const clusterName = yield* config.clusterName
      return Stream.fromIterable(items.map((w) => toDisk(w, clusterName)))
    })).pipe(Stream.withSpan("Disks.list"))

  const create: DisksModule.Disks.Service["create"] = (storage, options = {}) =>
    Effect.gen(function*() {
      if (!Number.isSafeInteger(storage) || storage < 0) {
        return yield* Effect.fail(
          new InvalidInputError({ kind: "option", input: String(storage), description: "storage must be a whole number of bytes" })
        )
      }
      if (options.timeoutUnused !== undefined && options.lifeSpan !== undefined) {
        return yield* Effect.fail(
          new InvalidInputError({ kind: "option", input: "lifeSpan", description: "give either timeoutUnused or lifeSpan, not both" })
        )
      }
      const span = options.timeoutUnused ?? options.lifeSpan ?? null
      const seconds = span === null ? 0 : Duration.toMillis(Duration.decode(span)) / 1000
      const url = yield* api.service("disks", { clusterName: options.clusterName })
      const orgName = options.orgName !== undefined ? options.orgName : yield* config.orgName
      const body = {
        storage,
        // like neuro-sdk, a zero duration means no limit
        life_span: seconds > 0 && Number.isFinite(seconds) ? seconds : null,
        name: options.name ?? null,
        org_name: orgName
      }
      return yield* decodeDisk(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson(body)))
    }).pipe(Effect.withSpan("Disks.create"))

  const lookup = (method: "GET" | "DELETE", idOrName: string, options: DisksModule.LookupOptions = {}) =>
    Effect.map(
      api.service("disks", { clusterName: options.clusterName }, idOrName),
      (url) => HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setUrlParams(options.owner ? { owner: options.owner } : {}))
    )

  const get: DisksModule.Disks.Service["get"] = (idOrName, options) =>
    Effect.flatMap(lookup("GET", idOrName, options), decodeDisk).pipe(Effect.withSpan("Disks.get"))

  const rm: DisksModule.Disks.Service["rm"] = (idOrName, options) =>
    Effect.flatMap(lookup("DELETE", idOrName, options), (r) => api.discard(r)).pipe(Effect.withSpan("Disks.rm"))

  const service: DisksModule.Disks.Service = { list, create, get, rm }
  return service
})
