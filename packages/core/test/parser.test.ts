/**
 * protocol/uris.md §1.3.7 and §3 through the `Parser` service (tables T5, I11, V1–V4, E1, E2),
 * with a stub `Config`, the real local file system and a fixed environment. Rows changed by a fix
 * are marked FIXED (docs/compat.md).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Exit, FastCheck as fc, Layer } from "effect"
import * as nodeFs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Config } from "../src/Config.js"
import * as Errors from "../src/Errors.js"
import * as Image from "../src/Image.js"
import * as Parser from "../src/Parser.js"
import { Cluster } from "../src/ServerConfig.js"
import { Volume } from "../src/Volume.js"

const CWD = nodeFs.realpathSync(process.cwd())
const HOME = "/home/tester"

const cluster = (name: string, registryUrl: string) =>
  new Cluster({
    name,
    orgs: [null],
    registryUrl,
    storageUrl: "https://storage",
    usersUrl: "https://users",
    monitoringUrl: "https://monitoring",
    secretsUrl: "https://secrets",
    disksUrl: "https://disks",
    bucketsUrl: "https://buckets",
    presets: new Map()
  })

const unused = Effect.dieMessage("not used by the parser")

const configLayer = (options: { readonly org?: string | null; readonly registries?: ReadonlyArray<readonly [string, string]> } = {}) =>
  Layer.succeed(
    Config,
    Config.of({
      username: Effect.succeed("user"),
      clusters: Effect.succeed(
        new Map((options.registries ?? [["default", "https://registry-dev.neu.ro"], ["another", "https://api.localhost.localdomain"]]).map((
          [n, r]
        ) => [n, cluster(n, r)]))
      ),
      clusterName: Effect.succeed("default"),
      clusterOrgs: Effect.succeed([null]),
      orgName: Effect.succeed(options.org ?? null),
      presets: unused,
      getCluster: () => unused,
      apiUrl: new URL("https://api.localhost.localdomain/api/v1"),
      adminUrl: unused,
      serviceAccountsUrl: new URL("https://api.localhost.localdomain/api/v1/service_accounts"),
      registryUrl: unused,
      storageUrl: unused,
      monitoringUrl: unused,
      secretsUrl: unused,
      diskApiUrl: unused,
      bucketApiUrl: unused,
      token: unused,
      fetch: unused,
      switchCluster: () => unused,
      switchOrg: () => unused,
      getUserConfig: unused
    })
  )

const env = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["HOME", HOME], ["FOO", "fooval"]])))

const parserLayer = (options: Parameters<typeof configLayer>[0] = {}) =>
  Parser.layer.pipe(Layer.provide(Layer.mergeAll(configLayer(options), NodeContext.layer)), Layer.provideMerge(env))

type Expect = string | { readonly err: string; readonly kind?: string }

const expectUri = (label: string, effect: Effect.Effect<URL, unknown>, expected: Expect) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (typeof expected === "string") {
      if (Exit.isFailure(exit)) assert.fail(`${label}: ${String(exit.cause)}`)
      else assert.strictEqual(exit.value.href, expected, label)
    } else {
      if (Exit.isSuccess(exit)) assert.fail(`${label}: expected ${expected.err}, got ${exit.value.href}`)
      else {
        const error = yield* Effect.flip(effect)
        assert.instanceOf(error, Errors.InvalidInputError, label)
        assert.strictEqual((error as Errors.InvalidInputError).description, expected.err, label)
        if (expected.kind !== undefined) assert.strictEqual((error as Errors.InvalidInputError).kind, expected.kind, label)
      }
    }
  })

const fragErr = (s: string) => ({ err: `Fragment part is not allowed in ${s} URI. Use '%23' to quote '#' in path.`, kind: "uri" })
const queryErr = (s: string) => ({ err: `Query part is not allowed in ${s} URI. Use '%3F' to quote '?' in path.`, kind: "uri" })

describe("T5 normalize_uri / str_to_uri with short (user, default, no org)", () => {
  type Call = readonly ["n" | "s", string | URL, Parser.StrToUriOptions, Expect, string?]
  const rows: ReadonlyArray<Call> = [
    ["n", new URL("storage:dir"), { short: true }, "storage:dir"],
    ["n", new URL("storage:dir/"), { short: true }, "storage:dir"],
    ["n", new URL("storage:dir"), {}, "storage://default/user/dir"],
    ["n", new URL("storage:dir/"), {}, "storage://default/user/dir/"],
    ["n", new URL("storage://default/user/dir"), { short: true }, "storage:dir"],
    ["n", new URL("storage:dir"), { clusterName: "c2" }, "storage://c2/user/dir"],
    ["n", new URL("storage:dir"), { allowedSchemes: ["blob"] }, { err: "Invalid scheme 'storage:' (only 'blob:' is allowed)" }],
    ["n", new URL("blob:bucket/key"), { allowedSchemes: ["blob"] }, "blob://default/user/bucket/key"],
    ["n", new URL("file:x"), {}, { err: "Absolute URI is required for scheme file" }],
    ["n", new URL("user:alice"), {}, { err: "Absolute URI is required for scheme user" }],
    ["n", "dir", {}, { err: "Absolute URI is required for scheme " }],
    ["n", new URL("storage:dir?"), {}, "storage://default/user/dir"],
    ["n", new URL("storage:dir#frag"), {}, fragErr("storage")],
    ["n", new URL("storage:a b"), { short: true }, "storage:a%20b"],
    ["s", "storage:dir", {}, "storage://default/user/dir"],
    ["s", "storage://default/user/dir/", { short: true }, "storage:dir"],
    ["s", "storage://default/user", { short: true }, "storage:"],
    ["s", "storage://default/user/", { short: true }, "storage:"],
    ["s", "storage://default/other/dir", { short: true }, "storage://default/other/dir"],
    ["s", "storage://other/user/dir", { short: true }, "storage://other/user/dir"],
    ["s", "storage:/other/dir", { short: true }, "storage://default/other/dir"],
    ["s", "storage:", { short: true }, "storage:"],
    ["s", "storage:/", { short: true }, "storage://default/"],
    ["s", "storage://default", { short: true }, "storage://default"],
    ["s", "storage:dir//", { short: true }, "storage:dir"],
    // FIXED: neuro-sdk gives `storage:/` (the cluster root)
    ["s", "storage://default/user//", { short: true }, "storage:"],
    ["s", "image:ubuntu:latest", { short: true }, "image:ubuntu:latest"],
    ["s", "disk://default/user/d/", { short: true }, "disk:d"],
    ["s", "file:x/", { short: true }, `file://${CWD}/x`],
    ["s", "file:///", { short: true }, "file:///"],
    ["s", "x/", {}, { err: "URI Scheme not specified. Please specify one of ." }],
    ["s", "storage:dir", { clusterName: "other", short: true }, "storage://other/user/dir"],
    ["s", "storage:dir", { orgName: "o" }, "storage://default/o/user/dir"],
    ["s", "storage:dir", { orgName: "o", short: true }, "storage://default/o/user/dir"],
    ["s", "storage:dir", { allowedSchemes: ["secret", "disk"] }, { err: "Invalid scheme 'storage:' (only 'secret:', 'disk:' are allowed)" }],
    ["s", "a:b", { allowedSchemes: ["file", "storage"] }, `file://${CWD}/a:b`],
    ["s", "C:/x", { allowedSchemes: ["file", "storage"] }, `file://${CWD}/C:/x`],
    ["s", "C:/x", { allowedSchemes: ["storage"] }, { err: "Invalid scheme 'c:' (only 'storage:' is allowed)" }],
    ["s", "storage://default/user/a%2Fb", { short: true }, "storage:a/b"],
    ["s", "storage://default/user/x%2520y", { short: true }, "storage:x%2520y"]
  ]
  layer(parserLayer())((it) => {
    rows.forEach(([fn, input, options, expected], i) =>
      it.effect(`#${i + 1} ${fn === "n" ? "normalizeUri" : "strToUri"}(${String(input)}, ${JSON.stringify(options)})`, () =>
        Effect.gen(function*() {
          const parser = yield* Parser.Parser
          const effect = fn === "n" ? parser.normalizeUri(input, options) : parser.strToUri(String(input), options)
          yield* expectUri(String(input), effect, expected)
        })))

    it.effect("#9 #11 #12 variants", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        for (const s of ["file:/x", "file:///x"]) yield* expectUri(s, parser.normalizeUri(new URL(s)), { err: "Absolute URI is required for scheme file" })
        yield* expectUri("''", parser.normalizeUri(""), { err: "Absolute URI is required for scheme " })
        yield* expectUri("storage:dir#", parser.normalizeUri(new URL("storage:dir#")), "storage://default/user/dir")
      }))
  })

  const orgRows: ReadonlyArray<Call> = [
    ["s", "storage:dir", {}, "storage://default/myorg/user/dir"],
    ["s", "storage:dir", { short: true }, "storage:dir"],
    ["s", "storage:/other/dir", {}, "storage://default/myorg/other/dir"],
    ["s", "storage:/other/dir", { short: true }, "storage://default/myorg/other/dir"],
    ["s", "storage://default/myorg/user/dir", { short: true }, "storage:dir"],
    ["s", "storage://default/user/dir", { short: true }, "storage://default/user/dir"],
    ["s", "storage://default/myorg/user", { short: true }, "storage:"],
    ["s", "storage:dir", { orgName: null }, "storage://default/user/dir"],
    ["s", "storage:dir", { orgName: null, short: true }, "storage://default/user/dir"]
  ]
  layer(parserLayer({ org: "myorg" }))((it) => {
    orgRows.forEach(([, input, options, expected], i) =>
      it.effect(`#${i + 41} strToUri(${String(input)}, ${JSON.stringify(options)}) with org myorg`, () =>
        Effect.flatMap(Parser.Parser, (parser) => expectUri(String(input), parser.strToUri(String(input), options), expected))))
  })
})

describe("T8 through the service; path_to_uri / uri_to_path", () => {
  layer(parserLayer())((it) => {
    it.effect("paths", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        assert.strictEqual(yield* parser.uriToPath("file:///data/x%20y"), "/data/x y")
        assert.strictEqual(yield* parser.uriToPath("file:rel/x"), "rel/x")
        yield* expectUri("rel/x", parser.pathToUri("rel/x"), `file://${CWD}/rel/x`)
        yield* expectUri("~/x", parser.pathToUri("~/x"), `file://${HOME}/x`)
        yield* expectUri(".", parser.pathToUri("."), `file://${CWD}`)
        yield* expectUri("~root", parser.pathToUri("~root/x"), "file:///root/x")
        yield* expectUri("~nobody-here", parser.pathToUri("~nobody-here/x"), { err: "Cannot expand user for ~nobody-here/x" })
        assert.strictEqual(parser.uriToStr(new URL("storage://c/a%20b")), "storage://c/a%20b")
        const error = yield* Effect.flip(parser.uriToPath("storage:x"))
        assert.strictEqual(error.description, "Invalid scheme 'storage:' (only 'file:' is allowed)")
      }))
  })
})

describe("I11 images through the client's parser (user, default → registry-dev.neu.ro)", () => {
  const fields = (i: Image.RemoteImage) => [i.name, i.tag, i.owner, i.clusterName, i.registry, i.orgName]
  layer(parserLayer())((it) => {
    it.effect("#1 #2 #5-#12", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        const local = yield* parser.localImage("bananas:latest")
        assert.deepStrictEqual([local.name, local.tag], ["bananas", "latest"])
        assert.deepStrictEqual(fields(yield* parser.remoteImage("image://default/bob/bananas:latest")), [
          "bananas",
          "latest",
          "bob",
          "default",
          "registry-dev.neu.ro",
          undefined
        ])
        // #5-#8: images of jobs coming back from the server (the job parser falls back to INVALID-IMAGE-NAME)
        assert.deepStrictEqual(fields(yield* parser.remoteImage("some.com/path:tag")), ["some.com/path", "tag", undefined, undefined, undefined, undefined])
        for (const bad of ["registry-dev.neu.ro/path/:tag", "", ":"]) {
          const error = yield* Effect.flip(parser.remoteImage(bad))
          assert.instanceOf(error, Errors.InvalidInputError, bad)
        }
        // #9: push without a target
        const target = yield* parser.localToRemoteImage(local)
        assert.strictEqual(target.toString(), "image://default/user/bananas:latest")
        assert.deepStrictEqual(
          fields(yield* parser.remoteImage("image:ubuntu", { clusterName: "another" })),
          ["ubuntu", "latest", "user", "another", "api.localhost.localdomain", undefined]
        )
        assert.deepStrictEqual(fields(yield* parser.remoteImage("ubuntu:v1", { tagOption: "DENY" })), ["ubuntu", "v1", undefined, undefined, undefined, undefined])
        for (const tagOption of ["DENY", "ALLOW"] as const) {
          assert.deepStrictEqual(fields(yield* parser.remoteImage("ubuntu", { tagOption })), ["ubuntu", "latest", undefined, undefined, undefined, undefined])
        }
        const back = parser.remoteToLocalImage(target)
        assert.strictEqual(back.toString(), "bananas:latest")
      }))
  })

  layer(parserLayer({ registries: [["default", "http://localhost:5000"]] }))((it) => {
    it.effect("#3 #4 registry with a port", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        assert.deepStrictEqual(fields(yield* parser.remoteImage("localhost:5000/bob/library/bananas:latest")), [
          "library/bananas",
          "latest",
          "bob",
          "default",
          "localhost:5000",
          undefined
        ])
        assert.deepStrictEqual(fields(yield* parser.remoteImage("ubuntu:latest")), ["ubuntu", "latest", undefined, undefined, undefined, undefined])
      }))
  })

  layer(parserLayer({ org: "myorg" }))((it) => {
    it.effect("#13-#16 with org myorg", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        const reg = "registry-dev.neu.ro"
        assert.deepStrictEqual(fields(yield* parser.remoteImage("image:ubuntu")), ["ubuntu", "latest", "user", "default", reg, "myorg"])
        assert.deepStrictEqual(fields(yield* parser.remoteImage("image://default/myorg/bob/ubuntu")), ["ubuntu", "latest", "bob", "default", reg, "myorg"])
        assert.deepStrictEqual(fields(yield* parser.remoteImage("image://default/bob/ubuntu")), ["ubuntu", "latest", "bob", "default", reg, undefined])
        assert.deepStrictEqual(fields(yield* parser.remoteImage("registry-dev.neu.ro/myorg/bob/ubuntu")), ["ubuntu", "latest", "bob", "default", reg, "myorg"])
      }))
  })

  layer(parserLayer({ registries: [["default", "reg.neu.ro"]] }))((it) => {
    it.effect("a registry URL without a host fails every image parse", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        const error = yield* Effect.flip(parser.localImage("ubuntu"))
        assert.strictEqual(error._tag, "InvalidInputError")
      }))
  })
})

const shape = (kind: string, input: string) => ({
  kind,
  input,
  err: kind === "secret file" ? "expected SECRET_URI:CONTAINER_PATH" : `expected ${kind === "volume" ? "STORAGE" : "DISK"}_URI:CONTAINER_PATH[:ro|:rw]`
})
const mode = (kind: string, input: string, m: string) => ({ kind, input, err: `wrong read/write mode '${m}': expected 'ro' or 'rw'` })
type SpecError = { readonly kind: string; readonly err: string; readonly input?: string }

const expectSpecError = (label: string, effect: Effect.Effect<unknown, unknown>, expected: SpecError) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.instanceOf(error, Errors.InvalidInputError, label)
    const e = error as Errors.InvalidInputError
    assert.strictEqual(e.description, expected.err, label)
    assert.strictEqual(e.kind, expected.kind, label)
    if (expected.input !== undefined) assert.strictEqual(e.input, expected.input, label)
  })

describe("V1 volume() failures", () => {
  const rows: ReadonlyArray<readonly [string, SpecError]> = [
    ["storage:///", shape("volume", "storage:///")],
    [":", shape("volume", ":")],
    ["::::", shape("volume", "::::")],
    ["", shape("volume", "")],
    ["storage:///data/:/data/rest:wrong", mode("volume", "storage:///data/:/data/rest:wrong", "wrong")],
    ["storage://cluster/user/path:to:/storage/location", mode("volume", "storage://cluster/user/path:to:/storage/location", "/storage/location")],
    ["storage://cluster/user/path/to:/storage/loca:tion", mode("volume", "storage://cluster/user/path/to:/storage/loca:tion", "tion")],
    ["storage://cluster/user/path/to#fragment:/storage/location", fragErr("storage")],
    ["storage://cluster/user/path/to#:/storage/location", fragErr("storage")],
    ["storage://cluster/user/path/to?key=value:/storage/location", queryErr("storage")],
    ["storage://cluster/user/path/to?:/storage/location", queryErr("storage")],
    ["storage://user@cluster/user/path/to:/storage/location", { kind: "uri", err: "User is not allowed in storage URI." }],
    ["storage://:password@cluster/user/path/to:/storage/location", mode("volume", "storage://:password@cluster/user/path/to:/storage/location", "/storage/location")],
    ["storage://:@cluster/user/path/to:/storage/location", mode("volume", "storage://:@cluster/user/path/to:/storage/location", "/storage/location")],
    ["storage://cluster:1234/user/path/to:/storage/location", mode("volume", "storage://cluster:1234/user/path/to:/storage/location", "/storage/location")],
    ["dir", shape("volume", "dir")],
    ["storage://dir", shape("volume", "storage://dir")],
    ["storage://dir:/var/www:rw:ro", shape("volume", "storage://dir:/var/www:rw:ro")],
    ["storage://dir:/var/www:write", mode("volume", "storage://dir:/var/www:write", "write")],
    ["storage://dir:/var/www:", mode("volume", "storage://dir:/var/www:", "")],
    ["HOME", shape("volume", "HOME")],
    ["storage:dir:/mnt:RO", mode("volume", "storage:dir:/mnt:RO", "RO")]
  ]
  layer(parserLayer())((it) => {
    rows.forEach(([spec, expected], i) =>
      it.effect(`#${i + 1} ${JSON.stringify(spec)}`, () => Effect.flatMap(Parser.Parser, (p) => expectSpecError(spec, p.volume(spec), expected))))
  })
})

describe("V2 volume() successes", () => {
  const rows: ReadonlyArray<readonly [string, { readonly clusterName?: string; readonly orgName?: string }, string, string, boolean]> = [
    ["storage://default/user/dir:/var/www", {}, "storage://default/user/dir", "/var/www", false],
    ["storage://default/user/dir:/var/www:rw", {}, "storage://default/user/dir", "/var/www", false],
    ["storage://default/user:/var/www:ro", {}, "storage://default/user", "/var/www", true],
    ["storage::/var/www:ro", {}, "storage://default/user", "/var/www", true],
    ["storage:dir:/var/www:ro", {}, "storage://default/user/dir", "/var/www", true],
    ["storage:dir:/var/www", {}, "storage://default/user/dir", "/var/www", false],
    ["storage:/other/dir:/mnt", {}, "storage://default/other/dir", "/mnt", false],
    ["storage:dir:relative", {}, "storage://default/user/dir", "relative", false],
    ["storage:dir::ro", {}, "storage://default/user/dir", "", true],
    ["storage:dir:", {}, "storage://default/user/dir", "", false],
    ["storage:a%3Ab:/mnt", {}, "storage://default/user/a:b", "/mnt", false],
    ["storage:dir:/mnt", { clusterName: "c2" }, "storage://c2/user/dir", "/mnt", false],
    ["storage:dir:/mnt", { orgName: "o" }, "storage://default/o/user/dir", "/mnt", false]
  ]
  layer(parserLayer())((it) => {
    rows.forEach(([spec, options, uri, containerPath, readOnly], i) =>
      it.effect(`#${i + 1} ${spec} ${JSON.stringify(options)}`, () =>
        Effect.gen(function*() {
          const v = yield* (yield* Parser.Parser).volume(spec, options)
          assert.instanceOf(v, Volume)
          assert.deepStrictEqual([v.storageUri.href, v.containerPath, v.readOnly], [uri, containerPath, readOnly])
        })))
  })
})

describe("V3 volumes() failures", () => {
  const d = "disk volume"
  const s = "secret file"
  const rows: ReadonlyArray<readonly [ReadonlyArray<string>, SpecError]> = [
    [["disk://"], shape(d, "disk://")],
    [["disk://cluster/user/name:/disk/location:rw:more"], shape(d, "disk://cluster/user/name:/disk/location:rw:more")],
    [["disk://cluster/user/name:/disk/location:rwo"], mode(d, "disk://cluster/user/name:/disk/location:rwo", "rwo")],
    [["disk://cluster/user/na:me:/disk/location"], mode(d, "disk://cluster/user/na:me:/disk/location", "/disk/location")],
    [["disk://cluster/user/name:/disk/loca:tion"], mode(d, "disk://cluster/user/name:/disk/loca:tion", "tion")],
    [["disk://cluster/user/name#fragment:/disk/location"], fragErr("disk")],
    [["disk://cluster/user/name#:/disk/location"], fragErr("disk")],
    [["disk://cluster/user/name?key=value:/disk/location"], queryErr("disk")],
    [["disk://cluster/user/name?:/disk/location"], queryErr("disk")],
    [["disk://user@cluster/user/name:/disk/location"], { kind: "uri", err: "User is not allowed in disk URI." }],
    [["disk://:password@cluster/user/name:/disk/location"], mode(d, "disk://:password@cluster/user/name:/disk/location", "/disk/location")],
    [["disk://:@cluster/user/name:/disk/location"], mode(d, "disk://:@cluster/user/name:/disk/location", "/disk/location")],
    [["disk://cluster:1234/user/name:/disk/location"], mode(d, "disk://cluster:1234/user/name:/disk/location", "/disk/location")],
    [["secret://cluster/user/secret:/var/secret:ro"], shape(s, "secret://cluster/user/secret:/var/secret:ro")],
    [["secret://cluster/user/sec:ret:/secret/location"], shape(s, "secret://cluster/user/sec:ret:/secret/location")],
    [["secret://cluster/user/secret:/secret/loca:tion"], shape(s, "secret://cluster/user/secret:/secret/loca:tion")],
    [["secret://cluster/user/secret#fragment:/secret/location"], fragErr("secret")],
    [["secret://cluster/user/secret#:/secret/location"], fragErr("secret")],
    [["secret://cluster/user/secret?key=value:/secret/location"], queryErr("secret")],
    [["secret://cluster/user/secret?:/secret/location"], queryErr("secret")],
    [["secret://user@cluster/user/secret:/secret/location"], { kind: "uri", err: "User is not allowed in secret URI." }],
    [["secret://:password@cluster/user/secret:/secret/location"], shape(s, "secret://:password@cluster/user/secret:/secret/location")],
    [["secret://:@cluster/user/secret:/secret/location"], shape(s, "secret://:@cluster/user/secret:/secret/location")],
    [["secret://cluster:1234/user/secret:/secret/location"], shape(s, "secret://cluster:1234/user/secret:/secret/location")],
    [["dissk://f1/f2/f3:/f1:rw"], { kind: "uri", err: "Invalid scheme 'dissk:' (only 'storage:' is allowed)", input: "dissk://f1/f2/f3" }],
    [["HOME"], { kind: "volume", err: "--volume=HOME no longer supported" }],
    [["ALL"], { kind: "volume", err: "--volume=ALL no longer supported" }],
    [["disk:d:/d:rw:x"], shape(d, "disk:d:/d:rw:x")],
    [["SECRET:k:/s"], { kind: "uri", err: "Invalid scheme 'secret:' (only 'storage:' is allowed)" }],
    [["secret:a:/x", "storage:bad", "disk:d:/y:zz"], shape("volume", "storage:bad")],
    [["storage:a:/a", "HOME"], { kind: "volume", err: "--volume=HOME no longer supported" }]
  ]
  layer(parserLayer())((it) => {
    rows.forEach(([specs, expected], i) =>
      it.effect(`#${i + 1} ${JSON.stringify(specs)}`, () => Effect.flatMap(Parser.Parser, (p) => expectSpecError(specs.join(" "), p.volumes(specs), expected))))
  })
})

describe("V4 volumes() successes", () => {
  const flat = (r: Parser.VolumeParseResult) => ({
    volumes: r.volumes.map((v) => [v.storageUri.href, v.containerPath, v.readOnly]),
    secretFiles: r.secretFiles.map((v) => [v.secretUri.href, v.containerPath]),
    diskVolumes: r.diskVolumes.map((v) => [v.diskUri.href, v.containerPath, v.readOnly])
  })
  layer(parserLayer())((it) => {
    it.effect("#1 mixed long forms", () =>
      Effect.gen(function*() {
        const r = yield* (yield* Parser.Parser).volumes([
          "storage://cluster/user/path/to1:/storage/location1:rw",
          "storage://cluster/user/path/to2:/storage/location2:ro",
          "secret://cluster/user/secret1:/secret/location3",
          "disk://cluster/user/disk1:/disk/location4:rw",
          "disk://cluster/user/disk2:/disk/location5:ro"
        ])
        assert.deepStrictEqual(flat(r), {
          volumes: [["storage://cluster/user/path/to1", "/storage/location1", false], ["storage://cluster/user/path/to2", "/storage/location2", true]],
          secretFiles: [["secret://cluster/user/secret1", "/secret/location3"]],
          diskVolumes: [["disk://cluster/user/disk1", "/disk/location4", false], ["disk://cluster/user/disk2", "/disk/location5", true]]
        })
      }))
    it.effect("#2 encoded names", () =>
      Effect.gen(function*() {
        const r = yield* (yield* Parser.Parser).volumes([
          "storage://cluster/user/path/to%23%252d%3a%3f%40%C3%9F:/storage:rw",
          "secret://cluster/user/secret%23%252d%3a%3f%40%C3%9F:/secret",
          "disk://cluster/user/disk%23%252d%3a%3f%40%C3%9F:/disk:rw"
        ])
        assert.deepStrictEqual(flat(r), {
          volumes: [["storage://cluster/user/path/to%23%252d:%3F@%C3%9F", "/storage", false]],
          secretFiles: [["secret://cluster/user/secret%23%252d:%3F@%C3%9F", "/secret"]],
          diskVolumes: [["disk://cluster/user/disk%23%252d:%3F@%C3%9F", "/disk", false]]
        })
        assert.strictEqual(decodeURIComponent(r.volumes[0]!.storageUri.pathname), "/user/path/to#%2d:?@ß")
        assert.strictEqual(decodeURIComponent(r.secretFiles[0]!.secretUri.pathname), "/user/secret#%2d:?@ß")
        assert.strictEqual(decodeURIComponent(r.diskVolumes[0]!.diskUri.pathname), "/user/disk#%2d:?@ß")
      }))
    it.effect("#3 #4 #5 #6 short forms, order, cluster, empty", () =>
      Effect.gen(function*() {
        const p = yield* Parser.Parser
        const three = yield* p.volumes(["secret:first:/var/secrets/first", "secret:second:/var/secrets/second", "secret:third:/var/secrets/third"])
        assert.deepStrictEqual(flat(three).secretFiles, [
          ["secret://default/user/first", "/var/secrets/first"],
          ["secret://default/user/second", "/var/secrets/second"],
          ["secret://default/user/third", "/var/secrets/third"]
        ])
        assert.deepStrictEqual(flat(yield* p.volumes(["secret:k:/s", "disk:d:/d", "disk:d2:/d2:ro", "storage:x:/x"])), {
          volumes: [["storage://default/user/x", "/x", false]],
          secretFiles: [["secret://default/user/k", "/s"]],
          diskVolumes: [["disk://default/user/d", "/d", false], ["disk://default/user/d2", "/d2", true]]
        })
        assert.deepStrictEqual(flat(yield* p.volumes(["secret:k:/s"], { clusterName: "c2" })).secretFiles, [["secret://c2/user/k", "/s"]])
        assert.deepStrictEqual(flat(yield* p.volumes([])), { volumes: [], secretFiles: [], diskVolumes: [] })
      }))
  })
})

describe("E1 env building, E2 secret env", () => {
  const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "neuro-parser-"))
  let n = 0
  const file = (content: string) => {
    const f = nodePath.join(dir, `env${n++}`)
    nodeFs.writeFileSync(f, content)
    return f
  }
  const E8 = "\uFEFFA=1\r\n  B = 2 \r\n   # c\nC\nD=secret:k\nE=x=y\n=noname\n"
  const rows: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>, Record<string, string>, Record<string, string>?]> = [
    [[], ["ENV_VAR_1=value1\n\n  \n\t\nENV_VAR_2=value2"], { ENV_VAR_1: "value1", ENV_VAR_2: "value2" }],
    [[], ["ENV_VAR_1=value1\n#ENV_VAR_2=value2\nENV_VAR_3=#value3#"], { ENV_VAR_1: "value1", ENV_VAR_3: "#value3#" }],
    [[], ["ENV_VAR_1=value1", "ENV_VAR_2=value2"], { ENV_VAR_1: "value1", ENV_VAR_2: "value2" }],
    [["ENV_VAR=value1", "ENV_VAR=value2"], [], { ENV_VAR: "value2" }],
    [["ENV_VAR=value1"], ["ENV_VAR=value2"], { ENV_VAR: "value1" }],
    [[], ["ENV_VAR=value1\nENV_VAR=value2"], { ENV_VAR: "value2" }],
    [[], ["ENV_VAR=value1", "ENV_VAR=value2"], { ENV_VAR: "value2" }],
    // D=secret:k moves to the secret env (envs extracts secrets after building)
    [[], [E8], { A: "1", "B ": " 2 ", C: "", E: "x=y", "": "noname" }, { D: "secret://default/user/k" }],
    [["FOO", "BAR", "Y=", "Z=a=b", " W=1"], [], { FOO: "fooval", BAR: "", Y: "", Z: "a=b", " W": "1" }],
    [["A=3"], [E8], { A: "3", "B ": " 2 ", C: "", E: "x=y", "": "noname" }, { D: "secret://default/user/k" }]
  ]
  layer(parserLayer())((it) => {
    rows.forEach(([items, files, expected, secret], i) =>
      it.effect(`E1 #${i + 1}`, () =>
        Effect.gen(function*() {
          const r = yield* (yield* Parser.Parser).envs(items, files.map(file))
          assert.deepStrictEqual({ ...r.env }, expected)
          assert.deepStrictEqual(Object.fromEntries(Object.entries(r.secretEnv).map(([k, v]) => [k, v.href])), secret ?? {})
        })))

    it.effect("E1 #8 order: a key keeps its first position", () =>
      Effect.gen(function*() {
        const r = yield* (yield* Parser.Parser).envs(["A=3"], [file(E8)])
        assert.deepStrictEqual(Object.keys(r.env), ["A", "B ", "C", "E", ""])
      }))

    it.effect("E1 #11 a missing env file", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip((yield* Parser.Parser).envs([], ["/nonexistent"]))
        assert.strictEqual(error._tag, "FileNotFound")
      }))

    const secretRows: ReadonlyArray<readonly [string, { readonly clusterName?: string }, readonly ["env" | "secret", string] | { readonly err: string }]> = [
      ["ENV_VAR_1=secret:value1", {}, ["secret", "secret://default/user/value1"]],
      ["ENV_VAR_2=value2", {}, ["env", "value2"]],
      ["ENV_VAR_3=secret:/otheruser/value3", {}, ["secret", "secret://default/otheruser/value3"]],
      ["ENV_VAR_4=value4", {}, ["env", "value4"]],
      ["ENV_VAR_5=secret://othercluster/otheruser/value5", {}, ["secret", "secret://othercluster/otheruser/value5"]],
      ["S=secret:key", { clusterName: "c2" }, ["secret", "secret://c2/user/key"]],
      ["V=Secret:x", {}, ["env", "Secret:x"]],
      ["S=secret:", {}, ["secret", "secret://default/user"]],
      ["S=secret:key#x", {}, { err: "Fragment part is not allowed in secret URI. Use '%23' to quote '#' in path." }],
      ["S=secret:~/x", {}, { err: "Cannot expand user for secret:~/x" }]
    ]
    secretRows.forEach(([item, options, expected], i) =>
      it.effect(`E2 #${i + 1} ${item}`, () =>
        Effect.gen(function*() {
          const parser = yield* Parser.Parser
          const name = item.slice(0, item.indexOf("="))
          if ("err" in expected) {
            yield* expectSpecError(item, parser.envs([item], [], options), { kind: "uri", err: expected.err })
            return
          }
          const r = yield* parser.envs([item], [], options)
          const [where, value] = expected
          if (where === "env") {
            assert.strictEqual(r.env[name], value)
            assert.isUndefined(r.secretEnv[name])
          } else {
            assert.strictEqual(r.secretEnv[name]?.href, value)
            assert.isUndefined(r.env[name])
          }
        })))
  })

  it("pure parseEnvs and envFileLines", () => {
    const r = Either.getOrThrow(Parser.parseEnvs(["X", "__proto__=p"], ["A=1\u2028B=2\x1c C=3\n\u00a0#no"], { username: "u", clusterName: "c", orgName: null }, (n) => (n === "X" ? "x" : undefined)))
    assert.deepStrictEqual({ ...r.env }, { A: "1", B: "2", C: "3", X: "x", ["__proto__"]: "p" })
    assert.deepStrictEqual(Parser.envFileLines("\uFEFF a\r\n#b\n\n c "), ["a", "c "])
  })
})

describe("properties: garbage never becomes a defect", () => {
  layer(parserLayer())((it) => {
    it.effect("every method fails only with typed errors", () =>
      Effect.gen(function*() {
        const parser = yield* Parser.Parser
        const samples = fc.sample(fc.oneof(fc.string(), fc.fullUnicodeString(), fc.array(fc.constantFrom("storage:", "secret:", "disk:", "image:", ":", "/", "//", "~", "#", "?", "%", "ro", "a", "@", ":1"), { maxLength: 6 }).map((a) => a.join(""))), 600)
        for (const s of samples) {
          const effects: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
            parser.volume(s),
            parser.volumes([s]),
            parser.envs([s]),
            parser.localImage(s),
            parser.remoteImage(s),
            parser.remoteImage(s, { tagOption: "DENY" }),
            parser.strToUri(s),
            parser.strToUri(s, { allowedSchemes: ["file", "storage"], short: true }),
            parser.normalizeUri(s, { short: true }),
            parser.uriToPath(s),
            parser.pathToUri(s)
          ]
          for (const e of effects) {
            const exit = yield* Effect.exit(e)
            if (Exit.isFailure(exit)) {
              const error = yield* Effect.flip(e)
              assert.isTrue(Errors.isNeuroError(error), `${JSON.stringify(s)}: ${String(exit.cause)}`)
            }
          }
        }
      }), { timeout: 60_000 })
  })
})
