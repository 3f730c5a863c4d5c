/**
 * Heap readings for the probes that measure bytes per actor (memory, scale): `heapUsed` plus
 * `arrayBuffers` (process.memoryUsage()) after forced collections (`forcedCollection`; if none
 * can be had, after a pause, garbage included), and a reading taken once work in
 * flight has settled. `arrayBuffers` counts because a structure may keep its bytes in typed
 * arrays, whose backing stores V8 keeps outside the heap (`heapUsed` would not see them); it
 * also counts the process's socket and parser buffers, so a reading moves with them.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/**
 * A function that forces a full collection: the process's `gc` when it was started with
 * --expose-gc, else one exposed now (the flag set at run time, the function taken from a fresh
 * context: `npx ants bench` runs without the flag, and the llm-swarm scenario reads heap in its
 * own process). Undefined if neither works, and the figure then says it includes garbage.
 */
export function forcedCollection(): (() => void) | undefined {
  const own = (globalThis as { gc?: () => void }).gc
  if (own) return own
  try {
    setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as unknown
    return typeof gc === "function" ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
/** The collector, looked for at the first reading (not when this module is imported). */
let collector: (() => void) | undefined | null = null
const collect = () => (collector === null ? (collector = forcedCollection()) : collector)

/** Whether collections can be forced. */
export const canCollect = (): boolean => collect() !== undefined

/**
 * `heapUsed + arrayBuffers` after forced collections: four, 20 ms apart (work those pauses let run
 * is collected too), then one more right before the reading, so that the reading holds no
 * garbage made since (what the process allocated in the last pause: 8 MB of young objects
 * on a node with 100,000 actors, which read as 400 B per actor of a 20,000 sample).
 */
export async function heap(): Promise<number> {
  const gc = collect()
  if (gc) {
    for (let i = 0; i < 4; i++) {
      gc()
      await sleep(20)
    }
    gc()
  } else {
    await sleep(200)
  }
  const m = process.memoryUsage()
  lastReading.heapUsed = m.heapUsed
  lastReading.arrayBuffers = m.arrayBuffers
  lastReading.spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]))
  return m.heapUsed + m.arrayBuffers
}

/**
 * The two parts of the last reading, and what each of V8's heap spaces held (`heapUsed` is their
 * sum: old objects, code, large objects such as a big Map's table, ...).
 */
export const lastReading = { heapUsed: 0, arrayBuffers: 0, spaces: {} as Record<string, number> }

/** How closely two readings in a row must agree for the heap to count as settled (0.5%). */
export const HEAP_SETTLED_WITHIN = 0.005

/**
 * The heap once work still in flight (checkpoint writes, lease releases, lifecycle events) has
 * finished: readings 500 ms apart until two agree within HEAP_SETTLED_WITHIN (at most `maxMs`).
 */
export async function settledHeap(maxMs = 30_000): Promise<number> {
  const deadline = Date.now() + maxMs
  let prev = await heap()
  for (;;) {
    await sleep(500)
    const h = await heap()
    if (Math.abs(h - prev) <= prev * HEAP_SETTLED_WITHIN || Date.now() > deadline) return h
    prev = h
  }
}
