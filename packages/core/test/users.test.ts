import { assert, describe, it } from "@effect/vitest"
import { Users } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { API, empty, fakePlatform, json } from "./usersFixtures.js"

describe("Users (wire)", () => {
  it.effect("getAcl: path, filters, decoding", () => {
    const p = fakePlatform(() => json([{ uri: "storage://c1/alice", action: "manage" }, { uri: "user://alice", action: "read" }]))
    return Effect.gen(function*() {
      const users = yield* Users.Users
      const acl = yield* users.getAcl("alice")
      assert.deepStrictEqual(acl.map((x) => [x.uri.href, x.action]), [["storage://c1/alice", "manage"], ["user://alice", "read"]])
      assert.instanceOf(acl[0]!.uri, URL)
      yield* users.getAcl("alice/service-accounts/ci", "storage")
      yield* users.getAcl("alice", { uri: new URL("storage://c1/alice/x") })
      const [plain, scheme, uri] = p.requests
      assert.strictEqual(plain!.url.href, `${API}/users/alice/permissions`)
      assert.strictEqual(scheme!.url.pathname, "/api/v1/users/alice:service-accounts:ci/permissions")
      assert.strictEqual(scheme!.url.searchParams.get("uri"), "storage:")
      assert.strictEqual(uri!.url.searchParams.get("uri"), "storage://c1/alice/x")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("getShares and getSubroles", () => {
    const p = fakePlatform((r) =>
      r.url.pathname.endsWith("/subroles")
        ? json({ subroles: ["alice/roles/a", "alice/service-accounts/b"] })
        : json([{ user: "bob", uri: "storage://c1/alice/data", action: "read" }])
    )
    return Effect.gen(function*() {
      const users = yield* Users.Users
      const shares = yield* users.getShares("alice", { uri: "storage://c1/alice" })
      assert.strictEqual(shares[0]!.user, "bob")
      assert.strictEqual(shares[0]!.permission.uri.href, "storage://c1/alice/data")
      assert.strictEqual(shares[0]!.permission.action, Users.Action.READ)
      assert.deepStrictEqual(yield* users.getSubroles("alice"), ["alice/roles/a", "alice/service-accounts/b"])
      assert.strictEqual(p.requests[0]!.url.pathname, "/api/v1/users/alice/permissions/shared")
      assert.strictEqual(p.requests[1]!.url.pathname, "/api/v1/users/alice/subroles")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("share sends one normalized permission and needs 201", () => {
    let status = 201
    const p = fakePlatform(
      (r) => (status === 201 ? json((JSON.parse(r.body) as Array<object>).map((x) => ({ ...x, action: "manage" })), 201) : json([], status)),
      { orgName: "acme" }
    )
    return Effect.gen(function*() {
      const users = yield* Users.Users
      const result = yield* users.share("bob", { uri: "storage:data", action: "read" })
      assert.strictEqual(result.action, "manage")
      assert.strictEqual(p.requests[0]!.method, "POST")
      assert.deepStrictEqual(JSON.parse(p.requests[0]!.body), [{ uri: "storage://c1/acme/alice/data", action: "read" }])
      status = 200
      const unexpected = yield* Effect.flip(users.share("bob", { uri: "storage://c1/x", action: "read" }))
      assert.strictEqual(unexpected._tag, "ClientError")
      assert.include(unexpected.message, "Server return unexpected result.")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("revoke, add and remove need their exact statuses", () => {
    const answers = [204, 200, 201, 204, 202]
    const p = fakePlatform(() => empty(answers.shift() ?? 500))
    return Effect.gen(function*() {
      const users = yield* Users.Users
      yield* users.revoke("bob", "storage://c1/alice/data")
      const bad = yield* Effect.flip(users.revoke("bob", "storage://c1/alice/data"))
      assert.strictEqual(bad._tag, "ClientError")
      assert.include(bad.message, "Server return unexpected result: 200.")
      yield* users.add("alice/roles/x")
      yield* users.remove("alice/roles/x")
      assert.strictEqual((yield* Effect.flip(users.remove("alice/roles/x")))._tag, "ClientError")
      const [revoke, , add, remove] = p.requests
      assert.strictEqual(revoke!.method, "DELETE")
      assert.strictEqual(revoke!.url.searchParams.get("uri"), "storage://c1/alice/data")
      assert.deepStrictEqual(JSON.parse(add!.body), { name: "alice/roles/x" })
      assert.strictEqual(add!.url.href, `${API}/users`)
      assert.strictEqual(remove!.url.pathname, "/api/v1/users/alice:roles:x")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("bad answers are MalformedResponse; HTTP errors keep their kind", () => {
    const answers = [
      json([{ uri: "storage://c1/x", action: "deny" }]),
      json({ not: "a list" }),
      json([{ uri: "not a uri", action: "read" }]),
      json({ subroles: "x" }),
      json({ error: "no such user" }, 404),
      json({ error: "forbidden" }, 403)
    ]
    const p = fakePlatform(() => answers.shift()!)
    return Effect.gen(function*() {
      const users = yield* Users.Users
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* Effect.flip(users.getAcl("alice")))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(users.getSubroles("alice")))._tag, "MalformedResponse")
      assert.strictEqual((yield* Effect.flip(users.getAcl("nobody")))._tag, "ResourceNotFound")
      assert.strictEqual((yield* Effect.flip(users.getAcl("admin")))._tag, "AuthorizationError")
    }).pipe(Effect.provide(p.layer))
  })

  it.effect("refuses bad input before any request", () => {
    const p = fakePlatform(() => json([]))
    return Effect.gen(function*() {
      const users = yield* Users.Users
      assert.strictEqual((yield* Effect.flip(users.getAcl("a:b")))._tag, "InvalidInputError")
      assert.strictEqual((yield* Effect.flip(users.getAcl("a", { scheme: "storage", uri: "storage:" })))._tag, "InvalidInputError")
      assert.strictEqual((yield* Effect.flip(users.revoke("a:b", "storage:x")))._tag, "InvalidInputError")
      assert.strictEqual((yield* Effect.flip(users.share("bob", { uri: "storage:x?y=1", action: "read" })))._tag, "InvalidInputError")
      assert.strictEqual(p.requests.length, 0)
    }).pipe(Effect.provide(p.layer))
  })
})
