/**
 * Out of touch: silent for `expiryMs - heartbeatMs`, a node refuses messages (`unavailable`)
 * until a beat lands and its leases are re-checked: others take its actors over `expiryMs`
 * after they last heard it (leases.ts), never before its last landed beat was sent, so it
 * stops before they start. A re-check runs when its entry expired, when it could heartbeat
 * again after a silence, and after its connection to NATS came back.
 *
 * After a connection came back the re-check first lands a heartbeat (tried every 50 ms, for at
 * most `BEAT_TRIES`): a node whose connections were all gone may have been taken for dead at
 * once meanwhile (gone-check.ts), which removed its entry at the revision it had; its first
 * heartbeat then finds the removal and stops every activation (membership.ts `onDowned`), and
 * until the beat lands it refuses, so it never serves an actor taken over meanwhile.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { Leases } from "./leases.ts"
import type { Membership } from "./membership.ts"

/** How many times a re-check after a reconnect tries to land a heartbeat before it goes on (the silence rule then still refuses). */
const BEAT_TRIES = 100

export interface OutOfTouchDeps {
  readonly me: string
  readonly leases: Pick<Leases, "verifyAll">
  readonly membership: () => Pick<Membership, "silentFor" | "expiryMs" | "heartbeatMs" | "beatNow">
  /** A leaving node hands its actors over: it is never out of touch. */
  readonly leaving: () => boolean
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

export function createOutOfTouch(d: OutOfTouchDeps) {
  let resuming: Promise<void> | null = null
  let again: { why: string; beatFirst: boolean } | undefined
  /** Send time of the last heartbeat that landed before the silences not re-checked yet. */
  let silenceFrom: number | undefined
  /**
   * Re-checks every lease this node holds (stopping the activations taken over meanwhile), once
   * at a time; a reason that comes while one runs starts another after it. `since`: when the
   * silence began (the send time of the last heartbeat that landed before it; default: the
   * last that landed): every takeover was written after that (leases.ts `verifyAll`).
   * `beatFirst`: a connection came back; a heartbeat must land before the leases are read.
   */
  const recheck = (why: string, since?: number, beatFirst = false) => {
    const m = d.membership()
    const from = Math.min(since ?? Number.POSITIVE_INFINITY, Date.now() - m.silentFor())
    silenceFrom = Math.min(silenceFrom ?? from, from)
    if (resuming !== null) {
      again = { why, beatFirst: beatFirst || (again?.beatFirst ?? false) }
      return
    }
    const checking = silenceFrom
    resuming = (beatFirst ? landBeat() : Promise.resolve())
      .then(() => d.leases.verifyAll(checking))
      .then((n) => {
        if (silenceFrom === checking) silenceFrom = undefined
        if (n > 0) d.log("warn", `${n} actor(s) of node ${d.me} were taken over by other nodes, or their leases could not be read, after ${why}; their activations here stopped`)
      })
      .catch(() => undefined)
      .finally(() => {
        resuming = null
        const next = again
        again = undefined
        if (next !== undefined) recheck(next.why, undefined, next.beatFirst)
      })
  }
  const landBeat = async () => {
    for (let i = 0; i < BEAT_TRIES && !(await d.membership().beatNow()); i++) await new Promise((r) => setTimeout(r, 50))
  }
  /** Whether the node must refuse messages now (`now`: the caller's clock reading, when it has one). */
  const outOfTouch = (now?: number) => {
    if (d.leaving()) return false
    const m = d.membership()
    return resuming !== null || m.silentFor(now) > m.expiryMs - m.heartbeatMs
  }
  return { recheck, outOfTouch }
}

/** Re-checks (heartbeat first) whenever one of `connections` comes back after it was lost, until `closed`. */
export function recheckOnReconnect(connections: Iterable<NatsConnection>, recheck: (why: string, since?: number, beatFirst?: boolean) => void, closed: () => boolean): void {
  for (const nc of new Set(connections)) {
    void (async () => {
      for await (const st of nc.status()) {
        if (closed()) break
        if (st.type === "reconnect") recheck("its connection to NATS was lost for a while", undefined, true)
      }
    })().catch(() => undefined)
  }
}
