/**
 * What a wake asked of an actor's lifecycle on the node that runs it (one per type host): stay
 * awake at least until a time (`keepAliveMinutes`: the sweeper does not passivate it before, and
 * after it the normal lifecycle applies), or go to sleep at a time (`sleepAfterMinutes`, a
 * schedule's auto-sleep: passivated then as soon as idle, earlier than the type's
 * `passivateAfterMs` would). Times are the node's clock (epoch ms); entries end when they are due.
 */
import type { WakeRequest } from "../../subjects/wake.ts"

const MINUTE = 60_000

export class WakeHints {
  private readonly awakeUntil = new Map<string, number>()
  private readonly sleepAt = new Map<string, number>()

  /** Notes what a wake of actor `key` asked, at `now`; returns a description for the log, or undefined when it asked nothing. */
  note(key: string, req: WakeRequest, now: number): string | undefined {
    const parts: string[] = []
    if (req.keepAliveMinutes !== undefined && req.keepAliveMinutes > 0) {
      const until = now + req.keepAliveMinutes * MINUTE
      this.awakeUntil.set(key, Math.max(until, this.awakeUntil.get(key) ?? 0))
      parts.push(`kept awake until ${new Date(this.awakeUntil.get(key)!).toISOString()}`)
    }
    if (req.sleepAfterMinutes !== undefined) {
      this.sleepAt.set(key, now + req.sleepAfterMinutes * MINUTE)
      parts.push(`to sleep at ${new Date(this.sleepAt.get(key)!).toISOString()}`)
    }
    return parts.length > 0 ? parts.join(", ") : undefined
  }

  /** Whether a wake keeps actor `key` awake at `now`. */
  keepsAwake(key: string, now: number): boolean {
    const until = this.awakeUntil.get(key)
    if (until === undefined) return false
    if (now < until) return true
    this.awakeUntil.delete(key)
    return false
  }

  /** Whether a schedule's auto-sleep of actor `key` is due at `now` (and no keep-alive holds it). */
  sleepDue(key: string, now: number): boolean {
    const at = this.sleepAt.get(key)
    return at !== undefined && now >= at && !this.keepsAwake(key, now)
  }

  /** The actor went to sleep or stopped here: what its wakes asked is done. */
  forget(key: string): void {
    this.awakeUntil.delete(key)
    this.sleepAt.delete(key)
  }
}
