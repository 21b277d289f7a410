/**
 * The walk of a tree transfer: a fixed number of workers take the entries of the open folders one
 * at a time. The files of up to `spread` folders are taken in turn (concurrent file creations in
 * one directory make the file system wait on that directory's lock, on either side of the
 * connection), and a folder is entered when fewer than `spread` are open: the work in memory is
 * the open folders' entries, never the whole tree's.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** An entered folder: its entries, and what to do once all of them are done. */
/** @internal */
export interface Folder<X> {
  readonly entries: ReadonlyArray<X>
  readonly leave: Effect.Effect<void>
}

/** @internal */
export interface WalkOptions<X> {
  /** Entries that are folders (entered, not transferred); by default none is known to be one. */
  readonly isFolder?: ((entry: X) => boolean) | undefined
  /** Folders whose files are taken in turn, and at most entered at once (default 8). */
  readonly spread?: number | undefined
}

class Node<X> {
  /** Entries taken and not done, plus one while entries remain to be taken. */
  open = 1
  /** The next file and the next folder among the entries (`entries.length`: none left). */
  nextFile = -1
  nextFolder = -1

  constructor(
    readonly folder: Folder<X>,
    readonly parent: Node<X> | undefined,
    private readonly isFolder: (entry: X) => boolean
  ) {
    this.nextFile = this.seek(0, false)
    this.nextFolder = this.seek(0, true)
  }

  get hasFiles(): boolean {
    return this.nextFile < this.folder.entries.length
  }

  get hasFolders(): boolean {
    return this.nextFolder < this.folder.entries.length
  }

  private seek(from: number, folder: boolean): number {
    const entries = this.folder.entries
    let i = from
    while (i < entries.length && this.isFolder(entries[i]!) !== folder) i++
    return i
  }

  takeFile(): X {
    const entry = this.folder.entries[this.nextFile]!
    this.nextFile = this.seek(this.nextFile + 1, false)
    this.open++
    return entry
  }

  takeFolder(): X {
    const entry = this.folder.entries[this.nextFolder]!
    this.nextFolder = this.seek(this.nextFolder + 1, true)
    this.open++
    return entry
  }
}

type Job<X> =
  | { readonly _tag: "Entry"; readonly node: Node<X>; readonly entry: X; readonly folder: boolean }
  | { readonly _tag: "Exhausted"; readonly node: Node<X> }

/** The open folders and the order their entries are taken in. */
class Agenda<X> {
  /** Folders with files left, taken in turn. */
  private readonly withFiles: Array<Node<X>> = []
  private turn = 0
  /** Folders with subfolders left: the newest first (depth first). */
  private readonly withFolders: Array<Node<X>> = []
  /** Folders all of whose entries are taken: their hold is released by a worker. */
  private readonly exhausted: Array<Node<X>> = []
  /** Folders being entered. */
  entering = 0

  constructor(private readonly spread: number, private readonly isFolder: (entry: X) => boolean) {}

  add(folder: Folder<X>, parent: Node<X> | undefined): void {
    const node = new Node(folder, parent, this.isFolder)
    if (node.hasFiles) this.withFiles.push(node)
    if (node.hasFolders) this.withFolders.push(node)
    if (!node.hasFiles && !node.hasFolders) this.exhausted.push(node)
  }

  /** The next job, or nothing for now. */
  take(): Job<X> | undefined {
    const done = this.exhausted.pop()
    if (done !== undefined) return { _tag: "Exhausted", node: done }
    // keep `spread` folders open while there are folders to open
    if (this.withFolders.length > 0 && this.entering + this.withFiles.length < this.spread) return this.folder()
    if (this.withFiles.length > 0) return this.file()
    // nothing but folders, as many being entered as may be
    return undefined
  }

  private file(): Job<X> {
    if (this.turn >= this.withFiles.length) this.turn = 0
    const node = this.withFiles[this.turn]!
    const entry = node.takeFile()
    if (node.hasFiles) this.turn++
    else {
      this.withFiles.splice(this.turn, 1)
      if (!node.hasFolders) this.exhausted.push(node)
    }
    return { _tag: "Entry", node, entry, folder: false }
  }

  private folder(): Job<X> {
    const node = this.withFolders[this.withFolders.length - 1]!
    const entry = node.takeFolder()
    if (!node.hasFolders) {
      this.withFolders.pop()
      if (!node.hasFiles) this.exhausted.push(node)
    }
    this.entering++
    return { _tag: "Entry", node, entry, folder: true }
  }
}

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
  options: WalkOptions<X> = {}
): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    const agenda = new Agenda<X>(Math.max(1, options.spread ?? 8), options.isFolder ?? (() => false))
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

    const entered = Effect.sync(() => {
      agenda.entering--
      wakeAll()
    })

    const worker: Effect.Effect<void, E> = Effect.gen(function*() {
      while (!finished) {
        const job = agenda.take()
        if (job === undefined) {
          yield* sleep
          continue
        }
        if (job._tag === "Exhausted") {
          yield* done(job.node)
          continue
        }
        const folder = job.folder ? yield* Effect.ensuring(run(job.entry), entered) : yield* run(job.entry)
        if (folder === undefined) {
          yield* done(job.node)
        } else {
          agenda.add(folder, job.node)
          wakeAll()
        }
      }
    })

    agenda.add(root, undefined)
    return Effect.all(Array.from({ length: Math.max(1, workers) }, () => worker), { concurrency: "unbounded", discard: true })
  })
