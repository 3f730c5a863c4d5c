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
  /** A lifecycle transition of an actor of this node (the HostNode hook). */
  transitioned(a: { readonly tenant: string; readonly type: string; readonly id: string }, from: string, to: string, reason?: string): void
  /** Writes what changed now. */
  flush(): Promise<void>
  /** Stops the timer after a last flush. */
  stop(): Promise<void>
}

interface Interval {
  readonly group: string
  readonly actor: { readonly tenant: string; readonly type: string; readonly id: string }
  since: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export async function startCostMeter(nc: NatsConnection, o: { nodeId: string; replicas?: number; flushMs?: number; log: (l: "info" | "warn" | "error", m: string) => void; now?: () => number; stillAsleep?: (a: { tenant: string; type: string; id: string }) => boolean }): Promise<CostMeter> {
  const now = o.now ?? (() => Date.now())
  const kv: KV = await retrying(() => new Kvm(nc).create(LIFECYCLE_COST_BUCKET, { history: 1, replicas: o.replicas ?? 1 }), 20_000)
  /** This node's totals per `<tenant>.<type>`, from its stored keys onwards. */
  const totals = new Map<string, LifecycleCost>()
  for await (const key of await kv.keys(`*.*.${o.nodeId}`)) {
    const e = await kv.get(key)
    const k = parseLifecycleCostKey(key)
    if (e && k && e.value.length > 0) totals.set(`${k.tenant}.${k.type}`, { ...ZERO, ...(JSON.parse(decoder.decode(e.value)) as LifecycleCost) })
  }
  const dirty = new Set<string>()
  const active = new Map<string, Interval>()
  const asleep = new Map<string, Interval>()
  const add = (group: string, delta: Partial<LifecycleCost>) => {
    totals.set(group, addLifecycleCost(totals.get(group) ?? ZERO, { ...ZERO, ...delta }))
    dirty.add(group)
  }
  const close = (m: Map<string, Interval>, key: string, field: "activeMs" | "sleepingMs", at: number) => {
    const i = m.get(key)
    if (i === undefined) return
    m.delete(key)
    add(i.group, { [field]: Math.max(0, at - i.since) })
  }

  const meter: CostMeter = {
    transitioned(a, from, to, reason) {
      const key = `${a.tenant}.${a.type}.${a.id}`
      const group = `${a.tenant}.${a.type}`
      const at = now()
      if (to === "warming") {
        if (from === "cold" || from === "sleeping") {
          close(asleep, key, "sleepingMs", at)
          add(group, { activations: 1 })
          if (!active.has(key)) active.set(key, { group, actor: a, since: at })
        } else if (reason === "restart") add(group, { restarts: 1 })
      } else if (to === "sleeping") {
        close(active, key, "activeMs", at)
        asleep.set(key, { group, actor: a, since: at })
      } else if (to === "cold") {
        close(active, key, "activeMs", at)
      }
    },
    async flush() {
      const at = now()
      // running intervals are booked up to now and go on from here
      for (const [field, m] of [["activeMs", active], ["sleepingMs", asleep]] as const) {
        for (const [key, i] of m) {
          add(i.group, { [field]: Math.max(0, at - i.since) })
          i.since = at
          // asleep here no more (its partition moved: the new owner books its sleep from now)
          if (m === asleep && o.stillAsleep && !o.stillAsleep(i.actor)) m.delete(key)
        }
      }
      for (const group of [...dirty]) {
        dirty.delete(group)
        const [tenant, type] = group.split(".") as [string, string]
        try {
          await kv.put(lifecycleCostKey(tenant, type, o.nodeId), encoder.encode(JSON.stringify({ ...totals.get(group), at: new Date(at).toISOString() })))
        } catch (e) {
          dirty.add(group)
          o.log("warn", `lifecycle costs of ${group} not stored yet: ${(e as Error).message}`)
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

/** Asks every node to store its figures now; resolves with how many answered within `timeoutMs`. */
export async function flushLifecycleCosts(nc: NatsConnection, timeoutMs = 1000): Promise<number> {
  let n = 0
  for await (const _m of await nc.requestMany(nodesBroadcastSubject(COST_FLUSH), new Uint8Array(), { maxWait: timeoutMs })) n++
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
