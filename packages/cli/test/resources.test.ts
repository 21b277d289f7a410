import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import { join } from "node:path"
import type { Harness } from "./helpers.js"
import { start } from "./helpers.js"

describe("neuro secret, disk, service-account, acl/share, image, blob", () => {
  let h: Harness
  beforeAll(async () => {
    h = await start({ users: ["user", "friend"] })
    await h.login("user")
  })
  afterAll(() => h.close())

  it("secret add (value and @file), ls, -q ls, rm", async () => {
    fs.writeFileSync(join(h.work, "secret.txt"), "from-file")
    assert.strictEqual((await h.neuro(["secret", "add", "k1", "value1"])).code, 0)
    const fromFile = await h.neuro(["secret", "add", "k2", "@secret.txt"])
    assert.strictEqual(fromFile.code, 0, fromFile.stderr)
    const ls = await h.neuro(["secret", "ls"])
    assert.strictEqual(ls.stdout, "Key  Org     Uri\nk1   NO_ORG  secret:k1\nk2   NO_ORG  secret:k2\n")
    assert.strictEqual((await h.neuro(["-q", "secret", "ls"])).stdout, "k1\nk2\n")
    // the value reaches a job through secret: env
    const run = await h.neuro(["-q", "run", "-e", "S=secret:k2", "ubuntu", "--", "sh", "-c", "echo $S"])
    assert.strictEqual(run.stdout, "from-file\n", run.stderr)
    assert.strictEqual((await h.neuro(["secret", "rm", "k1"])).code, 0)
    assert.strictEqual((await h.neuro(["-q", "secret", "ls"])).stdout, "k2\n")
    const missing = await h.neuro(["secret", "rm", "k1"])
    assert.strictEqual(missing.code, 72)
    assert.match(missing.stderr, /^ERROR: Not found/)
    const noFile = await h.neuro(["secret", "add", "k3", "@absent.txt"])
    assert.strictEqual(noFile.code, 127)
  })

  it("disk create, ls, get, rm", async () => {
    const create = await h.neuro(["disk", "create", "2G", "--name", "disk-one", "--timeout-unused", "2h"])
    assert.strictEqual(create.code, 0, create.stderr)
    const id = /^Id\s+(disk-[0-9a-f-]+)$/m.exec(create.stdout)![1]!
    assert.match(create.stdout, /^Storage\s+2\.0 GB$/m)
    assert.match(create.stdout, /^Name\s+disk-one$/m)
    assert.match(create.stdout, /^Timeout unused\s+2h$/m)
    const ls = await h.neuro(["disk", "ls"])
    assert.match(ls.stdout, /^Id\s+Name\s+Storage\s+Used\s+Uri\s+Status\n/)
    assert.match(ls.stdout, new RegExp(`^${id}\\s+disk-one\\s+2\\.0 GB\\s+`, "m"))
    const get = await h.neuro(["disk", "get", "disk-one"])
    assert.match(get.stdout, new RegExp(`^Id\\s+${id}$`, "m"))
    assert.strictEqual((await h.neuro(["disk", "create", "lots"])).code, 127)
    assert.strictEqual((await h.neuro(["disk", "rm", id])).code, 0)
    assert.strictEqual((await h.neuro(["-q", "disk", "ls"])).stdout, "")
  })

  it("service-account create (token usable by login-with-token), ls, get, rm", async () => {
    const create = await h.neuro(["service-account", "create", "--name", "robot"])
    assert.strictEqual(create.code, 0, create.stderr)
    assert.match(create.stdout, /^Name\s+robot$/m)
    const token = /login-with-token\):\n\n(\S+)\n/.exec(create.stdout)?.[1]
    assert.isDefined(token, create.stdout)
    assert.match((await h.neuro(["service-account", "ls"])).stdout, /^service-account-\S+\s+robot\s+/m)
    assert.match((await h.neuro(["service-account", "get", "robot"])).stdout, /^Role\s+user\/service-accounts\/robot$/m)
    const other = fs.mkdtempSync(join(h.root, "sa-"))
    const login = await h.neuro(["config", "login-with-token", token!, h.platform.apiUrl.toString()], { env: { NEUROMATION_CONFIG: other } })
    assert.strictEqual(login.code, 0, login.stderr)
    assert.include(login.stdout, "as user/service-accounts/robot")
    const rm = await h.neuro(["service-account", "rm", "robot"])
    assert.strictEqual(rm.stdout, "Service account 'robot' was successfully removed.\n")
  })

  it("share / acl grant, acl ls (--shared), acl revoke", async () => {
    assert.strictEqual((await h.neuro(["mkdir", "-p", "storage:shared-dir"])).code, 0)
    const share = await h.neuro(["share", "storage:shared-dir", "friend", "read"])
    assert.strictEqual(share.code, 0, share.stderr)
    const shared = await h.neuro(["acl", "ls", "--shared"])
    assert.match(shared.stdout, /^storage:shared-dir\s+read\s+friend$/m)
    const mine = await h.neuro(["acl", "list"])
    assert.match(mine.stdout, /^storage:\s+manage$/m)
    assert.strictEqual((await h.neuro(["acl", "revoke", "storage:shared-dir", "friend"])).code, 0)
    assert.notMatch((await h.neuro(["acl", "ls", "--shared"])).stdout, /friend/)
    const bad = await h.neuro(["acl", "grant", "storage:shared-dir", "friend", "own"])
    assert.strictEqual(bad.code, 2)
  })

  it("image: ls of an empty registry, errors of tags/size, push and pull without a Docker engine", async () => {
    const ls = await h.neuro(["image", "ls"])
    assert.strictEqual(ls.code, 0, ls.stderr)
    assert.strictEqual(ls.stdout, "")
    const tags = await h.neuro(["image", "tags", "image:nothing"])
    assert.strictEqual(tags.code, 72)
    assert.match(tags.stderr, /^ERROR: Not found/)
    const noDocker = { DOCKER_HOST: `unix://${join(h.root, "no-docker.sock")}` }
    const push = await h.neuro(["push", "ubuntu:latest"], { env: noDocker })
    assert.strictEqual(push.code, 76)
    assert.match(push.stderr, /^ERROR: Docker API error: /)
    assert.strictEqual(push.stderr.split("\n").length, 2, "one line")
    const pull = await h.neuro(["image", "pull", "image:ubuntu:latest"], { env: noDocker })
    assert.notStrictEqual(pull.code, 0)
    assert.match(pull.stderr, /^ERROR: /)
  })

  it("blob: mkbucket, lsbucket, statbucket, cp up and down, ls, glob, du, sign-url, set-bucket-publicity, credentials, rm, rmbucket, importbucket", async () => {
    const mk = await h.neuro(["blob", "mkbucket", "--name", "bkt1"])
    assert.strictEqual(mk.code, 0, mk.stderr)
    assert.match(mk.stdout, /^Name\s+bkt1$/m)
    assert.match((await h.neuro(["blob", "lsbucket"])).stdout, /^bucket-\S+\s+bkt1\s+\S+\s+blob:bkt1$/m)
    fs.mkdirSync(join(h.work, "blobs", "sub"), { recursive: true })
    fs.writeFileSync(join(h.work, "blobs", "a.txt"), "A")
    fs.writeFileSync(join(h.work, "blobs", "sub", "b.txt"), "BB")
    const up = await h.neuro(["blob", "cp", "-r", "blobs", "blob:bkt1/data"])
    assert.strictEqual(up.code, 0, up.stderr)
    assert.strictEqual((await h.neuro(["blob", "glob", "blob:bkt1/**/*.txt"])).stdout, "blob:bkt1/data/a.txt\nblob:bkt1/data/sub/b.txt\n")
    assert.match((await h.neuro(["blob", "ls", "-l", "-r", "blob:bkt1"])).stdout, /^-\s+2\s+\S+ \S+\s+blob:bkt1\/data\/sub\/b\.txt$/m)
    const down = await h.neuro(["blob", "cp", "-r", "blob:bkt1/data", "blobs-back"])
    assert.strictEqual(down.code, 0, down.stderr)
    assert.strictEqual(fs.readFileSync(join(h.work, "blobs-back", "sub", "b.txt"), "utf8"), "BB")
    const du = await h.neuro(["blob", "du", "bkt1"])
    assert.match(du.stdout, /^Calculating bucket bkt1 disk usage\nTotal size: 3 Bytes\nTotal objects count: \d+\n$/)
    const signed = await h.neuro(["blob", "sign-url", "--expires", "10m", "blob:bkt1/data/a.txt"])
    assert.strictEqual(signed.code, 0, signed.stderr)
    assert.strictEqual(await (await fetch(signed.stdout.trim())).text(), "A")
    assert.strictEqual((await h.neuro(["blob", "set-bucket-publicity", "bkt1", "public"])).stdout, "Bucket bkt1 was made public\n")
    assert.match((await h.neuro(["blob", "statbucket", "bkt1"])).stdout, /^Public\s+True$/m)
    const cred = await h.neuro(["blob", "mkcredentials", "--name", "cred1", "bkt1"])
    assert.strictEqual(cred.code, 0, cred.stderr)
    assert.match((await h.neuro(["blob", "lscredentials"])).stdout, /^bucket-credentials-\S+\s+cred1\s+/m)
    assert.strictEqual((await h.neuro(["blob", "rmcredentials", "cred1"])).code, 0)
    const rm = await h.neuro(["blob", "rm", "-r", "blob:bkt1/data"])
    assert.strictEqual(rm.code, 0, rm.stderr)
    assert.strictEqual((await h.neuro(["blob", "ls", "blob:bkt1"])).stdout, "")
    assert.strictEqual((await h.neuro(["blob", "rmbucket", "bkt1"])).code, 0)
    assert.strictEqual((await h.neuro(["-q", "blob", "lsbucket"])).stdout, "")
    const imported = await h.neuro([
      "blob", "importbucket", "--provider", "aws", "--provider-bucket-name", "their-bucket", "--name", "ext1",
      "--aws-access-key-id", "AKIDEXAMPLE", "--aws-secret-access-key", "not-a-real-secret"
    ])
    assert.strictEqual(imported.code, 0, imported.stderr)
    assert.match(imported.stdout, /^Name\s+ext1$/m)
    assert.match(imported.stdout, /^Provider\s+aws$/m)
    assert.match(imported.stdout, /^Imported\s+True$/m)
    assert.notInclude(imported.stdout + imported.stderr, "not-a-real-secret")
    assert.match((await h.neuro(["blob", "lsbucket"])).stdout, /^bucket-\S+\s+ext1\s+/m)
    assert.strictEqual((await h.neuro(["blob", "rmbucket", "ext1"])).code, 0)
  })
})
