/**
 * What the pheromone API and the workspace share about their views: a view checks its options
 * up front, and owns the watches it opened, so closing one view (or aborting an activation's
 * signal) stops those watches only, never another view's.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { PheromoneError, tenantValue } from "../../subjects/pheromones.ts"
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

/**
 * What the core of every view starts from, its options checked: the connection, the tenant
 * (default `default`), the clock and the stores' replicas.
 */
export function viewCore(
  nc: NatsConnection,
  options: StoreOptions & { readonly tenant?: string; readonly now?: () => number },
): { nc: NatsConnection; tenant: string; now: () => number; replicas: number | undefined } {
  checkReplicasOption(options)
  return { nc, tenant: tenantValue(options.tenant ?? DEFAULT_TENANT), now: options.now ?? Date.now, replicas: options.replicas }
}

interface Stoppable {
  stop(): Promise<void>
}

/** Stops every watch of the set (all views of one API instance, at drain) and empties it. */
export async function stopEvery(watches: Set<Stoppable>): Promise<void> {
  const all = [...watches]
  watches.clear()
  await Promise.all(all.map((w) => w.stop().catch(() => undefined)))
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
