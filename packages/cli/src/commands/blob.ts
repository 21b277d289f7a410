/**
 * `neuro blob ...`: buckets (lsbucket, mkbucket, importbucket, statbucket, rmbucket,
 * set-bucket-publicity, du), their objects (ls, cp, glob, rm, sign-url) and persistent credentials
 * (lscredentials, mkcredentials, statcredentials, rmcredentials).
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { Bucket, BucketEntry, BucketProvider, PersistentBucketCredentials } from "@neuro-sdk/core/Buckets"
import { Buckets } from "@neuro-sdk/core/Buckets"
import { Parser } from "@neuro-sdk/core/Parser"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { filterRules } from "../argv.js"
import { CliExit, EX, usageError, valueError } from "../output/errors.js"
import { formatLocalTime, formatSize, formatWhen, parseDuration } from "../output/format.js"
import * as Progress from "../output/progress.js"
import * as Table from "../output/table.js"
import { print, printErr, TermTag, verbose } from "../output/term.js"
import { flagOnByDefault, globals, withClient } from "../root.js"
import { isStreamPath, noOptions, removeOptions, uriFormatter } from "./common.js"
import { orgOption } from "./secrets.js"

const cluster = Options.text("cluster").pipe(Options.optional, Options.withDescription("Perform on a specified cluster (the current cluster by default)."))
const owner = Options.text("owner").pipe(Options.optional, Options.withDescription("Owner of the bucket (the current user by default)."))
const fullUri = Options.boolean("full-uri").pipe(Options.withDescription("Output full bucket URI."))
const org = Options.text("org").pipe(Options.optional, Options.withDescription("Perform in a specified org (the current org by default; NO_ORG for none)."))

const lookup = (o: { readonly cluster: Option.Option<string>; readonly owner?: Option.Option<string> }) => ({
  clusterName: Option.getOrUndefined(o.cluster),
  ...(o.owner !== undefined && Option.isSome(o.owner) ? { bucketOwner: o.owner.value } : {})
})

const blobUri = (text: string) => Effect.flatMap(Parser, (p) => p.strToUri(text, { allowedSchemes: ["blob"] }))
const anyUri = (text: string) => Effect.flatMap(Parser, (p) => p.strToUri(text, { allowedSchemes: ["file", "blob"] }))

const bucketLines = (bucket: Bucket, full: boolean) =>
  Effect.gen(function*() {
    const fmt = yield* uriFormatter(full)
    const g = yield* globals
    const term = yield* TermTag
    return Table.keyValues([
      ["Id", bucket.id],
      ["Uri", yield* fmt(bucket.uri)],
      ...(bucket.name !== null ? [["Name", bucket.name] as const] : []),
      ["Org name", bucket.orgName ?? "NO_ORG"],
      ["Created at", formatWhen(bucket.createdAt, g.isoDatetime)],
      ["Provider", bucket.provider],
      ["Imported", bucket.imported ? "True" : "False"],
      ["Public", bucket.public ? "True" : "False"]
    ], term)
  })

// ---------------------------------------------------------------------------------------------
// buckets
// ---------------------------------------------------------------------------------------------

const lsbucket = Command.make(
  "lsbucket",
  { cluster, fullUri, long: Options.boolean("long-format").pipe(Options.withDescription("Output all info about bucket.")) },
  (o) =>
    withClient(Effect.gen(function*() {
      const term = yield* TermTag
      const g = yield* globals
      const list = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.unwrap(Effect.map(Buckets, (b) => b.list({ clusterName: Option.getOrUndefined(o.cluster) })))))
      if (term.verbosity < 0) {
        for (const b of list) yield* print(b.id)
        return
      }
      const fmt = yield* uriFormatter(o.fullUri)
      const rows: Array<Array<string>> = []
      for (const b of list) {
        rows.push([b.id, b.name ?? "", b.provider, yield* fmt(b.uri), ...(o.long ? [b.orgName ?? "NO_ORG", formatWhen(b.createdAt, g.isoDatetime), b.public ? "√" : "×"] : [])])
      }
      const columns = ["Id", "Name", "Provider", "Uri", ...(o.long ? ["Org name", "Created at", "Public"] : [])].map((title) => ({ title }))
      for (const line of Table.render(columns, rows, { width: term.width, term })) yield* print(line)
    }))
).pipe(Command.withDescription("List buckets."))

const mkbucket = Command.make("mkbucket", { cluster, org, name: Options.text("name").pipe(Options.optional, Options.withDescription("Optional bucket name.")) }, (o) =>
  withClient(Effect.gen(function*() {
    const bucket = yield* Effect.flatMap(Buckets, (b) => b.create({ clusterName: Option.getOrUndefined(o.cluster), name: Option.getOrUndefined(o.name), ...orgOption(o.org) }))
    for (const line of yield* bucketLines(bucket, true)) yield* print(line)
  }))).pipe(Command.withDescription("Create a new bucket."))

const PROVIDER_KEYS: Record<string, ReadonlyArray<readonly [string, string]>> = {
  aws: [["aws-access-key-id", "access_key_id"], ["aws-secret-access-key", "secret_access_key"], ["aws-region-name", "region_name"], ["aws-endpoint-url", "endpoint_url"]],
  azure: [["azure-storage-account-url", "storage_endpoint"], ["azure-storage-sas-token", "sas_token"], ["azure-storage-credential", "credential"]],
  gcp: [["gcp-sa-credential", "key_data"]]
}

const importbucket = Command.make(
  "importbucket",
  {
    cluster,
    org,
    name: Options.text("name").pipe(Options.optional, Options.withDescription("Optional bucket name.")),
    provider: Options.choice("provider", ["aws", "azure", "gcp"]).pipe(Options.withDescription("Bucket provider that hosts the bucket.")),
    providerBucketName: Options.text("provider-bucket-name").pipe(Options.withDescription("Name of the bucket inside the provider.")),
    awsAccessKeyId: Options.text("aws-access-key-id").pipe(Options.optional),
    awsSecretAccessKey: Options.text("aws-secret-access-key").pipe(Options.optional),
    awsRegionName: Options.text("aws-region-name").pipe(Options.optional),
    awsEndpointUrl: Options.text("aws-endpoint-url").pipe(Options.optional),
    azureStorageAccountUrl: Options.text("azure-storage-account-url").pipe(Options.optional),
    azureStorageSasToken: Options.text("azure-storage-sas-token").pipe(Options.optional),
    azureStorageCredential: Options.text("azure-storage-credential").pipe(Options.optional),
    gcpSaCredential: Options.text("gcp-sa-credential").pipe(Options.optional)
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const given: Record<string, Option.Option<string>> = {
        "aws-access-key-id": o.awsAccessKeyId,
        "aws-secret-access-key": o.awsSecretAccessKey,
        "aws-region-name": o.awsRegionName,
        "aws-endpoint-url": o.awsEndpointUrl,
        "azure-storage-account-url": o.azureStorageAccountUrl,
        "azure-storage-sas-token": o.azureStorageSasToken,
        "azure-storage-credential": o.azureStorageCredential,
        "gcp-sa-credential": o.gcpSaCredential
      }
      const credentials: Record<string, Redacted.Redacted<string>> = {}
      for (const [flag, key] of PROVIDER_KEYS[o.provider]!) {
        const value = given[flag]!
        if (Option.isSome(value)) credentials[key] = Redacted.make(value.value)
      }
      const bucket = yield* Effect.flatMap(Buckets, (b) =>
        b.importExternal(o.provider as BucketProvider, o.providerBucketName, credentials, {
          clusterName: Option.getOrUndefined(o.cluster),
          name: Option.getOrUndefined(o.name),
          ...orgOption(o.org)
        }))
      for (const line of yield* bucketLines(bucket, true)) yield* print(line)
    }))
).pipe(Command.withDescription("Import an existing bucket of a provider (aws, azure, gcp)."))

const statbucket = Command.make("statbucket", { cluster, owner, fullUri, bucket: Args.text({ name: "BUCKET" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const bucket = yield* Effect.flatMap(Buckets, (b) => b.get(o.bucket, lookup(o)))
    for (const line of yield* bucketLines(bucket, o.fullUri)) yield* print(line)
  }))).pipe(Command.withDescription("Get bucket BUCKET."))

const du = Command.make("du", { cluster, owner, bucket: Args.text({ name: "BUCKET" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const buckets = yield* Buckets
    const bucket = yield* buckets.get(o.bucket, lookup(o))
    const last = yield* Stream.runLast(buckets.getDiskUsage(o.bucket, lookup(o)))
    const usage = Option.getOrUndefined(last)
    yield* print(`Calculating bucket ${bucket.name ?? bucket.id} disk usage`)
    yield* print(`Total size: ${formatSize(usage?.totalBytes ?? 0)}`)
    yield* print(`Total objects count: ${usage?.objectCount ?? 0}`)
  }))).pipe(Command.withDescription("Get storage usage for BUCKET."))

const rmbucket = Command.make(
  "rmbucket",
  { cluster, owner, force: Options.boolean("force").pipe(Options.withAlias("f"), Options.withDescription("Remove the bucket even when it is not empty.")), buckets: Args.text({ name: "BUCKETS" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.gen(function*() {
      const buckets = yield* Buckets
      const term = yield* TermTag
      for (const id of o.buckets) {
        if (o.force) {
          const bucket = yield* buckets.get(id, lookup(o))
          yield* buckets.blobRm(bucket.uri, { recursive: true })
        }
        yield* buckets.rm(id, lookup(o))
        if (term.verbosity >= 0) yield* print(`Bucket with id '${id}' was successfully removed.`)
      }
    }))
).pipe(Command.withDescription("Remove buckets (-f: with their content)."))

const setPublicity = Command.make(
  "set-bucket-publicity",
  { cluster, owner, bucket: Args.text({ name: "BUCKET" }), level: Args.choice([["public", true], ["private", false]] as const, { name: "PUBLIC_LEVEL" }) },
  (o) =>
    withClient(Effect.gen(function*() {
      yield* Effect.flatMap(Buckets, (b) => b.setPublicAccess(o.bucket, o.level, lookup(o)))
      yield* print(`Bucket ${o.bucket} was made ${o.level ? "public" : "private"}`)
    }))
).pipe(Command.withDescription("Change public access settings for BUCKET (public or private)."))

// ---------------------------------------------------------------------------------------------
// objects
// ---------------------------------------------------------------------------------------------

const entryLine = (entry: BucketEntry, long: boolean, human: boolean, fmt: (u: URL) => Effect.Effect<string>) =>
  Effect.gen(function*() {
    const name = yield* fmt(entry.uri)
    if (!long) return [name]
    const dir = entry._tag === "BlobCommonPrefix" || entry.isDir()
    const size = human ? formatSize(entry.size).replace(/B$/, "").replace(/ Bytes?$/, "") : String(entry.size)
    return [dir ? "d" : "-", size, entry.modifiedAt !== null ? formatLocalTime(entry.modifiedAt) : "", name]
  })

const ls = Command.make(
  "ls",
  {
    paths: Args.text({ name: "PATHS" }).pipe(Args.repeated),
    long: Options.boolean("l").pipe(Options.withDescription("Use a long listing format.")),
    human: Options.boolean("human-readable").pipe(Options.withDescription("With -l print human readable sizes (-h works too).")),
    recursive: Options.boolean("recursive").pipe(Options.withAlias("r"), Options.withDescription("List all keys under the URL recursively.")),
    fullUri
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const buckets = yield* Buckets
      const term = yield* TermTag
      yield* noOptions(o.paths)
      const fmt = yield* uriFormatter(o.fullUri)
      const rows: Array<Array<string>> = []
      if (o.paths.length === 0) {
        for (const b of Chunk.toReadonlyArray(yield* Stream.runCollect(buckets.list()))) {
          const name = yield* fmt(b.uri)
          rows.push(o.long ? ["b", "", formatLocalTime(b.createdAt), name] : [name])
        }
      }
      for (const text of o.paths) {
        const uri = yield* blobUri(text)
        yield* verbose(`List of ${uri.href}:`)
        yield* Stream.runForEach(buckets.listBlobs(uri, { recursive: o.recursive }), (entry) =>
          Effect.map(entryLine(entry, o.long, o.human, fmt), (row) => void rows.push(row)))
      }
      const columns = (rows[0] ?? []).map((_, i) => ({ title: "", align: o.long && i === 1 ? "right" as const : "left" as const }))
      for (const line of Table.render(columns, rows, { header: false })) yield* print(line)
      void term
    }))
).pipe(Command.withDescription("List buckets (no PATHS) or bucket contents (blob:BUCKET/PREFIX)."))

const glob = Command.make("glob", { fullUri, patterns: Args.text({ name: "PATTERNS" }).pipe(Args.repeated) }, (o) =>
  withClient(Effect.gen(function*() {
    const buckets = yield* Buckets
    const fmt = yield* uriFormatter(o.fullUri)
    for (const text of o.patterns) {
      const uri = yield* blobUri(text)
      yield* Stream.runForEach(buckets.globBlobs(uri), (entry) => Effect.flatMap(fmt(entry.uri), print))
    }
  }))).pipe(Command.withDescription("List resources that match PATTERNS."))

const rm = Command.make(
  "rm",
  removeOptions,
  (o) =>
    withClient(Effect.gen(function*() {
      const buckets = yield* Buckets
      const term = yield* TermTag
      yield* noOptions(o.paths)
      const show = Option.getOrElse(o.progress, () => term.tty)
      let failed = false
      for (const text of o.paths) {
        const uri = yield* blobUri(text)
        const uris = o.glob && /[*?[]/.test(decodeURIComponent(uri.pathname))
          ? Chunk.toReadonlyArray(yield* Stream.runCollect(buckets.globBlobs(uri))).map((e) => e.uri)
          : [uri]
        for (const target of uris) {
          const result = yield* Effect.either(buckets.blobRm(target, {
            recursive: o.recursive,
            progress: show ? (event) => Effect.sync(() => event._tag === "StorageProgressDelete" && term.out(`Removed: ${event.uri.href}\n`)) : undefined
          }))
          if (Either.isLeft(result)) {
            yield* printErr(`ERROR: cannot remove ${target.href}: ${result.left.message}`)
            failed = true
          } else yield* verbose(`removed ${target.href}`)
        }
      }
      if (failed) return yield* Effect.fail(new CliExit({ code: EX.OSFILE }))
    }))
).pipe(Command.withDescription("Remove blobs from bucket."))

const lastSegment = (uri: URL) => decodeURIComponent(uri.pathname).split("/").filter((p) => p !== "").pop() ?? ""
const childUri = (dir: URL, name: string) => new URL(dir.href.replace(/\/?$/, "/") + encodeURIComponent(name))

const cp = Command.make(
  "cp",
  {
    paths: Args.text({ name: "SOURCES... DESTINATION" }).pipe(Args.repeated),
    recursive: Options.boolean("recursive").pipe(Options.withAlias("r"), Options.withDescription("Recursive copy, off by default.")),
    targetDir: Options.text("target-directory").pipe(Options.withAlias("t"), Options.optional, Options.withDescription("Copy all SOURCES into DIRECTORY.")),
    noTargetDir: Options.boolean("no-target-directory").pipe(Options.withAlias("T"), Options.withDescription("Treat DESTINATION as a normal file.")),
    update: Options.boolean("update").pipe(Options.withAlias("u"), Options.withDescription("Copy only when the SOURCE file is newer than the destination file or when the destination file is missing.")),
    continue: Options.boolean("continue").pipe(Options.withAlias("c"), Options.withDescription("Continue copying partially-copied files (downloads).")),
    exclude: Options.text("exclude").pipe(Options.repeated, Options.withDescription("Exclude files and directories that match the pattern.")),
    include: Options.text("include").pipe(Options.repeated, Options.withDescription("Don't exclude files and directories that match the pattern.")),
    progress: flagOnByDefault("progress", "Show progress, on by default in TTY mode (-p/-P).")
  },
  (o) =>
    withClient(Effect.gen(function*() {
      const buckets = yield* Buckets
      const parser = yield* Parser
      const term = yield* TermTag
      yield* noOptions(o.paths)
      if (Option.isSome(o.targetDir) && o.noTargetDir) return yield* Effect.fail(usageError("Cannot combine --target-directory (-t) and --no-target-directory (-T)"))
      const sourcesText = Option.isSome(o.targetDir) ? o.paths : o.paths.slice(0, -1)
      const destText = Option.isSome(o.targetDir) ? o.targetDir.value : o.paths[o.paths.length - 1]
      if (destText === undefined || sourcesText.length === 0) return yield* Effect.fail(usageError("Missing argument SOURCES... DESTINATION"))
      const destination = yield* anyUri(destText)
      const isDir = (u: URL) =>
        u.protocol === "file:"
          ? Effect.map(parser.uriToPath(u), (p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false)
          : Effect.orElseSucceed(buckets.blobIsDir(u), () => false)
      const intoDir = Option.isSome(o.targetDir) || (!o.noTargetDir && (yield* isDir(destination)))
      let filter: ((p: string) => Effect.Effect<boolean>) | undefined
      const rules = filterRules()
      if (rules.length > 0) {
        const FileFilter = yield* Effect.promise(() => import("@neuro-sdk/core/FileFilter"))
        let f = FileFilter.make()
        for (const r of rules) f = yield* FileFilter.append(f, r.exclude, r.pattern)
        filter = FileFilter.toFilterFunc(f)
      }
      let failed = false
      for (const text of sourcesText) {
        const src = yield* anyUri(text)
        const dst = intoDir ? childUri(destination, lastSegment(src)) : destination
        const label = (u: URL) => (u.protocol === "file:" ? decodeURIComponent(u.pathname) : u.href)
        for (const u of [src, dst]) {
          if (u.protocol === "file:" && isStreamPath(yield* parser.uriToPath(u))) {
            return yield* Effect.fail(usageError(`${decodeURIComponent(u.pathname)} is not a regular file: blob cp copies files only`))
          }
        }
        const recursive = o.recursive && (yield* isDir(src))
        const progress = Progress.make(term, { bar: term.tty && o.progress, label, single: !recursive })
        progress.begin(label(src), label(dst))
        const common = { update: o.update, progress: progress.callback }
        const transfer: Effect.Effect<void, unknown> = src.protocol === "file:" && dst.protocol === "blob:"
          ? recursive ? buckets.uploadDir(src, dst, { ...common, filter }) : buckets.uploadFile(src, dst, common)
          : src.protocol === "blob:" && dst.protocol === "file:"
          ? recursive ? buckets.downloadDir(src, dst, { ...common, continue: o.continue, filter }) : buckets.downloadFile(src, dst, { ...common, continue: o.continue })
          : Effect.fail(usageError(`Copy from '${src.protocol}' to '${dst.protocol}' is not supported`))
        const result = yield* Effect.either(Effect.ensuring(transfer, Effect.sync(() => progress.end())))
        if (Either.isLeft(result)) {
          yield* printErr(`ERROR: cannot copy ${src.href} to ${dst.href}: ${(result.left as { message?: string }).message}`)
          failed = true
        }
      }
      if (failed) return yield* Effect.fail(new CliExit({ code: EX.OSFILE }))
    }))
).pipe(Command.withDescription("Copy blobs into and from a bucket (either SOURCES or DESTINATION is a blob: URI)."))

const signUrl = Command.make(
  "sign-url",
  { expires: Options.text("expires").pipe(Options.withDefault("1h"), Options.withDescription("Duration this signature will be valid, '1d2h3m4s'.")), path: Args.text({ name: "PATH" }) },
  (o) =>
    withClient(Effect.gen(function*() {
      const seconds = parseDuration(o.expires)
      if (seconds === undefined) return yield* Effect.fail(valueError(`Could not parse time delta '${o.expires}'`))
      const uri = yield* blobUri(o.path)
      yield* print((yield* Effect.flatMap(Buckets, (b) => b.makeSignedUrl(uri, { expiresInSeconds: seconds }))).href)
    }))
).pipe(Command.withDescription("Make a signed url for a blob."))

// ---------------------------------------------------------------------------------------------
// persistent credentials
// ---------------------------------------------------------------------------------------------

const credentialLines = (c: PersistentBucketCredentials) =>
  Effect.gen(function*() {
    const term = yield* TermTag
    const pairs: Array<readonly [string, string]> = [["Id", c.id], ["Name", c.name ?? ""], ["Read-only", c.readOnly ? "True" : "False"]]
    for (const bc of c.credentials) {
      pairs.push(["Bucket", bc.bucketId], ["Provider", bc.provider])
      for (const [k, v] of Object.entries(bc.credentials)) pairs.push([`  ${k}`, Redacted.value(v)])
    }
    return Table.keyValues(pairs, term)
  })

const lscredentials = Command.make("lscredentials", { cluster }, (o) =>
  withClient(Effect.gen(function*() {
    const term = yield* TermTag
    const list = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.unwrap(Effect.map(Buckets, (b) => b.persistentCredentialsList({ clusterName: Option.getOrUndefined(o.cluster) })))))
    const rows = list.map((c) => [c.id, c.name ?? "", c.readOnly ? "√" : "×", c.credentials.map((x) => x.bucketId).join(", ")])
    const columns = ["Id", "Name", "Read-only", "Buckets"].map((title) => ({ title }))
    for (const line of Table.render(columns, rows, { width: term.width, term })) yield* print(line)
  }))).pipe(Command.withDescription("List bucket credentials."))

const mkcredentials = Command.make(
  "mkcredentials",
  { cluster, name: Options.text("name").pipe(Options.optional), readOnly: Options.boolean("read-only").pipe(Options.withDescription("Make read-only credentials.")), buckets: Args.text({ name: "BUCKETS" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.gen(function*() {
      const buckets = yield* Buckets
      const ids: Array<string> = []
      for (const b of o.buckets) ids.push((yield* buckets.get(b, { clusterName: Option.getOrUndefined(o.cluster) })).id)
      const c = yield* buckets.persistentCredentialsCreate(ids, { clusterName: Option.getOrUndefined(o.cluster), name: Option.getOrUndefined(o.name), readOnly: o.readOnly })
      for (const line of yield* credentialLines(c)) yield* print(line)
    }))
).pipe(Command.withDescription("Create a new persistent credentials for given BUCKETS."))

const statcredentials = Command.make("statcredentials", { cluster, credential: Args.text({ name: "BUCKET_CREDENTIAL" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const c = yield* Effect.flatMap(Buckets, (b) => b.persistentCredentialsGet(o.credential, { clusterName: Option.getOrUndefined(o.cluster) }))
    for (const line of yield* credentialLines(c)) yield* print(line)
  }))).pipe(Command.withDescription("Get bucket credential BUCKET_CREDENTIAL."))

const rmcredentials = Command.make("rmcredentials", { cluster, credentials: Args.text({ name: "CREDENTIALS" }).pipe(Args.atLeast(1)) }, (o) =>
  withClient(Effect.gen(function*() {
    const buckets = yield* Buckets
    const term = yield* TermTag
    for (const c of o.credentials) {
      yield* buckets.persistentCredentialsRm(c, { clusterName: Option.getOrUndefined(o.cluster) })
      if (term.verbosity >= 0) yield* print(`Bucket credentials with id '${c}' were successfully removed.`)
    }
  }))).pipe(Command.withDescription("Remove bucket credentials."))

/**
 * @since 1.0.0
 * @category commands
 */
export const blobCommand = Command.make("blob").pipe(
  Command.withDescription("Blob storage operations."),
  Command.withSubcommands([
    lsbucket, mkbucket, importbucket, statbucket, rmbucket, setPublicity, du,
    lscredentials, mkcredentials, statcredentials, rmcredentials,
    cp, ls, glob, rm, signUrl
  ])
)
