// storage.uploadDir(LOCAL_DIR, DST_URI) with default options.   node upload-dir.mjs CONFIG_DIR LOCAL_DIR DST_URI
import { Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import { args } from "./common.mjs"
import { measure, openClient } from "./sdk.mjs"

const [configDir, src, dst] = args(["CONFIG_DIR", "LOCAL_DIR", "DST_URI"])
const runtime = await openClient(configDir)
await measure(runtime, Effect.flatMap(Storage.Storage, (storage) => storage.uploadDir(src, dst)))
