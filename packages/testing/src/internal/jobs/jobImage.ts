/**
 * What a job's image means when LocalPlatform starts it:
 *
 * - an image of LocalPlatform's own registry (it starts with the registry host the job was
 *   submitted to, as platform-api's `Container.belongs_to_registry` decides) is unpacked and
 *   becomes the job's root file system (`JobSpec.imageRoot`);
 * - such an image that cannot be pulled fails the job as the platform does: a `pending` item
 *   with the kubelet's waiting reason (`ErrImagePull`, or `InvalidImageName` for a reference
 *   that is not one), then platform-api's poller collects the job (`failed`, reason `Collected`,
 *   "Image '<image>' can not be pulled" / "Invalid image name '<image>'"; platform-api
 *   `orchestrator/job.py` `Job._collection_reason` and `JobStatusReason`,
 *   `tests/unit/test_job_service.py` `test_job_failed_errimagepull_workflow`). The platform
 *   waits `NP_K8S_JOB_IMAGE_PULL_DELAY` (60 s) of pull errors before collecting; LocalPlatform
 *   collects at once, and its `ErrImagePull` item says why the pull failed (the platform's is empty);
 * - any other image is not pulled: the job runs on this machine's file system, and its `running`
 *   status says so in its description.
 */
import * as Effect from "effect/Effect"
import type * as JobRunner from "../../JobRunner.js"
import { imageRoot, parseImage } from "./imageRoot.js"

/** A status item of a job (without its time). */
/** @internal */
export interface ImageStatus {
  readonly status: "pending" | "failed"
  readonly reason: string
  readonly description: string | null
}

/** @internal */
export type JobImage =
  | { readonly _tag: "Registry"; readonly root: JobRunner.ImageRoot }
  | { readonly _tag: "Host"; readonly note: string }
  | { readonly _tag: "Failed"; readonly statuses: ReadonlyArray<ImageStatus> }

/**
 * What the job's `image` is, unpacking it when it is one of LocalPlatform's registry
 * (`registryHost`: the `host[:port]` the job was submitted to, whose `/v2` is the registry).
 */
/** @internal */
export const jobImage = (dataDir: string, image: string, registryHost: string | undefined): Effect.Effect<JobImage> => {
  const ref = registryHost === undefined ? undefined : parseImage(image, registryHost)
  if (ref === undefined) {
    return Effect.succeed({
      _tag: "Host",
      note: `image ${image} is not in LocalPlatform's registry: running on this machine's file system`
    })
  }
  return imageRoot(dataDir, ref).pipe(
    Effect.map((root): JobImage => ({ _tag: "Registry", root })),
    Effect.catchAll((e) =>
      Effect.succeed<JobImage>({
        _tag: "Failed",
        statuses: e.reason === "InvalidName"
          ? [
            { status: "pending", reason: "InvalidImageName", description: e.description },
            { status: "failed", reason: "Collected", description: `Invalid image name '${image}'` }
          ]
          : [
            { status: "pending", reason: "ErrImagePull", description: e.description },
            { status: "failed", reason: "Collected", description: `Image '${image}' can not be pulled` }
          ]
      })
    )
  )
}
