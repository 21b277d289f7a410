import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import { Disks, Jobs, Volume } from "@neuro-sdk/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { join } from "node:path"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const clusters = [
  { name: "default", orgs: [null, "acme"] },
  { name: "other", orgs: [null] }
]

const GiB = 2 ** 30

const listAll = (options?: { readonly clusterName?: string }) =>
  Effect.flatMap(Disks.Disks, (d) => Effect.map(Stream.runCollect(d.list(options)), Chunk.toReadonlyArray))

describe("Disks over LocalPlatform", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"], clusters }), { excludeTestServices: true })((it) => {
    it.effect("create, get by id and by name, list, rm", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const before = Date.now()
        const disk = yield* disks.create(10 * GiB, { name: "imagenet-cache", timeoutUnused: Duration.hours(1) })
        assert.match(disk.id, /^disk-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        assert.strictEqual(disk.storage, 10 * GiB)
        assert.strictEqual(disk.owner, "alice")
        assert.strictEqual(disk.name, "imagenet-cache")
        assert.strictEqual(disk.status, Disks.Disk.Status.READY)
        assert.strictEqual(disk.clusterName, "default")
        assert.isNull(disk.orgName)
        assert.isNull(disk.lastUsage)
        assert.strictEqual(disk.usedBytes, 0)
        assert.isTrue(Duration.equals(disk.timeoutUnused!, Duration.hours(1)))
        assert.isTrue(Duration.equals(disk.lifeSpan!, Duration.hours(1)))
        assert.isAtLeast(disk.createdAt.getTime(), before - 1000)
        assert.strictEqual(disk.uri.href, `disk://default/alice/${disk.id}`)

        const byId = yield* disks.get(disk.id)
        const byName = yield* disks.get("imagenet-cache")
        const byOwner = yield* disks.get("imagenet-cache", { owner: "alice" })
        assert.strictEqual(byId.id, disk.id)
        assert.strictEqual(byName.id, disk.id)
        assert.strictEqual(byOwner.id, disk.id)
        assert.isTrue((yield* listAll()).some((d) => d.id === disk.id))

        yield* disks.rm("imagenet-cache")
        const gone = yield* Effect.flip(disks.get(disk.id))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        assert.include(gone.message, `Disk ${disk.id} not found`)
        assert.strictEqual((yield* Effect.flip(disks.rm(disk.id)))._tag, "ResourceNotFound")
        assert.isFalse((yield* listAll()).some((d) => d.id === disk.id))
      }))

    it.effect("the disk is a folder jobs can mount; used bytes follow its contents", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const platform = yield* LocalPlatform.LocalPlatformTag
        const disk = yield* disks.create(GiB)
        const folder = join(platform.dataDir, "disks", "default", disk.id)
        assert.isTrue(fs.statSync(folder).isDirectory())
        fs.writeFileSync(join(folder, "data.bin"), Buffer.alloc(1234))
        assert.strictEqual((yield* disks.get(disk.id)).usedBytes, 1234)
        assert.isNull(disk.name)
        assert.isNull(disk.timeoutUnused)
        yield* disks.rm(disk.id)
        assert.isFalse(fs.existsSync(folder))
      }))

    it.effect("names are unique per owner; bad names and sizes are refused", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const first = yield* disks.create(GiB, { name: "cool-disk" })
        const dup = yield* Effect.flip(disks.create(GiB, { name: "cool-disk" }))
        assert.strictEqual(dup._tag, "IllegalArgumentError")
        assert.include(dup.message, "cool-disk")
        for (const bad of ["1digit", "with space", "ab", "a".repeat(41), "double--hyphen", "Upper"]) {
          assert.strictEqual((yield* Effect.flip(disks.create(GiB, { name: bad })))._tag, "IllegalArgumentError", bad)
        }
        assert.strictEqual((yield* Effect.flip(disks.create(-1)))._tag, "InvalidInputError")
        assert.strictEqual((yield* Effect.flip(disks.create(1.5)))._tag, "InvalidInputError")
        assert.strictEqual(
          (yield* Effect.flip(disks.create(GiB, { timeoutUnused: "1 hour", lifeSpan: "2 hours" })))._tag,
          "InvalidInputError"
        )
        const second = yield* disks.create(GiB, { name: "word-1-digit", lifeSpan: "90 seconds" })
        assert.isTrue(Duration.equals(second.timeoutUnused!, Duration.seconds(90)))
        yield* disks.rm(first.id)
        yield* disks.rm(second.id)
        // the name is free again
        const again = yield* disks.create(GiB, { name: "cool-disk" })
        yield* disks.rm("cool-disk")
        assert.notStrictEqual(again.id, first.id)
      }))

    it.effect("org and cluster options", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const platform = yield* LocalPlatform.LocalPlatformTag
        const inOrg = yield* disks.create(GiB, { name: "org-disk", orgName: "acme" })
        assert.strictEqual(inOrg.orgName, "acme")
        assert.strictEqual(inOrg.uri.href, `disk://default/acme/alice/${inOrg.id}`)
        const elsewhere = yield* disks.create(GiB, { name: "far-disk", clusterName: "other" })
        const posts = (yield* platform.requests).filter((r) => r.method === "POST" && r.path.endsWith("/disk"))
        assert.strictEqual(posts.at(-1)!.path, "/api/v1/clusters/other/disk")
        assert.isFalse((yield* listAll()).some((d) => d.id === elsewhere.id))
        const onOther = yield* listAll({ clusterName: "other" })
        assert.deepStrictEqual(onOther.map((d) => d.id), [elsewhere.id])
        // neuro-sdk: Disk.clusterName is always the config's current cluster
        assert.strictEqual(onOther[0]!.clusterName, "default")
        assert.strictEqual((yield* Effect.flip(disks.get("far-disk")))._tag, "ResourceNotFound")
        assert.strictEqual((yield* disks.get("far-disk", { clusterName: "other" })).id, elsewhere.id)
        yield* disks.rm("far-disk", { clusterName: "other" })
        yield* disks.rm(inOrg.id)
        assert.strictEqual((yield* Effect.flip(disks.create(GiB, { orgName: "not-my-org" })))._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(listAll({ clusterName: "nowhere" })))._tag, "ConfigError")
      }))

    it.effect("the create body is what neuro-sdk sends", () =>
      Effect.gen(function*() {
        const platform = yield* LocalPlatform.LocalPlatformTag
        const http = yield* HttpClient.HttpClient
        // exactly neuro-sdk 23.2's body, float life span included
        const response = yield* http.execute(
          HttpClientRequest.post(`${platform.url}/api/v1/clusters/default/disk`).pipe(
            HttpClientRequest.bearerToken(platform.token("alice")),
            HttpClientRequest.setHeader("content-type", "application/json"),
            HttpClientRequest.bodyText(`{"storage": 1024, "life_span": 86400.0, "name": null, "org_name": null}`, "application/json")
          )
        )
        assert.strictEqual(response.status, 201)
        const body = (yield* response.json) as Record<string, unknown>
        assert.deepStrictEqual(Object.keys(body).sort(), [
          "created_at",
          "id",
          "last_usage",
          "life_span",
          "name",
          "org_name",
          "owner",
          "status",
          "storage",
          "used_bytes"
        ])
        assert.strictEqual(body.life_span, 86400)
        assert.match(String(body.created_at), /\+00:00$/)
        yield* (yield* Disks.Disks).rm(String(body.id))
      }))
  })
})

describe("Disks used by jobs", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice"] }), { excludeTestServices: true })((it) => {
    it.effect("a job mounting the disk sets last_usage (the disks service's usage watcher)", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const jobs = yield* Jobs.Jobs
        const disk = yield* disks.create(GiB)
        assert.isNull(disk.lastUsage)
        const before = Date.now()
        const job = yield* jobs.start({
          image: "ubuntu:22.04",
          presetName: "cpu-small",
          command: "true",
          diskVolumes: [new Volume.DiskVolume({ diskUri: disk.uri, containerPath: "/mnt/disk" })]
        })
        const done = yield* jobs.status(job.id).pipe(
          Effect.filterOrFail((j) => ["succeeded", "failed", "cancelled"].includes(j.status), () => "running" as const),
          Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })
        )
        assert.strictEqual(done.status, "succeeded")
        const used = yield* disks.get(disk.id)
        assert.isNotNull(used.lastUsage)
        assert.isAtLeast(used.lastUsage!.getTime(), before - 1000)
        yield* disks.rm(disk.id)
      }))

    it.effect("a disk unused for its life span is deleted, unless a running job mounts it", () =>
      Effect.gen(function*() {
        const disks = yield* Disks.Disks
        const jobs = yield* Jobs.Jobs
        const idle = yield* disks.create(GiB, { timeoutUnused: "1 second" })
        const busy = yield* disks.create(GiB, { timeoutUnused: "1 second" })
        const keeper = yield* disks.create(GiB)
        const job = yield* jobs.start({
          image: "ubuntu:22.04",
          presetName: "cpu-small",
          command: "sleep 30",
          diskVolumes: [new Volume.DiskVolume({ diskUri: busy.uri, containerPath: "/mnt/disk" })]
        })
        yield* Effect.sleep("1500 millis")
        const left = new Set((yield* Stream.runCollect(disks.list())).pipe(Chunk.toReadonlyArray).map((d) => d.id))
        assert.isFalse(left.has(idle.id), "unused past its life span")
        assert.isTrue(left.has(busy.id), "mounted by a running job")
        assert.isTrue(left.has(keeper.id), "no life span")
        const gone = yield* Effect.flip(disks.get(idle.id))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        yield* jobs.kill(job.id)
        yield* disks.rm(busy.id)
        yield* disks.rm(keeper.id)
      }))
  })
})
