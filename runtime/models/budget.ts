/**
 * Budgets that hold swarm-wide. Each budgeted scope (an agent, a type within its tenant, a
 * tenant) has one counter, shared by every node through a `BudgetStore` (in memory for one
 * process; the KV bucket `ants_model_budget`, updated by compare-and-set, for a swarm):
 *
 *   { usd: what was spent, holds: { <call id>: { usd: estimated cost, until: epoch ms } } }
 *
 * Before a model call, every budgeted scope of the caller takes a hold of the call's estimated
 * cost, and the call may start only while what is spent plus what the calls in flight hold is
 * under each budget; once a budget is spent, no node starts another call against it. After the
 * call the hold becomes the real cost (`settle`), or goes away (`release`) when the call
 * failed. A hold of a node that died expires after `HOLD_TTL_MS`, so it blocks nothing forever.
 * The overshoot is bounded by the calls already in flight when a budget ran out, and by how
 * far a call's real cost exceeds its estimate.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { Budgets } from "./config.ts"
import { BudgetExceededError } from "./errors.ts"

/** How long an unsettled hold counts (a call's longest plausible duration). */
export const HOLD_TTL_MS = 15 * 60_000

export type BudgetScope = "agent" | "type" | "tenant"

export interface BudgetCounter {
  readonly usd: number
  readonly holds: Readonly<Record<string, { readonly usd: number; readonly until: number }>>
}

export const EMPTY_COUNTER: BudgetCounter = { usd: 0, holds: {} }

/**
 * Where the counters live. `change` applies `f` to a scope's counter atomically (retrying
 * when another writer came first) and resolves with what `f` returned; `f` may throw to
 * leave the counter as it was.
 */
export interface BudgetStore {
  change<T>(scope: BudgetScope, a: ActorAddress, f: (c: BudgetCounter) => { next: BudgetCounter; out: T }): Promise<T>
}

export function memoryBudgetStore(): BudgetStore {
  const m = new Map<string, BudgetCounter>()
  return {
    async change(scope, a, f) {
      const k = `${scope}\u0000${a.tenant}\u0000${scope === "tenant" ? "" : a.type}\u0000${scope === "agent" ? a.id : ""}`
      const { next, out } = f(m.get(k) ?? EMPTY_COUNTER)
      m.set(k, next)
      return out
    },
  }
}

function held(c: BudgetCounter, now: number): number {
  let n = 0
  for (const h of Object.values(c.holds)) if (h.until > now) n += h.usd
  return n
}

function without(c: BudgetCounter, id: string, now: number): Record<string, { usd: number; until: number }> {
  const holds: Record<string, { usd: number; until: number }> = {}
  for (const [k, h] of Object.entries(c.holds)) if (k !== id && h.until > now) holds[k] = h
  return holds
}

/** The limits that apply to an actor, by scope. */
export function limitsOf(b: Budgets, a: ActorAddress): Array<{ scope: BudgetScope; limit: number; name: string }> {
  const out: Array<{ scope: BudgetScope; limit: number; name: string }> = []
  const agent = b.agent?.[`${a.type}/${a.id}`]
  if (agent !== undefined) out.push({ scope: "agent", limit: agent, name: `${a.type}/${a.id}` })
  const type = b.type?.[a.type]
  if (type !== undefined) out.push({ scope: "type", limit: type, name: a.type })
  const tenant = b.tenant?.[a.tenant]
  if (tenant !== undefined) out.push({ scope: "tenant", limit: tenant, name: a.tenant })
  return out
}

export interface Hold {
  /** The call cost `usd`: the hold becomes spend. */
  settle(usd: number): Promise<void>
  /** The call failed: the hold goes away. */
  release(): Promise<void>
}

const NO_HOLD: Hold = { settle: async () => undefined, release: async () => undefined }

let holdSeq = 0

/**
 * Takes a hold of the call's estimated cost on every budgeted scope of `a`, or throws BudgetExceededError
 * (holds already taken are given back) when one of them is spent or held in full.
 */
export async function reserve(store: BudgetStore, budgets: Budgets, a: ActorAddress, estimate: () => number, nodeId: string, now: () => number = Date.now): Promise<Hold> {
  const limits = limitsOf(budgets, a)
  if (limits.length === 0) return NO_HOLD
  const estimateUsd = estimate()
  const id = `${nodeId}-${Date.now().toString(36)}-${(holdSeq++).toString(36)}`
  const taken: BudgetScope[] = []
  const drop = (scope: BudgetScope, spent: number) =>
    store.change(scope, a, (c) => ({ next: { usd: c.usd + spent, holds: without(c, id, now()) }, out: undefined }))
  try {
    for (const { scope, limit, name } of limits) {
      await store.change(scope, a, (c) => {
        const t = now()
        const committed = c.usd + held(c, t)
        if (committed >= limit) {
          const what = c.usd >= limit ? "is spent" : "is held in full by calls in flight"
          throw new BudgetExceededError(`model budget of ${scope} ${name} ${what} ($${committed.toFixed(6)} of $${limit})`, scope, limit, c.usd)
        }
        return { next: { usd: c.usd, holds: { ...without(c, id, t), [id]: { usd: estimateUsd, until: t + HOLD_TTL_MS } } }, out: undefined }
      })
      taken.push(scope)
    }
  } catch (e) {
    await Promise.all(taken.map((s) => drop(s, 0).catch(() => undefined)))
    throw e
  }
  let done = false
  const finish = async (usd: number) => {
    if (done) return
    done = true
    await Promise.all(taken.map((s) => drop(s, usd)))
  }
  return { settle: (usd) => finish(usd), release: () => finish(0) }
}
