/**
 * Per-request shortcuts of LocalPlatform that must not change what it answers: verified tokens are
 * remembered, yet expiry, deleted sub-roles and bad signatures are still refused at once; the
 * request log keeps the newest requests in order.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MAX_RECORDED_REQUESTS, PlatformState, type RecordedRequest, RequestLog } from "../src/internal/state.js"

const withState = <A>(f: (state: PlatformState) => A): A => {
  const dataDir = mkdtempSync(join(tmpdir(), "neuro-platform-state-"))
  try {
    return f(new PlatformState({ users: ["alice", "bob"], dataDir }))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const bearer = (token: string) => `Bearer ${token}`

describe("PlatformState.authenticate", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("a remembered token is refused once it expires", () =>
    withState((state) => {
      vi.useFakeTimers({ toFake: ["Date"] })
      vi.setSystemTime(new Date("2030-01-01T00:00:00Z"))
      const header = bearer(state.issueToken("alice", { ttlSeconds: 60 }))
      assert.strictEqual(state.authenticate(header)?.user, "alice")
      assert.strictEqual(state.authenticate(header)?.user, "alice", "from the cache")
      vi.setSystemTime(new Date("2030-01-01T00:00:59Z"))
      assert.strictEqual(state.authenticate(header)?.user, "alice")
      vi.setSystemTime(new Date("2030-01-01T00:01:00Z"))
      assert.isUndefined(state.authenticate(header), "expired")
    }))

  it("a remembered sub-role token is refused once the role is deleted", () =>
    withState((state) => {
      const role = "alice/service-accounts/ci"
      state.roles.add(role)
      const header = bearer(state.issueToken(role))
      assert.strictEqual(state.authenticate(header)?.user, role)
      state.roles.delete(role)
      assert.isUndefined(state.authenticate(header))
      state.roles.add(role)
      assert.strictEqual(state.authenticate(header)?.user, role, "the role is back")
    }))

  it("bad signatures, other secrets and malformed headers are refused, however often they come", () =>
    withState((state) => {
      const token = state.issueToken("bob")
      const [h, p, s] = token.split(".") as [string, string, string]
      const forged = `${h}.${Buffer.from(JSON.stringify({ "https://platform.neuromation.io/user": "alice" })).toString("base64url")}.${s}`
      const other = withState((elsewhere) => elsewhere.issueToken("alice"))
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(state.authenticate(bearer(token))?.user, "bob")
        assert.isUndefined(state.authenticate(bearer(forged)))
        assert.isUndefined(state.authenticate(bearer(other)))
        assert.isUndefined(state.authenticate(bearer(`${h}.${p}`)))
        assert.isUndefined(state.authenticate("Bearer"))
        assert.isUndefined(state.authenticate(undefined))
      }
      const basic = `Basic ${Buffer.from(`any:${token}`).toString("base64")}`
      assert.strictEqual(state.authenticate(basic)?.user, "bob")
    }))

  it("many distinct tokens: each one still authenticates (the cache forgets, never confuses)", () =>
    withState((state) => {
      const headers = Array.from({ length: 3000 }, (_, i) => bearer(state.issueToken(i % 2 === 0 ? "alice" : "bob")))
      headers.forEach((header, i) => assert.strictEqual(state.authenticate(header)?.user, i % 2 === 0 ? "alice" : "bob"))
      headers.forEach((header, i) => assert.strictEqual(state.authenticate(header)?.user, i % 2 === 0 ? "alice" : "bob"))
    }))
})

describe("RequestLog", () => {
  const request = (n: number): RecordedRequest => ({ method: "GET", path: `/${n}`, query: "", headers: {} })

  it("keeps the newest requests, oldest first", () => {
    const log = new RequestLog(5)
    for (let i = 0; i < 3; i++) log.push(request(i))
    assert.deepStrictEqual(log.toArray().map((r) => r.path), ["/0", "/1", "/2"])
    for (let i = 3; i < 12; i++) log.push(request(i))
    assert.deepStrictEqual(log.toArray().map((r) => r.path), ["/7", "/8", "/9", "/10", "/11"])
    assert.strictEqual(log.length, 5)
  })

  it("a platform keeps the newest 10,000", () =>
    withState((state) => {
      for (let i = 0; i < MAX_RECORDED_REQUESTS + 7; i++) state.requests.push(request(i))
      const kept = state.requests.toArray()
      assert.strictEqual(kept.length, MAX_RECORDED_REQUESTS)
      assert.strictEqual(kept[0]!.path, "/7")
      assert.strictEqual(kept.at(-1)!.path, `/${MAX_RECORDED_REQUESTS + 6}`)
    }))
})
