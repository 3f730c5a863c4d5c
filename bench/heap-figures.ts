/**
 * How a per-actor heap figure is judged. The probes divide a difference of heap readings by a
 * count of actors; the readings are taken once two in a row agree within HEAP_SETTLED_WITHIN
 * (probes/heap.ts: 0.5%), and the node's fixed costs (connections, caches grown on first use) land in
 * the same difference. At the counts of a full run both wash out. At the few thousand actors of
 * `--quick` they do not: a smoke run read -33 B per sleeping actor (met, against <= 64 B) and
 * 1,006 B per idle active one (missed, against <= 512 B) where full runs read about 30 B and 470
 * B. So a smoke run reports these figures with why they are not judged instead of a verdict.
 */
import { HEAP_SETTLED_WITHIN } from "./probes/heap.ts"
import type { ScenarioContext } from "./types.ts"

/** The target and note of a per-actor heap figure measured over `count` actors on a heap of `heapBytes`. */
export function heapVerdict(ctx: ScenarioContext, o: { readonly target: number; readonly count: number; readonly heapBytes: number; readonly full: string; readonly note?: string }): { target?: string; note?: string } {
  if (!ctx.quick) return { target: `value <= ${o.target}`, ...(o.note ? { note: o.note } : {}) }
  const perActor = (HEAP_SETTLED_WITHIN * o.heapBytes) / Math.max(1, o.count)
  const why =
    `not judged against <= ${o.target} B in a smoke run: over ${o.count.toLocaleString("en-US")} actors the node's fixed costs do not wash out, ` +
    `and the heap's readings (${(o.heapBytes / 2 ** 20).toFixed(1)} MiB, settled within ${HEAP_SETTLED_WITHIN * 100}%) move it by up to ${Math.ceil(perActor)} B; ${o.full} measures it`
  return { note: o.note ? `${why}; ${o.note}` : why }
}
