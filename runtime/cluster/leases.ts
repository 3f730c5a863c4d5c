/**
 * Single activation: an actor is active on at most one node, guarded by a lease
 * in KV bucket `ants_leases` (key `<tenant>.<type>.<id>`, value `{"node","incarnation","at"}`).
 *
 * Rules:
 * - A node takes the lease while the actor is warming, before it restores state: create if
 *   absent; every later write names the revision it read (update-with-revision), so of two
 *   nodes racing for one actor exactly one wins (on servers that serialize KV compare-and-set,
 *   see guarantees.ts).
 * - A lease held by another live member (up or leaving, in this node's membership view) is
 *   respected: the activation is refused with LeaseHeldError and its messages are forwarded to
 *   the holder.
 * - A lease whose holder is no longer a member (crashed: its entry expired; or left) is taken
 *   over by an update with the revision read. So failover does not wait for leases to expire:
 *   it waits for the membership entry only, and for `takeoverAfterMs` (the membership expiry)
 *   since the holder was last heard from: a holder taken for dead early (its ping found "no
 *   responders", as a crash or a partition both look) may be alive on the other side of a
 *   partition, and it stops serving on its own once it has not been able to heartbeat for
 *   `expiryMs - heartbeatMs` (cluster.ts: out of touch). So the two never serve at once.
 * - The holder releases the lease when the actor passivates, stops, is handed over in a
 *   rebalance, or the node drains: the message at its revision is removed (lease-writes.ts), so
 *   the next create is one round trip; a lease written since is another message and stays.
 * - The bucket's max_age (`leaseTtlMs`, default 10 min) only collects leases a crashed node left
 *   behind; a holder refreshes the leases of its long-lived activations every `leaseTtlMs / 3`.
 *   A refresh that finds the lease changed means the actor was taken over: the activation stops
 *   without writing state.
 * - Re-checks after a silence read the lease from the stream's leader, never from a replica that
 *   may lag (a server that was cut off a moment ago). A lease that cannot be read stops its
 *   activation and is released at the revision held (a taken-over one stays the taker's).
 * - A node never leaves a lease naming itself for an actor it does not run: the owner would be
 *   refused and forward here, and this node forward back, until max_age. So the stops above
 *   release, and a lease write whose outcome is unknown (timed out) is looked up once the store
 *   answers and deleted when it landed.
 * - Checkpoints stay fenced by the state's own revision (state-store.ts), and a node that took a
 *   lease over rewrites the checkpoint at once (StateStore.takeOver) before the actor handles
 *   anything, so even an activation that has not noticed it lost its lease (its node stalled)
 *   cannot write on top of the state the new owner restored.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { TaggedError } from "../../subjects/errors.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream"
import type { KV } from "@nats-io/kv"
import { bucketStream, LEASES_BUCKET, leaseKey } from "../../subjects/cluster.ts"
import { kvSubject } from "../../subjects/jetstream.ts"
import { leasesChangedSince, leaseRecordOf, StreamMarks, type LeaseRecord } from "./lease-stream-recheck.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { openBucket } from "./kv-buckets.ts"
import { createLease, markLeaseReleased, removeLeaseMessage } from "./lease-writes.ts"
import { sinceClockBase } from "../limits/compact-fields.ts"
import { HeldLeases, type LeaseHolder, type LostLease } from "./held-leases.ts"

export type { LeaseHolder, LostLease } from "./held-leases.ts"

/** Leases read at once when a node re-checks what it holds (verifyAll). */
const VERIFY_BATCH = 64
/** How long one read of a lease from the stream's leader may take before it is retried. */
const VERIFY_READ_TIMEOUT_MS = 1_500
/** Leases refreshed at once (each an update of its own). */
const REFRESH_BATCH = 64

export const LEASE_DEFAULTS = {
  leaseTtlMs: 600_000,
} as const

/** The actor's lease is held by another live node; its messages go there. */
export class LeaseHeldError extends TaggedError("LeaseHeldError") {
  constructor(
    readonly key: string,
    readonly holder: string,
  ) {
    super(`actor ${key} is active on node ${holder}`)
  }
}

export function isLeaseHeldError(e: unknown): e is LeaseHeldError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "LeaseHeldError"
}

export interface LeaseOptions {
  readonly nodeId: string
  readonly incarnation: string
  readonly replicas?: number
  readonly leaseTtlMs?: number
  readonly isLive: (node: string) => boolean
  /** Milliseconds since a node was last heard from (undefined: left gracefully, or never heard). */
  readonly heardAgo?: (node: string) => number | undefined
  /** A lease of a node heard from less than this long ago is not taken over yet (default 0). */
  readonly takeoverAfterMs?: number
  /** Waits out a holder's grace: resolves after `ms`, or at once when the holder is gone for sure (gone-check.ts). */
  readonly graceWait?: (node: string, ms: number) => Promise<void>
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

const encoder = new TextEncoder()

export class Leases {
  private kv!: KV
  private jsm!: JetStreamManager
  /** Leases this node holds, kept on their holders (held-leases.ts). */
  readonly held = new HeldLeases()
  private readonly releasing = new Map<string, Promise<void>>()
  /** Holders whose lease was taken over from another node: released with a marker (lease-writes.ts). */
  private readonly takenOver = new WeakSet<LeaseHolder>()
  readonly ttlMs: number
  private timer: ReturnType<typeof setInterval> | undefined
  takeovers = 0
  refusals = 0
  /** Where this node's own writes landed in the lease stream, and when (lease-stream-recheck.ts). */
  private readonly marks = new StreamMarks()

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: LeaseOptions,
  ) {
    this.ttlMs = o.leaseTtlMs ?? LEASE_DEFAULTS.leaseTtlMs
  }

  async start(): Promise<void> {
    this.jsm = await jetstreamManager(this.nc, { timeout: VERIFY_READ_TIMEOUT_MS })
    this.kv = await openBucket(this.nc, LEASES_BUCKET, { history: 1, ttl: this.ttlMs, replicas: this.o.replicas ?? 1 }, this.o.log)
    this.timer = setInterval(() => void this.refreshDue(), Math.min(5_000, Math.max(50, Math.floor(this.ttlMs / 6))))
    this.timer.unref()
  }

  private stopped = false

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  /** The release of this actor's lease still in flight, if any. */
  pendingRelease(a: ActorAddress): Promise<void> | undefined {
    return this.releasing.get(leaseKey(a))
  }

  /**
   * Takes the lease of `a` for this node, or throws LeaseHeldError naming the live holder.
   * Resolves true when the lease was taken over from another holder (not a live member now),
   * false when it was free.
   */
  async acquire(a: LeaseHolder, lost: LostLease): Promise<boolean> {
    const key = leaseKey(a)
    const pending = this.releasing.get(key)
    if (pending) await pending
    const body = encoder.encode(JSON.stringify({ node: this.o.nodeId, incarnation: this.o.incarnation, at: new Date().toISOString() } satisfies LeaseRecord))
    for (let attempt = 0; attempt < 5; attempt++) {
      let revision: number
      let tookOver = false
      try {
        revision = await createLease(this.nc, this.kv, key, body)
      } catch (e) {
        if (!isWrongLastSequence(e)) throw this.uncertain(key, e)
        const entry = await this.kv.get(key)
        if (entry === null || entry.operation !== "PUT") continue // released meanwhile: create again
        const rec = leaseRecordOf(entry)
        if (rec && rec.node !== this.o.nodeId && this.o.isLive(rec.node)) {
          this.refusals++
          throw new LeaseHeldError(key, rec.node)
        }
        const ago = rec && rec.node !== this.o.nodeId ? this.o.heardAgo?.(rec.node) : undefined
        const grace = this.o.takeoverAfterMs ?? 0
        if (ago !== undefined && ago < grace) {
          // taken for dead, but it may still be serving behind a partition until its silence stops it
          await (this.o.graceWait?.(rec!.node, grace - ago) ?? new Promise((r) => setTimeout(r, grace - ago)))
          attempt--
          continue
        }
        // holder gone (crashed or left), or our own predecessor: take it over, fenced by revision
        try {
          revision = await this.kv.update(key, body, entry.revision)
        } catch (e2) {
          if (isWrongLastSequence(e2)) continue // someone else was quicker: look again
          throw this.uncertain(key, e2)
        }
        this.takeovers++
        tookOver = true
        this.o.log("info", `took over the lease of ${key} from ${rec?.node ?? "an unreadable holder"} (not a live member)`)
      }
      this.held.add(a, revision, lost) // kept on the holder: no record, no key string (held-leases.ts)
      if (tookOver) this.takenOver.add(a)
      this.marks.saw(revision)
      return tookOver
    }
    throw new Error(`could not take the lease of ${key}: it kept changing`)
  }

  /**
   * A write of the lease failed without an answer (a timeout, a server that went away): it may
   * still land, naming this node for an actor whose activation now fails here. Left so, it is
   * the orphan `verifyAll` avoids (the owner refused and sent here, sent back from here). Until
   * the store answers, the key counts as releasing (an acquire here waits for it); a lease it
   * then shows naming this node, and not held, is deleted at its revision. Returns `e`.
   */
  private uncertain(key: string, e: unknown): unknown {
    if (this.releasing.has(key)) return e
    const p = (async () => {
      for (let wait = 100; !this.stopped; wait = Math.min(2_000, wait * 2)) {
        await new Promise((r) => setTimeout(r, wait))
        if (this.held.byLeaseKey(key) !== undefined) return
        try {
          const now = await this.leaderEntry(key)
          if (now.record?.node === this.o.nodeId) await removeLeaseMessage(this.jsm, now.revision)
          return
        } catch {
          // the store did not answer: look again
        }
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.releasing.get(key) === p) this.releasing.delete(key)
      })
    this.releasing.set(key, p)
    return e
  }

  /** Gives the lease of `a` back (if held). Never removes another node's lease. */
  release(a: LeaseHolder): void {
    if (!this.held.delete(a)) return
    this.deleteHeld(a, a.leaseRevision ?? 0)
  }

  /** Deletes the lease of `h` at the revision it held, retrying; never another node's. */
  private deleteHeld(h: LeaseHolder, revision: number): void {
    const key = leaseKey(h)
    // a release that does not land would leave the actor pinned to a node that no longer hosts
    // it (its messages forwarded back and forth until the lease expires): retry until it lands or
    // someone else has written the lease
    const p = (async () => {
      for (let wait = 100, warned = false; !this.stopped; wait = Math.min(2_000, wait * 2)) {
        try {
          if (this.takenOver.has(h)) await markLeaseReleased(this.kv, key, revision)
          else await removeLeaseMessage(this.jsm, revision)
          return
        } catch (e) {
          if (!warned) this.o.log("warn", `could not release the lease of ${key} yet: ${(e as Error).message}; retrying`)
          warned = true
        }
        await new Promise((r) => setTimeout(r, wait))
      }
    })().finally(() => {
      if (this.releasing.get(key) === p) this.releasing.delete(key)
    })
    this.releasing.set(key, p)
  }

  /** Resolves when every release in flight is done, or `timeoutMs` passed (releases keep retrying until stop). */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.releasing.size > 0 && Date.now() < deadline) {
      let t: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.all([...this.releasing.values()]), new Promise((r) => (t = setTimeout(r, Math.max(0, deadline - Date.now()))))])
      clearTimeout(t)
    }
  }

  /**
   * Checks every held lease against the bucket; the activations whose lease changed are told so.
   * The node refuses messages while this runs, so it must be quick with 100,000 leases held.
   *
   * `since`: when the silence began (the send time of the last heartbeat that landed). Another
   * node takes a lease over only after it stopped hearing this one, so every takeover since is a
   * write to the lease stream after the last sequence this node saw its own writes land at
   * before `since`: reading the stream from there (an ordered consumer: a pass over what was
   * written during the silence, not a request per lease) finds them all. A lease that expired
   * from the bucket and was created by another node is such a write too. Without `since`, the
   * whole stream is read. When the stream cannot be read, each lease is read from the stream's
   * leader instead (`verifyEach`).
   */
  async verifyAll(since?: number): Promise<number> {
    if (this.held.size === 0) return 0
    try {
      return await this.verifyFromStream(this.marks.before(since))
    } catch (e) {
      this.o.log("warn", `could not read the lease stream to re-check ${this.held.size} lease(s) (${(e as Error).message}); reading each lease`)
      return await this.verifyEach()
    }
  }

  private async verifyFromStream(after: number): Promise<number> {
    const changed = await leasesChangedSince(this.nc, this.jsm, after, (key, seq, rec) => {
      const h = this.held.byLeaseKey(key)
      // written after our own write, and not by us (a refresh of ours landed before its revision was noted)
      if (h === undefined || seq <= (h.leaseRevision ?? 0) || (rec?.node === this.o.nodeId && rec.incarnation === this.o.incarnation)) return undefined
      return h
    })
    let lost = 0
    for (const h of changed) {
      if (!this.held.delete(h)) continue
      lost++
      this.lose(h, `lease of ${leaseKey(h)} was taken over while this node was out of touch`)
    }
    return lost
  }

  /**
   * `verifyAll` one lease at a time: each read from the stream's leader, `VERIFY_BATCH` at a
   * time, each bounded by `VERIFY_READ_TIMEOUT_MS`: the first requests after a reconnect can go
   * unanswered while the new server's interest propagates, and a read that fails is retried in
   * the next round instead of holding every other lease up for the client's default 5 s.
   */
  private async verifyEach(): Promise<number> {
    let lost = 0
    let pending = [...this.held.values()]
    const drop = (h: LeaseHolder, revision: number, reason: string, release: boolean) => {
      if (!this.held.delete(h)) return
      lost++
      this.lose(h, reason)
      // a lease that could not be read may still name this node: left in place, it names a live
      // node that no longer runs the actor, so the actor's owner is refused and forwards here,
      // this node forwards back to the owner, until the lease's max_age (10 min). Deleted at the
      // revision held, it frees the actor; a lease another node took over meanwhile is kept
      if (release) this.deleteHeld(h, revision)
    }
    // a lease that cannot be read now is not assumed to be still ours: tried again a few times,
    // then given up (its activation stops) rather than served unchecked
    for (let round = 0; pending.length > 0; round++) {
      const failed: LeaseHolder[] = []
      for (let i = 0; i < pending.length; i += VERIFY_BATCH) {
        await Promise.all(
          pending.slice(i, i + VERIFY_BATCH).map(async (h) => {
            if (!this.held.holds(h)) return
            const held = h.leaseRevision ?? 0
            let revision: number
            try {
              revision = await this.leaderRevision(leaseKey(h))
            } catch {
              failed.push(h)
              return
            }
            if (revision !== held) drop(h, held, `lease of ${leaseKey(h)} was taken over while this node was out of touch`, false)
          }),
        )
      }
      pending = failed
      if (pending.length === 0) break
      if (round >= 3) {
        for (const h of pending) drop(h, h.leaseRevision ?? 0, `lease of ${leaseKey(h)} could not be verified after this node was out of touch`, true)
        break
      }
      await new Promise((r) => setTimeout(r, 200 * (round + 1)))
    }
    return lost
  }

  /** The lease's revision as the stream's leader has it (0: none). */
  private async leaderRevision(key: string): Promise<number> {
    return (await this.leaderEntry(key)).revision
  }

  /** The lease as the stream's leader has it: its revision (0: none) and record. */
  private async leaderEntry(key: string): Promise<{ revision: number; record?: LeaseRecord }> {
    try {
      const m = await this.jsm.streams.getMessage(bucketStream(LEASES_BUCKET), { last_by_subj: kvSubject(LEASES_BUCKET, key) })
      const op = m?.header?.get("KV-Operation")
      return m === null || op === "DEL" || op === "PURGE" ? { revision: 0 } : { revision: m.seq, record: leaseRecordOf(m) }
    } catch (e) {
      if (/no message found|10037/.test(String((e as Error)?.message))) return { revision: 0 }
      throw e
    }
  }

  private refreshing = false

  /**
   * Refreshes every lease older than a third of its TTL, `REFRESH_BATCH` at a time (one run at a
   * time): a node holding 100,000 long-lived activations refreshes each within the TTL instead
   * of losing the ones a fixed number per tick never reached.
   */
  private async refreshDue(): Promise<void> {
    if (this.refreshing) return
    this.refreshing = true
    try {
      const now = Date.now()
      // oldest first, stopping at the first lease not due (held-leases.ts): a cost that follows the due ones
      const due = this.held.due(sinceClockBase(now - this.ttlMs / 3) - 1)
      const body = encoder.encode(JSON.stringify({ node: this.o.nodeId, incarnation: this.o.incarnation, at: new Date().toISOString() } satisfies LeaseRecord))
      for (let i = 0; i < due.length && !this.stopped; i += REFRESH_BATCH) {
        await Promise.all(due.slice(i, i + REFRESH_BATCH).map((h) => this.refresh(h, body)))
      }
    } finally {
      this.refreshing = false
    }
  }

  private async refresh(h: LeaseHolder, body: Uint8Array): Promise<void> {
    if (!this.held.holds(h)) return
    const key = leaseKey(h)
    try {
      const revision = await this.kv.update(key, body, h.leaseRevision ?? 0)
      // released meanwhile (its release removes the message at the revision it read then): the
      // refreshed lease is this node's still and must go too
      if (!this.held.holds(h)) return void this.deleteHeld(h, revision)
      this.held.refreshed(h, revision)
      this.marks.saw(revision)
    } catch (e) {
      if (!isWrongLastSequence(e)) return
      if (!this.held.delete(h)) return
      this.lose(h, `lease of ${key} was taken over by another node`)
    }
  }

  /** This node was taken for dead (another node removed its entry): any of its leases may be taken over now, so every activation stops and its lease is released at the revision held (one taken over stays the taker's). */
  dropAll(reason: string): number {
    const all = [...this.held.values()]
    for (const h of all) {
      this.release(h)
      this.lose(h, reason)
    }
    return all.length
  }

  /** Tells the holder its lease is lost (it was taken off the held leases already). */
  private lose(h: LeaseHolder, reason: string): void {
    this.held.lostOf(h)?.(reason, h)
  }
}
