// The @neuro-sdk side of the clients: open the SDK over a stored login, time one operation.
import { NeuroNode } from "@neuro-sdk/node"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { report } from "./common.mjs"

/** The SDK over the login stored in `configDir` (neuro-sdk's `get(path=...)`), built before timing. */
export const openClient = async (configDir) => {
  const runtime = ManagedRuntime.make(NeuroNode.layer({ path: configDir, cwd: configDir }))
  await runtime.runtime()
  return runtime
}

const cpuSeconds = (usage) => (usage.user + usage.system) / 1e6

/**
 * Run `effect` on `runtime`, timed; `extra(value)` adds fields to the result line. Disposes the
 * runtime afterwards.
 */
export const measure = async (runtime, effect, extra = () => ({})) => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const value = await runtime.runPromise(effect)
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  const opCpu = cpuSeconds(used)
  const opUser = used.user / 1e6
  await runtime.dispose()
  report({ seconds, opCpu, opUser, ...extra(value) })
}

