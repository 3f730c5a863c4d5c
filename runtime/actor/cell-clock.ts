/**
 * The two times every cell keeps (last activity, activation of this incarnation), stored as
 * milliseconds since `CLOCK_BASE` so that they stay small integers inside the cell instead of
 * boxed numbers (32 B per active actor; runtime/limits/compact-fields.ts).
 *
 * The end of a run of the mailbox is marked, not timed: a clock reading (about 150 ns in a
 * loop on the shared VM under load) per run is paid by every tell on the node. The lifecycle
 * sweep (runtime/node/lifecycle-loop.ts) stamps its own reading on its first pass after the
 * mark, so an actor goes idle and passivates at most one sweep later than its last turn, never
 * earlier; until then `lastActivity` reads the clock (the actor was at work just now).
 */
import { CLOCK_BASE, sinceClockBase } from "../limits/compact-fields.ts"

/** `lastAt` of a cell whose mailbox ran since the last sweep (outside what sinceClockBase makes a small integer). */
const RAN = -0x40000000

export class CellClock {
  private lastAt = sinceClockBase(Date.now())
  private sinceAt = this.lastAt

  /** When the actor last finished handling (epoch ms). */
  get lastActivity(): number {
    return this.lastAt === RAN ? Date.now() : CLOCK_BASE + this.lastAt
  }
  set lastActivity(t: number) {
    this.lastAt = sinceClockBase(t)
  }

  /** A run of the mailbox ended (the sweep stamps the time). */
  ranSinceSweep(): void {
    this.lastAt = RAN
  }

  /** The sweep's reading, kept when a run ended since the last sweep. */
  stampActivity(now: number): void {
    if (this.lastAt === RAN) this.lastAt = sinceClockBase(now)
  }

  /** Activation time of this incarnation, for cost accounting (epoch ms). */
  get activeSince(): number {
    return CLOCK_BASE + this.sinceAt
  }
  set activeSince(t: number) {
    this.sinceAt = sinceClockBase(t)
  }
}
