/**
 * The page of browser.test.ts, bundled with esbuild and run in Chromium: logs in with a token
 * (kept in localStorage), lists jobs, starts one and follows its log over HTTP, uploads a file and
 * downloads it back, then reports on `window.neuroResult`.
 */
import { Browser, Factory, Jobs, Storage } from "@neuro-sdk/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

interface Page {
  readonly location: { readonly hash: string }
  readonly localStorage: { readonly getItem: (key: string) => string | null }
  neuroResult?: unknown
}
const page = globalThis as unknown as Page
const params = new URLSearchParams(page.location.hash.slice(1))
const url = new URL(params.get("url")!)

const login = Effect.flatMap(Factory.Factory, (factory) => factory.loginWithToken(Redacted.make(params.get("token")!), { url }))
  .pipe(Effect.provide(Browser.layerFactory()))

const work = Effect.gen(function*() {
  const jobs = yield* Jobs.Jobs
  const storage = yield* Storage.Storage
  const before = yield* Stream.runCollect(jobs.list())
  const job = yield* jobs.start({ image: "ubuntu", presetName: "cpu-small", command: "echo hello from a job" })
  const log = yield* Browser.followLog(job.id).pipe(Stream.decodeText(), Stream.mkString)
  const listed = yield* Stream.runCollect(jobs.list())
  const content = new TextEncoder().encode("uploaded from a page\n".repeat(1000))
  yield* storage.mkdir("storage:browser", { parents: true, existOk: true })
  yield* storage.create("storage:browser/file.txt", Stream.make(content.subarray(0, 5000), content.subarray(5000)))
  const back = yield* storage.open("storage:browser/file.txt").pipe(Stream.decodeText(), Stream.mkString)
  const ws = yield* Effect.either(Stream.runDrain(jobs.monitor(job.id)))
  return {
    jobsBefore: before.length,
    listedIds: [...listed].map((j) => j.id),
    jobId: job.id,
    status: (yield* jobs.status(job.id)).status,
    log,
    roundTrip: back === new TextDecoder().decode(content),
    downloaded: back.length,
    storedLogin: page.localStorage.getItem("neuro-sdk/config") !== null,
    websocketRefusal: ws._tag === "Left" ? String(ws.left.message) : "none"
  }
}).pipe(Effect.provide(Browser.layer()))

Effect.runPromise(Effect.zipRight(login, work)).then(
  (result) => (page.neuroResult = { ok: true, ...result }),
  (error) => (page.neuroResult = { ok: false, error: String(error) })
)
