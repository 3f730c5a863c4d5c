/**
 * Every node's part in pools: the members of every pool (KV `ants_pools`) that this node owns by
 * placement are kept awake (activated when they are not, never passivated while members), and a
 * member the pool let go is passivated here as soon as it is idle. Members move with their
 * partitions: a node that gains one wakes the member; the one that lost it stops holding it.
 */
import type { TypeHost } from "../actor/type-host.ts"
import { actorKey } from "../../subjects/inbound.ts"
import { poolMemberId } from "../../subjects/elastic.ts"
import type { PoolSpec } from "./pool-spec.ts"
import type { PoolState } from "./pool-state.ts"

export interface PoolKeeperDeps {
  readonly hosts: ReadonlyMap<string, TypeHost>
  readonly state: PoolState
  specOf(tenant: string, type: string): PoolSpec | undefined
  /** Whether this node owns (serves) the actor now. */
  owns(type: string, id: string): boolean
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

/** At most one activation attempt a second per member (the same pace as the node's keep-awake). */
const WAKE_EVERY_MS = 1_000

export function createPoolKeeper(d: PoolKeeperDeps) {
  /** Keys this keeper pinned, per type (never keys someone else pinned, e.g. supervisor workers). */
  const pinnedHere = new Map<string, Set<string>>()
  /** Keys let go of, to passivate once idle. */
  const released = new Map<string, Set<string>>()
  const attempts = new Map<string, number>()
  const setOf = (m: Map<string, Set<string>>, type: string) => {
    let s = m.get(type)
    if (!s) m.set(type, (s = new Set()))
    return s
  }

  const unpin = (host: TypeHost, key: string) => {
    const mine = pinnedHere.get(host.definition.type)
    if (mine?.delete(key)) {
      host.pinned.delete(key)
      setOf(released, host.definition.type).add(key)
    }
  }

  return {
    tick(now: number, accepting: boolean): void {
      const want = new Map<string, Set<string>>()
      for (const rec of d.state.pools.values()) {
        const host = d.hosts.get(rec.type)
        const spec = host && d.specOf(rec.tenant, rec.type)
        if (!host || !spec) continue
        const size = Math.min(spec.max, Math.max(spec.min, rec.size))
        for (let i = 0; i < size; i++) {
          const id = poolMemberId(spec.prefix, i)
          if (!d.owns(rec.type, id)) continue
          const key = actorKey(rec.tenant, id)
          setOf(want, rec.type).add(key)
          const mine = setOf(pinnedHere, rec.type)
          if (!mine.has(key) && !host.pinned.has(key)) {
            mine.add(key)
            host.pinned.add(key)
          }
          released.get(rec.type)?.delete(key)
          if (!accepting || host.unavailable !== undefined || host.cells.has(key)) continue
          const attempt = `${rec.type}\u0000${key}`
          const last = attempts.get(attempt)
          if (last !== undefined && now - last < WAKE_EVERY_MS) continue
          attempts.set(attempt, now)
          try {
            host.cell(rec.tenant, id, key)
          } catch (e) {
            d.log("warn", `pool member ${rec.tenant}/${rec.type}/${id} could not be woken: ${(e as Error).message}`)
          }
        }
      }
      for (const [type, mine] of pinnedHere) {
        const host = d.hosts.get(type)
        if (!host) continue
        for (const key of [...mine]) if (!want.get(type)?.has(key)) unpin(host, key)
      }
      for (const [type, keys] of released) {
        const host = d.hosts.get(type)
        for (const key of keys) {
          const cell = host?.cells.get(key)
          if (!host || !cell) {
            keys.delete(key)
            continue
          }
          if (!cell.busy && cell.status === "idle" && !host.passivating(cell) && host.mayPassivate(cell, now)) {
            keys.delete(key)
            void host.passivate(cell).catch((e) => d.log("warn", `passivation of released pool member ${type}/${cell.id} failed: ${(e as Error).message}`))
          }
        }
      }
      if (attempts.size > 10_000) attempts.clear()
    },

    /** Lets go of every pin (the node drains). */
    stop(): void {
      for (const [type, mine] of pinnedHere) {
        const host = d.hosts.get(type)
        for (const key of mine) host?.pinned.delete(key)
      }
      pinnedHere.clear()
      released.clear()
    },
  }
}
