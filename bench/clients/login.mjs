// Setup (not measured): log in with a token into a fresh config directory, like
// `neuro login-with-token TOKEN URL`.   node login.mjs CONFIG_DIR API_URL TOKEN
import { Factory } from "@neuro-sdk/core"
import { NeuroNode } from "@neuro-sdk/node"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { args } from "./common.mjs"

const [configDir, apiUrl, token] = args(["CONFIG_DIR", "API_URL", "TOKEN"])
await Effect.runPromise(
  Effect.flatMap(Factory.Factory, (factory) => factory.loginWithToken(Redacted.make(token), { url: new URL(apiUrl) })).pipe(
    Effect.provide(NeuroNode.layerFactory({ path: configDir }))
  )
)
