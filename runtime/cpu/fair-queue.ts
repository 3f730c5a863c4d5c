/**
 * A fair queue for a node's dispatch: deficit round robin across tenants, and round robin
 * across the flows (actors) of a tenant, with first-in first-out order inside a flow.
 *
 * A flooding tenant fills only its own queue; each turn every tenant with work gets up to
 * `quantum` units of cost (a message, or its bytes), so another tenant's message waits for at
 * most one turn of each busy tenant, not for the whole flood (Shreedhar and Varghese's deficit
 * round robin). Inside a tenant the same holds between actors, so one actor sent 200,000
 * tells cannot starve its neighbours. An actor's own messages keep their arrival order.
 *
 * `push` refuses (false) when the tenant's queued cost would pass `maxTenantCost`, so a flood
 * is bounded per tenant, not only in total. Pure data structure: no timers, no I/O.
 */

interface Flow<T> {
  readonly key: string
  readonly items: T[]
  readonly costs: number[]
  head: number
}

interface TenantQueue<T> {
  readonly tenant: string
  readonly flows: Map<string, Flow<T>>
  /** Flows with items, in round-robin order. */
  readonly ring: Flow<T>[]
  next: number
  deficit: number
  /** Whether its current turn has begun (its quantum credited). */
  started: boolean
  cost: number
  count: number
}

export interface FairQueueOptions {
  /** Cost a tenant may take per turn. Default 1 (with cost 1 per message: plain round robin). */
  readonly quantum?: number
  /** Largest queued cost per tenant; beyond it `push` refuses. Default unbounded. */
  readonly maxTenantCost?: number
}

export class FairQueue<T> {
  private readonly tenants = new Map<string, TenantQueue<T>>()
  /** Tenants with work, in round-robin order. */
  private readonly active: TenantQueue<T>[] = []
  private turn = 0
  private total = 0
  private totalCost = 0
  private readonly quantum: number
  private readonly maxTenantCost: number

  constructor(options: FairQueueOptions = {}) {
    this.quantum = options.quantum ?? 1
    this.maxTenantCost = options.maxTenantCost ?? Number.POSITIVE_INFINITY
  }

  get size(): number {
    return this.total
  }

  get cost(): number {
    return this.totalCost
  }

  /** Items queued for a tenant. */
  queued(tenant: string): number {
    return this.tenants.get(tenant)?.count ?? 0
  }

  /** Queues `item` on the flow `flow` of `tenant`; false when the tenant's bound is reached. */
  push(tenant: string, flow: string, item: T, cost = 1): boolean {
    let t = this.tenants.get(tenant)
    if (t === undefined) {
      t = { tenant, flows: new Map(), ring: [], next: 0, deficit: 0, started: false, cost: 0, count: 0 }
      this.tenants.set(tenant, t)
    }
    if (t.cost + cost > this.maxTenantCost && t.count > 0) return false
    let f = t.flows.get(flow)
    if (f === undefined) {
      f = { key: flow, items: [], costs: [], head: 0 }
      t.flows.set(flow, f)
      t.ring.push(f)
    }
    f.items.push(item)
    f.costs.push(cost)
    if (t.count === 0) this.active.push(t)
    t.count++
    t.cost += cost
    this.total++
    this.totalCost += cost
    return true
  }

  /** The next item in fair order, or undefined when empty. */
  shift(): T | undefined {
    while (this.active.length > 0) {
      if (this.turn >= this.active.length) this.turn = 0
      const t = this.active[this.turn]
      if (!t.started) {
        // a tenant's turn begins: credit it one quantum (what it did not use is kept)
        t.deficit += this.quantum
        t.started = true
      }
      if (t.next >= t.ring.length) t.next = 0
      const f = t.ring[t.next]
      if (t.deficit < f.costs[f.head]) {
        t.started = false
        this.turn++
        continue
      }
      t.deficit -= f.costs[f.head]
      return this.take(t, t.next)
    }
    return undefined
  }

  /** Removes everything queued for a tenant (or all tenants), returning the items in queue order per actor. */
  clear(tenant?: string): T[] {
    const out: T[] = []
    const queues = tenant === undefined ? [...this.tenants.values()] : [this.tenants.get(tenant)].filter((t) => t !== undefined)
    for (const t of queues) {
      while (t.count > 0) out.push(this.take(t, 0))
    }
    return out
  }

  private take(t: TenantQueue<T>, i: number): T {
    const f = t.ring[i]
    const cost = f.costs[f.head]
    const item = f.items[f.head]
    f.items[f.head] = undefined as T
    f.head++
    t.count--
    t.cost -= cost
    this.total--
    this.totalCost -= cost
    if (f.head === f.items.length) {
      // flow empty: drop it (its actor may never get another message)
      t.flows.delete(f.key)
      t.ring.splice(i, 1)
      if (t.next > i) t.next--
    } else {
      if (f.head > 1024 && f.head * 2 > f.items.length) {
        f.items.splice(0, f.head)
        f.costs.splice(0, f.head)
        f.head = 0
      }
      t.next = i + 1
    }
    if (t.count === 0) this.retire(t)
    return item
  }

  private retire(t: TenantQueue<T>): void {
    const i = this.active.indexOf(t)
    if (i >= 0) this.active.splice(i, 1)
    if (this.turn > i) this.turn--
    this.tenants.delete(t.tenant)
  }
}
