/**
 * The README's usage example, kept here so that it type-checks (`npm run check`). It uses the
 * login stored in ~/.neuro; run it with `npx tsx --conditions=source examples/usage.ts` after a
 * `neuro login` (Python) or `Factory.login*`.
 */
import { Jobs, Storage } from "@neuro-sdk/core"
import { NeuroNode } from "@neuro-sdk/node"
import { Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  const jobs = yield* Jobs.Jobs
  const job = yield* jobs.start({ image: "ubuntu:22.04", presetName: "cpu-small", command: "echo hello" })
  yield* jobs.monitor(job.id).pipe(Stream.decodeText(), Stream.runForEach(Effect.log))
  const storage = yield* Storage.Storage
  yield* storage.uploadDir("./data", "storage:data")
})

// the login stored in ~/.neuro (NEUROMATION_CONFIG, or `path`) — e.g. by `neuro login` in Python
Effect.runPromise(program.pipe(Effect.provide(NeuroNode.layer())))
