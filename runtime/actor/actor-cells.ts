/**
 * A type host's live cells by key (`actorKey`), with how many each tenant has: the load reporter
 * (runtime/elastic/load-reporter.ts) reads the counts once a second instead of passing over every
 * cell, which at a million active actors on a node would hold the event loop for tens of
 * milliseconds each time. Only `set`, `delete` and `clear` are overridden; `get`, on the hot
 * path, is the `Map`'s own.
 */
import type { ActorCell } from "./cell.ts"

export class ActorCells extends Map<string, ActorCell> {
  /** Live cells per tenant; a tenant with none has no entry. */
  readonly perTenant = new Map<string, number>()

  override set(key: string, cell: ActorCell): this {
    const before = super.get(key)
    if (before !== cell) {
      if (before !== undefined) this.count(before.tenant, -1)
      this.count(cell.tenant, 1)
    }
    return super.set(key, cell)
  }

  override delete(key: string): boolean {
    const cell = super.get(key)
    if (cell === undefined) return false
    this.count(cell.tenant, -1)
    return super.delete(key)
  }

  override clear(): void {
    this.perTenant.clear()
    super.clear()
  }

  private count(tenant: string, by: number): void {
    const n = (this.perTenant.get(tenant) ?? 0) + by
    if (n > 0) this.perTenant.set(tenant, n)
    else this.perTenant.delete(tenant)
  }
}
