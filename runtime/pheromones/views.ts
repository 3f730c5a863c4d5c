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

/** The watches one view opened; `close` stops them, and so does `signal` when it aborts. */
export function ownedWatches<W extends { stop(): Promise<void> }>(signal?: AbortSignal): { own: Set<W>; close: () => Promise<void> } {
  const own = new Set<W>()
  const close = async () => {
    const mine = [...own]
    own.clear()
    await Promise.all(mine.map((w) => w.stop()))
  }
  signal?.addEventListener("abort", () => void close().catch(() => undefined), { once: true })
  return { own, close }
}
