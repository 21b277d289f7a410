import { assert, describe, it } from "@effect/vitest"
import { Disks } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { empty, fakePlatform, json } from "./usersFixtures.js"

const wire = {
  id: "disk-6b0f5c0e-2f59-4a5c-9a3c-1f0a7c2d9e11",
  storage: 10737418240,
  owner: "alice",
  name: "imagenet-cache",
  org_name: null,
  status: "Ready",
  created_at: "2023-02-14T09:31:07.412938+00:00",
  last_usage: "2023-02-20T17:02:44.100000+00:00",
  life_span: 86400,
  used_bytes: 2147483648
}

describe("Disks (wire)", () => {
  it.effect("decodes the disk object of protocol/disks.md §2.1", () => {
    const p = fakePlatform(() => json([wire, { id: "disk-2", storage: 1, owner: "bob", status: "Pending", created_at: "2023-02-14T09:31:07" }]))
    return Effect.gen(function*() {
      const disks = Chunk.toReadonlyArray(yield* Stream.runCollect((yield* Disks.Disks).list({ clusterName: "c2" })))
      const d = disks[0]!
      assert.strictEqual(d.id, wire.id)
      assert.strictEqual(d.storage, 10737418240)
      assert.strictEqual(d.status, Disks.Disk.Status.READY)
      assert.strictEqual(d.createdAt.toISOString(), "2023-02-14T09:31:07.412Z")
      assert.strictEqual(d.lastUsage!.toISOString(), "2023-02-20T17:02:44.100Z")
      assert.isTrue(Duration.equals(d.timeoutUnused!, Duration.days(1)))
      assert.strictEqual(d.usedBytes, 2147483648)
      // neuro-sdk: the current cluster, whatever cluster was listed
      assert.strictEqual(d.clusterName, "c1")
      assert.strictEqual(d.uri.href, `disk://c1/alice/${wire.id}`)
      const minimal = disks[1]!
      assert.strictEqual(minimal.status, "Pending")
      assert.isNull(minimal.name)
      assert.isNull(minimal.lastUsage)
      assert.isNull(minimal.timeoutUnused)
      assert.isNull(minimal.usedBytes)
      assert.isNull(minimal.orgName)
      assert.strictEqual(p.requests[0]!.url.href, "https://c2.example.org/api/v1/disk")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("create sends all four keys", () => {
    const p = fakePlatform(() => json({ ...wire, org_name: "acme" }, 201), { orgName: "acme" })
    return Effect.gen(function*() {
      const disks = yield* Disks.Disks
      const d = yield* disks.create(10737418240, { timeoutUnused: Duration.hours(1), name: "imagenet-cache" })
      assert.strictEqual(d.uri.href, `disk://c1/acme/alice/${wire.id}`)
      yield* disks.create(5, { orgName: null, clusterName: "c2", lifeSpan: "1500 millis" })
      yield* disks.create(5, { timeoutUnused: Duration.zero })
      assert.deepStrictEqual(JSON.parse(p.requests[0]!.body), { storage: 10737418240, life_span: 3600, name: "imagenet-cache", org_name: "acme" })
      assert.deepStrictEqual(JSON.parse(p.requests[1]!.body), { storage: 5, life_span: 1.5, name: null, org_name: null })
      assert.strictEqual(p.requests[1]!.url.href, "https://c2.example.org/api/v1/disk")
      assert.deepStrictEqual(JSON.parse(p.requests[2]!.body), { storage: 5, life_span: null, name: null, org_name: "acme" })
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("get and rm: id or name in the path, owner as a query", () => {
    const answers = [json(wire), json(wire), empty(204), new Response("Disk x not found", { status: 404 })]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const disks = yield* Disks.Disks
      yield* disks.get(wire.id)
      yield* disks.get("imagenet-cache", { owner: "bob", clusterName: "c2" })
      yield* disks.rm("imagenet-cache", { owner: "bob" })
      const missing = yield* Effect.flip(disks.rm("x"))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      assert.strictEqual(missing.description, "Disk x not found")
      assert.strictEqual(p.requests[0]!.url.href, `https://c1.example.org/api/v1/disk/${wire.id}`)
      assert.strictEqual(p.requests[1]!.url.href, "https://c2.example.org/api/v1/disk/imagenet-cache?owner=bob")
      assert.strictEqual(p.requests[2]!.method, "DELETE")
      assert.strictEqual(p.requests[2]!.url.href, "https://c1.example.org/api/v1/disk/imagenet-cache?owner=bob")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("unknown statuses and bad dates are MalformedResponse", () => {
    const answers = [json({ ...wire, status: "Lost" }), json({ ...wire, created_at: "yesterday" }), json({ ...wire, storage: "20Gi" })]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const disks = yield* Disks.Disks
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* Effect.flip(disks.get("d")))._tag, "MalformedResponse")
    }).pipe(Effect.provide(p.layer))
  })
})
