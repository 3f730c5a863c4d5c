/**
 * The node's lifecycle loop: what wakes actors and what puts them to sleep, on one tick.
 *
 * - Keep awake: warm pools, `always_on` instances, `business_hours` instances inside their
 *   window and the actors run by supervisor workers are re-activated on their owner when they
 *   are not active there (after a stop by a supervisor, a type revived or reset, a partition
 *   gained, a business-hours window opening), at most one attempt a second per actor.
 * - Sleep: an actor idle for its type's `passivateAfterMs` passivates unless its tier, pool,
 *   window or a wake's keep-alive holds it; a schedule's auto-sleep passivates it earlier. The
 *   sweep visits the actors at work on every tick and the others a slice at a time
 *   (runtime/node/lifecycle-sweep.ts).
 * - Schedules fire on the same tick (runtime/actor/schedules.ts), and the wakes at start.
 *
 * Calendar decisions (business-hours windows, cron firings, missed firings) read the node's
 * `clock` (a test injects one); idle and passivation times are measured on the system clock.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { agentSubject, DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { encodeError, encodeOk } from "../../subjects/envelope.ts"
import { SCHEDULES_LIST_SUBJECT } from "../../subjects/wake.ts"
import { actorKey } from "../../subjects/inbound.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import { idsToKeepAwake, idsToWakeAtStart } from "../actor/lifecycle-policy.ts"
import { startSchedules, systemClock, type Clock } from "../actor/schedules.ts"
import type { TypeHost } from "../actor/type-host.ts"
import { lifecycleSweep } from "./lifecycle-sweep.ts"
import type { Logger } from "./options.ts"

export interface LifecycleLoopDeps {
  readonly id: string
  readonly nc: NatsConnection
  readonly agents: ReadonlyArray<AgentDefinition<any, any>>
  readonly hosts: ReadonlyMap<string, TypeHost>
  readonly replicas: number
  readonly log: Logger
  readonly clock?: Clock
  readonly idleAfterMs: number
  readonly passivateAfterMs: number
  /** Owner of an actor in the current view, and the partitions this node serves (undefined: direct routing). */
  ownerOf(type: string, id: string): string | undefined
  ownedPartitions(): ReadonlyArray<number> | undefined
  /** Singleton actors of supervisor workers, and whether each one's worker is up. */
  workers(): ReadonlyArray<{ readonly actor: { readonly tenant: string; readonly type: string; readonly id: string } }>
  workerUp(actor: { readonly tenant: string; readonly type: string; readonly id: string }): boolean | undefined
  accepting(): boolean
}

export async function startLifecycleLoop(d: LifecycleLoopDeps): Promise<{ stop(): void }> {
  const { id, nc, hosts, log } = d
  const clock = d.clock ?? systemClock
  const wakeAttempts = new Map<string, number>()
  const keepAwake = (real: number, calendar: number) => {
    if (!d.accepting()) return
    const partitions = d.ownedPartitions()
    const owned = partitions !== undefined ? new Set(partitions) : undefined
    const workers = d.workers()
    for (const host of hosts.values()) {
      if (host.unavailable !== undefined) continue
      const type = host.definition.type
      const targets: Array<{ tenant: string; id: string }> = idsToKeepAwake(host.definition, calendar).map((actorId) => ({ tenant: DEFAULT_TENANT, id: actorId }))
      for (const w of workers) if (w.actor.type === type && d.workerUp(w.actor)) targets.push(w.actor)
      for (const t of targets) {
        const key = actorKey(t.tenant, t.id)
        if (host.cells.has(key)) continue
        if (d.ownerOf(type, t.id) !== id || (owned !== undefined && !owned.has(partitionOf(type, t.id)))) continue
        const attempt = `${type}\u0000${key}`
        const last = wakeAttempts.get(attempt)
        if (last !== undefined && real - last < 1000) continue
        wakeAttempts.set(attempt, real)
        host.cell(t.tenant, t.id)
      }
    }
  }
  const wake = (type: string, actorId: string, tenant = DEFAULT_TENANT) => {
    try {
      nc.publish(agentSubject({ tenant, type, id: actorId, tag: "_Wake" }))
    } catch (e) {
      log("warn", `could not wake ${type}/${actorId}: ${(e as Error).message}`)
    }
  }
  const schedules = await startSchedules(nc, d.agents, { nodeId: id, replicas: d.replicas, log, clock })
  // every node answers `ants schedules` (one with none says so: an empty list)
  const listing = nc.subscribe(SCHEDULES_LIST_SUBJECT, {
    callback: (_e, m) =>
      void schedules.list().then(
        (list) => m.respond(encodeOk({ node: id, schedules: list })),
        (e: unknown) => m.respond(encodeError("unavailable", `node ${id} could not read its schedules: ${(e as Error).message}`)),
      ).catch(() => undefined),
  })
  const tick = Math.max(20, Math.min(1000, Math.floor(Math.min(d.idleAfterMs, d.passivateAfterMs) / 2)))
  const sweep = lifecycleSweep({
    idleAfterMs: d.idleAfterMs,
    tickMs: tick,
    failed: (host, cell, e) => log("warn", `passivation of ${host.definition.type}/${cell.id} failed: ${(e as Error).message}`),
  })
  const sweeper = setInterval(() => {
    const real = Date.now()
    const calendar = clock.now()
    keepAwake(real, calendar)
    sweep(hosts.values(), real, calendar)
    if (d.accepting()) void schedules.tick(calendar)
  }, tick)
  sweeper.unref()

  const now = clock.now()
  for (const host of hosts.values()) for (const actorId of idsToWakeAtStart(host.definition, now)) wake(host.definition.type, actorId)
  for (const w of d.workers()) wake(w.actor.type, w.actor.id, w.actor.tenant)
  return {
    stop() {
      clearInterval(sweeper)
      listing.unsubscribe()
      schedules.stop()
    },
  }
}
