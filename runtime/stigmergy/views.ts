/**
 * What the pheromone API and the workspace share about their views: a view checks its options
 * up front, and owns the watches it opened, so closing one view (or aborting an activation's
 * signal) stops those watches only, never another view's.
 */
import { PheromoneError } from "../../subjects/pheromones.ts"
import { replicasOf, type StoreOptions } from "./kv-store.ts"

/** Refuses a bad `replicas` option when the API is created, not at the first write. */
export function checkReplicasOption(options: StoreOptions): void {
  if (options.replicas === undefined) return
  try {
    replicasOf(options)
  } catch (e) {
    throw new PheromoneError("invalid_request", (e as Error).message)
  }
}

interface Stoppable {
  stop(): Promise<void>
}

/**
 * The watches one view opened; `close` stops them, and so does `signal` when it aborts.
 * `adopt` registers a started watch with the view and with the API's shared set (stopped at
 * drain), and stops it at once when the view's owner went away while it was starting.
 */
export function ownedWatches(signal?: AbortSignal): {
  close: () => Promise<void>
  adopt: (started: Stoppable, shared: Set<Stoppable>) => Promise<Stoppable>
} {
  const own = new Set<Stoppable>()
  const close = async () => {
    const mine = [...own]
    own.clear()
    await Promise.all(mine.map((w) => w.stop()))
  }
  signal?.addEventListener("abort", () => void close().catch(() => undefined), { once: true })
  const adopt = async (started: Stoppable, shared: Set<Stoppable>) => {
    const handle: Stoppable = {
      async stop() {
        shared.delete(handle)
        own.delete(handle)
        await started.stop()
      },
    }
    shared.add(handle)
    own.add(handle)
    if (signal?.aborted) await handle.stop()
    return handle
  }
  return { close, adopt }
}
