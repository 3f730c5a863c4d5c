/**
 * The marketplace's signals: what a broker tells the swarm about a task it auctions, behind a
 * small interface (`noSignals`, or pheromones through runtime/stigmergy: `task` on announce,
 * `success` or `danger` on the outcome).
 */
import type { Pheromones } from "../stigmergy/mod.ts"


export interface TaskSignals {
  /** A task is up for bids at its capability's location. */
  announce(t: { capability: string; taskId: string; strength: number; priority: number; attempt: number }): Promise<void>
  completed(t: { capability: string; taskId: string; agentId: string }): Promise<void>
  /** `final`: the last attempt failed (the task is dead-lettered next). */
  failed(t: { capability: string; taskId: string; agentId: string; error: string; final?: boolean }): Promise<void>
}

export const noSignals: TaskSignals = {
  announce: async () => undefined,
  completed: async () => undefined,
  failed: async () => undefined,
}

/** Signals as pheromones (runtime/stigmergy): `task` on announce, `success`/`danger` on the outcome. */
export function pheromoneSignals(ph: Pheromones): TaskSignals {
  return {
    async announce(t) {
      await ph.deposit({
        type: "task",
        location: t.capability,
        id: t.taskId,
        strength: t.strength,
        data: { taskId: t.taskId, priority: t.priority, attempt: t.attempt },
      })
    },
    // the two writes are to different keys: sent together, one round trip of the broker's slot
    async completed(t) {
      await Promise.all([
        ph.evaporate({ location: t.capability, id: t.taskId }).catch(() => false),
        ph.deposit({ type: "success", location: t.capability, data: { taskId: t.taskId, agentId: t.agentId } }),
      ])
    },
    async failed(t) {
      await Promise.all([
        // the last attempt: nothing will be offered again, so the task trail goes now
        t.final ? ph.evaporate({ location: t.capability, id: t.taskId }).catch(() => false) : undefined,
        ph.deposit({ type: "danger", location: t.capability, strength: "low", data: { taskId: t.taskId, agentId: t.agentId, error: t.error.slice(0, 500) } }),
      ])
    },
  }
}
