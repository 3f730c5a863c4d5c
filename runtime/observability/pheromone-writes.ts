/**
 * Pheromone writes a node made, by tenant, pheromone type and operation (deposit, reinforce,
 * evaporate): bumped on the writer's path by the stigmergy layer's write hook (one map lookup
 * and an addition), read as `ants_pheromone_writes_total` when `/metrics` is scraped. Counting
 * writes rather than reading live trails keeps a scrape from walking a KV bucket of every
 * tenant's pheromones; `rate()` over the counter is the deposit rate per type.
 */
import type { Sample } from "./collected-metric.ts"

export class PheromoneWriteCounts {
  private readonly counts = new Map<string, { readonly labels: { readonly tenant: string; readonly pheromone_type: string; readonly op: string }; value: number }>()

  /** One write of `tenant`'s pheromone of `type`. */
  note(tenant: string, type: string, op: string): void {
    const key = `${tenant}\u0000${type}\u0000${op}`
    const c = this.counts.get(key)
    if (c !== undefined) c.value++
    else this.counts.set(key, { labels: { tenant, pheromone_type: type, op }, value: 1 })
  }

  *samples(): Iterable<Sample> {
    for (const c of this.counts.values()) yield { labels: c.labels, value: c.value }
  }
}
