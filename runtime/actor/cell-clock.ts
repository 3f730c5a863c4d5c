/**
 * The two times every cell keeps (last activity, activation of this incarnation), stored as
 * milliseconds since `CLOCK_BASE` so that they stay small integers inside the cell instead of
 * boxed numbers (32 B per active actor; runtime/limits/compact-fields.ts).
 */
import { CLOCK_BASE, sinceClockBase } from "../limits/compact-fields.ts"

export class CellClock {
  private lastAt = sinceClockBase(Date.now())
  private sinceAt = this.lastAt

  /** When the actor last finished handling (epoch ms). */
  get lastActivity(): number {
    return CLOCK_BASE + this.lastAt
  }
  set lastActivity(t: number) {
    this.lastAt = sinceClockBase(t)
  }

  /** Activation time of this incarnation, for cost accounting (epoch ms). */
  get activeSince(): number {
    return CLOCK_BASE + this.sinceAt
  }
  set activeSince(t: number) {
    this.sinceAt = sinceClockBase(t)
  }
}
