// storage.uploadFile(LOCAL_FILE, DST_URI).   node upload-file.mjs CONFIG_DIR LOCAL_FILE DST_URI
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, src, dst] = args(["CONFIG_DIR", "LOCAL_FILE", "DST_URI"])
const runtime = await openClient(configDir)
await measure(runtime, Effect.flatMap(Storage.Storage, (storage) => storage.uploadFile(src, dst)))
