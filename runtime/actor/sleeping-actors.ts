import { parseActorKey } from "../../subjects/inbound.ts"
import { KeyArenaSet } from "./key-arena-set.ts"

/**
 * The actors of one type that passivated on this node: their cell keys and nothing else, since a
 * node holds a million of them, kept as bytes (runtime/actor/key-arena-set.ts: 15 to 20 B a
 * key, where a `Set` of strings took about 60 B and kept its peak capacity). Their sleeping time
 * is booked for all of them at once (the count times the time since the last booking) into the
 * type's `sleepingMs`, not kept per actor.
 */
export class SleepingActors {
  private readonly keys = new KeyArenaSet()
  /** Until when the sleep of the actors held is booked. */
  private bookedAt = Date.now()

  constructor(private readonly stats: { sleepingMs: number }) {}

  get size(): number {
    return this.keys.size
  }

  has(key: string): boolean {
    return this.keys.has(key)
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.keys.values()
  }

  /** The tenant and id of every actor held. */
  *actors(): Generator<{ readonly tenant: string; readonly id: string }> {
    for (const key of this.keys.values()) yield parseActorKey(key)
  }

  /** Removes the actors for which `keep(id)` is false, telling `dropped` of each; returns how many. */
  forget(keep: (id: string) => boolean, dropped: (a: { readonly tenant: string; readonly id: string }) => void): number {
    let n = 0
    for (const key of this.keys.values()) {
      const a = parseActorKey(key)
      if (keep(a.id)) continue
      this.delete(key)
      dropped(a)
      n++
    }
    return n
  }

  /** Books the sleep of every actor held up to `now` (before one is added or removed). */
  book(now = Date.now()): void {
    this.stats.sleepingMs += this.keys.size * Math.max(0, now - this.bookedAt)
    this.bookedAt = now
  }

  add(key: string): void {
    this.book()
    this.keys.add(key)
  }

  /** Removes `key` (it wakes here, or its partition moved); false when it was not asleep here. */
  delete(key: string): boolean {
    if (!this.keys.has(key)) return false
    this.book()
    return this.keys.delete(key)
  }
}
