/**
 * The partitions a node is letting go of in a hand-over, and when it may drop its subscription.
 *
 * The gaining node subscribes, flushes to its server and then advertises that it serves the
 * partition. In a cluster of servers its interest reaches the other servers over the routes,
 * while the losing node learns of the advertisement through the members bucket: two paths with
 * no order between them. Had the losing node unsubscribed the moment it saw the advertisement,
 * a server that heard of that unsubscription before the gaining node's subscription would find
 * no one interested in the partition, and an ask published there would get "no responders" in
 * the middle of a graceful rebalance. So the losing node keeps its subscription for
 * `INTEREST_GRACE_MS` after it first saw every gaining node serve (messages it gets meanwhile are
 * handled, or forwarded to the actor's new holder, as before), unless the hand-over timed out.
 */

/** How long a losing node keeps serving after it saw the gaining nodes serve. */
export const INTEREST_GRACE_MS = 200

export interface Releasing {
  readonly size: number
  /** `p` is no longer this node's from `now` (kept as it was if already marked). */
  mark(p: number, now: number): void
  /** `p` is no longer being let go of: ours again, or released. */
  drop(p: number): void
  /** Each partition being let go of, with when it was marked. */
  entries(): Array<[number, number]>
  /**
   * Whether the subscription to `p` may go now: the hand-over timed out (`timedOut`), no other
   * node gains the partition (`gaining()` is "none": nobody's interest to wait for), or every
   * node that gains it has been seen serving it ("served") for the grace.
   */
  ready(p: number, now: number, timedOut: boolean, gaining: () => "none" | "served" | "waiting"): boolean
}

export function releasingPartitions(graceMs: number = INTEREST_GRACE_MS): Releasing {
  const since = new Map<number, number>()
  const servedAt = new Map<number, number>()
  return {
    get size() {
      return since.size
    },
    mark(p, now) {
      if (!since.has(p)) since.set(p, now)
    },
    drop(p) {
      since.delete(p)
      servedAt.delete(p)
    },
    entries: () => [...since],
    ready(p, now, timedOut, gaining) {
      if (timedOut) return true
      const state = gaining()
      if (state === "none") return true
      if (state === "waiting") {
        servedAt.delete(p)
        return false
      }
      const at = servedAt.get(p) ?? now
      servedAt.set(p, at)
      return now - at >= graceMs
    },
  }
}
