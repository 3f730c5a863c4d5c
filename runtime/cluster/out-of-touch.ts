/**
 * Out of touch: silent for `expiryMs - heartbeatMs`, a node refuses messages (`unavailable`)
 * until a beat lands and its leases are re-checked: others take its actors over `expiryMs`
 * after they last heard it (leases.ts), never before its last landed beat was sent, so it
 * stops before they start. A re-check runs when its entry expired, when it could heartbeat
 * again after a silence, and after its connection to NATS came back.
 *
 * Cut off: when every connection of the node is down at once (main, control, lanes), it may be
 * taken for dead at once (gone-check.ts: its servers no longer list any of its connections),
 * which removes its entry at the revision it had. So from then on it refuses, and once a
 * connection is back it first lands a heartbeat (tried every 50 ms, at most `BEAT_TRIES`
 * times): a heartbeat that finds the removal stops every activation (membership.ts
 * `onDowned`). It serves again only after the beat and the re-check, so it never serves an
 * actor taken over meanwhile, whichever connection came back first.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { ConnectionView } from "./gone-check.ts"
import type { Leases } from "./leases.ts"
import type { Membership } from "./membership.ts"

/** How many times a re-check after a reconnect tries to land a heartbeat before it goes on (the silence rule then still refuses). */
const BEAT_TRIES = 100

export interface OutOfTouchDeps {
  readonly me: string
  readonly leases: Pick<Leases, "verifyAll">
  readonly membership: () => Pick<Membership, "silentFor" | "expiryMs" | "heartbeatMs" | "beatNow">
  /** The node's main connection: its coming back re-checks the leases (as does a cut-off's end). */
  readonly main: NatsConnection
  /** A leaving node hands its actors over: it is never out of touch. */
  readonly leaving: () => boolean
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

export function createOutOfTouch(d: OutOfTouchDeps) {
  let resuming: Promise<void> | null = null
  let again: { why: string; beatFirst: boolean } | undefined
  /** Send time of the last heartbeat that landed before the silences not re-checked yet. */
  let silenceFrom: number | undefined
  /** Connections of the node that are down now; every one down at once: cut off. */
  const down = new Set<ConnectionView>()
  let cutOff = false
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
      .then(() => {
        // a beat landed (or the silence rule refuses from here): no removal can follow unseen
        if (beatFirst) cutOff = false
        return d.leases.verifyAll(checking)
      })
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
    return cutOff || resuming !== null || m.silentFor(now) > m.expiryMs - m.heartbeatMs
  }
  /** A connection of the node went down (`up` false) or came back; `all`: every connection it has now. */
  const connection = (nc: ConnectionView, up: boolean, all: Iterable<ConnectionView>) => {
    if (!up) {
      down.add(nc)
      if ([...all].every((c) => down.has(c) || c.isClosed())) cutOff = true
      return
    }
    down.delete(nc)
    if (cutOff) recheck("every connection of it to NATS was lost for a while", undefined, true)
    else if (nc === d.main) recheck("its connection to NATS was lost for a while")
  }
  return { recheck, outOfTouch, connection }
}

/** Calls `changed(nc, up)` whenever `nc` goes down or comes back, until `closed`. */
export function watchConnection(nc: NatsConnection, changed: (nc: ConnectionView, up: boolean) => void, closed: () => boolean): void {
  void (async () => {
    for await (const st of nc.status()) {
      if (closed()) break
      if (st.type === "disconnect") changed(nc, false)
      else if (st.type === "reconnect") changed(nc, true)
    }
  })().catch(() => undefined)
}
