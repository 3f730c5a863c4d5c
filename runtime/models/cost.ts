/**
 * Model spend: tokens and money per actor, summed per type and per tenant, from the providers'
 * usage fields and the models file's prices. Budgets (USD per actor, type or tenant) are held
 * against before every model call (budget.ts: one counter per budgeted scope, shared by every
 * node): once one is spent, the call fails with `budget_exceeded` and no provider is asked.
 * Spend lives behind a `CostStore` port: in memory, or in the `ants_model_cost` KV bucket so
 * that every node sees the same totals.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { Budgets } from "./config.ts"
import { memoryBudgetStore, reserve, type BudgetStore, type Hold } from "./budget.ts"

export interface Spend {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly usd: number
  readonly calls: number
}

export const NO_SPEND: Spend = { inputTokens: 0, outputTokens: 0, usd: 0, calls: 0 }

export function addSpend(a: Spend, b: Spend): Spend {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, usd: a.usd + b.usd, calls: a.calls + b.calls }
}

export interface CostStore {
  /** Adds to one actor's spend (atomically where the store is shared). */
  add(address: ActorAddress, delta: Spend): Promise<void>
  /** Every actor's spend this store knows (a shared store keeps it current from its watch). */
  all(): ReadonlyArray<{ readonly address: ActorAddress; readonly spend: Spend }>
}

/**
 * What the in-memory store's writes answer: done at once (one settled promise, none made per
 * call). A caller may compare with it to skip awaiting a write that is already done.
 */
export const WRITTEN: Promise<void> = Promise.resolve()

interface Tally {
  readonly address: ActorAddress
  inputTokens: number
  outputTokens: number
  usd: number
  calls: number
}

export function memoryCostStore(): CostStore {
  const m = new Map<string, Tally>()
  // an actor's client hands the same address object to every call: its tally is found without a key
  const byAddress = new WeakMap<ActorAddress, Tally>()
  return {
    add(address, delta) {
      let t = byAddress.get(address)
      if (t === undefined) {
        const k = `${address.tenant}\u0000${address.type}\u0000${address.id}`
        t = m.get(k)
        if (t === undefined) m.set(k, (t = { address, inputTokens: 0, outputTokens: 0, usd: 0, calls: 0 }))
        byAddress.set(address, t)
      }
      // added in place: a model call's spend makes no object here
      t.inputTokens += delta.inputTokens
      t.outputTokens += delta.outputTokens
      t.usd += delta.usd
      t.calls += delta.calls
      return WRITTEN
    },
    all: () => [...m.values()].map((t) => ({ address: t.address, spend: { inputTokens: t.inputTokens, outputTokens: t.outputTokens, usd: t.usd, calls: t.calls } })),
  }
}

export interface SpendReport {
  readonly total: Spend
  readonly byTenant: Readonly<Record<string, Spend>>
  readonly byType: Readonly<Record<string, Spend>>
  readonly byAgent: ReadonlyArray<{ readonly address: ActorAddress; readonly spend: Spend }>
}

export class CostLedger {
  constructor(
    private readonly budgets: Budgets,
    readonly store: CostStore = memoryCostStore(),
    private readonly budgetStore: BudgetStore = memoryBudgetStore(),
    private readonly nodeId = "local",
  ) {}

  report(tenant?: string): SpendReport {
    let total = NO_SPEND
    const byTenant: Record<string, Spend> = {}
    const byType: Record<string, Spend> = {}
    const byAgent = this.store.all().filter((e) => tenant === undefined || e.address.tenant === tenant)
    for (const { address, spend } of byAgent) {
      total = addSpend(total, spend)
      byTenant[address.tenant] = addSpend(byTenant[address.tenant] ?? NO_SPEND, spend)
      const tk = `${address.tenant}/${address.type}`
      byType[tk] = addSpend(byType[tk] ?? NO_SPEND, spend)
    }
    return { total, byTenant, byType, byAgent }
  }

  /**
   * Takes a hold of a call's estimated cost on the actor's budgeted scopes (budget.ts), or
   * throws BudgetExceededError when a budget is spent or held in full by calls in flight.
   */
  hold(a: ActorAddress, estimateUsd: () => number): Promise<Hold> {
    return reserve(this.budgetStore, this.budgets, a, estimateUsd, this.nodeId)
  }

  /** The store's own promise (no async layer of its own: this runs after every model call). */
  record(a: ActorAddress, usage: { inputTokens: number; outputTokens: number }, usd: number): Promise<void> {
    return this.store.add(a, { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, usd, calls: 1 })
  }
}
