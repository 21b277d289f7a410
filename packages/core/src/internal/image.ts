/**
 * neuro-sdk 23.2's image-reference grammar (`_parsing_utils.py`): name/tag split, validation and
 * registry matching. Pure; failures are plain messages.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { parse, render } from "./uri.js"

/** @internal */
export const IMG_NAME_ERR = "invalid image name. Docker specifies it to be the following:\n" +
  "Name components may contain lowercase letters, digits and separators. A separator is defined as a period, " +
  "one or two underscores, or one or more dashes. A name component may not start or end with a separator."

/** @internal */
export const TAG_ERR = "invalid tag. Docker specifies it to be the following:\n" +
  "A tag name must be valid ASCII and may contain lowercase and uppercase letters, digits, underscores, " +
  "periods and dashes. A tag name may not start with a period or a dash and may contain a maximum of 128 characters."

/** @internal */
export const TAG_TOO_LONG = "tag is too long (at most 128 characters)"

const NAME_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/

/** `_validate_image_name`. */
/** @internal */
export const validateImageName = (image: string): string | undefined => {
  if (image === "") return "empty image name"
  if (image.startsWith("-")) return "image cannot start with dash"
  if (image === "image:latest") return "ambiguous value: valid as both local and remote image name"
  return undefined
}

/** `_split_image_name`: `[name, tag]`, the tag being `defaultTag` when none is written. */
/** @internal */
export const splitImageName = (
  image: string,
  defaultTag: string | undefined
): Either.Either<readonly [string, string | undefined], string> => {
  if (image.endsWith(":") || image.startsWith(":")) return Either.left("empty name or empty tag")
  const colons = image.split(":").length - 1
  let name: string
  let tag: string | undefined
  if (colons === 0) {
    name = image
    tag = defaultTag
  } else if (colons === 1) {
    const [left, right] = image.split(":") as [string, string]
    if (right.includes("/")) {
      name = image
      tag = defaultTag
    } else {
      name = left
      tag = right
    }
  } else if (colons === 2) {
    if (!image.includes("/")) return Either.left("too many tags")
    const at = image.lastIndexOf(":")
    name = image.slice(0, at)
    tag = image.slice(at + 1)
  } else {
    return Either.left("too many tags")
  }
  const slash = name.indexOf("/")
  const checked = slash < 0 ? name : name.slice(slash + 1)
  if (checked === "") return Either.left("no image name specified")
  if (!NAME_RE.test(checked)) return Either.left(IMG_NAME_ERR)
  if (tag !== undefined && tag !== "") {
    if (Array.from(tag).length > 128) return Either.left(TAG_TOO_LONG)
    if (!TAG_RE.test(tag)) return Either.left(TAG_ERR)
  }
  return Either.right([name, tag] as const)
}

/**
 * `_get_url_authority` of a registry URL: its host plus `:port` when a port is written. A URL
 * without a host is a configuration problem.
 */
/** @internal */
export const registryAuthority = (registryUrl: string): Either.Either<string, string> => {
  const parsed = parse(registryUrl)
  if (Either.isLeft(parsed)) return Either.left(`Invalid registry URL '${registryUrl}': ${parsed.left}`)
  const u = parsed.right
  if (u.host === undefined) {
    return Either.left(`Empty hostname in registry URL '${render(u)}': please consider updating configuration`)
  }
  return Either.right(u.port === undefined ? u.host : `${u.host}:${u.port}`)
}

/** `_find_by_registry`: the first cluster whose registry authority + `/` starts `image`. */
/** @internal */
export const findByRegistry = (
  registries: ReadonlyArray<readonly [string, string]>,
  image: string
): readonly [string, string] | undefined => {
  for (const [cluster, registry] of registries) {
    if (image.startsWith(registry + "/")) return [cluster, image.slice(registry.length).replace(/^\/+/, "")]
  }
  return undefined
}

/** Python `str.partition("/")` as `[head, rest]`. */
/** @internal */
export const splitFirst = (s: string): readonly [string, string] => {
  const i = s.indexOf("/")
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)]
}
