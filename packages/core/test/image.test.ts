/**
 * protocol/uris.md §2 (tables I1–I10, I12 and the construction rules) row by row. I11 (through the
 * client's parser) is in parser.test.ts. Rows changed by a fix are marked FIXED (docs/compat.md).
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as Errors from "../src/Errors.js"
import * as Image from "../src/Image.js"
import { IMG_NAME_ERR, TAG_ERR } from "../src/internal/image.js"

const P = Either.getOrThrow(Image.makeImageParser({
  username: "alice",
  clusterName: "default",
  orgName: null,
  registryUrls: [["default", "https://reg.neu.ro"], ["another", "https://example.org"]]
}))
const PO: Image.ImageParser = { ...P, orgName: "test-org" }
const PP = Either.getOrThrow(Image.makeImageParser({
  username: "alice",
  clusterName: "test-cluster",
  orgName: null,
  registryUrls: [["test-cluster", "http://localhost:5000"]]
}))

/** name / tag / owner / cluster / registry / org (`undefined` = ∅) */
type Fields = readonly [string, string | undefined, string | undefined, string | undefined, string | undefined, string | undefined]
type Err = { readonly err: string; readonly kind?: string }
type Expect = Fields | Err

const fieldsOf = (i: Image.RemoteImage): Fields => [i.name, i.tag, i.owner, i.clusterName, i.registry, i.orgName]

const expectImage = (label: string, result: Either.Either<Image.RemoteImage, Errors.InvalidInputError>, expected: Expect, kind = "remote image") => {
  if ("err" in expected) {
    if (Either.isRight(result)) assert.fail(`${label}: expected error ${expected.err}, got ${String(result.right)}`)
    else {
      assert.instanceOf(result.left, Errors.InvalidInputError)
      assert.strictEqual(result.left.description, expected.err, label)
      assert.strictEqual(result.left.kind, expected.kind ?? kind, label)
      assert.strictEqual(result.left.input, label, label)
    }
  } else {
    if (Either.isLeft(result)) assert.fail(`${label}: expected ${expected.join(" / ")}, got error ${result.left.description}`)
    else assert.deepStrictEqual(fieldsOf(result.right), expected, label)
  }
}

const expectLocal = (label: string, result: Either.Either<Image.LocalImage, Errors.InvalidInputError>, expected: readonly [string, string | undefined] | Err) => {
  if ("err" in expected) {
    if (Either.isRight(result)) assert.fail(`${label}: expected error ${expected.err}, got ${String(result.right)}`)
    else {
      assert.strictEqual(result.left.description, expected.err, label)
      assert.strictEqual(result.left.kind, "local image", label)
    }
  } else {
    if (Either.isLeft(result)) assert.fail(`${label}: got error ${result.left.description}`)
    else assert.deepStrictEqual([result.right.name, result.right.tag], expected, label)
  }
}

const neuro = (name: string, tag: string | undefined, owner: string, cluster = "default", registry = "reg.neu.ro", org?: string): Fields =>
  [name, tag, owner, cluster, registry, org]
const ext = (name: string, tag: string | undefined, registry?: string): Fields => [name, tag, undefined, undefined, registry, undefined]

describe("I1 registry authority", () => {
  const empty = (url: string) => ({ err: `Empty hostname in registry URL '${url}': please consider updating configuration` })
  const rows: ReadonlyArray<readonly [string, string | Err]> = [
    ["http://reg.neu.ro", "reg.neu.ro"],
    ["https://reg.neu.ro", "reg.neu.ro"],
    ["https://reg.neu.ro/bla/bla", "reg.neu.ro"],
    ["http://reg.neu.ro:5000", "reg.neu.ro:5000"],
    ["http://reg.neu.ro:5000/bla/bla", "reg.neu.ro:5000"],
    ["", empty("")],
    ["reg.neu.ro", empty("reg.neu.ro")],
    ["reg.neu.ro:5000", empty("reg.neu.ro:5000")],
    ["https://", empty("https://")],
    ["https:///bla/bla", empty("https:///bla/bla")],
    ["http://example.com:8080/", "example.com:8080"],
    ["http://example.com/", "example.com"],
    ["scheme://example.com/", "example.com"],
    // neuro-sdk: AssertionError from the helper called directly; ours: the same typed error
    ["scheme://", empty("scheme:")],
    ["https://example.com:443/", "example.com:443"],
    ["https://Reg.Neu.Ro/x", "reg.neu.ro"]
  ]
  rows.forEach(([url, expected], i) =>
    it(`#${i + 1} ${JSON.stringify(url)}`, () => {
      const r = Image.registryAuthority(url)
      if (typeof expected === "string") assert.strictEqual(Either.getOrThrow(r), expected)
      else {
        assert.isTrue(Either.isLeft(r))
        if (Either.isLeft(r)) {
          assert.strictEqual(r.left.description, expected.err)
          assert.strictEqual(r.left.kind, "registry url")
        }
      }
      // the parser is built from the registries: a bad one fails it
      const parser = Image.makeImageParser({ username: "u", clusterName: "c", orgName: null, registryUrls: [["c", url]] })
      assert.strictEqual(Either.isRight(parser), typeof expected === "string")
    }))
})

describe("I2 has_tag (observed through TagOption.DENY, parser P)", () => {
  const rows: ReadonlyArray<readonly [string, boolean | Err]> = [
    ["image://default/me/ubuntu:v10.04", true],
    ["image://another/me/ubuntu:v10.04", true],
    ["image:ubuntu:v10.04", true],
    ["image:///ubuntu:v10.04", true],
    ["ubuntu:v10.04", true],
    ["ubuntu", false],
    ["library/ubuntu", false],
    ["ubuntu:", { err: "empty name or empty tag" }],
    ["library/ubuntu:", { err: "empty name or empty tag" }],
    [":latest", { err: "empty name or empty tag" }],
    ["ubuntu:v10.04:latest", { err: "too many tags" }],
    ["image:game:latest", true],
    ["image:game:mega", true],
    ["image:game:v2.0:latest", { err: "too many tags" }]
  ]
  rows.forEach(([input, expected], i) =>
    it(`#${i + 1} ${input}`, () => {
      const r = Image.parseNeuroImage(P, input, { tagOption: Image.TagOption.DENY })
      const description = Either.isLeft(r) ? r.left.description : undefined
      if (expected === true) assert.strictEqual(description, "tag is not allowed")
      else if (expected === false) assert.notStrictEqual(description, "tag is not allowed")
      else assert.strictEqual(description, expected.err)
    }))
})

describe("I3 name/tag split (default tag latest)", () => {
  const rows: ReadonlyArray<readonly [string, readonly [string, string] | Err]> = [
    ["ubuntu", ["ubuntu", "latest"]],
    ["ubuntu:v10.04", ["ubuntu", "v10.04"]],
    ["ubuntu:", { err: "empty name or empty tag" }],
    ["ubuntu:v10.04:LTS", { err: "too many tags" }],
    ["localhost:5000/ubuntu", ["localhost:5000/ubuntu", "latest"]],
    ["localhost:5000/ubuntu:v10.04", ["localhost:5000/ubuntu", "v10.04"]],
    ["localhost:5000/ubuntu:v10.04:LTS", { err: "too many tags" }],
    ["localhost:5000/ubuntu:", { err: "empty name or empty tag" }],
    ["localhost:5000/ubuntu:v10/04", { err: TAG_ERR }]
  ]
  rows.forEach(([input, expected], i) => it(`#${i + 1} ${input}`, () => expectLocal(input, Image.parseLocalImage(input), expected)))
})

describe("I4 parse_as_local_image", () => {
  const scheme = { err: "scheme 'image://' is not allowed for local images" }
  const rows: ReadonlyArray<readonly [string, readonly [string, string | undefined] | Err]> = [
    ["", { err: "empty image name" }],
    ["-zxc", { err: "image cannot start with dash" }],
    ["image://default/ubuntu", scheme],
    ["http://ubuntu", { err: IMG_NAME_ERR }],
    ["ubuntu", ["ubuntu", "latest"]],
    ["ubuntu:v10.04", ["ubuntu", "v10.04"]],
    ["image#%2d?ß:tag#%2d?ß", { err: IMG_NAME_ERR }],
    ["ubuntu:v10.04:LTS", { err: "too many tags" }],
    ["image:latest", { err: "ambiguous value: valid as both local and remote image name" }],
    ["reg.neu.ro/bob/ubuntu:v10.04", ["reg.neu.ro/bob/ubuntu", "v10.04"]],
    ["localhost:5000/bob/ubuntu:v10.04", ["localhost:5000/bob/ubuntu", "v10.04"]],
    ["bananas:latest", ["bananas", "latest"]],
    ["image:ubuntu", scheme],
    ["Ubuntu", { err: IMG_NAME_ERR }],
    ["ubuntu:" + "a".repeat(129), { err: "tag is too long (at most 128 characters)" }],
    ["ubuntu:" + "a".repeat(128), ["ubuntu", "a".repeat(128)]],
    ["ubuntu:.x", { err: TAG_ERR }],
    ["ubuntu:_x", ["ubuntu", "_x"]],
    ["a__b", { err: IMG_NAME_ERR }],
    ["a/b/c:t", ["a/b/c", "t"]],
    ["/ubuntu", ["/ubuntu", "latest"]],
    ["ubuntu/", { err: "no image name specified" }],
    ["ubuntu@sha256:abc", { err: IMG_NAME_ERR }],
    ["localhost:5000/ubuntu", ["localhost:5000/ubuntu", "latest"]],
    ["localhost:5000", ["localhost", "5000"]],
    ["LOCALHOST:5000/ubuntu", ["LOCALHOST:5000/ubuntu", "latest"]],
    ["my.reg.io/Org/img", { err: IMG_NAME_ERR }]
  ]
  rows.forEach(([input, expected], i) => it(`#${i + 1} ${JSON.stringify(input).slice(0, 40)}`, () => expectLocal(input, Image.parseLocalImage(input), expected)))

  it("#6 re-parsing the string gives the same value; #17 #19 variants", () => {
    const image = Either.getOrThrow(Image.parseLocalImage("ubuntu:v10.04"))
    assert.isTrue(Either.getOrThrow(Image.parseLocalImage(image.toString())).toString() === "ubuntu:v10.04")
    expectLocal("ubuntu:-x", Image.parseLocalImage("ubuntu:-x"), { err: TAG_ERR })
    for (const s of ["a___b", "a--b", "a.-b"]) expectLocal(s, Image.parseLocalImage(s), { err: IMG_NAME_ERR })
    // the image parser of the PP fixture reads the same way (#11)
    assert.isTrue(Either.isRight(Image.parseRemoteImage(PP, "localhost:5000/bob/ubuntu:v10.04")))
  })
})

describe("I5 parse_as_neuro_image, parser P, DEFAULT", () => {
  const query = { err: "Query part is not allowed in image URI. Use '%3F' to quote '?' in path." }
  const frag = { err: "Fragment part is not allowed in image URI. Use '%23' to quote '#' in path." }
  const noName = { err: "no image name specified" }
  const scheme = { err: "scheme 'image:' is required for remote images" }
  const rows: ReadonlyArray<readonly [string, Expect]> = [
    ["image://", noName],
    ["image:///", noName],
    ["image://default/bob", noName],
    ["image://default/bob/", noName],
    ["image://default/bob/ubuntu:v10.04?key=value", query],
    ["image://default/bob/ubuntu?key=value", query],
    ["image:///ubuntu?key=value", query],
    ["image:ubuntu?key=value", query],
    ["image:5000?key=value", query],
    ["image://default/bob/ubuntu:v10.04?", query],
    ["image://default/bob/ubuntu:v10.04#fragment", frag],
    ["image://default/bob/ubuntu#fragment", frag],
    ["image:///ubuntu#fragment", frag],
    ["image:ubuntu#fragment", frag],
    ["image:5000#fragment", frag],
    ["image://default/bob/ubuntu:v10.04#", frag],
    ["image://user@default/bob/ubuntu", { err: "User is not allowed in image URI." }],
    ["image://:password@default/bob/ubuntu", { err: "Password is not allowed in image URI" }],
    ["image://:@default/bob/ubuntu", { err: "Password is not allowed in image URI" }],
    ["image://default:443/bob/ubuntu", { err: "Port is not allowed in image URI" }],
    ["", { err: "empty image name" }],
    ["-zxc", { err: "image cannot start with dash" }],
    ["ubuntu", scheme],
    ["ubuntu:latest", scheme],
    ["http://ubuntu", scheme],
    ["ubuntu:v10.04", scheme],
    ["library/ubuntu", scheme],
    ["library/ubuntu:v10.04", scheme],
    ["docker.io/library/ubuntu", scheme],
    ["docker.io/library/ubuntu:v10.04", scheme],
    ["something/docker.io/library/ubuntu", scheme],
    ["something/docker.io/library/ubuntu:v10.04", scheme],
    ["image://another/bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob", "another", "example.org")],
    ["image://another/bob/library/ubuntu:v10.04", neuro("library/ubuntu", "v10.04", "bob", "another", "example.org")],
    ["image://another/bob/ubuntu", neuro("ubuntu", "latest", "bob", "another", "example.org")],
    ["image://another/bob/library/ubuntu", neuro("library/ubuntu", "latest", "bob", "another", "example.org")],
    ["image://another/test-org/bob/ubuntu:v10.04", neuro("bob/ubuntu", "v10.04", "test-org", "another", "example.org")],
    [
      "image://unknown-cluster/bob/ubuntu",
      { err: "Cluster unknown-cluster doesn't exist in a list of available clusters: default, another. Please logout and login again." }
    ],
    ["image:ubuntu", neuro("ubuntu", "latest", "alice")],
    ["image:library/ubuntu", neuro("library/ubuntu", "latest", "alice")],
    ["image:ubuntu:v10.04", neuro("ubuntu", "v10.04", "alice")],
    ["image:library/ubuntu:v10.04", neuro("library/ubuntu", "v10.04", "alice")],
    ["image:/ubuntu", noName],
    ["image:/bob/ubuntu", neuro("ubuntu", "latest", "bob")],
    ["image:/bob/library/ubuntu", neuro("library/ubuntu", "latest", "bob")],
    ["image:/ubuntu:v10.04", noName],
    ["image:/bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob")],
    ["image:/bob/library/ubuntu:v10.04", neuro("library/ubuntu", "v10.04", "bob")],
    ["image://another/ubuntu", noName],
    ["image://ubuntu:v10.04", { err: "Invalid URL: port can't be converted to integer" }],
    ["image:///ubuntu", noName],
    ["image:///bob/ubuntu", neuro("ubuntu", "latest", "bob")],
    ["image:///bob/library/ubuntu", neuro("library/ubuntu", "latest", "bob")],
    ["image:///ubuntu:v10.04", noName],
    ["image:///bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob")],
    ["image:///bob/library/ubuntu:v10.04", neuro("library/ubuntu", "v10.04", "bob")],
    ["image:////ubuntu:v10.04", noName],
    ["image:////bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob")],
    ["image:////bob/library/ubuntu:v10.04", neuro("library/ubuntu", "v10.04", "bob")],
    ["image:////ubuntu", noName],
    ["image:////bob/ubuntu", neuro("ubuntu", "latest", "bob")],
    ["image:////bob/library/ubuntu", neuro("library/ubuntu", "latest", "bob")],
    ["image://another/bob/ubuntu%23%252d%3F%C3%9F:v10.04%23%252d%3F%C3%9F", { err: IMG_NAME_ERR }],
    ["reg.neu.ro/user/image:tag", neuro("image", "tag", "user")],
    ["reg.neu.ro/user/image%23%252d%3F%C3%9F:tag%23%252d%3F%C3%9F", { err: IMG_NAME_ERR }],
    ["image:latest", { err: "ambiguous value: valid as both local and remote image name" }],
    ["image:5000", neuro("5000", "latest", "alice")],
    ["image:UPPER/ubuntu", neuro("UPPER/ubuntu", "latest", "alice")],
    ["image://default/Bob/ubuntu", neuro("ubuntu", "latest", "Bob")],
    ["image:/bob/UBUNTU", { err: IMG_NAME_ERR }],
    ["image://Default/bob/ubuntu", neuro("ubuntu", "latest", "bob")],
    ["image:a/b/c/d:tag", neuro("a/b/c/d", "tag", "alice")],
    ["image:", noName],
    ["image://default/bob/ubuntu:", { err: "empty name or empty tag" }],
    ["image:ubu%20ntu", { err: IMG_NAME_ERR }],
    ["image:bob/ubuntu@sha256:abc", { err: IMG_NAME_ERR }]
  ]
  rows.forEach(([input, expected], i) =>
    it(`#${i + 1} ${JSON.stringify(input)}`, () => expectImage(input, Image.parseNeuroImage(P, input), expected)))

  it("#64 string form; #69 #73 variants; #77 #78 through parse_remote", () => {
    assert.strictEqual(Either.getOrThrow(Image.parseNeuroImage(P, "reg.neu.ro/user/image:tag")).toString(), "image://default/user/image:tag")
    expectImage("image:/Bob/ubuntu", Image.parseNeuroImage(P, "image:/Bob/ubuntu"), neuro("ubuntu", "latest", "Bob"))
    for (const s of ["image:/", "image://default", "image://default/"]) expectImage(s, Image.parseNeuroImage(P, s), noName)
    expectImage("example.org/bob/img:v1", Image.parseRemoteImage(P, "example.org/bob/img:v1"), neuro("img", "v1", "bob", "another", "example.org"))
    for (const s of ["reg.neu.ro/ubuntu", "reg.neu.ro/"]) expectImage(s, Image.parseRemoteImage(P, s), noName)
  })
})

describe("I6 parse_as_neuro_image, parser PO (org test-org)", () => {
  const rows: ReadonlyArray<readonly [string, Expect, string?]> = [
    ["image://another/bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob", "another", "example.org")],
    ["image:/bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob", "default", "reg.neu.ro", "test-org")],
    ["image:ubuntu:v10.04", neuro("ubuntu", "v10.04", "alice", "default", "reg.neu.ro", "test-org")],
    ["image://another/test-org/bob/ubuntu:v10.04", neuro("ubuntu", "v10.04", "bob", "another", "example.org", "test-org")],
    ["image://another/org/bob/ubuntu:v10.04", neuro("bob/ubuntu", "v10.04", "org", "another", "example.org")],
    // FIXED (neuro-sdk: owner test-org, name bob/ubuntu, org test-org → image://default/test-org/test-org/bob/ubuntu:latest)
    ["image:/test-org/bob/ubuntu", neuro("ubuntu", "latest", "bob", "default", "reg.neu.ro", "test-org"), "image://default/test-org/bob/ubuntu:latest"],
    // FIXED, same as #6
    ["image:///test-org/bob/ubuntu", neuro("ubuntu", "latest", "bob", "default", "reg.neu.ro", "test-org"), "image://default/test-org/bob/ubuntu:latest"],
    ["image://default/test-org/ubuntu", { err: "no image name specified" }]
  ]
  rows.forEach(([input, expected, str], i) =>
    it(`#${i + 1} ${input}`, () => {
      const r = Image.parseNeuroImage(PO, input)
      expectImage(input, r, expected)
      if (str !== undefined) assert.strictEqual(Either.getOrThrow(r).toString(), str)
    }))

  it("string forms of #2 and #3", () => {
    const two = Either.getOrThrow(Image.parseNeuroImage(PO, "image:/bob/ubuntu:v10.04"))
    assert.strictEqual(two.toString(), "image://default/test-org/bob/ubuntu:v10.04")
    assert.strictEqual(two.asDockerUrl(), "reg.neu.ro/test-org/bob/ubuntu:v10.04")
    assert.strictEqual(Either.getOrThrow(Image.parseNeuroImage(PO, "image:ubuntu:v10.04")).toString(), "image://default/test-org/alice/ubuntu:v10.04")
  })
})

describe("I7 tag options, parser P", () => {
  const rows: ReadonlyArray<readonly [string, Image.TagOption, Expect]> = [
    ["image:ubuntu", "DENY", neuro("ubuntu", undefined, "alice")],
    ["ubuntu", "DENY", { err: "scheme 'image:' is required for remote images" }],
    ["ubuntu:latest", "DENY", { err: "tag is not allowed" }],
    ["image:game:latest", "DENY", { err: "tag is not allowed" }],
    ["image:game:mega", "DENY", { err: "tag is not allowed" }],
    ["image:game:v2.0:latest", "DENY", { err: "too many tags" }],
    ["image:ubuntu", "ALLOW", neuro("ubuntu", undefined, "alice")],
    ["image:ubuntu:v1", "ALLOW", neuro("ubuntu", "v1", "alice")]
  ]
  rows.forEach(([input, option, expected], i) =>
    it(`#${i + 1} ${input} ${option}`, () => expectImage(input, Image.parseNeuroImage(P, input, { tagOption: option }), expected)))
})

describe("I8 registry with port, parser PP", () => {
  const one = neuro("library/ubuntu", "v10.04", "bob", "test-cluster", "localhost:5000")
  const noName = { err: "no image name specified" }
  const rows: ReadonlyArray<readonly ["neuro" | "remote", string, Expect]> = [
    ["neuro", "image://test-cluster/bob/library/ubuntu:v10.04", one],
    ["neuro", "localhost:5000/bob/library/ubuntu:v10.04", one],
    ["neuro", "localhost:9999/bob/library/ubuntu:v10.04", { err: "scheme 'image:' is required for remote images" }],
    ["remote", "image://test-cluster/bob/library/ubuntu:v10.04", one],
    ["remote", "localhost:5000/bob/library/ubuntu:v10.04", one],
    ["remote", "example.com:9999/bob/library/ubuntu:v10.04", ext("bob/library/ubuntu", "v10.04", "example.com:9999")],
    ["remote", "ubuntu", ext("ubuntu", "latest")],
    ["remote", "docker.io/library/ubuntu", ext("docker.io/library/ubuntu", "latest")],
    ["remote", "gcr.io/proj/img:v1", ext("gcr.io/proj/img", "v1")],
    ["remote", "localhost:5000/ubuntu", noName],
    ["remote", "localhost:5000/bob", noName],
    ["remote", "localhost:5000", ext("localhost", "5000")],
    ["remote", "", { err: "empty image name", kind: "local image" }],
    ["remote", "image:latest", { err: "ambiguous value: valid as both local and remote image name" }]
  ]
  rows.forEach(([how, input, expected], i) =>
    it(`#${i + 1} ${how} ${JSON.stringify(input)}`, () =>
      expectImage(input, how === "neuro" ? Image.parseNeuroImage(PP, input) : Image.parseRemoteImage(PP, input), expected)))

  it("#7 #11 variants; #6 string forms (FIXED: the registry is kept)", () => {
    expectImage("ubuntu:latest", Image.parseRemoteImage(PP, "ubuntu:latest"), ext("ubuntu", "latest"))
    expectImage("localhost:5000/", Image.parseRemoteImage(PP, "localhost:5000/"), noName)
    const six = Either.getOrThrow(Image.parseRemoteImage(PP, "example.com:9999/bob/library/ubuntu:v10.04"))
    assert.strictEqual(six.toString(), "example.com:9999/bob/library/ubuntu:v10.04")
    assert.strictEqual(six.asDockerUrl(), "example.com:9999/bob/library/ubuntu:v10.04")
  })
})

describe("I9 conversions", () => {
  const local = (name: string, tag?: string) => new Image.LocalImage({ name, ...(tag !== undefined ? { tag } : {}) })
  it("#1 remote to local", () => {
    const remote = Image.RemoteImage.newNeuroImage("ubuntu", "reg.com", { owner: "artem", clusterName: "default", orgName: null, tag: "latest" })
    assert.deepStrictEqual(Image.remoteToLocalImage(remote), local("ubuntu", "latest"))
  })
  const rows: ReadonlyArray<readonly [Image.ImageParser, Image.LocalImage, Fields]> = [
    [P, local("ubuntu", "latest"), neuro("ubuntu", "latest", "alice")],
    [PO, local("ubuntu", "latest"), neuro("ubuntu", "latest", "alice", "default", "reg.neu.ro", "test-org")],
    [P, local("reg.neu.ro/bob/ubuntu", "v20.04"), neuro("ubuntu", "v20.04", "bob")],
    [P, local("reg.neu.ro/ubuntu", "v20.04"), neuro("ubuntu", "v20.04", "alice")],
    [P, local("reg.neu.ro/", "v20.04"), neuro("reg.neu.ro/", "v20.04", "alice")],
    [P, local("example.org/bob/lib/x"), neuro("lib/x", undefined, "bob", "another", "example.org")],
    [P, local("library/ubuntu", "v1"), neuro("library/ubuntu", "v1", "alice")]
  ]
  rows.forEach(([parser, image, expected], i) =>
    it(`#${i + 2} ${image.toString()}`, () => expectImage(image.toString(), Image.localToRemoteImage(parser, image), expected)))

  it("#9 FIXED: a registry-qualified name that spells the org is not doubled", () => {
    const parser = Either.getOrThrow(Image.makeImageParser({
      username: "user",
      clusterName: "default",
      orgName: "myorg",
      registryUrls: [["default", "https://registry-dev.neu.ro"]]
    }))
    const r = Either.getOrThrow(Image.localToRemoteImage(parser, local("registry-dev.neu.ro/myorg/bob/ubuntu", "v1")))
    assert.deepStrictEqual(fieldsOf(r), neuro("ubuntu", "v1", "bob", "default", "registry-dev.neu.ro", "myorg"))
    assert.strictEqual(r.toString(), "image://default/myorg/bob/ubuntu:v1")
    // and a registry-qualified name without the org is read as parseRemoteImage reads it: no org
    const plain = Either.getOrThrow(Image.localToRemoteImage(parser, local("registry-dev.neu.ro/bob/ubuntu", "v1")))
    assert.deepStrictEqual(fieldsOf(plain), fieldsOf(Either.getOrThrow(Image.parseRemoteImage(parser, "registry-dev.neu.ro/bob/ubuntu:v1"))))
  })
})

describe("I10 RemoteImage rendering", () => {
  const mk = Image.RemoteImage.newNeuroImage
  const rows: ReadonlyArray<readonly [Image.RemoteImage, string | undefined, string]> = [
    [mk("ubuntu", "registry.io", { owner: "me", clusterName: "test-cluster", orgName: null }), "image://test-cluster/me/ubuntu", "registry.io/me/ubuntu"],
    [mk("ubuntu", "registry.io", { owner: "me", clusterName: "test-cluster", orgName: null, tag: "v10.04" }), "image://test-cluster/me/ubuntu:v10.04", "registry.io/me/ubuntu:v10.04"],
    [
      mk("image#%2d?ß", "registry.io", { owner: "me", clusterName: "test-cluster", orgName: null, tag: "tag#%2d?ß" }),
      "image://test-cluster/me/image%23%252d%3F%C3%9F:tag%23%252d%3F%C3%9F",
      "registry.io/me/image#%2d?ß:tag#%2d?ß"
    ],
    [Image.RemoteImage.newExternalImage("ubuntu"), "ubuntu", "ubuntu"],
    [Image.RemoteImage.newExternalImage("ubuntu", undefined, { tag: "v10.04" }), "ubuntu:v10.04", "ubuntu:v10.04"],
    [new Image.RemoteImage({ name: "ubuntu", tag: "v10.04", owner: "me", clusterName: "test-cluster", registry: "registry.io" }), undefined, "registry.io/me/ubuntu:v10.04"],
    [new Image.RemoteImage({ name: "ubuntu", tag: "v10.04" }), undefined, "ubuntu:v10.04"],
    [mk("ubuntu", "reg.io", { owner: "me", clusterName: "c", orgName: "org", tag: "v1" }), "image://c/org/me/ubuntu:v1", "reg.io/org/me/ubuntu:v1"],
    [new Image.RemoteImage({ name: "ubuntu", tag: "", owner: "me", clusterName: "c", registry: "reg.io", orgName: "" }), "image://c/me/ubuntu", "reg.io/me/ubuntu"],
    // FIXED: neuro-sdk drops the registry of external images (`ubuntu:v10.04` for both)
    [Image.RemoteImage.newExternalImage("ubuntu", "docker.io", { tag: "v10.04" }), "docker.io/ubuntu:v10.04", "docker.io/ubuntu:v10.04"],
    [mk("", "reg", { owner: "me", clusterName: "default", orgName: null }), "image://default/me/", "reg/me/"],
    [mk("a b", "r", { owner: "o w", clusterName: "Cl", orgName: null, tag: "t" }), "image://cl/o%20w/a%20b:t", "r/o w/a b:t"]
  ]
  rows.forEach(([image, str, docker], i) =>
    it(`#${i + 1} ${docker}`, () => {
      if (str !== undefined) assert.strictEqual(image.toString(), str)
      assert.strictEqual(image.asDockerUrl(), docker)
    }))

  it("#8 with scheme; #13 LocalImage", () => {
    assert.strictEqual(mk("ubuntu", "reg.io", { owner: "me", clusterName: "c", orgName: "org", tag: "v1" }).asDockerUrl({ withScheme: true }), "https://reg.io/org/me/ubuntu:v1")
    assert.strictEqual(new Image.LocalImage({ name: "ubuntu" }).toString(), "ubuntu")
    assert.strictEqual(new Image.LocalImage({ name: "ubuntu", tag: "" }).toString(), "ubuntu")
    assert.strictEqual(new Image.LocalImage({ name: "ubuntu", tag: "v1" }).toString(), "ubuntu:v1")
  })

  it("construction errors", () => {
    const fails = (fields: ConstructorParameters<typeof Image.RemoteImage>[0], message: string) =>
      assert.throws(() => new Image.RemoteImage(fields), message)
    fails({ name: "x", owner: "me", registry: "reg.io" }, "required cluster name")
    fails({ name: "x", clusterName: "c", registry: "reg.io" }, "required owner")
    fails({ name: "x", owner: "me" }, "required registry")
    fails({ name: "x", clusterName: "c" }, "required registry")
    fails({ name: "x", owner: "me", clusterName: "c" }, "required registry")
    assert.isTrue(Image.RemoteImage.newNeuroImage("x", "r", { owner: "o", clusterName: "c", orgName: null }).isInNeuroRegistry)
    assert.isFalse(Image.RemoteImage.newExternalImage("x", "r").isInNeuroRegistry)
  })
})

describe("I12 parse_remote odds and ends", () => {
  it("rows", () => {
    expectImage("UPPER/ubuntu", Image.parseRemoteImage(P, "UPPER/ubuntu"), ext("UPPER/ubuntu", "latest"))
    const two = Either.getOrThrow(Image.parseRemoteImage(P, "Registry.IO:5000/ubuntu"))
    assert.deepStrictEqual(fieldsOf(two), ext("ubuntu", "latest", "Registry.IO:5000"))
    // FIXED: neuro-sdk renders `ubuntu:latest`
    assert.strictEqual(two.toString(), "Registry.IO:5000/ubuntu:latest")
    expectImage("ubuntu@sha256:abc", Image.parseRemoteImage(PP, "ubuntu@sha256:abc"), { err: IMG_NAME_ERR, kind: "local image" })
    expectImage("image:ubuntu", Image.parseRemoteImage(P, "image:ubuntu"), neuro("ubuntu", "latest", "alice"))
  })
})
