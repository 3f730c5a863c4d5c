/**
 * Request/reply for asks, on one reply subscription per connection: an ask publishes with a
 * reply subject `<inbox>.<token>` and its promise settles when that reply comes, when the
 * server reports no responders (a 503 status), when its timeout passes, or when the connection
 * closes.
 *
 * Why not `nc.request`: nats.js 3 builds up to three Error objects for every request (a
 * `RequestError` holding the caller's stack, a `TimeoutError` made in advance, and a
 * `RequestError("cancelled")` made on every success to reject the already-settled promise).
 * Each captures a stack trace; profiled on the authenticated ask benchmark they were a quarter
 * of the process's CPU, more than the whole actor path of the node. Here an error is built only
 * when a request fails, and there is no timer per request: one sweep every 100 ms (while
 * requests wait) fails those past their deadline, so a timeout fires up to 100 ms late.
 * JetStream publishes that wait for their PubAck (runtime/server/stored-publish.ts) use it too.
 *
 * The inbox is under the connection's own inbox prefix, so a tenant's connection (prefix
 * `_INBOX_<tenant>`) receives its replies within its permissions. An ask to an agent subject that
 * finds no responders also sends an unserved hint (unserved-hint.ts). A request the server refuses
 * to publish (permissions) fails at once with the server's `PermissionViolationError`, as with
 * `nc.request`. Other failures are the nats.js error classes too (`TimeoutError`; `RequestError`
 * whose cause is `NoRespondersError`), so callers map them as they map those of `nc.request`.
 */
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core"
import { createInbox, errors } from "@nats-io/nats-core"
import { hintUnserved } from "./unserved-hint.ts"

/** How often waiting requests are checked against their deadlines. */
const SWEEP_MS = 100
/** The waiting requests' table at first (it doubles when over half full). */
const SLOTS_AT_FIRST = 64

interface Pending {
  readonly seq: number
  readonly subject: string
  readonly resolve: (m: Msg) => void
  readonly reject: (e: Error) => void
  readonly until: number
}

class ReplyInbox {
  /**
   * Waiting requests by their sequence number, in a table of a power-of-two size indexed by its low
   * bits, doubled when over half full. A request still waiting when its slot comes round again (a
   * long timeout) moves to `overflow`, so one slow request never grows the table. Once no request
   * waits (the deadline sweep finds none), a grown table goes back to its first size. Not a Map alone:
   * deleting and adding entries at tens of thousands a second rehashed it again and again, and a
   * rehashed table that had reached old space kept its successor, and what that held, alive
   * through young-generation collections (bench/README.md).
   */
  private slots: Array<Pending | undefined> = new Array(SLOTS_AT_FIRST).fill(undefined)
  private inSlots = 0
  private readonly overflow = new Map<number, Pending>()
  private readonly base: string
  private readonly sub: Subscription
  private seq = 0
  private dead = false
  private sweep: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly nc: NatsConnection,
    private readonly forget: () => void,
  ) {
    const inbox = createInbox(inboxPrefixOf(nc))
    this.base = `${inbox}.`
    this.sub = nc.subscribe(`${inbox}.*`, { callback: (err, m) => (err ? this.failAll(err) : this.deliver(m)) })
    void nc.closed().then((e) => this.failAll(e ?? new errors.ClosedConnectionError()))
    void this.watchRefusals()
  }

  /** The server refused to publish a request (permissions): its callers fail now, not at their timeout. */
  private async watchRefusals(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (this.dead) return
      if (s.type !== "error" || !(s.error instanceof errors.PermissionViolationError) || s.error.operation !== "publish") continue
      for (const p of this.waiting()) {
        if (p.subject !== s.error.subject) continue
        this.remove(p)
        p.reject(s.error)
      }
    }
  }

  request(subject: string, body: string | Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const seq = this.seq++
    const token = seq.toString(36)
    return new Promise<Msg>((resolve, reject) => {
      const p: Pending = { seq, subject, resolve, reject, until: Date.now() + timeoutMs }
      this.add(p)
      this.arm()
      try {
        this.nc.publish(subject, body, headers ? { reply: this.base + token, headers } : { reply: this.base + token })
      } catch (e) {
        this.remove(p)
        reject(e as Error)
      }
    })
  }

  private add(p: Pending): void {
    if ((this.inSlots + 1) * 2 > this.slots.length) {
      // entries of the smaller table have distinct low bits: they keep distinct slots in the larger one
      const grown: Array<Pending | undefined> = new Array(this.slots.length * 2).fill(undefined)
      for (const q of this.slots) if (q !== undefined) grown[q.seq & (grown.length - 1)] = q
      this.slots = grown
    }
    const i = p.seq & (this.slots.length - 1)
    const taken = this.slots[i]
    if (taken !== undefined) {
      this.overflow.set(taken.seq, taken)
      this.inSlots--
    }
    this.slots[i] = p
    this.inSlots++
  }

  private find(seq: number): Pending | undefined {
    const p = this.slots[seq & (this.slots.length - 1)]
    if (p !== undefined && p.seq === seq) return p
    return this.overflow.size === 0 ? undefined : this.overflow.get(seq)
  }

  private remove(p: Pending): void {
    const i = p.seq & (this.slots.length - 1)
    if (this.slots[i] === p) {
      this.slots[i] = undefined
      this.inSlots--
    } else this.overflow.delete(p.seq)
  }

  /** The table's length now (tests: it grows with a burst and goes back once the burst is over). */
  get tableSize(): number {
    return this.slots.length
  }

  private get size(): number {
    return this.inSlots + this.overflow.size
  }

  private *waiting(): Generator<Pending> {
    for (const p of this.slots) if (p !== undefined) yield p
    yield* this.overflow.values()
  }

  private arm(): void {
    if (this.sweep) return
    this.sweep = setInterval(() => {
      const now = Date.now()
      for (const p of [...this.waiting()]) {
        if (p.until > now) continue
        this.remove(p)
        p.reject(new errors.TimeoutError())
      }
      if (this.size === 0) {
        this.disarm()
        // a burst's table is not kept once it is over (it is made again if the next burst needs it)
        if (this.slots.length > SLOTS_AT_FIRST) this.slots = new Array(SLOTS_AT_FIRST).fill(undefined)
      }
    }, SWEEP_MS)
    this.sweep.unref?.()
  }

  private disarm(): void {
    if (this.sweep) clearInterval(this.sweep)
    this.sweep = undefined
  }

  private deliver(m: Msg): void {
    const p = this.find(parseInt(m.subject.slice(this.base.length), 36))
    if (p === undefined) return // late: its request timed out
    this.remove(p)
    if (m.data.length === 0 && m.headers?.code === 503) {
      hintUnserved(this.nc, p.subject)
      p.reject(new errors.RequestError(`no responders: '${p.subject}'`, { cause: new errors.NoRespondersError(p.subject) }))
    } else p.resolve(m)
  }

  /** The subscription failed (a permission error) or the connection closed: every request waiting fails with it. */
  private failAll(e: Error): void {
    this.dead = true
    this.forget()
    this.sub.unsubscribe()
    this.disarm()
    const all = [...this.waiting()]
    this.slots = new Array(SLOTS_AT_FIRST).fill(undefined)
    this.inSlots = 0
    this.overflow.clear()
    for (const p of all) p.reject(e)
  }
}

/** The connection's `inboxPrefix` option (default `_INBOX`), which nats.js keeps on the connection. */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix || undefined
}

const inboxes = new WeakMap<NatsConnection, ReplyInbox>()

/** The length of the connection's waiting-requests table (0: no inbox yet). */
export function replyTableSize(nc: NatsConnection): number {
  return inboxes.get(nc)?.tableSize ?? 0
}

/** Sends `body` to `subject` as a request and resolves with the reply (the connection's reply inbox is made on first use). */
export function requestReply(nc: NatsConnection, subject: string, body: string | Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
  let inbox = inboxes.get(nc)
  if (inbox === undefined) {
    if (nc.isClosed()) return Promise.reject(new errors.ClosedConnectionError())
    const made = new ReplyInbox(nc, () => {
      if (inboxes.get(nc) === made) inboxes.delete(nc)
    })
    inboxes.set(nc, (inbox = made))
  }
  return inbox.request(subject, body, timeoutMs, headers)
}
