/**
 * Out of touch: silent for `expiryMs - heartbeatMs`, a node refuses messages (`unavailable`)
 * until a beat lands and its leases are re-checked: others take its actors over `expiryMs`
 * after they last heard it (leases.ts), never before its last landed beat was sent, so it
 * stops before they start. A re-check runs when its entry expired, when it could heartbeat
 * again after a silence, and after its connection to NATS came back.
 */
import type { Leases } from "./leases.ts"
import type { Membership } from "./membership.ts"

export interface OutOfTouchDeps {
  readonly me: string
  readonly leases: Pick<Leases, "verifyAll">
  readonly membership: () => Pick<Membership, "silentFor" | "expiryMs" | "heartbeatMs">
  /** A leaving node hands its actors over: it is never out of touch. */
  readonly leaving: () => boolean
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

export function createOutOfTouch(d: OutOfTouchDeps) {
  let resuming: Promise<void> | null = null
  let again: string | undefined
  /** Send time of the last heartbeat that landed before the silences not re-checked yet. */
  let silenceFrom: number | undefined
  /**
   * Re-checks every lease this node holds (stopping the activations taken over meanwhile), once
   * at a time; a reason that comes while one runs starts another after it. `since`: when the
   * silence began (the send time of the last heartbeat that landed before it; default: the
   * last that landed): every takeover was written after that (leases.ts `verifyAll`).
   */
  const recheck = (why: string, since?: number) => {
    const m = d.membership()
    const from = Math.min(since ?? Number.POSITIVE_INFINITY, Date.now() - m.silentFor())
    silenceFrom = Math.min(silenceFrom ?? from, from)
    if (resuming !== null) {
      again = why
      return
    }
    const checking = silenceFrom
    resuming = d.leases
      .verifyAll(checking)
      .then((n) => {
        if (silenceFrom === checking) silenceFrom = undefined
        if (n > 0) d.log("warn", `${n} actor(s) of node ${d.me} were taken over by other nodes, or their leases could not be read, after ${why}; their activations here stopped`)
      })
      .catch(() => undefined)
      .finally(() => {
        resuming = null
        const next = again
        again = undefined
        if (next !== undefined) recheck(next)
      })
  }
  /** Whether the node must refuse messages now (`now`: the caller's clock reading, when it has one). */
  const outOfTouch = (now?: number) => {
    if (d.leaving()) return false
    const m = d.membership()
    return resuming !== null || m.silentFor(now) > m.expiryMs - m.heartbeatMs
  }
  return { recheck, outOfTouch }
}
