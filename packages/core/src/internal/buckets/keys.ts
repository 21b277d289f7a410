/**
 * Object keys of buckets: from `blob:` URIs and back, and the POSIX-path view neuro-sdk's
 * `BucketFS` takes of them (file keys, folder keys ending with `/`).
 *
 * @internal
 */
import { quotePath, unquote } from "../uri.js"

/** The rest of a `blob:` URI after the bucket part, as a key: leading `/`s dropped, percent-decoded. */
/** @internal */
export const decodeKeyRemainder = (rest: string): string => unquote(rest.replace(/^\/+/, ""))

/** A key as URI path text (appended to `bucket.uri` + `/`). */
/** @internal */
export const quoteKey = (key: string): string => quotePath(key)

/**
 * `PurePosixPath(key)` made absolute then stripped of its leading `/` (neuro-sdk
 * `BucketFS._as_file_key`): `//` and `/./` collapse, a trailing `/` goes, `..` stays.
 */
/** @internal */
export const fileKey = (path: string): string =>
  path.split("/").filter((s) => s !== "" && s !== ".").join("/")

/** The folder key of a path: the file key + `/`, or `""` for the bucket root. */
/** @internal */
export const dirKey = (path: string): string => {
  const k = fileKey(path)
  return k === "" ? "" : k + "/"
}

/** Child path of a POSIX-style bucket path. */
/** @internal */
export const childPath = (path: string, name: string): string => {
  const k = fileKey(path)
  return k === "" ? name : `${k}/${name}`
}

/** The last component of a path (`"a/b/"` → `"b"`). */
/** @internal */
export const baseName = (path: string): string => {
  const parts = fileKey(path).split("/")
  return parts[parts.length - 1] ?? ""
}
