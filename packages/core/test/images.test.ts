import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { ApiClient, AuthToken, Config, Endpoints, Image, Images, ServerConfig, WebSocket } from "@neuro-sdk/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { makeConfigStub } from "./configStub.js"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

// ---------------------------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------------------------

const API = "https://api.example.org/api/v1"
const TOKEN = "jwt-token-value"

const cluster = (name: string, registryUrl: string) =>
  new ServerConfig.Cluster({
    name,
    orgs: [null],
    registryUrl,
    storageUrl: `https://${name}.example.org/api/v1/storage`,
    usersUrl: `https://${name}.example.org/api/v1/users`,
    monitoringUrl: `https://${name}.example.org/api/v1/jobs`,
    secretsUrl: `https://${name}.example.org/api/v1/secrets`,
    disksUrl: `https://${name}.example.org/api/v1/disk`,
    bucketsUrl: `https://${name}.example.org/api/v1/buckets`,
    presets: new Map()
  })

const clusters = [cluster("default", "https://reg.example.org"), cluster("other", "http://localhost:5000/ignored/path")]

const configStub = (orgName: string | null) => makeConfigStub({ apiUrl: API, clusters, orgName, token: TOKEN })

interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } })

const fakeRegistry = (
  handler: (request: Recorded) => Response,
  options: { readonly orgName?: string | null; readonly daemon?: Images.DockerDaemon.Service } = {}
) => {
  const requests: Array<Recorded> = []
  const http = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const recorded: Recorded = { method: request.method, url, headers: request.headers }
      requests.push(recorded)
      return HttpClientResponse.fromWeb(request, handler(recorded))
    })
  )
  const infra = Layer.mergeAll(
    Layer.succeed(HttpClient.HttpClient, http),
    AuthToken.layerStatic(Redacted.make(TOKEN)),
    Endpoints.layer({ apiUrl: API, clusters, clusterName: "default" }),
    Layer.succeed(
      WebSocket.WebSocketDialer,
      WebSocket.WebSocketDialer.of({ dial: () => Effect.fail(new WebSocket.WebSocketError({ description: "no websockets" })) })
    )
  )
  const deps = Layer.mergeAll(
    ApiClient.layer({ retry: false }).pipe(Layer.provide(infra)),
    Layer.succeed(Config.Config, configStub(options.orgName ?? null)),
    options.daemon === undefined ? Layer.empty : Layer.succeed(Images.DockerDaemon, options.daemon)
  )
  return { requests, layer: Images.layer.pipe(Layer.provide(deps)) }
}

const images = Images.Images

const platformImage = (name: string, options: { readonly tag?: string; readonly owner?: string; readonly orgName?: string | null } = {}) =>
  Image.RemoteImage.newNeuroImage(name, "reg.example.org", {
    owner: options.owner ?? "alice",
    clusterName: "default",
    orgName: options.orgName ?? null,
    ...(options.tag !== undefined ? { tag: options.tag } : {})
  })

const basic = `Basic ${Buffer.from(`alice:${TOKEN}`).toString("base64")}`

// ---------------------------------------------------------------------------------------------
// engine progress objects (protocol images.md §4.3)
// ---------------------------------------------------------------------------------------------

describe("parseProgressStep", () => {
  const table: ReadonlyArray<{
    readonly name: string
    readonly obj: Images.DockerStreamObject
    readonly tag: string | undefined
    readonly step?: { message: string; layerId: string; status: string; current: number | null; total: number | null }
    readonly error?: string
  }> = [
    {
      name: "push progress with a bar",
      obj: {
        status: "Pushing",
        progressDetail: { current: 524288, total: 2811478 },
        progress: "[=========>   ]  524.3kB/2.811MB",
        id: "5f70bf18a086"
      },
      tag: "v1",
      step: {
        message: "5f70bf18a086: Pushing [=========>   ]  524.3kB/2.811MB",
        layerId: "5f70bf18a086",
        status: "Pushing",
        current: 524288,
        total: 2811478
      }
    },
    {
      name: "status only, empty progressDetail",
      obj: { status: "Layer already exists", progressDetail: {}, id: "aa11" },
      tag: "v1",
      step: { message: "aa11: Layer already exists", layerId: "aa11", status: "Layer already exists", current: null, total: null }
    },
    {
      name: "no progressDetail at all",
      obj: { status: "Waiting", id: "bb22" },
      tag: "latest",
      step: { message: "bb22: Waiting", layerId: "bb22", status: "Waiting", current: null, total: null }
    },
    { name: "the id equal to the tag is ignored", obj: { status: "Pulling from alice/app", id: "latest" }, tag: "latest" },
    { name: "a digest line is ignored", obj: { status: "Digest: sha256:3b1f" }, tag: "v1" },
    { name: "aux is ignored", obj: { aux: { Tag: "v1", Digest: "sha256:1", Size: 525 } }, tag: "v1" },
    { name: "an empty object is ignored", obj: {}, tag: "v1" },
    { name: "error with errorDetail", obj: { error: true, errorDetail: { message: "Mocked message" } }, tag: "v1", error: "Mocked message" },
    { name: "error without errorDetail", obj: { error: "denied: requested access to the resource is denied" }, tag: "v1", error: "denied: requested access to the resource is denied" },
    { name: "error with nothing usable", obj: { error: null }, tag: "v1", error: "Unknown error" }
  ]
  for (const row of table) {
    it(row.name, () => {
      const result = Images.parseProgressStep(row.obj, row.tag)
      if (row.error !== undefined) {
        assert.isTrue(Either.isLeft(result))
        const e = Either.getLeft(result)
        assert.strictEqual(e._tag === "Some" ? e.value.status : -1, 900)
        assert.strictEqual(e._tag === "Some" ? e.value.description : "", row.error)
        return
      }
      assert.isTrue(Either.isRight(result))
      const step = Either.getOrThrow(result)
      if (row.step === undefined) {
        assert.isUndefined(step)
      } else {
        assert.deepStrictEqual(
          { message: step!.message, layerId: step!.layerId, status: step!.status, current: step!.current, total: step!.total },
          row.step
        )
        assert.strictEqual(step!._tag, "ImageProgressStep")
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------
// registry calls
// ---------------------------------------------------------------------------------------------

describe("Images registry calls (wire)", () => {
  it.effect("list: one page, Basic auth with user:token, n=30, repositories parsed with the cluster", () => {
    const f = fakeRegistry(() => json({ repositories: ["bob/alpine", "jill/bananas", "alice/library/ubuntu"] }))
    return Effect.gen(function*() {
      const all = yield* (yield* images).list()
      assert.deepStrictEqual(all.map(String), [
        "image://default/bob/alpine",
        "image://default/jill/bananas",
        "image://default/alice/library/ubuntu"
      ])
      assert.strictEqual(all[0]!.registry, "reg.example.org")
      assert.isUndefined(all[0]!.tag)
      assert.strictEqual(all[2]!.name, "library/ubuntu")
      const req = f.requests[0]!
      assert.strictEqual(req.url.href, "https://reg.example.org/v2/_catalog?n=30")
      assert.strictEqual(req.headers["authorization"], basic)
      assert.strictEqual(req.method, "GET")
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("list: pages follow Link rel=next (relative or absolute), n is overwritten, last kept, empty page stops", () => {
    const pages = [
      json({ repositories: ["bob/alpine", "jill/bananas"] }, 200, { Link: `</v2/_catalog?last=lsttkn&n=2>; rel="next"` }),
      json({ repositories: ["alice/library/ubuntu"] }, 200, {
        Link: `<https://reg.example.org/v2/_catalog?last=lsttkn2>; rel="next"`
      }),
      json({ repositories: [] }, 200, { Link: `<https://reg.example.org/v2/_catalog?last=lsttkn3>; rel="next"` })
    ]
    const f = fakeRegistry(() => pages.shift()!)
    return Effect.gen(function*() {
      const all = yield* (yield* images).list()
      assert.strictEqual(all.length, 3)
      assert.strictEqual(f.requests.length, 3)
      assert.strictEqual(f.requests[1]!.url.searchParams.get("last"), "lsttkn")
      assert.strictEqual(f.requests[1]!.url.searchParams.get("n"), "30")
      assert.strictEqual(f.requests[2]!.url.searchParams.get("last"), "lsttkn2")
      assert.strictEqual(f.requests[2]!.url.searchParams.get("n"), "30")
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("list: another cluster's registry (path replaced by /v2/); orgs only for the current org; bad names skipped", () => {
    const f = fakeRegistry(() => json({ repositories: ["acme/bob/tool", "other/bob/tool", "alice/UPPER"] }), { orgName: "acme" })
    return Effect.gen(function*() {
      const all = yield* (yield* images).list({ clusterName: "other" })
      assert.strictEqual(f.requests[0]!.url.href, "http://localhost:5000/v2/_catalog?n=30")
      assert.deepStrictEqual(all.map(String), ["image://other/acme/bob/tool", "image://other/other/bob/tool"])
      assert.strictEqual(all[0]!.orgName, "acme")
      assert.strictEqual(all[0]!.owner, "bob")
      assert.strictEqual(all[1]!.owner, "other")
      assert.strictEqual(all[1]!.name, "bob/tool")
      assert.strictEqual(all[0]!.registry, "localhost:5000")
      const unknown = yield* Effect.flip((yield* images).list({ clusterName: "nope" }))
      assert.strictEqual(unknown._tag, "ConfigError")
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("tags: validation, paging, one copy per tag in server order", () => {
    const pages = [
      json({ name: "alice/test", tags: ["beta", "alpha"] }, 200, { Link: `</v2/alice/test/tags/list?last=alpha&n=2>; rel="next"` }),
      json({ name: "alice/test", tags: ["gamma"] }, 200, { Link: `</v2/alice/test/tags/list?last=gamma&n=2>; rel="next"` }),
      json({ name: "alice/test" })
    ]
    const f = fakeRegistry(() => pages.shift()!)
    return Effect.gen(function*() {
      const svc = yield* images
      const tagged = yield* Effect.flip(svc.tags(platformImage("test", { tag: "latest" })))
      assert.strictEqual(tagged._tag, "InvalidInputError")
      assert.include(tagged.message, "tag is not allowed")
      const noName = yield* Effect.flip(svc.tags(platformImage("")))
      assert.include(noName.message, "missing image name")
      const external = yield* Effect.flip(svc.tags(Image.RemoteImage.newExternalImage("ubuntu")))
      assert.include(external.message, "missing image owner")
      assert.strictEqual(f.requests.length, 0)
      const all = yield* svc.tags(platformImage("test"))
      assert.deepStrictEqual(all.map((i) => i.tag), ["beta", "alpha", "gamma"])
      assert.strictEqual(all[0]!.toString(), "image://default/alice/test:beta")
      assert.strictEqual(f.requests[0]!.url.href, "https://reg.example.org/v2/alice/test/tags/list?n=30")
      assert.strictEqual(f.requests[1]!.url.href, "https://reg.example.org/v2/alice/test/tags/list?last=alpha&n=30")
      assert.strictEqual(f.requests.length, 3)
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("tagInfo/size: GET manifest accepting schema 2 and OCI, size = sum of layers; org in the path", () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: Images.MANIFEST_V2,
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: 349, digest: "sha256:ignored-1" },
      layers: [
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 32036078, digest: "sha256:ignored-2" },
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 854454, digest: "sha256:ignored-3" }
      ]
    }
    const f = fakeRegistry(() =>
      new Response(JSON.stringify(manifest), { status: 200, headers: { "content-type": Images.MANIFEST_V2 } })
    )
    return Effect.gen(function*() {
      const svc = yield* images
      const info = yield* svc.tagInfo(platformImage("test", { tag: "test_tag", owner: "me", orgName: "acme" }))
      assert.deepStrictEqual(info, new Images.Tag({ name: "test_tag", size: 32890532 }))
      assert.strictEqual(f.requests[0]!.url.href, "https://reg.example.org/v2/acme/me/test/manifests/test_tag")
      assert.strictEqual(f.requests[0]!.headers["accept"], Images.MANIFEST_ACCEPT)
      assert.strictEqual(f.requests[0]!.headers["authorization"], basic)
      assert.strictEqual(yield* svc.size(platformImage("test", { tag: "v1" })), 32890532)
      const untagged = yield* Effect.flip(svc.tagInfo(platformImage("test")))
      assert.strictEqual(untagged._tag, "InvalidInputError")
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("digest: HEAD accepting schema 2 and OCI, Docker-Content-Digest verbatim; rm: DELETE by digest without Accept", () => {
    const f = fakeRegistry((r) =>
      r.method === "HEAD"
        ? new Response(null, { status: 200, headers: { "docker-content-digest": "sha256:3b1f" } })
        : new Response(null, { status: 202 })
    )
    return Effect.gen(function*() {
      const svc = yield* images
      const image = platformImage("app", { tag: "v1" })
      assert.strictEqual(yield* svc.digest(image), "sha256:3b1f")
      assert.strictEqual(f.requests[0]!.method, "HEAD")
      assert.strictEqual(f.requests[0]!.url.href, "https://reg.example.org/v2/alice/app/manifests/v1")
      assert.strictEqual(f.requests[0]!.headers["accept"], Images.MANIFEST_ACCEPT)
      yield* svc.rm(image, "sha256:3b1f")
      assert.strictEqual(f.requests[1]!.method, "DELETE")
      assert.strictEqual(f.requests[1]!.url.href, "https://reg.example.org/v2/alice/app/manifests/sha256:3b1f")
      assert.isUndefined(f.requests[1]!.headers["accept"])
      assert.strictEqual(f.requests[1]!.headers["authorization"], basic)
    }).pipe(Effect.provide(f.layer))
  })

  describe("error statuses (images.md §4.9)", () => {
    const table: ReadonlyArray<readonly [number, string]> = [
      [400, "IllegalArgumentError"],
      [401, "AuthenticationError"],
      [403, "AuthorizationError"],
      [404, "ResourceNotFound"],
      [405, "ClientError"],
      [409, "IllegalArgumentError"],
      [500, "IllegalArgumentError"],
      [502, "ServerNotAvailable"]
    ]
    for (const [status, tag] of table) {
      it.effect(`${status} → ${tag}, raw body as the message`, () => {
        const body = { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry", detail: { name: "alice/x" } }] }
        const f = fakeRegistry(() => json(body, status))
        return Effect.gen(function*() {
          const e = yield* Effect.flip((yield* images).tags(platformImage("x")))
          assert.strictEqual(e._tag, tag)
          assert.include(e.message, "NAME_UNKNOWN")
        }).pipe(Effect.provide(f.layer))
      })
    }
  })

  it.effect("malformed answers are MalformedResponse, never crashes", () => {
    const answers: Array<Response> = [
      json({ repos: [] }),
      new Response("<html>", { status: 200, headers: { "content-type": "text/html" } }),
      new Response("{not json", { status: 200, headers: { "content-type": "application/json" } }),
      json({ repositories: [1, 2] }),
      json({ schemaVersion: 2, manifests: [] }),
      json({ layers: [{ size: -1 }] }),
      new Response(null, { status: 200 }),
      json({ name: "alice/x", tags: "v1" })
    ]
    const f = fakeRegistry(() => answers.shift()!)
    return Effect.gen(function*() {
      const svc = yield* images
      const tagged = platformImage("x", { tag: "v1" })
      const results = [
        yield* Effect.flip(svc.list()),
        yield* Effect.flip(svc.list()),
        yield* Effect.flip(svc.list()),
        yield* Effect.flip(svc.list()),
        yield* Effect.flip(svc.tagInfo(tagged)),
        yield* Effect.flip(svc.size(tagged)),
        yield* Effect.flip(svc.digest(tagged)),
        yield* Effect.flip(svc.tags(platformImage("x")))
      ]
      assert.deepStrictEqual(results.map((e) => e._tag), Array(8).fill("MalformedResponse"))
      assert.include(results[6]!.message, "Docker-Content-Digest")
      for (const e of results) assert.notInclude(e.message, TOKEN)
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("a next link that loops, or leaves the registry, fails instead of looping or leaking credentials", () => {
    const f = fakeRegistry((r) =>
      r.url.pathname === "/v2/_catalog"
        ? json({ repositories: ["alice/a"] }, 200, { Link: `</v2/_catalog?n=30>; rel="next"` })
        : json({ name: "alice/x", tags: ["a"] }, 200, { Link: `<https://evil.example.com/v2/alice/x/tags/list?last=a>; rel="next"` })
    )
    return Effect.gen(function*() {
      const svc = yield* images
      const loop = yield* Effect.flip(svc.list())
      assert.strictEqual(loop._tag, "MalformedResponse")
      assert.include(loop.message, "loops")
      assert.strictEqual(f.requests.length, 1)
      const away = yield* Effect.flip(svc.tags(platformImage("x")))
      assert.strictEqual(away._tag, "MalformedResponse")
      assert.isFalse(f.requests.some((r) => r.url.host === "evil.example.com"))
    }).pipe(Effect.provide(f.layer))
  })
})

// ---------------------------------------------------------------------------------------------
// push / pull over a fake Docker daemon
// ---------------------------------------------------------------------------------------------

interface DaemonCall {
  readonly op: string
  readonly args: ReadonlyArray<unknown>
}

const fakeDaemon = (behaviour: {
  readonly tag?: (image: string, repo: string, tag?: string) => Effect.Effect<void, Images.DockerError>
  readonly push?: ReadonlyArray<Images.DockerStreamObject> | Images.DockerError
  readonly pull?: ReadonlyArray<Images.DockerStreamObject> | Images.DockerError
}) => {
  const calls: Array<DaemonCall> = []
  const streamOf = (spec: ReadonlyArray<Images.DockerStreamObject> | Images.DockerError | undefined) =>
    spec === undefined ? Stream.empty : Array.isArray(spec) ? Stream.fromIterable(spec) : Stream.fail(spec as Images.DockerError)
  const daemon = Images.DockerDaemon.of({
    tag: (image, repo, tag) => {
      calls.push({ op: "tag", args: [image, repo, tag] })
      return behaviour.tag?.(image, repo, tag) ?? Effect.void
    },
    push: (name, options) => {
      calls.push({ op: "push", args: [name, options.tag, options.auth] })
      return streamOf(behaviour.push)
    },
    pull: (name, options) => {
      calls.push({ op: "pull", args: [name, options.tag, options.auth] })
      return streamOf(behaviour.pull)
    },
    inspect: () => Effect.fail(new Images.DockerError({ status: 404, description: "no such image" })),
    remove: (name, options) => {
      calls.push({ op: "remove", args: [name, options] })
      return Effect.void
    }
  })
  return { calls, daemon }
}

const noRegistry = () => new Response(null, { status: 500 })

const recorder = () => {
  const events: Array<Images.ImageProgress> = []
  return { events, progress: (e: Images.ImageProgress) => Effect.sync(() => void events.push(e)) }
}

describe("Images push/pull", () => {
  it.effect("push: start event, tag, push with platform auth, steps; returns the target", () => {
    const d = fakeDaemon({
      push: [
        { status: "The push refers to repository [reg.example.org/bob/image]" },
        { status: "Preparing", progressDetail: {}, id: "5f70bf18a086" },
        { status: "Pushing", progressDetail: { current: 512, total: 1024 }, progress: "[==>  ]", id: "5f70bf18a086" },
        { status: "bananas-is-here: digest: sha256:1 size: 525" },
        { aux: { Tag: "bananas-is-here" } }
      ]
    })
    const f = fakeRegistry(noRegistry, { daemon: d.daemon })
    return Effect.gen(function*() {
      const rec = recorder()
      const local = new Image.LocalImage({ name: "bananas", tag: "latest" })
      const remote = platformImage("image", { tag: "bananas-is-here", owner: "bob" })
      const result = yield* (yield* images).push(local, remote, { progress: rec.progress })
      assert.strictEqual(result, remote)
      assert.deepStrictEqual(rec.events.map((e) => e._tag), ["ImageProgressPush", "ImageProgressStep", "ImageProgressStep"])
      const start = rec.events[0] as Images.ImageProgressPush
      assert.strictEqual(start.src, local)
      assert.strictEqual(start.dst, remote)
      assert.strictEqual((rec.events[2] as Images.ImageProgressStep).message, "5f70bf18a086: Pushing [==>  ]")
      assert.deepStrictEqual(d.calls[0], { op: "tag", args: ["bananas:latest", "reg.example.org/bob/image", "bananas-is-here"] })
      const [name, tag, auth] = d.calls[1]!.args as [string, string, Images.RegistryAuth]
      assert.strictEqual(d.calls[1]!.op, "push")
      assert.strictEqual(name, "reg.example.org/bob/image")
      assert.strictEqual(tag, "bananas-is-here")
      assert.strictEqual(auth.username, "token")
      assert.strictEqual(Redacted.value(auth.password), TOKEN)
      assert.strictEqual(auth.serveraddress, "reg.example.org")
      assert.notInclude(String(auth.password), TOKEN)
      assert.strictEqual(f.requests.length, 0)
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("push without a target goes to the current cluster under the current user", () => {
    const d = fakeDaemon({ push: [{}] })
    const f = fakeRegistry(noRegistry, { daemon: d.daemon })
    return Effect.gen(function*() {
      const result = yield* (yield* images).push(new Image.LocalImage({ name: "bananas", tag: "latest" }))
      assert.strictEqual(result.toString(), "image://default/alice/bananas:latest")
      assert.deepStrictEqual(d.calls[0]!.args, ["bananas:latest", "reg.example.org/alice/bananas", "latest"])
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("push errors: missing local image, engine 403, in-stream error, other engine errors", () => {
    const local = new Image.LocalImage({ name: "bananas", tag: "latest" })
    const remote = platformImage("image", { tag: "bananas-no-more", owner: "bob" })
    const run = (d: ReturnType<typeof fakeDaemon>) => {
      const f = fakeRegistry(noRegistry, { daemon: d.daemon })
      return Effect.flip(Effect.flatMap(images, (s) => s.push(local, remote))).pipe(Effect.provide(f.layer))
    }
    return Effect.gen(function*() {
      const missing = yield* run(fakeDaemon({ tag: () => Effect.fail(new Images.DockerError({ status: 404, description: "Mocked error" })) }))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      assert.include(missing.message, "was not found in your local docker images")
      const denied = yield* run(fakeDaemon({ push: new Images.DockerError({ status: 403, description: "Mocked error" }) }))
      assert.strictEqual(denied._tag, "AuthorizationError")
      assert.include(denied.message, "Access denied image://default/bob/image:bananas-no-more")
      const refusedLine = yield* run(fakeDaemon({
        push: [{ errorDetail: { message: "trying to reuse blob sha256:1 at destination: failed to read from destination repository bob/image: 403 (Forbidden)" }, error: "x" }]
      }))
      assert.strictEqual(refusedLine._tag, "AuthorizationError")
      // a missing manifest during a push is not the image's absence: the engine's error as it is
      const notFoundLine = yield* run(fakeDaemon({ push: [{ errorDetail: { message: "manifest unknown" }, error: "x" }] }))
      assert.strictEqual(notFoundLine._tag, "DockerError")
      const inStream = yield* run(fakeDaemon({ push: [{ error: true, errorDetail: { message: "Mocked message" } }] }))
      assert.strictEqual(inStream._tag, "DockerError")
      assert.strictEqual((inStream as Images.DockerError).status, 900)
      assert.strictEqual((inStream as Images.DockerError).description, "Mocked message")
      const tagFailed = yield* run(fakeDaemon({ tag: () => Effect.fail(new Images.DockerError({ status: 500, description: "disk full" })) }))
      assert.strictEqual(tagFailed._tag, "DockerError")
      const other = yield* run(fakeDaemon({ push: new Images.DockerError({ status: 500, description: "boom" }) }))
      assert.strictEqual(other._tag, "DockerError")
    })
  })

  it.effect("pull: start event, pull with auth, steps, tag to the local name; default local name", () => {
    const d = fakeDaemon({
      pull: [
        { status: "Pulling from bob/image", id: "bananas" },
        { status: "Downloading", progressDetail: { current: 1, total: 2 }, progress: "[=>]", id: "aa11" },
        { status: "Digest: sha256:1" }
      ]
    })
    const f = fakeRegistry(noRegistry, { daemon: d.daemon })
    return Effect.gen(function*() {
      const rec = recorder()
      const remote = platformImage("image", { tag: "bananas", owner: "bob" })
      const local = yield* (yield* images).pull(remote, undefined, { progress: rec.progress })
      assert.deepStrictEqual(local, new Image.LocalImage({ name: "image", tag: "bananas" }))
      assert.deepStrictEqual(rec.events.map((e) => e._tag), ["ImageProgressPull", "ImageProgressStep"])
      assert.strictEqual((rec.events[1] as Images.ImageProgressStep).layerId, "aa11")
      assert.deepStrictEqual(d.calls[0]!.args.slice(0, 2), ["reg.example.org/bob/image", "bananas"])
      assert.strictEqual((d.calls[0]!.args[2] as Images.RegistryAuth).serveraddress, "reg.example.org")
      assert.deepStrictEqual(d.calls[1], { op: "tag", args: ["reg.example.org/bob/image:bananas", "image", "bananas"] })
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("pull errors: engine 404 or a not-found error line → ResourceNotFound, 403 or a refusal line → AuthorizationError, other lines → DockerError 900", () => {
    const remote = platformImage("image", { tag: "no-bananas-here", owner: "bob" })
    const run = (d: ReturnType<typeof fakeDaemon>) => {
      const f = fakeRegistry(noRegistry, { daemon: d.daemon })
      return Effect.flip(Effect.flatMap(images, (s) => s.pull(remote))).pipe(Effect.provide(f.layer))
    }
    return Effect.gen(function*() {
      const missing = yield* run(fakeDaemon({ pull: new Images.DockerError({ status: 404, description: "Mocked error" }) }))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      assert.include(missing.message, "was not found in registry")
      const denied = yield* run(fakeDaemon({ pull: new Images.DockerError({ status: 403, description: "Mocked error" }) }))
      assert.strictEqual(denied._tag, "AuthorizationError")
      const inStream = yield* run(fakeDaemon({ pull: [{ error: true, errorDetail: { message: "Mocked message" } }] }))
      assert.strictEqual((inStream as Images.DockerError).status, 900)
      // Podman answers 200 and quotes the registry's refusal in an error line (texts as Podman 4.3 sends them)
      const line = (message: string) => run(fakeDaemon({ pull: [{ progressDetail: {}, errorDetail: { message }, error: message }] }))
      for (
        const message of [
          "initializing source docker://r/bob/image:x: reading manifest x in r/bob/image: manifest unknown: manifest unknown",
          "initializing source docker://r/bob/image:x: reading manifest x in r/bob/image: name unknown: repository name not known to registry"
        ]
      ) {
        const e = yield* line(message)
        assert.strictEqual(e._tag, "ResourceNotFound")
        assert.strictEqual(e.message, "Not found: Image image://default/bob/image:no-bananas-here was not found in registry (404)")
      }
      for (
        const message of [
          "initializing source docker://r/bob/image:x: reading manifest x in r/bob/image: StatusCode: 403, 403: Forbidden",
          "denied: requested access to the resource is denied"
        ]
      ) {
        assert.strictEqual((yield* line(message))._tag, "AuthorizationError")
      }
      const unauthorized = yield* line("reading manifest x in r/bob/image: unauthorized: authentication required")
      assert.strictEqual(unauthorized._tag, "DockerError")
      // the engine's own failures are not the registry's refusal
      const local = yield* line("writing blob: open /var/lib/containers/storage/x: permission denied")
      assert.strictEqual(local._tag, "DockerError")
    })
  })

  it.effect("pulled registry names are removed from the engine when the layer's scope closes", () =>
    Effect.gen(function*() {
      const d = fakeDaemon({ pull: [{ status: "Pulling", id: "v1" }] })
      const f = fakeRegistry(noRegistry, { daemon: d.daemon })
      const scope = yield* Scope.make()
      const ctx = yield* Layer.buildWithScope(f.layer, scope)
      const svc = Context.get(ctx, Images.Images)
      yield* svc.pull(platformImage("app", { tag: "v1" }), new Image.LocalImage({ name: "mine", tag: "v1" }))
      assert.isFalse(d.calls.some((c) => c.op === "remove"))
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(d.calls.filter((c) => c.op === "remove").map((c) => c.args[0]), ["reg.example.org/alice/app:v1"])
    }))

  it.effect("external images are pushed and pulled without the platform token", () => {
    const d = fakeDaemon({ pull: [], push: [] })
    const f = fakeRegistry(noRegistry, { daemon: d.daemon })
    return Effect.gen(function*() {
      const svc = yield* images
      yield* svc.pull(Image.RemoteImage.newExternalImage("ubuntu", undefined, { tag: "22.04" }))
      yield* svc.push(new Image.LocalImage({ name: "x", tag: "1" }), Image.RemoteImage.newExternalImage("x", "ghcr.io", { tag: "1" }))
      assert.deepStrictEqual(d.calls.filter((c) => c.op !== "tag").map((c) => c.args[2]), [undefined, undefined])
      assert.deepStrictEqual(d.calls.find((c) => c.op === "pull")!.args.slice(0, 2), ["ubuntu", "22.04"])
    }).pipe(Effect.provide(f.layer))
  })

  it.effect("without a DockerDaemon, push/pull fail with DockerError 900 while registry calls work", () => {
    const f = fakeRegistry(() => json({ repositories: ["alice/a"] }))
    return Effect.gen(function*() {
      const svc = yield* images
      const rec = recorder()
      const e = yield* Effect.flip(svc.pull(platformImage("a", { tag: "v1" }), undefined, { progress: rec.progress }))
      assert.strictEqual(e._tag, "DockerError")
      assert.strictEqual((e as Images.DockerError).status, 900)
      assert.include(e.message, "Docker engine is not available")
      assert.strictEqual(rec.events.length, 1)
      const p = yield* Effect.flip(svc.push(new Image.LocalImage({ name: "a", tag: "v1" })))
      assert.strictEqual(p._tag, "DockerError")
      assert.strictEqual((yield* svc.list()).length, 1)
    }).pipe(Effect.provide(f.layer))
  })
})
