// Cold start: load both packages and read the stored login (the user name), then exit. Measured
// from the outside (process wall time and peak RSS).   node startup.mjs CONFIG_DIR
import { Config } from "@neuro-sdk/core"
import { NeuroNode } from "@neuro-sdk/node"
import * as Effect from "effect/Effect"

const user = await Effect.runPromise(
  Effect.flatMap(Config.Config, (config) => config.username).pipe(
    Effect.provide(NeuroNode.layer({ path: process.argv[2], cwd: process.argv[2] }))
  )
)
process.stdout.write(`${user}\n`)
