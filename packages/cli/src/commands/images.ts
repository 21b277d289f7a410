/**
 * `neuro image ls|tags|size|digest|rm|push|pull` and the `images`, `push`, `pull` shortcuts.
 *
 * @since 1.0.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Config } from "@neuro-sdk/core/Config"
import type { TagOption } from "@neuro-sdk/core/Image"
import { RemoteImage } from "@neuro-sdk/core/Image"
import { Images } from "@neuro-sdk/core/Images"
import { Parser } from "@neuro-sdk/core/Parser"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { valueError } from "../output/errors.js"
import { formatSize } from "../output/format.js"
import * as Table from "../output/table.js"
import { print, TermTag } from "../output/term.js"
import { withClient } from "../root.js"

const remote = (text: string, tagOption?: TagOption) =>
  Effect.flatMap(Parser, (p) => p.remoteImage(text, tagOption !== undefined ? { tagOption } : {}))

/** `image:name:tag` for the current user's images, the full URI otherwise (or with --full-uri). */
const imageText = (image: RemoteImage, full: boolean) =>
  Effect.gen(function*() {
    if (full || !image.isInNeuroRegistry) return full ? String(image) : image.asDockerUrl()
    const config = yield* Config
    const me = yield* config.username
    const cluster = yield* config.clusterName
    const org = yield* config.orgName
    if (image.owner === me && image.clusterName === cluster && (image.orgName ?? null) === org) {
      return `image:${image.name}${image.tag ? `:${image.tag}` : ""}`
    }
    return String(image)
  })

/** The same image without its tag (what `tags` takes). */
const untagged = (image: RemoteImage): RemoteImage =>
  new RemoteImage({
    name: image.name,
    ...(image.owner !== undefined ? { owner: image.owner } : {}),
    ...(image.registry !== undefined ? { registry: image.registry } : {}),
    ...(image.clusterName !== undefined ? { clusterName: image.clusterName } : {}),
    ...(image.orgName !== undefined ? { orgName: image.orgName } : {})
  })

const makeLs = (name: string) =>
  Command.make(
    name,
    {
      cluster: Options.text("cluster").pipe(Options.optional, Options.withDescription("Show images on a specified cluster (the current cluster by default).")),
      long: Options.boolean("l").pipe(Options.withDescription("List in long format.")),
      fullUri: Options.boolean("full-uri").pipe(Options.withDescription("Output full image URI.")),
      owner: Options.text("owner").pipe(Options.withAlias("o"), Options.repeated, Options.withDescription("Filter out images by owner (multiple option); ME is the current user.")),
      name: Options.text("name").pipe(Options.withAlias("n"), Options.optional, Options.withDescription("Filter out images by name regex."))
    },
    (o) =>
      withClient(Effect.gen(function*() {
        const images = yield* Images
        const term = yield* TermTag
        const me = yield* Effect.flatMap(Config, (c) => c.username)
        let list = yield* images.list({ clusterName: Option.getOrUndefined(o.cluster) })
        if (o.owner.length > 0) {
          const owners = new Set(o.owner.map((x) => (x === "ME" ? me : x)))
          list = list.filter((i) => i.owner !== undefined && owners.has(i.owner))
        }
        if (Option.isSome(o.name)) {
          const re = yield* Effect.try({ try: () => new RegExp(`^(?:${o.name.pipe(Option.getOrElse(() => ""))})$`), catch: () => valueError("Invalid name regex") })
          list = list.filter((i) => re.test(i.name))
        }
        if (o.long && term.verbosity >= 0) {
          const rows: Array<Array<string>> = []
          for (const i of list) rows.push([yield* imageText(i, o.fullUri), i.asDockerUrl()])
          for (const line of Table.render([{ title: "Neuro URL" }, { title: "Docker URL" }], rows, { width: term.width, term })) yield* print(line)
        } else {
          for (const i of list) yield* print(yield* imageText(i, o.fullUri))
        }
      }))
  ).pipe(Command.withDescription("List images."))

const tags = Command.make(
  "tags",
  { long: Options.boolean("l").pipe(Options.withDescription("List in long format, with image sizes.")), image: Args.text({ name: "IMAGE" }) },
  (o) =>
    withClient(Effect.gen(function*() {
      const images = yield* Images
      const image = yield* remote(o.image, "DENY")
      const list = yield* images.tags(image)
      yield* print(`Tags for ${image}`)
      if (o.long) {
        const rows: Array<Array<string>> = []
        for (const t of list) rows.push([t.tag ?? "", formatSize(yield* images.size(t))])
        for (const line of Table.render([{ title: "Tag" }, { title: "Size", align: "right" }], rows)) yield* print(line)
      } else {
        for (const t of list) yield* print(t.tag ?? "")
      }
    }))
).pipe(Command.withDescription("List tags for an image in the platform registry (image:NAME)."))

const size = Command.make("size", { image: Args.text({ name: "IMAGE" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const image = yield* remote(o.image)
    yield* print(formatSize(yield* Effect.flatMap(Images, (i) => i.size(image))))
  }))).pipe(Command.withDescription("Get image size (image:NAME:TAG)."))

const digest = Command.make("digest", { image: Args.text({ name: "IMAGE" }) }, (o) =>
  withClient(Effect.gen(function*() {
    const image = yield* remote(o.image)
    yield* print(yield* Effect.flatMap(Images, (i) => i.digest(image)))
  }))).pipe(Command.withDescription("Get the digest of an image from the platform registry (image:NAME:TAG)."))

const rm = Command.make(
  "rm",
  { force: Options.boolean("f").pipe(Options.withDescription("Force deletion of all tags referencing the image.")), images: Args.text({ name: "IMAGES" }).pipe(Args.atLeast(1)) },
  (o) =>
    withClient(Effect.gen(function*() {
      const images = yield* Images
      const removeTag = (image: RemoteImage, force: boolean) =>
        Effect.gen(function*() {
          const d = yield* images.digest(image)
          yield* print(`Deleting ${image} identified by ${d}`)
          if (!force) {
            const others: Array<string> = []
            for (const t of yield* images.tags(untagged(image))) {
              if ((yield* images.digest(t)) === d) others.push(String(t))
            }
            if (others.length > 1) {
              return yield* Effect.fail(valueError(`There's more than one tag referencing this digest: ${others.join(", ")}.\nPlease use -f to force deletion for all of them.`))
            }
          }
          yield* images.rm(image, d)
        })
      for (const text of o.images) {
        const image = yield* remote(text, "ALLOW")
        if (image.tag === undefined) {
          for (const t of yield* images.tags(image)) yield* removeTag(t, true)
        } else {
          yield* removeTag(image, o.force)
        }
      }
    }))
).pipe(Command.withDescription("Remove images from the platform registry (image:NAME:TAG, or image:NAME for every tag)."))

const makePush = (name: string) =>
  Command.make(name, { local: Args.text({ name: "LOCAL_IMAGE" }), remote: Args.text({ name: "REMOTE_IMAGE" }).pipe(Args.optional) }, (o) =>
    withClient(Effect.gen(function*() {
      const parser = yield* Parser
      const local = yield* parser.localImage(o.local)
      const target = Option.isSome(o.remote) ? yield* remote(o.remote.value) : undefined
      const pushed = yield* Effect.flatMap(Images, (i) => i.push(local, target))
      yield* print(String(pushed))
    }))).pipe(Command.withDescription("Push an image from the local Docker engine to the platform registry."))

const makePull = (name: string) =>
  Command.make(name, { remote: Args.text({ name: "REMOTE_IMAGE" }), local: Args.text({ name: "LOCAL_IMAGE" }).pipe(Args.optional) }, (o) =>
    withClient(Effect.gen(function*() {
      const parser = yield* Parser
      const image = yield* remote(o.remote)
      const local = Option.isSome(o.local) ? yield* parser.localImage(o.local.value) : undefined
      const pulled = yield* Effect.flatMap(Images, (i) => i.pull(image, local))
      yield* print(String(pulled))
    }))).pipe(Command.withDescription("Pull an image from the platform registry into the local Docker engine."))

/**
 * The `images`, `push` and `pull` shortcuts.
 *
 * @since 1.0.0
 * @category commands
 */
export const imageTopLevelCommands = [makeLs("images"), makePush("push"), makePull("pull")] as const

/**
 * @since 1.0.0
 * @category commands
 */
export const imageCommand = Command.make("image").pipe(
  Command.withDescription("Container image operations."),
  Command.withSubcommands([makeLs("ls"), makePush("push"), makePull("pull"), rm, size, digest, tags])
)
