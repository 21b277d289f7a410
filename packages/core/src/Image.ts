/**
 * Image references: `LocalImage` (an image of the local Docker engine), `RemoteImage` (an image in
 * a cluster's platform registry, `image://cluster/[org/]owner/name:tag`, or in any other
 * registry), and the parsing rules of neuro-sdk 23.2 (`Parser.local_image`,
 * `Parser.remote_image`) as pure functions over an {@link ImageParser}.
 *
 * @since 1.0.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidInputError } from "./Errors.js"
import * as internal from "./internal/image.js"
import * as Y from "./internal/uri.js"
import { checkUri, checkUriStr } from "./internal/uriRules.js"

const parseUri = (text: string) =>
  Either.map(Y.parse(text), (u) => ({ path: Y.decodedPath(u), host: u.host, problem: checkUri(u) }))

const build = (scheme: string, host: string, path: string): string | undefined =>
  Either.getOrUndefined(Either.map(Y.build(scheme, host, path), Y.render))

/**
 * How a tag in a remote image reference is treated: `DEFAULT` — a missing tag becomes `latest`;
 * `ALLOW` — a missing tag stays missing; `DENY` — a tag is an error (platform images only).
 *
 * @since 1.0.0
 * @category models
 */
export const TagOption = { ALLOW: "ALLOW", DENY: "DENY", DEFAULT: "DEFAULT" } as const

/**
 * @since 1.0.0
 * @category models
 */
export type TagOption = (typeof TagOption)[keyof typeof TagOption]

/**
 * An image of the local Docker engine (`ubuntu:22.04`).
 *
 * @since 1.0.0
 * @category models
 */
export class LocalImage extends Schema.Class<LocalImage>("@neuro-sdk/core/LocalImage")({
  name: Schema.String,
  tag: Schema.optional(Schema.String)
}) {
  /** `name[:tag]`. */
  override toString(): string {
    return this.tag !== undefined && this.tag !== "" ? `${this.name}:${this.tag}` : this.name
  }
}

const truthy = (s: string | undefined): s is string => s !== undefined && s !== ""

const invariant = (i: {
  readonly owner?: string | undefined
  readonly registry?: string | undefined
  readonly clusterName?: string | undefined
}): string | undefined => {
  if (truthy(i.registry)) {
    if (truthy(i.owner)) return truthy(i.clusterName) ? undefined : "required cluster name"
    return truthy(i.clusterName) ? "required owner" : undefined
  }
  return truthy(i.owner) || truthy(i.clusterName) ? "required registry" : undefined
}

const RemoteImageFields = Schema.Struct({
  name: Schema.String,
  tag: Schema.optional(Schema.String),
  /** The user the image belongs to (platform images). */
  owner: Schema.optional(Schema.String),
  /** Registry authority (`registry.c1.example.org`, `localhost:5000`). */
  registry: Schema.optional(Schema.String),
  /** The cluster whose registry holds the image (platform images). */
  clusterName: Schema.optional(Schema.String),
  orgName: Schema.optional(Schema.String)
})

/**
 * An image in a registry. A *platform* image has `registry`, `owner` and `clusterName`; an
 * external image (Docker Hub, another registry) has only `name`, `tag` and maybe `registry`.
 * Constructing one with an owner but no cluster (or the reverse), or either without a registry,
 * throws as neuro-sdk does; the parsers never build such a value.
 *
 * @since 1.0.0
 * @category models
 */
export class RemoteImage extends Schema.Class<RemoteImage>("@neuro-sdk/core/RemoteImage")(
  RemoteImageFields.pipe(Schema.filter((i) => invariant(i) ?? true))
) {
  /**
   * A platform image.
   *
   * @since 1.0.0
   */
  static newNeuroImage(
    name: string,
    registry: string,
    options: {
      readonly owner: string
      readonly clusterName: string
      readonly orgName: string | null | undefined
      readonly tag?: string | undefined
    }
  ): RemoteImage {
    return new RemoteImage({
      name,
      registry,
      owner: options.owner,
      clusterName: options.clusterName,
      ...(options.orgName !== null && options.orgName !== undefined ? { orgName: options.orgName } : {}),
      ...(options.tag !== undefined ? { tag: options.tag } : {})
    })
  }

  /**
   * An image outside the platform registry.
   *
   * @since 1.0.0
   */
  static newExternalImage(name: string, registry?: string, options: { readonly tag?: string | undefined } = {}): RemoteImage {
    return new RemoteImage({
      name,
      ...(registry !== undefined ? { registry } : {}),
      ...(options.tag !== undefined ? { tag: options.tag } : {})
    })
  }

  /**
   * The same image with another tag (neuro-sdk `with_tag`); the tag is not checked, as in
   * neuro-sdk.
   *
   * @since 1.0.0
   */
  withTag(tag: string): RemoteImage {
    return new RemoteImage({
      name: this.name,
      tag,
      ...(this.owner !== undefined ? { owner: this.owner } : {}),
      ...(this.registry !== undefined ? { registry: this.registry } : {}),
      ...(this.clusterName !== undefined ? { clusterName: this.clusterName } : {}),
      ...(this.orgName !== undefined ? { orgName: this.orgName } : {})
    })
  }

  /**
   * Whether the image is in a cluster's platform registry (registry, owner and cluster set).
   *
   * @since 1.0.0
   */
  get isInNeuroRegistry(): boolean {
    return truthy(this.registry) && truthy(this.owner) && truthy(this.clusterName)
  }

  private get base(): string {
    return truthy(this.tag) ? `${this.name}:${this.tag}` : this.name
  }

  /**
   * What Docker pulls: `registry/[org/]owner/name[:tag]` for platform images (with `https://`
   * when `withScheme`), `[registry/]name[:tag]` otherwise. neuro-sdk drops the registry of
   * external images; we keep it (compat.md).
   *
   * @since 1.0.0
   */
  asDockerUrl(options: { readonly withScheme?: boolean | undefined } = {}): string {
    if (this.isInNeuroRegistry) {
      const org = truthy(this.orgName) ? `${this.orgName}/` : ""
      return `${options.withScheme === true ? "https://" : ""}${this.registry}/${org}${this.owner}/${this.base}`
    }
    return truthy(this.registry) ? `${this.registry}/${this.base}` : this.base
  }

  /**
   * `image://cluster/[org/]owner/name[:tag]` (canonically percent-encoded) for platform images,
   * `[registry/]name[:tag]` otherwise.
   */
  override toString(): string {
    if (!this.isInNeuroRegistry) return truthy(this.registry) ? `${this.registry}/${this.base}` : this.base
    const org = truthy(this.orgName) ? `/${this.orgName}` : ""
    const path = `${org}/${this.owner}/${this.base}`
    return build("image", this.clusterName!, path) ?? `image://${this.clusterName}${path}`
  }
}

/**
 * What the image parsers know: the current user, cluster and org, and the registry of every
 * cluster (as `host[:port]`), in config order.
 *
 * @since 1.0.0
 * @category models
 */
export interface ImageParser {
  readonly username: string
  readonly clusterName: string
  readonly orgName: string | null
  readonly registries: ReadonlyArray<readonly [cluster: string, authority: string]>
}

const bad = (kind: string, input: string, description: string) => new InvalidInputError({ kind, input, description })

/**
 * The registry host of a registry URL: `https://reg.example.org/x` → `reg.example.org`,
 * `http://localhost:5000` → `localhost:5000`. A URL without a host fails.
 *
 * @since 1.0.0
 * @category constructors
 */
export const registryAuthority = (registryUrl: string): Either.Either<string, InvalidInputError> =>
  Either.mapLeft(internal.registryAuthority(registryUrl), (d) => bad("registry url", registryUrl, d))

/**
 * An {@link ImageParser} from the current identity and each cluster's registry URL.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeImageParser = (options: {
  readonly username: string
  readonly clusterName: string
  readonly orgName: string | null
  readonly registryUrls: Iterable<readonly [cluster: string, registryUrl: string]>
}): Either.Either<ImageParser, InvalidInputError> => {
  const registries: Array<readonly [string, string]> = []
  for (const [cluster, url] of options.registryUrls) {
    const authority = registryAuthority(url)
    if (Either.isLeft(authority)) return Either.left(authority.left)
    registries.push([cluster, authority.right])
  }
  return Either.right({ username: options.username, clusterName: options.clusterName, orgName: options.orgName, registries })
}

/**
 * neuro-sdk `parse_as_local_image`: `name[:tag]` (tag `latest` when missing); `image:` refused.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseLocalImage = (image: string): Either.Either<LocalImage, InvalidInputError> => {
  const problem = internal.validateImageName(image) ??
    (image.startsWith("image:") ? "scheme 'image://' is not allowed for local images" : undefined)
  if (problem !== undefined) return Either.left(bad("local image", image, problem))
  return Either.match(internal.splitImageName(image, "latest"), {
    onLeft: (d) => Either.left(bad("local image", image, d)),
    onRight: ([name, tag]) => Either.right(new LocalImage({ name, ...(tag !== undefined ? { tag } : {}) }))
  })
}

/** neuro-sdk `has_tag`. */
const hasTag = (image: string): Either.Either<boolean, string> => {
  let s = image
  if (s.startsWith("image:")) {
    const u = parseUri(s)
    if (Either.isLeft(u)) return Either.left(u.left)
    s = u.right.path.replace(/^\//, "")
  }
  return Either.map(internal.splitImageName(s, undefined), ([, tag]) => truthy(tag))
}

const unknownCluster = (p: ImageParser, cluster: string) =>
  `Cluster ${cluster} doesn't exist in a list of available clusters: ${p.registries.map(([c]) => c).join(", ")}. ` +
  "Please logout and login again."

const neuroImage = (p: ImageParser, image: string, tagOption: TagOption): Either.Either<RemoteImage, string> => {
  const problem = internal.validateImageName(image)
  if (problem !== undefined) return Either.left(problem)
  let defaultTag: string | undefined = "latest"
  if (tagOption !== "DEFAULT") {
    defaultTag = undefined
    if (tagOption === "DENY") {
      const tagged = hasTag(image)
      if (Either.isLeft(tagged)) return Either.left(tagged.left)
      if (tagged.right) return Either.left("tag is not allowed")
    }
  }
  let text: string
  if (image.startsWith("image:")) {
    const strProblem = checkUriStr(image, "image")
    if (strProblem !== undefined) return Either.left(strProblem)
    text = image
  } else {
    const found = internal.findByRegistry(p.registries, image)
    if (found === undefined) return Either.left("scheme 'image:' is required for remote images")
    text = `image://${found[0]}/${found[1]}`
  }
  return Either.flatMap(parseUri(text), (url) => {
    if (url.path === "" || url.path === "/") return Either.left("no image name specified")
    if (url.problem !== undefined) return Either.left(url.problem)
    return Either.flatMap(internal.splitImageName(url.path.replace(/^\/+/, ""), defaultTag), ([full, tag]) => {
      const cluster = url.host ?? p.clusterName
      let org: string | null = url.host === undefined ? p.orgName : null
      let owner: string
      let name = full
      if (url.path.startsWith("/")) {
        ;[owner, name] = internal.splitFirst(name)
        // neuro-sdk reads the org only in the long form; a short form that spells the configured org
        // (`image:/org/owner/x`) is read the same way instead of doubling the org (compat.md)
        if (p.orgName !== null && owner === p.orgName) {
          org = owner
          ;[owner, name] = internal.splitFirst(name)
        }
        if (name === "") return Either.left("no image name specified")
      } else {
        owner = p.username
      }
      const registry = p.registries.find(([c]) => c === cluster)?.[1]
      if (registry === undefined) return Either.left(unknownCluster(p, cluster))
      return Either.right(RemoteImage.newNeuroImage(name, registry, { owner, clusterName: cluster, orgName: org, ...(tag !== undefined ? { tag } : {}) }))
    })
  })
}

/**
 * neuro-sdk `parse_as_neuro_image`: a platform image from `image:name[:tag]`,
 * `image:/owner/name`, `image://cluster/[org/]owner/name` or `registry-host/owner/name`.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseNeuroImage = (
  parser: ImageParser,
  image: string,
  options: { readonly tagOption?: TagOption | undefined } = {}
): Either.Either<RemoteImage, InvalidInputError> =>
  Either.mapLeft(neuroImage(parser, image, options.tagOption ?? "DEFAULT"), (d) => bad("remote image", image, d))

/**
 * neuro-sdk `parse_remote` (`Parser.remote_image`): a platform image when the reference starts
 * with `image:` or a known registry host, else an external image (`ubuntu`,
 * `ghcr.io/org/x:1`, `host:5000/x`). For external images the tag option is ignored (a missing tag
 * becomes `latest`), as in neuro-sdk.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseRemoteImage = (
  parser: ImageParser,
  image: string,
  options: { readonly tagOption?: TagOption | undefined } = {}
): Either.Either<RemoteImage, InvalidInputError> => {
  if (image.startsWith("image:") || internal.findByRegistry(parser.registries, image) !== undefined) {
    return parseNeuroImage(parser, image, options)
  }
  return Either.map(parseLocalImage(image), (local) => {
    let name = local.name
    let registry: string | undefined
    if (name.includes(":")) [registry, name] = internal.splitFirst(name)
    return RemoteImage.newExternalImage(name, registry, local.tag !== undefined ? { tag: local.tag } : {})
  })
}

/**
 * neuro-sdk `convert_to_neuro_image` (push without a target): the local image in the current
 * cluster and org under the current user; a name starting with a known registry host
 * (`reg/owner/name`) picks that cluster and owner. Departure (compat.md): such a registry-qualified
 * name gets an org only when it spells it (`reg/org/owner/name`), as `parseRemoteImage` reads it,
 * instead of always getting the current org (which doubled it).
 *
 * @since 1.0.0
 * @category conversions
 */
export const localToRemoteImage = (parser: ImageParser, image: LocalImage): Either.Either<RemoteImage, InvalidInputError> => {
  let cluster = parser.clusterName
  let org: string | null = parser.orgName
  let owner = parser.username
  let name = image.name
  const found = internal.findByRegistry(parser.registries, name)
  if (found !== undefined) {
    cluster = found[0]
    const rest = found[1]
    if (rest !== "") {
      const [head, tail] = internal.splitFirst(rest)
      if (tail === "") {
        name = rest
      } else if (parser.orgName !== null && head === parser.orgName && tail.includes("/")) {
        ;[owner, name] = internal.splitFirst(tail)
      } else {
        owner = head
        name = tail
        org = null
      }
    }
  }
  const registry = parser.registries.find(([c]) => c === cluster)?.[1]
  if (registry === undefined) return Either.left(bad("local image", image.toString(), unknownCluster(parser, cluster)))
  return Either.right(RemoteImage.newNeuroImage(name, registry, { owner, clusterName: cluster, orgName: org, ...(image.tag !== undefined ? { tag: image.tag } : {}) }))
}

/**
 * neuro-sdk `convert_to_local_image` (pull without a target): `name[:tag]` of the remote image.
 *
 * @since 1.0.0
 * @category conversions
 */
export const remoteToLocalImage = (image: RemoteImage): LocalImage =>
  new LocalImage({ name: image.name, ...(image.tag !== undefined ? { tag: image.tag } : {}) })
