import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it, layer } from "@effect/vitest"
import { Config, Disks, Factory, NeuroClient, Secrets, ServiceAccounts, Session, Storage, Users } from "@neuro-sdk/core"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeLogin from "@neuro-sdk/node/NodeLogin"
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Acl, type Action } from "../src/internal/acl.js"
import * as MemoryConfigStore from "../src/MemoryConfigStore.js"
import { LocalPlatform, NeuroTest } from "../src/index.js"
import * as TestBrowser from "../src/TestBrowser.js"

type Client =
  | Config.Config
  | Storage.Storage
  | Secrets.Secrets
  | Disks.Disks
  | Users.Users
  | ServiceAccounts.ServiceAccounts

/**
 * A second, independent SDK client on the same LocalPlatform: its own in-memory config,
 * logged in through `Factory` (by token, or with a service account's passed config).
 */
const clientAs = (
  login: (factory: Factory.Factory.Service) => Effect.Effect<void, Factory.LoginError>
): Effect.Effect<Context.Context<Client>, never, Scope.Scope> => {
  const infra = Layer.mergeAll(MemoryConfigStore.layer(), NodeHttp.layer)
  const factory = Factory.layer.pipe(Layer.provide(Layer.mergeAll(infra, TestBrowser.layer, NodeLogin.layerCallbackServer)))
  const loggedIn = Layer.provideMerge(Layer.effectDiscard(Effect.flatMap(Factory.Factory, login)), Layer.merge(infra, factory))
  const session = Layer.provideMerge(Session.layerWith(Effect.succeed({})), loggedIn)
  const client = Layer.provideMerge(NeuroClient.layer(), Layer.mergeAll(session, NodeFileSystem.layer, NodePath.layer))
  return Layer.build(Layer.orDie(client))
}

const asUser = (name: string) =>
  Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => clientAs((f) => f.loginWithToken(p.token(name), { url: p.apiUrl })))

const enc = new TextEncoder()
const dec = new TextDecoder()

const read = (uri: string) =>
  Effect.flatMap(Storage.Storage, (s) => Effect.map(Stream.runCollect(s.open(uri)), (c) => dec.decode(Buffer.concat(Chunk.toArray(c)))))

const write = (uri: string, text: string) => Effect.flatMap(Storage.Storage, (s) => s.create(uri, enc.encode(text)))

const secretKeys = Effect.flatMap(Secrets.Secrets, (s) =>
  Effect.map(Stream.runCollect(s.list()), (c) => Chunk.toArray(c).map((x) => `${x.owner}/${x.key}`).sort()))

const diskIds = Effect.flatMap(Disks.Disks, (d) => Effect.map(Stream.runCollect(d.list()), (c) => Chunk.toArray(c).map((x) => x.id)))

/** The tag of the failure, or "ok". */
const outcome = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.match(effect, { onFailure: (e) => e._tag, onSuccess: () => "ok" })

/**
 * Storage hides what the user may not access: 404 for a denied read and a denied write alike
 * (platform-storage-api turns the auth check's 403 into 404).
 */
const DENIED_READ = "ResourceNotFound"
const DENIED_WRITE = "ResourceNotFound"

describe("Acl (rules)", () => {
  const acl = new Acl((cluster) => (cluster === "c1" ? [null, "acme"] : [null]))
  acl.grant("bob", "storage://c1/alice/shared", "read")
  acl.grant("bob", "storage://c1/alice/shared/rw/", "write")
  acl.grant("bob", "secret://c1/alice/my%20key", "manage")
  acl.grant("carol", "role://alice/roles/team", "read")
  acl.grant("alice/roles/team", "disk://c1/alice/disk-1", "write")
  acl.grant("alice/service-accounts/ci", "storage://c1/alice/ci", "read")

  const table: ReadonlyArray<readonly [role: string, uri: string, expected: Action | undefined]> = [
    ["alice", "storage://c1/alice", "manage"],
    ["alice", "storage://c1/alice/x/y", "manage"],
    ["alice", "storage://c1/acme/alice/x", "manage"],
    ["alice", "job://c1/alice/job-1", "manage"],
    ["alice", "image://c1/alice/img", "manage"],
    ["alice", "blob://c1/alice/bucket", "manage"],
    ["alice", "storage://c1/bob", undefined],
    ["alice", "storage://c1/alicex", undefined],
    ["alice", "role://alice/roles/team", "manage"],
    ["alice", "user://alice", "read"],
    ["alice", "user://bob", undefined],
    ["bob", "storage://c1/alice/shared", "read"],
    ["bob", "storage://c1/alice/shared/", "read"],
    ["bob", "storage://c1/alice/shared/deep/file", "read"],
    ["bob", "storage://c1/alice/shared/rw/file", "write"],
    ["bob", "storage://c1/alice/sharedx", undefined],
    ["bob", "storage://c1/alice", undefined],
    ["bob", "secret://c1/alice/my key", "manage"],
    ["bob", "secret://c1/alice/my%20key", "manage"],
    ["carol", "disk://c1/alice/disk-1", "write"],
    ["carol", "disk://c1/alice/disk-2", undefined],
    ["alice/service-accounts/ci", "storage://c1/alice/ci/x", "read"],
    ["alice/service-accounts/ci", "storage://c1/alice/other", undefined],
    ["alice/service-accounts/ci", "storage://c1/alice/service-accounts/ci", undefined],
    ["alice/service-accounts/ci", "user://alice/service-accounts/ci", "read"]
  ]
  for (const [role, uri, expected] of table) {
    it(`${role} on ${uri}: ${expected ?? "nothing"}`, () => assert.strictEqual(acl.actionOn(role, uri), expected))
  }

  it("MANAGE implies WRITE implies READ", () => {
    assert.isTrue(acl.can("bob", "secret://c1/alice/my key", "write"))
    assert.isTrue(acl.can("bob", "storage://c1/alice/shared/rw/f", "read"))
    assert.isFalse(acl.can("bob", "storage://c1/alice/shared/f", "write"))
  })
})

describe("access control over LocalPlatform (alice and bob)", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob"] }), { excludeTestServices: true })((it) => {
    it.scoped("storage: denied, READ, WRITE, MANAGE, revoked", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const bob = yield* asUser("bob")
        assert.strictEqual(yield* Effect.provide(Config.Config.pipe(Effect.flatMap((c) => c.username)), bob), "bob")
        yield* write("storage:shared/data.txt", "alice's data")
        const file = "storage://default/alice/shared/data.txt"
        const fresh = "storage://default/alice/shared/from-bob.txt"
        const asBob = <A, E, R extends Client>(e: Effect.Effect<A, E, R>) => Effect.provide(e, bob)

        assert.strictEqual(yield* asBob(outcome(read(file))), DENIED_READ)
        assert.strictEqual(yield* asBob(outcome(write(fresh, "x"))), DENIED_READ)

        yield* users.share("bob", { uri: "storage:shared", action: "read" })
        assert.strictEqual(yield* asBob(read(file)), "alice's data")
        assert.deepStrictEqual(
          yield* asBob(Effect.flatMap(Storage.Storage, (s) => Effect.map(Stream.runCollect(s.list("storage://default/alice/shared")), (c) => Chunk.toArray(c).map((f) => `${f.name} ${f.permission}`)))),
          ["data.txt read"]
        )
        // READ does not allow writing
        assert.strictEqual(yield* asBob(outcome(write(fresh, "x"))), DENIED_WRITE)
        assert.strictEqual(yield* asBob(outcome(write(file, "overwritten"))), DENIED_WRITE)
        assert.strictEqual(yield* read(file), "alice's data")

        yield* users.share("bob", { uri: "storage:shared", action: "write" })
        yield* asBob(write(fresh, "bob was here"))
        assert.strictEqual(yield* read(fresh), "bob was here")

        // bob sees what was shared with him in his own ACL
        const bobAcl = yield* asBob(Effect.flatMap(Users.Users, (u) => u.getAcl("bob", "storage")))
        assert.isTrue(bobAcl.some((p) => p.uri.href === "storage://default/alice/shared" && p.action === "write"))
        assert.strictEqual(yield* asBob(outcome(Effect.flatMap(Users.Users, (u) => u.getAcl("alice")))), "AuthorizationError")

        yield* users.revoke("bob", "storage:shared")
        assert.strictEqual(yield* asBob(outcome(read(file))), DENIED_READ)
        assert.strictEqual(yield* asBob(outcome(write(fresh, "again"))), DENIED_READ)

        yield* users.share("bob", { uri: "storage://default/alice/shared", action: "manage" })
        assert.strictEqual(yield* asBob(read(file)), "alice's data")
        yield* asBob(write(fresh, "managed"))
        // MANAGE lets bob share onwards
        yield* asBob(Effect.flatMap(Users.Users, (u) => u.share("bob", { uri: "storage://default/alice/shared/data.txt", action: "read" })))
        yield* users.revoke("bob", "storage://default/alice/shared")
        yield* users.revoke("bob", "storage://default/alice/shared/data.txt")
        assert.strictEqual(yield* asBob(outcome(read(file))), DENIED_READ)
      }))

    it.scoped("storage listings follow role memberships and percent-encoded grants", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const bob = yield* asUser("bob")
        const names = (uri: string) =>
          Effect.provide(
            Effect.flatMap(Storage.Storage, (s) => Effect.map(Stream.runCollect(s.list(uri)), (c) => Chunk.toArray(c).map((f) => f.name))),
            bob
          )
        // through a role: bob is a member of alice/roles/viewers, which may read vis/team
        yield* write("storage:vis/team/t.txt", "team")
        yield* write("storage:vis/private/p.txt", "private")
        yield* users.add("alice/roles/viewers")
        yield* users.share("alice/roles/viewers", { uri: "storage://default/alice/vis/team", action: "read" })
        assert.strictEqual(yield* Effect.provide(outcome(read("storage://default/alice/vis/team/t.txt")), bob), DENIED_READ)
        yield* users.share("bob", { uri: "role://alice/roles/viewers", action: "read" })
        assert.strictEqual(yield* Effect.provide(read("storage://default/alice/vis/team/t.txt"), bob), "team")
        assert.deepStrictEqual(yield* names("storage://default/alice/vis"), ["team"])
        yield* users.remove("alice/roles/viewers")
        assert.strictEqual(yield* Effect.provide(outcome(names("storage://default/alice/vis")), bob), DENIED_READ)

        // a grant whose URI is percent-encoded (`sp%20ace`) makes its parents listable
        yield* write("storage:vis/sp ace/inner/f.txt", "spaced")
        yield* users.share("bob", { uri: "storage://default/alice/vis/sp%20ace/inner", action: "read" })
        assert.deepStrictEqual(yield* names("storage://default/alice/vis/sp%20ace"), ["inner"])
        assert.deepStrictEqual(yield* names("storage://default/alice/vis"), ["sp ace"])
        yield* users.revoke("bob", "storage://default/alice/vis/sp%20ace/inner")
      }))

    it.scoped("secrets: invisible, listed after a share, invisible after revoke", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const secrets = yield* Secrets.Secrets
        const bob = yield* asUser("bob")
        yield* secrets.add("alice-token", Redacted.make("s3cret"))
        yield* Effect.provide(Effect.flatMap(Secrets.Secrets, (s) => s.add("bob-token", Redacted.make("b0b"))), bob)
        assert.deepStrictEqual(yield* Effect.provide(secretKeys, bob), ["bob/bob-token"])
        assert.deepStrictEqual(yield* secretKeys, ["alice/alice-token"])

        yield* users.share("bob", { uri: "secret:alice-token", action: "read" })
        assert.deepStrictEqual(yield* Effect.provide(secretKeys, bob), ["alice/alice-token", "bob/bob-token"])
        // a share does not let bob remove alice's secret: rm acts on his own secrets only
        assert.strictEqual(yield* Effect.provide(outcome(Effect.flatMap(Secrets.Secrets, (s) => s.rm("alice-token"))), bob), "ResourceNotFound")

        yield* users.revoke("bob", "secret:alice-token")
        assert.deepStrictEqual(yield* Effect.provide(secretKeys, bob), ["bob/bob-token"])

        // sharing the whole secret folder covers the secrets in it
        yield* users.share("bob", { uri: "secret:", action: "read" })
        yield* secrets.add("later", Redacted.make("x"))
        assert.deepStrictEqual(yield* Effect.provide(secretKeys, bob), ["alice/alice-token", "alice/later", "bob/bob-token"])
        yield* users.revoke("bob", "secret:")
        assert.deepStrictEqual(yield* Effect.provide(secretKeys, bob), ["bob/bob-token"])
        yield* secrets.rm("alice-token")
        yield* secrets.rm("later")
      }))

    it.scoped("disks: denied, READ (no rm), WRITE (rm), revoked", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const disks = yield* Disks.Disks
        const bob = yield* asUser("bob")
        const asBob = <A, E, R extends Client>(e: Effect.Effect<A, E, R>) => Effect.provide(e, bob)
        const disk = yield* disks.create(2 ** 30, { name: "shared-disk" })
        const bobGet = (idOrName: string, owner?: string) =>
          outcome(Effect.flatMap(Disks.Disks, (d) => d.get(idOrName, owner === undefined ? {} : { owner })))
        const bobRm = (id: string) => outcome(Effect.flatMap(Disks.Disks, (d) => d.rm(id)))

        assert.strictEqual(yield* asBob(bobGet(disk.id)), "AuthorizationError")
        assert.strictEqual(yield* asBob(bobGet("shared-disk", "alice")), "AuthorizationError")
        assert.strictEqual(yield* asBob(bobGet("shared-disk")), "ResourceNotFound")
        assert.notInclude(yield* asBob(diskIds), disk.id)
        assert.strictEqual(yield* asBob(bobRm(disk.id)), "AuthorizationError")

        yield* users.share("bob", { uri: disk.uri, action: "read" })
        assert.strictEqual(yield* asBob(bobGet(disk.id)), "ok")
        assert.strictEqual(yield* asBob(bobGet("shared-disk", "alice")), "ok")
        assert.include(yield* asBob(diskIds), disk.id)
        assert.strictEqual(yield* asBob(bobRm(disk.id)), "AuthorizationError")

        yield* users.revoke("bob", disk.uri)
        assert.strictEqual(yield* asBob(bobGet(disk.id)), "AuthorizationError")
        assert.notInclude(yield* asBob(diskIds), disk.id)

        yield* users.share("bob", { uri: disk.uri, action: "write" })
        assert.strictEqual(yield* asBob(bobRm(disk.id)), "ok")
        assert.strictEqual((yield* Effect.flip(disks.get(disk.id)))._tag, "ResourceNotFound")
        // a disk in bob's own tree is bob's alone
        const own = yield* asBob(Effect.flatMap(Disks.Disks, (d) => d.create(1024)))
        assert.strictEqual(own.owner, "bob")
        assert.strictEqual((yield* Effect.flip(disks.get(own.id)))._tag, "AuthorizationError")
        yield* asBob(Effect.flatMap(Disks.Disks, (d) => d.rm(own.id)))
      }))

    it.scoped("role membership: a role's permissions reach its members until the role goes", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const bob = yield* asUser("bob")
        yield* write("storage:team/plan.md", "plan")
        const role = "alice/roles/team"
        yield* users.add(role)
        yield* users.share(role, { uri: "storage:team", action: "read" })
        const file = "storage://default/alice/team/plan.md"
        assert.strictEqual(yield* Effect.provide(outcome(read(file)), bob), DENIED_READ)
        yield* users.share("bob", { uri: `role://${role}`, action: "read" })
        assert.strictEqual(yield* Effect.provide(read(file), bob), "plan")
        const bobAcl = yield* Effect.provide(Effect.flatMap(Users.Users, (u) => u.getAcl("bob")), bob)
        assert.isTrue(bobAcl.some((p) => p.uri.href === `role://${role}` && p.action === "read"))
        assert.isTrue(bobAcl.some((p) => p.uri.href === "storage://default/alice/team" && p.action === "read"))
        yield* users.remove(role)
        assert.strictEqual(yield* Effect.provide(outcome(read(file)), bob), DENIED_READ)
      }))

    it.scoped("a service account's token acts as its own role, no more", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const secrets = yield* Secrets.Secrets
        const accounts = yield* ServiceAccounts.ServiceAccounts
        yield* write("storage:ci-data/input.csv", "a,b")
        yield* write("storage:private/keys", "k")
        yield* secrets.add("alice-only", Redacted.make("x"))
        const { account, token } = yield* accounts.create({ name: "ci" })
        const ci = yield* clientAs((f) => f.loginWithPassedConfig(token))
        const asCi = <A, E, R extends Client>(e: Effect.Effect<A, E, R>) => Effect.provide(e, ci)

        assert.strictEqual(yield* asCi(Effect.flatMap(Config.Config, (c) => c.username)), account.role)
        assert.strictEqual(yield* asCi(Effect.flatMap(Config.Config, (c) => c.clusterName)), "default")
        // nothing of alice's
        assert.strictEqual(yield* asCi(outcome(read("storage://default/alice/ci-data/input.csv"))), DENIED_READ)
        assert.strictEqual(yield* asCi(outcome(read("storage://default/alice/private/keys"))), DENIED_READ)
        assert.deepStrictEqual(yield* asCi(secretKeys), [])
        assert.strictEqual(yield* asCi(outcome(Effect.flatMap(Disks.Disks, (d) => d.create(1024)))), "AuthorizationError")
        assert.strictEqual(yield* asCi(outcome(Effect.flatMap(Secrets.Secrets, (s) => s.add("k", Redacted.make("v"))))), "AuthorizationError")
        assert.strictEqual(yield* asCi(outcome(Effect.flatMap(Users.Users, (u) => u.getAcl("alice")))), "AuthorizationError")
        assert.strictEqual(
          yield* asCi(outcome(Effect.flatMap(Users.Users, (u) => u.share(account.role, { uri: "storage://default/alice/private", action: "read" })))),
          "AuthorizationError"
        )

        // exactly what alice shares with it
        yield* users.share(account.role, { uri: "storage:ci-data", action: "read" })
        yield* users.share(account.role, { uri: `secret://default/${account.role}`, action: "write" })
        assert.strictEqual(yield* asCi(read("storage://default/alice/ci-data/input.csv")), "a,b")
        assert.strictEqual(yield* asCi(outcome(write("storage://default/alice/ci-data/output.csv", "x"))), DENIED_WRITE)
        assert.strictEqual(yield* asCi(outcome(read("storage://default/alice/private/keys"))), DENIED_READ)
        yield* asCi(Effect.flatMap(Secrets.Secrets, (s) => s.add("ci-token", Redacted.make("v"))))
        assert.deepStrictEqual(yield* asCi(secretKeys), [`${account.role}/ci-token`])
        const ciAcl = yield* asCi(Effect.flatMap(Users.Users, (u) => u.getAcl(account.role)))
        assert.isTrue(ciAcl.some((p) => p.uri.href === "storage://default/alice/ci-data" && p.action === "read"))
        assert.isFalse(ciAcl.some((p) => p.action === "manage"))

        // once the account is gone, its token is refused
        yield* accounts.rm(account.id)
        assert.strictEqual(yield* asCi(outcome(secretKeys)), "AuthenticationError")
        yield* secrets.rm("alice-only")
      }))
  })
})
