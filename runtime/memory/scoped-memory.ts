/**
 * Memory as one actor sees it (`ctx.memory`): the owner is fixed to the actor, so an agent
 * can only write its own entries and read within its tenant, as wide as the scope it asks for.
 */
import type { MemoryStore } from "./memory-store.ts"
import type { ForgetSelector, MemoryItem, MemoryOwner, RecallQuery, RecalledItem, RememberInput } from "./types.ts"

export interface ScopedMemory {
  readonly owner: MemoryOwner
  /** True on a node started with `memory: false`: every call rejects `unavailable`, so callers that may go without memory skip it. */
  readonly disabled?: boolean
  remember(input: RememberInput): Promise<MemoryItem>
  rememberMany(inputs: ReadonlyArray<RememberInput>): Promise<MemoryItem[]>
  /** By meaning; a string is `{query}` (this actor's own entries, 5 at most). */
  recall(query: RecallQuery | string): Promise<RecalledItem[]>
  /** An id, `{ids}`, or `{kind, filter, scope}` (default: this actor's entries only). */
  forget(selector: ForgetSelector | string): Promise<number>
  /** A reward from +1 to -1 on an entry of the tenant (a shared procedure's success rate). */
  recordOutcome(id: string, reward: number): Promise<MemoryItem>
}

/** The calls a scoped view needs from a store (the store itself, or one opened on demand). */
export type MemoryCalls = Pick<MemoryStore, "remember" | "rememberMany" | "recall" | "forget" | "recordOutcome">

export function scopeMemory(store: MemoryCalls, owner: MemoryOwner, disabled = false): ScopedMemory {
  const o: MemoryOwner = { tenant: owner.tenant, type: owner.type, id: owner.id }
  return {
    owner: o,
    ...(disabled ? { disabled } : {}),
    remember: (input) => store.remember(o, input),
    rememberMany: (inputs) => store.rememberMany(o, inputs),
    recall: (query) => store.recall(o, query),
    forget: (selector) => store.forget(o, typeof selector === "string" ? { id: selector } : selector),
    recordOutcome: (id, reward) => store.recordOutcome(o, id, reward),
  }
}
