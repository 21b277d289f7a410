import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Either } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { ApiClient, AuthToken, Config, Endpoints, Errors, Storage, WebSocket } from "@neuro-sdk/core"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { API, clusters, configStub } from "./usersFixtures.js"
import * as FileFilter from "../src/FileFilter.js"
import { fnmatchRegex, ignoreLines } from "../src/internal/fileFilter.js"
import { isSafeName, normalizeStorage, rootPath } from "../src/internal/uriStorage.js"

// the rules of the former internal/storageFilter helpers, over the FileFilter module
const parseIgnoreFile = (text: string) => ignoreLines(text.replace(/^\uFEFF/, ""))
const makeRules = (
  lines: ReadonlyArray<{ readonly exclude: boolean; readonly pattern: string }>,
  prefix: string,
  prefix2: string,
  fallback: (path: string) => boolean
) => {
  const filter = lines.reduce(
    (f, { exclude, pattern }) => Either.getOrThrow(FileFilter.append(f, exclude, pattern, { prefix, prefix2 })),
    FileFilter.make()
  )
  return (path: string) => FileFilter.matchRules(filter, path) ?? fallback(path)
}

const who = { user: "alice", cluster: "c1", org: null }

describe("storage URIs", () => {
  it.effect("normalizes like neuro-sdk", () =>
    Effect.gen(function*() {
      const n = (s: string, org: string | null = null) => Effect.map(normalizeStorage(s, { ...who, org }), (u) => u.href)
      assert.strictEqual(yield* n("storage:data/a.csv"), "storage://c1/alice/data/a.csv")
      assert.strictEqual(yield* n("storage:data/a.csv", "acme"), "storage://c1/acme/alice/data/a.csv")
      assert.strictEqual(yield* n("storage:/bob/shared"), "storage://c1/bob/shared")
      assert.strictEqual(yield* n("storage://c2/alice/x", "acme"), "storage://c2/alice/x")
      assert.strictEqual(yield* n("storage:"), "storage://c1/alice")
      assert.strictEqual(yield* n("storage:dir/"), "storage://c1/alice/dir/")
      assert.strictEqual(yield* n("storage:my%20dir/f%231"), "storage://c1/alice/my%20dir/f%231")
      assert.strictEqual(yield* n("storage:a/../b"), "storage://c1/alice/b")
      assert.strictEqual((yield* Effect.flip(n("file:///x")))._tag, "InvalidInputError")
      assert.strictEqual((yield* Effect.flip(n("storage:~/x")))._tag, "InvalidInputError")
      assert.strictEqual(rootPath(new URL("storage://c1/acme/alice/my%20dir/")), "/acme/alice/my dir")
    }))

  it("refuses unsafe names from the server", () => {
    for (const bad of ["", ".", "..", "a/b", "../x", "/etc/passwd", "a\\b", "x\0"]) assert.isFalse(isSafeName(bad), bad)
    for (const ok of ["a", ".hidden", "..a", "a..", "名前", "a b"]) assert.isTrue(isSafeName(ok), ok)
  })
})

describe("glob and ignore-file patterns", () => {
  it("fnmatch", () => {
    assert.isTrue(fnmatchRegex("*.txt").test("a.txt"))
    assert.isTrue(fnmatchRegex("[!f]*").test("bar"))
    assert.isFalse(fnmatchRegex("[!f]*").test("foo"))
    assert.isTrue(fnmatchRegex("a?c").test("abc"))
    assert.isTrue(fnmatchRegex("a[").test("a["))
    assert.isTrue(fnmatchRegex("[*]").test("*"))
    assert.isFalse(fnmatchRegex("a.c").test("abc"))
  })

  const rules = (lines: ReadonlyArray<readonly [boolean, string]>, prefix = "", prefix2 = "") =>
    makeRules(lines.map(([exclude, pattern]) => ({ exclude, pattern })), prefix, prefix2, () => true)

  it("matches the uris.md F2 table", () => {
    const check = (m: (p: string) => boolean, expected: Record<string, boolean>) => {
      for (const [p, keep] of Object.entries(expected)) assert.strictEqual(m(p), keep, p)
    }
    check(rules([[true, "*.txt"]]), { spam: true, "spam.txt": false, ".txt": false, "dir/spam.txt": false, "dir.txt/spam": true })
    check(rules([[true, "*.txt"], [false, "s*"]]), { "spam.txt": true, "ham.txt": false, "dir/spam.txt": true })
    check(rules([[true, "dir/*.txt"]]), { "spam.txt": true, "dir/spam.txt": false, "parent/dir/spam.txt": true })
    check(rules([[true, "/spam"]]), { spam: false, "spam/": false, ham: true, "dir/spam": true })
    check(rules([[true, "spam/"]]), { spam: true, "spam/": false })
    check(rules([[true, "a*b"]]), { ab: false, "a-b": false, "a/b": true })
    check(rules([[true, "dir/**"]]), { spam: true, "dir/": false, dir: true, "dir/child/spam": false })
    check(rules([[true, "dir/**/*.txt"]]), { "dir/spam.txt": false, "dir/child/spam.txt": false, "dir/spam": true })
    check(rules([[true, "**/x"]]), { x: false, "a/b/x/": false, ax: true })
    check(rules([[true, "*"], [false, ""]]), { a: false, "a/": true })
    check(rules([[true, "*"]], "sub/"), { x: true, "sub/x": false, sub: true })
    check(rules([[true, "dir/s*"], [true, "/*.txt"]], "", "dir/"), { "spam.txt": false, "ham.txt": true, spam: false })
  })

  it("reads ignore files", () => {
    const parsed = parseIgnoreFile("\uFEFF*.txt  \r\n\n# comment\n!s*")
    assert.deepStrictEqual(parsed, [{ exclude: true, pattern: "*.txt" }, { exclude: false, pattern: "s*" }])
    const m = makeRules(parsed, "base/", "", () => true)
    assert.isTrue(m("base/spam.txt"))
    assert.isFalse(m("base/ham.txt"))
    assert.isTrue(m("ham.txt"))
    const escaped = makeRules(parseIgnoreFile("a\\ \n  c\n\\#x"), "", "", () => true)
    assert.isFalse(escaped("a "))
    assert.isFalse(escaped("  c"))
    assert.isTrue(escaped("c"))
    assert.isFalse(escaped("#x"))
  })
})

describe("streamed answers that stall", () => {
  // headers and a first line arrive, then nothing: the gap timeout (60 s) ends the stream
  const stalling = (firstLine: string) =>
    Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.succeed(
          HttpClientResponse.fromWeb(
            request,
            new Response(
              new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode(firstLine)) }),
              { status: 200, headers: { "content-type": "application/x-ndjson" } }
            )
          )
        )
      )
    )

  const storageOver = (http: Layer.Layer<HttpClient.HttpClient>) => {
    const infra = Layer.mergeAll(
      http,
      AuthToken.layerStatic(Redacted.make("token")),
      Endpoints.layer({ apiUrl: API, clusters, clusterName: "c1" }),
      Layer.succeed(
        WebSocket.WebSocketDialer,
        WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
      )
    )
    return Storage.layer.pipe(
      Layer.provide(Layer.mergeAll(
        ApiClient.layer({ retry: false }).pipe(Layer.provide(infra)),
        Layer.succeed(Config.Config, configStub({ username: "alice", orgName: null })),
        NodeFileSystem.layer,
        NodePath.layer
      ))
    )
  }

  it.effect("a listing that stops sending is a NetworkError Timeout after 60 s, not a hang", () =>
    Effect.gen(function*() {
      const storage = yield* Storage.Storage
      const fiber = yield* Effect.fork(Effect.flip(Stream.runCollect(storage.list("storage:data"))))
      yield* TestClock.adjust("59 seconds")
      const early = yield* Fiber.poll(fiber)
      assert.isTrue(Option.isNone(early), JSON.stringify(early))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as Errors.NetworkError).reason, "Timeout")
    }).pipe(Effect.provide(storageOver(stalling(`{"FileStatus": {"path": "a", "type": "FILE", "length": 1, "modificationTime": 0, "permission": "read"}}\n`)))))
})
