/**
 * Load pheromones from real load. On an interval (never per message) a node samples its load
 * and deposits one `load` trail per sample, signed by the node and named after it (id = node
 * id), so each node has one trail per location that it replaces at every report:
 *
 * - agent types (`typeLoads`): per tenant and type hosted here, load = the larger of the share
 *   of its active actors that are busy (running or with mail) and the messages waiting per
 *   active actor, capped at 1; at location `elastic.load.<type>`;
 * - anything else a caller can measure (a task capability's queue depth, say): samples at
 *   `elastic.capability.<capability>` (capabilityLoadLocation).
 *
 * A trail lives twenty intervals and decays linearly, so a report read within one interval keeps
 * at least 95% of its load (1.0 still reads critical) while a node that stopped reporting
 * fades below the critical mark after two; a sample that drops to 0 removes the node's trail
 * rather than waiting for it to evaporate; a location that stays at 0 costs no write. Strength is the load itself, so the
 * seed's critical mark (≥ 0.9) is what `findOverloaded` (runtime/stigmergy/swarm-rules.ts)
 * finds.
 */
import type { Pheromones } from "../stigmergy/pheromones.ts"
import type { TypeHost } from "../actor/type-host.ts"
import { typeLoadLocation } from "../../subjects/elastic.ts"

export const LOAD_DEFAULTS = {
  intervalMs: 1_000,
  /** Trails outlive their report by this many intervals. */
  lifeIntervals: 20,
} as const

export interface LoadSample {
  readonly tenant: string
  readonly location: string
  /** In [0, 1]. */
  readonly load: number
  readonly data?: Record<string, unknown>
}

export interface LoadReporterOptions {
  /** Signs and names the trails. */
  readonly nodeId: string
  /** The tenant's pheromone API (the node's stigmergy). */
  pheromones(tenant: string): Pheromones
  sample(): ReadonlyArray<LoadSample> | Promise<ReadonlyArray<LoadSample>>
  readonly intervalMs?: number
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

export interface LoadReporter {
  /** The samples of the last report. */
  last(): ReadonlyArray<LoadSample>
  /** Samples and deposits now (the interval does it on its own). */
  report(): Promise<void>
  stop(): void
}

/**
 * The load of every type hosted on a node, per tenant that has live actors of it. Its cost follows
 * the actors at work, not the actors held: the counts per tenant are kept as cells come and go
 * (runtime/actor/actor-cells.ts), and only the host's `recent` cells (activated or active since the
 * lifecycle sweep last found them idle) can be busy or have mail.
 */
export function typeLoads(hosts: ReadonlyMap<string, Pick<TypeHost, "cells" | "recent" | "definition">>): LoadSample[] {
  const out: LoadSample[] = []
  for (const host of hosts.values()) {
    const per = new Map<string, { actors: number; busy: number; queued: number }>()
    for (const [tenant, actors] of host.cells.perTenant) per.set(tenant, { actors, busy: 0, queued: 0 })
    for (const cell of host.recent) {
      const t = cell.status === "stopped" ? undefined : per.get(cell.tenant)
      if (t === undefined) continue
      if (cell.busy) t.busy++
      t.queued += cell.queued
    }
    for (const [tenant, t] of per) {
      const load = t.actors === 0 ? 0 : Math.min(1, Math.max(t.busy / t.actors, t.queued / t.actors))
      out.push({ tenant, location: typeLoadLocation(host.definition.type), load, data: { type: host.definition.type, ...t } })
    }
  }
  return out
}

export function startLoadReporter(o: LoadReporterOptions): LoadReporter {
  const intervalMs = Math.max(50, o.intervalMs ?? LOAD_DEFAULTS.intervalMs)
  const ttlMs = Math.max(1_000, intervalMs * LOAD_DEFAULTS.lifeIntervals)
  /** Locations (per tenant) whose last report was above 0: a drop to 0 removes the trail once. */
  const lastPositive = new Set<string>()
  let last: ReadonlyArray<LoadSample> = []
  let running: Promise<void> | undefined
  let stopped = false

  const reportOnce = async () => {
    const samples = await o.sample()
    last = samples
    const seen = new Set<string>()
    await Promise.all(
      samples.map(async (s) => {
        const at = `${s.tenant}\u0000${s.location}`
        seen.add(at)
        const load = Math.round(Math.min(1, Math.max(0, s.load)) * 1000) / 1000
        const ph = o.pheromones(s.tenant)
        if (load > 0) {
          await ph.deposit({ type: "load", location: s.location, id: o.nodeId, strength: load, ttlMs, decay: "linear", data: { node: o.nodeId, load, ...s.data } })
          lastPositive.add(at)
        } else if (lastPositive.delete(at)) {
          await ph.evaporate({ location: s.location, id: o.nodeId })
        }
      }),
    )
    // a location that vanished from the samples (its last actor went) is at 0 too
    for (const at of [...lastPositive]) {
      if (seen.has(at)) continue
      lastPositive.delete(at)
      const [tenant, location] = at.split("\u0000")
      await o.pheromones(tenant).evaporate({ location, id: o.nodeId })
    }
  }

  const report = async () => {
    if (running) return await running
    running = reportOnce()
      .catch((e) => o.log("warn", `load report of node ${o.nodeId} failed: ${(e as Error).message}`))
      .finally(() => (running = undefined))
    return await running
  }

  const timer = setInterval(() => {
    if (!stopped) void report()
  }, intervalMs)
  timer.unref()

  return {
    last: () => last,
    report,
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}
