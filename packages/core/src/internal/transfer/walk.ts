/**
 * The walk of a tree transfer: a fixed number of workers take the entries of the folders one at a
 * time, depth first. A folder's entries are held only while it is open (a folder entered, not all
 * of its entries taken), so the work in memory is bounded by the depth of the tree and the number
 * of workers, never by its number of files.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** An entered folder: its entries (taken in order), and what to do once all of them are done. */
/** @internal */
export interface Folder<X> {
  readonly entries: ReadonlyArray<X>
  readonly leave: Effect.Effect<void>
}

interface Node<X> {
  readonly folder: Folder<X>
  readonly parent: Node<X> | undefined
  next: number
  /** Entries taken and not done, plus one while entries remain to be taken. */
  open: number
}

type Job<X> =
  | { readonly _tag: "Entry"; readonly node: Node<X>; readonly entry: X; readonly folder: boolean }
  | { readonly _tag: "Exhausted"; readonly node: Node<X> }

/**
 * Run the tree under `root` with `workers` fibers. `run` does one entry: a file transfer (or an
 * event), or entering a folder, which gives the folder's own entries; a folder's `leave` runs when
 * everything below it is done. The first failure interrupts the other workers.
 */
/** @internal */
export const walk = <X, E>(
  root: Folder<X>,
  run: (entry: X) => Effect.Effect<Folder<X> | undefined, E>,
  workers: number,
  options: {
    /** Entries known to be folders (entered, not transferred). */
    readonly isFolder?: ((entry: X) => boolean) | undefined
    /** Folders known as such entered at once; the others wait for the files there are to take. */
    readonly entering?: number | undefined
  } = {}
): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    const isFolder = options.isFolder
    const maxEntering = Math.max(1, options.entering ?? 2)
    let entering = 0
    const stack: Array<Node<X>> = [{ folder: root, parent: undefined, next: 0, open: 1 }]
    let finished = false
    let sleeping: Array<() => void> = []
    const wakeAll = () => {
      const s = sleeping
      sleeping = []
      for (const wake of s) wake()
    }
    const sleep = Effect.async<void>((resume) => {
      sleeping.push(() => resume(Effect.void))
    })

    const take = (): Job<X> | undefined => {
      const top = stack[stack.length - 1]
      if (top === undefined) return undefined
      if (top.next < top.folder.entries.length) {
        const entry = top.folder.entries[top.next]!
        const folder = isFolder?.(entry) === true
        // a listing in memory per folder entered at once: wait for one to be in
        if (folder && entering >= maxEntering) return undefined
        if (folder) entering++
        top.next++
        top.open++
        return { _tag: "Entry", node: top, entry, folder }
      }
      stack.pop()
      return { _tag: "Exhausted", node: top }
    }

    /** One entry (or the taking of all entries) of `node` is done; a folder done leaves, up the tree. */
    const done = (node: Node<X>): Effect.Effect<void> =>
      Effect.suspend(() => {
        node.open--
        if (node.open > 0) return Effect.void
        return Effect.zipRight(
          node.folder.leave,
          Effect.suspend(() => {
            if (node.parent !== undefined) return done(node.parent)
            finished = true
            wakeAll()
            return Effect.void
          })
        )
      })

    const worker: Effect.Effect<void, E> = Effect.gen(function*() {
      while (!finished) {
        const job = take()
        if (job === undefined) {
          yield* sleep
          continue
        }
        if (job._tag === "Exhausted") {
          yield* done(job.node)
          continue
        }
        const entered = job.folder
          ? yield* Effect.ensuring(run(job.entry), Effect.sync(() => {
            entering--
            wakeAll()
          }))
          : yield* run(job.entry)
        if (entered === undefined) {
          yield* done(job.node)
        } else {
          stack.push({ folder: entered, parent: job.node, next: 0, open: 1 })
          wakeAll()
        }
      }
    })

    return Effect.all(Array.from({ length: Math.max(1, workers) }, () => worker), { concurrency: "unbounded", discard: true })
  })
