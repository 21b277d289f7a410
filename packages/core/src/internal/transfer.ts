/**
 * The transfer engine `Storage` and `Buckets` share: local paths, the local tree walk with filters
 * and ignore files, update/continue decisions, serialized progress, resumable downloads into
 * temporary files (checked against the listed size) written in large pieces, and the directory
 * upload/download walks with bounded work in flight. The remote side is a small interface
 * (`Remote`) each service implements over its own protocol. The parts live in `transfer/`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { makeEngine } from "./transfer/engine.js"
import { makeTrees } from "./transfer/trees.js"

export { WRITE_SIZE } from "./transfer/fetch.js"
export { type Limiter, makeLimiter } from "./transfer/limiter.js"
export { type Emit, serialized } from "./transfer/progress.js"
export {
  concatBytes,
  type DirOptions,
  type DownloadFlags,
  type KnownLocal,
  type LocalDir,
  partName,
  type Remote,
  type RemoteEntry,
  type RemoteReader,
  treeOptions,
  type TreeOptions,
  type UploadTreeOptions
} from "./transfer/remote.js"
export {
  clockSample,
  type Decision,
  decide,
  type FileTimes,
  fromPlatform,
  isTransient,
  type LocalError,
  localError,
  localTimes,
  TIME_THRESHOLD
} from "./transfer/rules.js"

/** The engine: one-file transfers and the tree walks. */
/** @internal */
export const make = Effect.map(makeEngine, (engine) => {
  const trees = makeTrees(engine)
  return {
    localPath: engine.localPath,
    fileUri: engine.fileUri,
    stat: engine.stat,
    statOption: engine.statOption,
    localDir: engine.localDir,
    uploadFile: engine.uploadFile,
    downloadFile: engine.downloadFile,
    download: engine.download,
    uploadTree: trees.uploadTree,
    downloadTree: trees.downloadTree
  }
})
