/**
 * Memory as a node holds it: opened at the first call an actor makes (a node whose agents
 * never remember anything never starts a database), shared by every actor of the node, closed
 * with the node. A failed opening is reported to that call and tried again at the next one.
 */
import { MemoryError } from "./errors.ts"
import { openMemory, type Memory, type MemoryOptions } from "./open-memory.ts"
import { scopeMemory, type MemoryCalls, type ScopedMemory } from "./scoped-memory.ts"
import type { MemoryOwner } from "./types.ts"

export interface NodeMemory {
  /** Opens the store now (a node given a PostgreSQL URL opens it at start, to fail early). */
  open(): Promise<Memory>
  /** The store if it is open. */
  readonly current: Memory | undefined
  forActor(owner: MemoryOwner): ScopedMemory
  close(): Promise<void>
}

export function memoryOnDemand(options: MemoryOptions | false, open: (o: MemoryOptions) => Promise<Memory> = openMemory): NodeMemory {
  let opening: Promise<Memory> | undefined
  let current: Memory | undefined
  let closed = false
  const get = (): Promise<Memory> => {
    if (options === false) return Promise.reject(new MemoryError("unavailable", "memory is disabled on this node (startNode({ memory: false }))"))
    if (closed) return Promise.reject(new MemoryError("unavailable", "this node's memory is closed (the node is stopping)"))
    opening ??= open(options).then(
      (m) => (current = m),
      (e: unknown) => {
        opening = undefined
        throw e
      },
    )
    return opening
  }
  const calls: MemoryCalls = {
    remember: async (o, input) => (await get()).remember(o, input),
    rememberMany: async (o, inputs) => (await get()).rememberMany(o, inputs),
    recall: async (o, query) => (await get()).recall(o, query),
    forget: async (o, selector) => (await get()).forget(o, selector),
    recordOutcome: async (o, id, reward) => (await get()).recordOutcome(o, id, reward),
  }
  return {
    open: get,
    get current() {
      return current
    },
    forActor: (owner) => scopeMemory(calls, owner, options === false),
    close: async () => {
      closed = true
      const m = await opening?.catch(() => undefined)
      await m?.close()
    },
  }
}
