/**
 * Lifecycle costs that last: per tenant and type, the activations, restarts, active and sleeping
 * time of this node's actors, metered from every lifecycle transition and written to KV
 * (`ants_lifecycle_cost`, one key per tenant, type and node: subjects/lifecycle-cost.ts) every
 * `flushMs` and when the node drains. A node that starts again under the same id carries on
 * from its stored figures, so totals survive restarts; each node writes only its own keys and a
 * reader sums them (`readLifecycleCosts`), so two nodes adding at once never lose an increment.
 *
 * What is counted, as the node's stats count it: an activation at each `cold|sleeping → warming`;
 * a restart at each restart in place; active time from warming until the actor sleeps or stops;
 * sleeping time while it sleeps on this node (until it wakes here, or its partition moves away).
 * A crash loses at most the last `flushMs` of figures.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { isNoResponders } from "../client/no-responders.ts"
import { Kvm, type KV } from "@nats-io/kv"
import { LIFECYCLE_COST_BUCKET, lifecycleCostKey, parseLifecycleCostKey } from "../../subjects/lifecycle-cost.ts"
import { encodeOk } from "../../subjects/envelope.ts"
import { nodesBroadcastSubject } from "../../subjects/grammar.ts"
import { retrying } from "../../supervisors/backoff.ts"

export interface LifecycleCost {
  readonly activations: number
  readonly restarts: number
  readonly activeMs: number
  readonly sleepingMs: number
}

const ZERO: LifecycleCost = { activations: 0, restarts: 0, activeMs: 0, sleepingMs: 0 }

export function addLifecycleCost(a: LifecycleCost, b: LifecycleCost): LifecycleCost {
  return { activations: a.activations + b.activations, restarts: a.restarts + b.restarts, activeMs: a.activeMs + b.activeMs, sleepingMs: a.sleepingMs + b.sleepingMs }
}

export interface CostMeter {
  /**
   * A lifecycle transition of an actor of this node (the HostNode hook). `sleptHere`: a
   * `sleeping` end that this node booked (the actor passivated here, or its partition moved away).
   */
  transitioned(a: { readonly tenant: string; readonly type: string; readonly id: string }, from: string, to: string, reason?: string, sleptHere?: boolean): void
  /** Writes what changed now. */
  flush(): Promise<void>
  /** Stops the timer after a last flush. */
  stop(): Promise<void>
}

/**
 * One tenant and type: its totals, and how many of its actors are active (warming, active or
 * idle) and asleep on this node since `at`. Time accrues per group, not per actor (active time
 * grows by `active` ms each ms), so the meter holds nothing per actor: at 100,000 actors a node
 * a map entry per actor was a fifth of an idle actor's heap.
 */
interface Group {
  totals: LifecycleCost
  active: number
  asleep: number
  at: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export async function startCostMeter(nc: NatsConnection, o: { nodeId: string; replicas?: number; flushMs?: number; log: (l: "info" | "warn" | "error", m: string) => void; now?: () => number }): Promise<CostMeter> {
  const now = o.now ?? (() => Date.now())
  const kv: KV = await retrying(() => new Kvm(nc).create(LIFECYCLE_COST_BUCKET, { history: 1, replicas: o.replicas ?? 1 }), 20_000)
  /** This node's groups by `<tenant>.<type>`, from its stored keys onwards. */
  const groups = new Map<string, Group>()
  const start = now()
  for await (const key of await kv.keys(`*.*.${o.nodeId}`)) {
    const e = await kv.get(key)
    const k = parseLifecycleCostKey(key)
    if (e && k && e.value.length > 0) groups.set(`${k.tenant}.${k.type}`, { totals: { ...ZERO, ...(JSON.parse(decoder.decode(e.value)) as LifecycleCost) }, active: 0, asleep: 0, at: start })
  }
  const dirty = new Set<string>()
  /** The group, its running time booked up to `at`. */
  const accrued = (name: string, at: number): Group => {
    let g = groups.get(name)
    if (g === undefined) {
      g = { totals: ZERO, active: 0, asleep: 0, at }
      groups.set(name, g)
    }
    const dt = Math.max(0, at - g.at)
    if (dt > 0 && (g.active > 0 || g.asleep > 0)) {
      g.totals = addLifecycleCost(g.totals, { activations: 0, restarts: 0, activeMs: g.active * dt, sleepingMs: g.asleep * dt })
      dirty.add(name)
    }
    g.at = at
    return g
  }
  const count = (g: Group, delta: Partial<LifecycleCost>) => {
    g.totals = addLifecycleCost(g.totals, { ...ZERO, ...delta })
  }

  const meter: CostMeter = {
    transitioned(a, from, to, reason, sleptHere) {
      const name = `${a.tenant}.${a.type}`
      if (to === "warming") {
        if (from === "cold" || from === "sleeping") {
          const g = accrued(name, now())
          // a wake of an actor that slept on another node ends no sleep booked here
          if (from === "sleeping" && sleptHere && g.asleep > 0) g.asleep--
          g.active++
          count(g, { activations: 1 })
          dirty.add(name)
        } else if (reason === "restart") {
          count(accrued(name, now()), { restarts: 1 })
          dirty.add(name)
        }
      } else if (to === "sleeping") {
        const g = accrued(name, now())
        if (g.active > 0) g.active--
        g.asleep++
      } else if (to === "cold") {
        const g = accrued(name, now())
        // a sleeper whose partition moved away (the new owner books its sleep from now on)
        if (from === "sleeping") {
          if (g.asleep > 0) g.asleep--
        } else if (g.active > 0) g.active--
      }
    },
    async flush() {
      const at = now()
      // running time is booked up to now and goes on from here
      for (const name of groups.keys()) accrued(name, at)
      for (const name of [...dirty]) {
        dirty.delete(name)
        const [tenant, type] = name.split(".") as [string, string]
        try {
          await kv.put(lifecycleCostKey(tenant, type, o.nodeId), encoder.encode(JSON.stringify({ ...groups.get(name)!.totals, at: new Date(at).toISOString() })))
        } catch (e) {
          dirty.add(name)
          o.log("warn", `lifecycle costs of ${name} not stored yet: ${(e as Error).message}`)
        }
      }
    },
    async stop() {
      clearInterval(timer)
      flushRequests.unsubscribe()
      await meter.flush()
    },
  }
  const timer = setInterval(() => void meter.flush(), o.flushMs ?? 5_000)
  timer.unref()
  // `ants cost` asks every node to store what it has before it reads the totals
  const flushRequests = nc.subscribe(nodesBroadcastSubject(COST_FLUSH), {
    callback: (_e, m) =>
      void meter.flush().finally(() => {
        try {
          m.respond(encodeOk({ node: o.nodeId }))
        } catch {
          // the asker is gone
        }
      }),
  })
  return meter
}

/** The node request (`ants._sys.nodes.cost-flush`) that makes every node store its figures now. */
export const COST_FLUSH = "cost-flush"

/**
 * Asks every node to store its figures now; resolves with how many answered within `timeoutMs`
 * (0 when no node runs: what they stored before is still there to read).
 */
export async function flushLifecycleCosts(nc: NatsConnection, timeoutMs = 1000): Promise<number> {
  let n = 0
  try {
    for await (const _m of await nc.requestMany(nodesBroadcastSubject(COST_FLUSH), new Uint8Array(), { maxWait: timeoutMs })) n++
  } catch (e) {
    if (!isNoResponders(e)) throw e
  }
  return n
}

export interface LifecycleCostReport {
  readonly byType: Record<string, LifecycleCost & { readonly nodes: number }>
  readonly byTenant: Record<string, LifecycleCost>
  readonly byTenantType: Record<string, LifecycleCost>
}

/** Sums every node's stored figures per type, per tenant and per tenant and type (empty when nothing was ever stored). */
export async function readLifecycleCosts(nc: NatsConnection, filter: { tenant?: string; type?: string } = {}): Promise<LifecycleCostReport> {
  const report = { byType: {} as Record<string, LifecycleCost & { nodes: number }>, byTenant: {} as Record<string, LifecycleCost>, byTenantType: {} as Record<string, LifecycleCost> }
  let kv: KV
  try {
    kv = await new Kvm(nc).open(LIFECYCLE_COST_BUCKET)
    await kv.status()
  } catch {
    return report
  }
  const nodesOf = new Map<string, Set<string>>()
  for await (const key of await kv.keys()) {
    const k = parseLifecycleCostKey(key)
    if (!k || (filter.tenant && k.tenant !== filter.tenant) || (filter.type && k.type !== filter.type)) continue
    const e = await kv.get(key)
    if (!e || e.value.length === 0) continue
    const c = { ...ZERO, ...(JSON.parse(decoder.decode(e.value)) as LifecycleCost) }
    const cost = { activations: c.activations, restarts: c.restarts, activeMs: c.activeMs, sleepingMs: c.sleepingMs }
    const nodes = nodesOf.get(k.type) ?? nodesOf.set(k.type, new Set()).get(k.type)!
    nodes.add(k.node)
    report.byType[k.type] = { ...addLifecycleCost(report.byType[k.type] ?? ZERO, cost), nodes: nodes.size }
    report.byTenant[k.tenant] = addLifecycleCost(report.byTenant[k.tenant] ?? ZERO, cost)
    report.byTenantType[`${k.tenant}/${k.type}`] = addLifecycleCost(report.byTenantType[`${k.tenant}/${k.type}`] ?? ZERO, cost)
  }
  return report
}
