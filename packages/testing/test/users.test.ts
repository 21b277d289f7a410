import { assert, describe, layer } from "@effect/vitest"
import { Users } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { LocalPlatform, NeuroTest } from "../src/index.js"

const pairs = (ps: ReadonlyArray<Users.Permission>) => ps.map((p) => `${p.uri.href} ${p.action}`).sort()
const triples = (ss: ReadonlyArray<Users.Share>) => ss.map((s) => `${s.permission.uri.href} ${s.permission.action} ${s.user}`).sort()

const lastRequest = (method: string) =>
  Effect.map(Effect.flatMap(LocalPlatform.LocalPlatformTag, (p) => p.requests), (rs) => rs.filter((r) => r.method === method).at(-1)!)

describe("Users over LocalPlatform", () => {
  layer(NeuroTest.layer({ transport: "socket", users: ["alice", "bob", "carol"] }), { excludeTestServices: true })((it) => {
    it.effect("getAcl lists own trees and user://; scheme and uri filters", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const all = pairs(yield* users.getAcl("alice"))
        for (const expected of ["storage://default/alice manage", "secret://default/alice manage", "disk://default/alice manage", "user://alice read"]) {
          assert.include(all, expected)
        }
        const storageOnly = yield* users.getAcl("alice", "storage")
        assert.deepStrictEqual(pairs(storageOnly), ["storage://default/alice manage"])
        assert.deepStrictEqual(pairs(yield* users.getAcl("alice", { scheme: "storage" })), pairs(storageOnly))
        assert.deepStrictEqual(pairs(yield* users.getAcl("alice", { uri: "storage:" })), pairs(storageOnly))
        assert.strictEqual((yield* lastRequest("GET")).query, "?uri=storage%3A")
        // inside an owned tree: the URI itself with the inherited action
        assert.deepStrictEqual(pairs(yield* users.getAcl("alice", { uri: "storage://default/alice/deep/x" })), [
          "storage://default/alice/deep/x manage"
        ])
        const conflict = yield* Effect.flip(users.getAcl("alice", { scheme: "storage", uri: "storage://default/alice" }))
        assert.strictEqual(conflict._tag, "InvalidInputError")
        assert.include(conflict.message, "Conflicting arguments 'uri' and 'scheme'")
      }))

    it.effect("share, getShares and revoke", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const uri = "storage://default/alice/datasets"
        const granted = yield* users.share("bob", { uri, action: Users.Action.READ })
        assert.strictEqual(granted.uri.href, uri)
        assert.strictEqual(granted.action, "read")
        const post = yield* lastRequest("POST")
        assert.strictEqual(post.path, "/api/v1/users/bob/permissions")
        yield* users.share("bob", new Users.Permission({ uri: new URL(`${uri}/train`), action: "write" }))
        assert.deepStrictEqual(triples(yield* users.getShares("alice")), [
          `${uri} read bob`,
          `${uri}/train write bob`
        ])
        assert.deepStrictEqual(triples(yield* users.getShares("alice", { uri: `${uri}/train` })), [`${uri}/train write bob`])
        assert.deepStrictEqual(triples(yield* users.getShares("alice", "secret")), [])
        assert.strictEqual((yield* Effect.flip(users.getShares("bob")))._tag, "AuthorizationError")

        // a lower action does not lower a higher one
        const kept = yield* users.share("bob", { uri: `${uri}/train`, action: "read" })
        assert.strictEqual(kept.action, "write")

        yield* users.revoke("bob", uri)
        const del = yield* lastRequest("DELETE")
        assert.strictEqual(del.path, "/api/v1/users/bob/permissions")
        assert.strictEqual(decodeURIComponent(del.query), `?uri=${uri}`)
        const noEffect = yield* Effect.flip(users.revoke("bob", uri))
        assert.strictEqual(noEffect._tag, "IllegalArgumentError")
        assert.include(noEffect.message, "Operation has no effect")
        yield* users.revoke("bob", `${uri}/train`)
        assert.deepStrictEqual(triples(yield* users.getShares("alice")), [])
      }))

    it.effect("short URIs are normalized before sharing", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const p = yield* users.share("carol", { uri: "storage:notes", action: "manage" })
        assert.strictEqual(p.uri.href, "storage://default/alice/notes")
        assert.strictEqual((yield* users.share("carol", { uri: "secret:wandb", action: "read" })).uri.href, "secret://default/alice/wandb")
        // `disk:/bob/...` is from the cluster root: bob's disk, which alice does not manage
        assert.strictEqual((yield* Effect.flip(users.share("carol", { uri: "disk:/bob/disk-1", action: "read" })))._tag, "AuthorizationError")
        yield* users.revoke("carol", "storage:notes")
        yield* users.revoke("carol", "secret:wandb")
        for (const bad of ["storage:x#frag", "storage:x?q=1", "role:alice/roles/x", "not a uri", "storage:~/x"]) {
          assert.strictEqual((yield* Effect.flip(users.share("carol", { uri: bad, action: "read" })))._tag, "InvalidInputError", bad)
        }
      }))

    it.effect("permission and name errors", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        // sharing what one does not manage
        const denied = yield* Effect.flip(users.share("bob", { uri: "storage://default/carol/x", action: "read" }))
        assert.strictEqual(denied._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(users.revoke("bob", "storage://default/carol/x")))._tag, "AuthorizationError")
        // reading another user's ACL
        assert.strictEqual((yield* Effect.flip(users.getAcl("bob")))._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(users.getShares("bob")))._tag, "AuthorizationError")
        assert.strictEqual((yield* Effect.flip(users.getSubroles("bob")))._tag, "AuthorizationError")
        // unknown users
        assert.strictEqual((yield* Effect.flip(users.getAcl("nobody")))._tag, "ResourceNotFound")
        assert.strictEqual((yield* Effect.flip(users.share("nobody", { uri: "storage:x", action: "read" })))._tag, "ResourceNotFound")
        // names may not contain ':' (the path separator of role names)
        const colon = yield* Effect.flip(users.getAcl("alice:roles"))
        assert.strictEqual(colon._tag, "InvalidInputError")
        assert.include(colon.message, "Invalid name: 'alice:roles'")
        // an action that is not one of the three
        const action = "own" as Users.Action
        assert.strictEqual((yield* Effect.flip(users.share("bob", { uri: "storage:x", action })))._tag, "InvalidInputError")
      }))

    it.effect("roles: add, share with a role, membership, subroles, remove", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const role = "alice/roles/reviewers"
        yield* users.add(role)
        const add = yield* lastRequest("POST")
        assert.strictEqual(add.path, "/api/v1/users")
        assert.deepStrictEqual(yield* users.getSubroles("alice"), [role])
        assert.strictEqual((yield* Effect.flip(users.add(role)))._tag, "IllegalArgumentError")
        assert.strictEqual((yield* Effect.flip(users.add("bob/roles/mine")))._tag, "AuthorizationError")

        const uri = "storage://default/alice/to-review"
        yield* users.share(role, { uri, action: "read" })
        assert.include(pairs(yield* users.getAcl(role)), `${uri} read`)
        // granting the role to bob makes him a member (acl.test.ts checks what he may then do)
        yield* users.share("bob", { uri: `role://${role}`, action: "read" })
        assert.include(triples(yield* users.getShares("alice")), `role://${role} read bob`)

        yield* users.remove(role)
        const del = yield* lastRequest("DELETE")
        assert.strictEqual(del.path, "/api/v1/users/alice:roles:reviewers")
        const gone = yield* Effect.flip(users.getAcl(role))
        assert.strictEqual(gone._tag, "ResourceNotFound")
        assert.include(gone.message, `user "${role}" was not found`)
        assert.deepStrictEqual(triples(yield* users.getShares("alice")), [])
        assert.deepStrictEqual(yield* users.getSubroles("alice"), [])
        assert.strictEqual((yield* Effect.flip(users.remove(role)))._tag, "ResourceNotFound")
      }))
  })

  layer(NeuroTest.layer({ transport: "in-process", users: ["alice", "bob"], clusters: [{ name: "c1", orgs: ["acme"] }] }))((it) => {
    it.effect("normalization uses the current org", () =>
      Effect.gen(function*() {
        const users = yield* Users.Users
        const p = yield* users.share("bob", { uri: "storage:data", action: "read" })
        assert.strictEqual(p.uri.href, "storage://c1/acme/alice/data")
        assert.include(pairs(yield* users.getAcl("alice", "storage")), "storage://c1/acme/alice manage")
        assert.deepStrictEqual(triples(yield* users.getShares("alice")), ["storage://c1/acme/alice/data read bob"])
      }))
  })
})
