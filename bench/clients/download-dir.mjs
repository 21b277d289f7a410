// storage.downloadDir(SRC_URI, LOCAL_DIR) with default options.   node download-dir.mjs CONFIG_DIR SRC_URI LOCAL_DIR
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, src, dst] = args(["CONFIG_DIR", "SRC_URI", "LOCAL_DIR"])
const runtime = await openClient(configDir)
await measure(runtime, Effect.flatMap(Storage.Storage, (storage) => storage.downloadDir(src, dst)))
