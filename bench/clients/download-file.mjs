// storage.downloadFile(SRC_URI, LOCAL_FILE).   node download-file.mjs CONFIG_DIR SRC_URI LOCAL_FILE
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, src, dst] = args(["CONFIG_DIR", "SRC_URI", "LOCAL_FILE"])
const runtime = await openClient(configDir)
await measure(runtime, Effect.flatMap(Storage.Storage, (storage) => storage.downloadFile(src, dst)))
