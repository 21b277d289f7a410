/**
 * neuro-sdk 23.2 `_images.py`: registry calls (catalog, tags, manifests) with `Basic`
 * platform credentials, and push/pull through the local Docker Engine.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiClient, appendPath } from "../ApiClient.js"
import { Config } from "../Config.js"
import * as Errors from "../Errors.js"
import * as Image from "../Image.js"
import type * as ImagesModule from "../Images.js"
import { malformed } from "./apiClient.js"
import { jsonText } from "./decodeError.js"
import { DockerDaemon, DockerError, ImageProgressPull, ImageProgressPush, ImageProgressStep, Tag } from "./imagesModels.js"

/** @internal */
export const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"

/** @internal */
export const MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json"

/** @internal */
export const MANIFEST_ACCEPT = `${MANIFEST_V2}, ${MANIFEST_OCI}`

/** @internal */
export const PAGE_SIZE = 30

/** @internal */
export const DOCKER_NOT_AVAILABLE =
  "Docker engine is not available. Please specify DOCKER_HOST variable if you are using remote docker engine"

// ---------------------------------------------------------------------------------------------
// engine progress objects
// ---------------------------------------------------------------------------------------------

const numberOrNull = (u: unknown): number | null => (typeof u === "number" && Number.isFinite(u) ? u : null)

// a progress field is printed as JSON when it is not text; one nested too deeply to print is not printed
const text = (u: unknown): string => (typeof u === "string" ? u : u === undefined || u === null ? "" : jsonText(u))

/** @internal */
export const parseProgressStep = (
  obj: ImagesModule.DockerStreamObject,
  targetTag: string | undefined
): Either.Either<ImageProgressStep | undefined, DockerError> => {
  if ("error" in obj) {
    const detail = obj["errorDetail"]
    const message = Predicate.isRecord(detail) && typeof detail["message"] === "string"
      ? detail["message"]
      : typeof obj["error"] === "string" && obj["error"] !== ""
      ? obj["error"]
      : "Unknown error"
    return Either.left(new DockerError({ status: 900, description: message }))
  }
  if (!("id" in obj) || obj["id"] === targetTag) return Either.right(undefined)
  const id = text(obj["id"])
  const status = text(obj["status"])
  const progress = obj["progress"]
  const message = progress !== undefined && progress !== null ? `${id}: ${status} ${text(progress)}` : `${id}: ${status}`
  const detail = obj["progressDetail"]
  const hasDetail = detail !== undefined && detail !== null
  const current = hasDetail && Predicate.isRecord(detail) ? numberOrNull(detail["current"]) : null
  const total = hasDetail && Predicate.isRecord(detail) ? numberOrNull(detail["total"]) : null
  return Either.right(new ImageProgressStep({ message, layerId: id, status, current, total }))
}

/**
 * What the registry answered, when an engine reports it in an error line of the progress stream
 * (status 900) rather than as the HTTP status of the call: Podman reports every registry failure
 * so, Docker those that happen once the stream has started (a push refused). The texts are the
 * Docker Distribution error codes and statuses both engines quote.
 */
/** @internal */
export const registryRefusal = (message: string): "not-found" | "denied" | undefined => {
  if (/\b(?:manifest unknown|name unknown)\b/i.test(message)) return "not-found"
  if (/\bdenied:|\b403\b|\bforbidden\b/i.test(message)) return "denied"
  return undefined
}

// ---------------------------------------------------------------------------------------------
// registry helpers
// ---------------------------------------------------------------------------------------------

/**
 * aiohttp's `ClientResponse.links`: the `Link` header values by `rel` (or by target when there is
 * no `rel`), each target resolved against the request URL. Unparsable parts are skipped.
 */
/** @internal */
export const parseLinks = (header: string | undefined, base: string | URL): Map<string, URL> => {
  const out = new Map<string, URL>()
  if (header === undefined) return out
  for (const part of header.split(/,\s*(?=<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part)
    if (m === null) continue
    const params = new Map<string, string>()
    const re = /;\s*([^\s=;,]+)\s*=\s*(?:"([^"]*)"|([^\s;,]*))/g
    for (let p = re.exec(m[2]!); p !== null; p = re.exec(m[2]!)) {
      params.set(p[1]!.toLowerCase(), p[2] ?? p[3] ?? "")
    }
    let target: URL
    try {
      target = new URL(m[1]!, base)
    } catch {
      continue
    }
    const rel = params.get("rel")
    out.set(rel !== undefined && rel !== "" ? rel : m[1]!, target)
  }
  return out
}

/** Standard base64 of a string's UTF-8 bytes. */
const base64 = (s: string): string => {
  const bytes = new TextEncoder().encode(s)
  let binary = ""
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** `Config._registry_auth`: `Basic base64(username:token)`. */
/** @internal */
export const basicAuth = (username: string, token: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Basic ${base64(`${username}:${Redacted.value(token)}`)}`)

const CatalogPage = Schema.Struct({ repositories: Schema.Array(Schema.String) })

const TagsPage = Schema.Struct({
  tags: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] })
})

const Manifest = Schema.Struct({
  layers: Schema.Array(Schema.Struct({ size: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()) }))
})

const invalidImage = (image: Image.RemoteImage, description: string) =>
  new Errors.InvalidInputError({ kind: "image", input: image.toString(), description })

const truthy = (s: string | undefined): s is string => s !== undefined && s !== ""

/** The fields of a `RemoteImage`, for copies with another tag. */
const withTag = (image: Image.RemoteImage, tag: string | undefined): Image.RemoteImage =>
  new Image.RemoteImage({
    name: image.name,
    ...(tag !== undefined ? { tag } : {}),
    ...(image.owner !== undefined ? { owner: image.owner } : {}),
    ...(image.registry !== undefined ? { registry: image.registry } : {}),
    ...(image.clusterName !== undefined ? { clusterName: image.clusterName } : {}),
    ...(image.orgName !== undefined ? { orgName: image.orgName } : {})
  })

/** `name` and `tag` of a docker reference `host/owner/name:tag` (the tag being the image's). */
const splitDockerUrl = (url: string, tag: string | undefined): readonly [string, string | undefined] =>
  truthy(tag) && url.endsWith(`:${tag}`) ? [url.slice(0, -(tag.length + 1)), tag] : [url, undefined]

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/** @internal */
export const make = Effect.gen(function*() {
  const api = yield* ApiClient
  const config = yield* Config
  const daemon = yield* Effect.serviceOption(DockerDaemon)
  /** Registry names of pulled images, untagged when the scope closes (neuro-sdk `_close`). */
  const temporary = new Set<string>()

  yield* Effect.addFinalizer(() =>
    Option.match(daemon, {
      onNone: () => Effect.void,
      onSome: (d) =>
        Effect.forEach([...temporary], (name) => Effect.ignore(d.remove(name, { force: false, noprune: false })), {
          discard: true
        })
    })
  )

  const requireDaemon: Effect.Effect<DockerDaemon["Type"], DockerError> = Option.match(daemon, {
    onNone: () => Effect.fail(new DockerError({ status: 900, description: DOCKER_NOT_AVAILABLE })),
    onSome: Effect.succeed
  })

  const imageParser = Effect.gen(function*() {
    const clusters = yield* config.clusters
    return yield* Image.makeImageParser({
      username: yield* config.username,
      clusterName: yield* config.clusterName,
      orgName: yield* config.orgName,
      registryUrls: [...clusters.values()].map((c) => [c.name, c.registryUrl] as const)
    })
  })

  const authorization = Effect.gen(function*() {
    const username = yield* config.username
    const token = yield* config.token
    return basicAuth(username, token)
  })

  /** `{registry_url with path /v2/}`, then the segments. */
  const registryUrl = (clusterName: string | undefined, ...segments: ReadonlyArray<string>) =>
    Effect.map(api.service("registry", { clusterName: truthy(clusterName) ? clusterName : undefined }), (url) => {
      const base = new URL(url)
      base.pathname = "/v2/"
      base.search = ""
      base.hash = ""
      return segments.length === 0 ? base : appendPath(base, ...segments)
    })

  /** `_get_image_url`: `{registry}/v2/[{org}/]{owner}/{name}` plus the segments. */
  const imageUrl = (image: Image.RemoteImage, ...segments: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      if (!truthy(image.owner)) return yield* Effect.fail(invalidImage(image, "missing image owner"))
      if (image.name === "") return yield* Effect.fail(invalidImage(image, "missing image name"))
      const repo = [...(truthy(image.orgName) ? [image.orgName] : []), image.owner, ...image.name.split("/")]
      return yield* registryUrl(image.clusterName, ...repo, ...segments)
    })

  const send = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.flatMap(authorization, (auth) =>
      api.execute(HttpClientRequest.setHeader(request, "Authorization", Redacted.value(auth)), { auth: false }))

  /**
   * The pages of a paginated listing: `n=30` set on each URL (keeping `last`), following
   * `Link: <...>; rel="next"` until a page is empty or has no next link.
   */
  const paginate = <A, I>(
    first: URL,
    schema: Schema.Schema<A, I>,
    items: (page: A) => ReadonlyArray<string>
  ): Effect.Effect<Array<string>, ImagesModule.ImagesError> =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const seen = new Set<string>()
      let url = first
      while (true) {
        url = new URL(url)
        url.searchParams.set("n", String(PAGE_SIZE))
        const request = HttpClientRequest.get(url)
        if (seen.has(url.href)) {
          return yield* Effect.fail(malformed(request, 200, `the registry's next page link loops back to ${url.href}`))
        }
        seen.add(url.href)
        const response = yield* send(request)
        const page = items(yield* api.decode(response, schema))
        out.push(...page)
        const next = parseLinks(response.headers["link"], url).get("next")
        if (page.length === 0 || next === undefined) return out
        if (next.origin !== first.origin) {
          return yield* Effect.fail(
            malformed(request, response.status, `the registry's next page link leaves the registry (${next.origin})`)
          )
        }
        url = next
      }
    })

  const list: ImagesModule.Images.Service["list"] = (options = {}) =>
    Effect.gen(function*() {
      const clusterName = truthy(options.clusterName) ? options.clusterName : yield* config.clusterName
      yield* config.getCluster(clusterName)
      const parser = yield* imageParser
      const url = yield* registryUrl(clusterName, "_catalog")
      const repos = yield* paginate(url, CatalogPage, (p) => p.repositories)
      const result: Array<Image.RemoteImage> = []
      for (const repo of repos) {
        const parsed = Image.parseRemoteImage(parser, `image://${clusterName}/${repo}`, { tagOption: "DENY" })
        if (Either.isRight(parsed)) result.push(parsed.right)
        else yield* Effect.logWarning(parsed.left.message)
      }
      return result
    }).pipe(Effect.withSpan("Images.list"))

  const tags: ImagesModule.Images.Service["tags"] = (image) =>
    Effect.gen(function*() {
      if (image.tag !== undefined) return yield* Effect.fail(invalidImage(image, "tag is not allowed"))
      const url = yield* imageUrl(image, "tags", "list")
      const names = yield* paginate(url, TagsPage, (p) => p.tags)
      return names.map((tag) => withTag(image, tag))
    }).pipe(Effect.withSpan("Images.tags"))

  const requireTag = (image: Image.RemoteImage) =>
    truthy(image.tag) ? Effect.succeed(image.tag) : Effect.fail(invalidImage(image, "a tag is required"))

  const digest: ImagesModule.Images.Service["digest"] = (image) =>
    Effect.gen(function*() {
      const tag = yield* requireTag(image)
      const url = yield* imageUrl(image, "manifests", tag)
      const request = HttpClientRequest.head(url).pipe(HttpClientRequest.setHeader("Accept", MANIFEST_ACCEPT))
      const response = yield* send(request)
      const value = response.headers["docker-content-digest"]
      if (value === undefined || value === "") {
        return yield* Effect.fail(malformed(request, response.status, "the answer has no Docker-Content-Digest header"))
      }
      return value
    }).pipe(Effect.withSpan("Images.digest"))

  const tagInfo: ImagesModule.Images.Service["tagInfo"] = (image) =>
    Effect.gen(function*() {
      const tag = yield* requireTag(image)
      const url = yield* imageUrl(image, "manifests", tag)
      const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("Accept", MANIFEST_ACCEPT))
      const manifest = yield* api.decode(yield* send(request), Manifest)
      return new Tag({ name: tag, size: manifest.layers.reduce((sum, l) => sum + l.size, 0) })
    }).pipe(Effect.withSpan("Images.tagInfo"))

  const size: ImagesModule.Images.Service["size"] = (image) =>
    Effect.map(tagInfo(image), (t) => t.size ?? 0).pipe(Effect.withSpan("Images.size"))

  const rm: ImagesModule.Images.Service["rm"] = (image, digestValue) =>
    Effect.gen(function*() {
      if (digestValue === "") return yield* Effect.fail(invalidImage(image, "an empty digest"))
      const url = yield* imageUrl(image, "manifests", digestValue)
      const response = yield* send(HttpClientRequest.del(url))
      yield* api.text(response)
    }).pipe(Effect.withSpan("Images.rm"))

  const emit = (progress: ImagesModule.ImageProgressCallback | undefined, event: ImagesModule.ImageProgress) =>
    progress === undefined ? Effect.void : progress(event)

  /** `Config._docker_auth` for the engine; only platform images get the platform token. */
  const dockerAuth = (image: Image.RemoteImage, dockerUrl: string) =>
    image.isInNeuroRegistry
      ? Effect.map(config.token, (password): ImagesModule.RegistryAuth => ({
        username: "token",
        password,
        serveraddress: dockerUrl.split("/")[0]!
      }))
      : Effect.succeed(undefined)

  /** An error line of the progress stream that quotes a registry refusal, as the SDK's error. */
  const refusedBy = (image: Image.RemoteImage, pulling: boolean) => (e: DockerError) => {
    const refusal = registryRefusal(e.description)
    return refusal === "denied"
      ? new Errors.AuthorizationError({ description: `Access denied ${image}`, status: 403 })
      : refusal === "not-found" && pulling
      ? new Errors.ResourceNotFound({ description: `Image ${image} was not found in registry`, status: 404 })
      : e
  }

  const steps = (
    stream: Stream.Stream<ImagesModule.DockerStreamObject, DockerError>,
    tag: string | undefined,
    progress: ImagesModule.ImageProgressCallback | undefined,
    onErrorLine: (e: DockerError) => DockerError | Errors.AuthorizationError | Errors.ResourceNotFound,
    onObject: Effect.Effect<void> = Effect.void
  ) =>
    Stream.runForEach(stream, (obj) =>
      Effect.zipRight(
        onObject,
        Either.match(parseProgressStep(obj, tag), {
          onLeft: (e) => Effect.fail(onErrorLine(e)),
          onRight: (step) => (step === undefined ? Effect.void : emit(progress, step))
        })
      ))

  const push: ImagesModule.Images.Service["push"] = (local, remote, options = {}) =>
    Effect.gen(function*() {
      const target = remote ?? (yield* Effect.flatMap(imageParser, (p) => Image.localToRemoteImage(p, local)))
      yield* emit(options.progress, new ImageProgressPush({ src: local, dst: target }))
      const docker = yield* requireDaemon
      const repo = target.asDockerUrl()
      const [name, tag] = splitDockerUrl(repo, target.tag)
      yield* docker.tag(local.toString(), name, tag).pipe(
        Effect.catchIf(
          (e) => e.status === 404,
          () =>
            Effect.fail(
              new Errors.ResourceNotFound({ description: `Image ${local} was not found in your local docker images`, status: 404 })
            )
        )
      )
      const auth = yield* dockerAuth(target, repo)
      yield* steps(docker.push(name, { tag, auth }), target.tag, options.progress, refusedBy(target, false)).pipe(
        Effect.catchIf(
          (e): e is DockerError => e._tag === "DockerError" && e.status === 403,
          () => Effect.fail(new Errors.AuthorizationError({ description: `Access denied ${target}`, status: 403 }))
        )
      )
      return target
    }).pipe(Effect.withSpan("Images.push"))

  const pull: ImagesModule.Images.Service["pull"] = (remote, local, options = {}) =>
    Effect.gen(function*() {
      const target = local ?? Image.remoteToLocalImage(remote)
      yield* emit(options.progress, new ImageProgressPull({ src: remote, dst: target }))
      const docker = yield* requireDaemon
      const repo = remote.asDockerUrl()
      const [name, tag] = splitDockerUrl(repo, remote.tag)
      const auth = yield* dockerAuth(remote, repo)
      const sameName = target.toString() === repo
      const remember = sameName ? Effect.void : Effect.sync(() => void temporary.add(repo))
      yield* steps(docker.pull(name, { tag, auth }), remote.tag, options.progress, refusedBy(remote, true), remember).pipe(
        Effect.catchIf(
          (e): e is DockerError => e._tag === "DockerError" && (e.status === 404 || e.status === 403),
          (e) =>
            Effect.fail(
              e.status === 404
                ? new Errors.ResourceNotFound({ description: `Image ${remote} was not found in registry`, status: 404 })
                : new Errors.AuthorizationError({ description: `Access denied ${remote}`, status: 403 })
            )
        )
      )
      if (!sameName) yield* docker.tag(repo, target.name, target.tag)
      return target
    }).pipe(Effect.withSpan("Images.pull"))

  const service: ImagesModule.Images.Service = { push, pull, list, tags, digest, tagInfo, size, rm }
  return service
})
