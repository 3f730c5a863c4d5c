/**
 * Pulls task messages from a capability's lanes (one durable pull consumer per priority and one
 * for sessions) with raw pull requests, so a worker can ask "is anything waiting in the highest
 * lane?" without waiting: `poll` sends a `no_wait` request (answered at once, 404/408 when the
 * lane is empty), `longPoll` parks a one-message request while the worker is idle. Every
 * message, whatever request it answers, goes to `onMessage`; the worker orders them.
 *
 * Acknowledgements are sent on the message's reply subject as JetStream defines them: `+ACK`,
 * `-NAK {"delay":ns}`, `+WPI` (working), `+TERM` (2.9 ignores a `+TERM <reason>`, so the reason
 * travels in the dead letter instead).
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node"
import { createInbox } from "@nats-io/nats-core"
import { consumerNextSubject, parseAckSubject, type AckInfo } from "../../subjects/jetstream.ts"

export type DeliveryInfo = AckInfo

/**
 * Deliveries not yet settled, per connection: what a node holds (running, or fetched and
 * waiting). Its membership entry advertises their ack subjects, so that if it dies a survivor
 * hands them back at once (`releaseDeliveries`).
 */
const held = new WeakMap<NatsConnection, Set<Delivery>>()
/** Called when a connection takes a new delivery (its membership entry should say so soon). */
const heldListeners = new WeakMap<NatsConnection, () => void>()

/**
 * Calls `listener` whenever `nc` takes a new delivery, so the node can advertise it at once
 * rather than at its next heartbeat (a crash in between would leave the task waiting out its
 * claim). One listener per connection; returns its removal.
 */
export function onDeliveryHeld(nc: NatsConnection, listener: () => void): () => void {
  heldListeners.set(nc, listener)
  return () => {
    if (heldListeners.get(nc) === listener) heldListeners.delete(nc)
  }
}

/** Ack subjects of the deliveries held on `nc`, oldest first. */
export function heldAckSubjects(nc: NatsConnection): string[] {
  const set = held.get(nc)
  if (set === undefined) return []
  const out: string[] = []
  const stale = Date.now() - 3_600_000
  for (const d of set) {
    // a delivery dropped without being settled (a bug elsewhere) must not be advertised for ever
    if (d.at < stale) set.delete(d)
    else if (d.msg.reply) out.push(d.msg.reply)
  }
  return out
}

/**
 * Hands deliveries a dead node held back to the server for redelivery now (`-NAK` on their ack
 * subjects, taken from its last membership entry). Only JetStream ack subjects are used.
 * A delivery the dead node had settled meanwhile is ignored by the server. Returns how many.
 */
export function releaseDeliveries(nc: NatsConnection, ackSubjects: ReadonlyArray<string>): number {
  let n = 0
  for (const s of ackSubjects) {
    if (typeof s !== "string" || parseAckSubject(s) === undefined) continue
    try {
      nc.publish(s, "-NAK")
      n++
    } catch {
      // closing
    }
  }
  return n
}

export class Delivery {
  private done = false
  readonly at = Date.now()
  constructor(
    private readonly nc: NatsConnection,
    readonly msg: Msg,
    readonly lane: LaneRef,
    readonly info: DeliveryInfo,
    private readonly confirm: (ackSubject: string, timeoutMs: number) => Promise<boolean>,
  ) {
    let set = held.get(nc)
    if (set === undefined) {
      set = new Set()
      held.set(nc, set)
    }
    set.add(this)
    heldListeners.get(nc)?.()
  }
  get settled(): boolean {
    return this.done
  }
  ack(): void {
    if (this.settle()) this.nc.publish(this.msg.reply!, "+ACK")
  }
  /** Ack and wait for the server to confirm it. False on timeout (the task may be redelivered). */
  async ackAck(timeoutMs = 5_000): Promise<boolean> {
    if (!this.settle()) return true
    return await this.confirm(this.msg.reply!, timeoutMs)
  }
  nak(delayMs = 0): void {
    if (!this.settle()) return
    this.nc.publish(this.msg.reply!, delayMs > 0 ? `-NAK {"delay":${Math.round(delayMs) * 1_000_000}}` : "-NAK")
  }
  working(): void {
    if (!this.done) this.nc.publish(this.msg.reply!, "+WPI")
  }
  term(): void {
    if (this.settle()) this.nc.publish(this.msg.reply!, "+TERM")
  }
  private settle(): boolean {
    if (this.done) return false
    this.done = true
    held.get(this.nc)?.delete(this)
    return true
  }
}

export interface LaneRef {
  /** Position in delivery order: 0 is served first. */
  readonly order: number
  readonly consumer: string
  readonly kind: "priority" | "session"
  readonly priority: number
}

interface Req {
  readonly id: string
  readonly lane: LaneRef
  readonly want: number
  got: number
  readonly resolve: (n: number) => void
  readonly timer: ReturnType<typeof setTimeout>
  readonly long: boolean
}

export class LanePuller {
  private readonly inbox = createInbox()
  private readonly sub: Subscription
  private readonly reqs = new Map<string, Req>()
  /** Outstanding requests per consumer, oldest first: the server serves them in that order. */
  private readonly byLane = new Map<string, Req[]>()
  private readonly longOutstanding = new Set<string>()
  private seq = 0

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly onMessage: (d: Delivery) => void,
  ) {
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_e, m) => this.receive(m) })
  }

  /** Asks for up to `n` messages now; resolves with how many came. */
  poll(lane: LaneRef, n: number): Promise<number> {
    return this.request(lane, n, false, 0)
  }

  /**
   * Whether a request of this puller waits parked on the lane: the lane had nothing for it, and
   * whatever comes there is handed to it, so asking the lane again now would find it empty.
   */
  parked(lane: LaneRef): boolean {
    return this.longOutstanding.has(lane.consumer)
  }

  /**
   * Parks a one-message request for `expiresMs` unless one is already parked on the lane.
   * `onLapsed` runs when it ends empty after waiting at least half that time: the lane has no
   * request of ours from then on. One that ends at once (an error status) does not call it, so a
   * lane that refuses requests is not asked again in a loop.
   */
  longPoll(lane: LaneRef, expiresMs: number, onLapsed?: () => void): void {
    if (this.longOutstanding.has(lane.consumer)) return
    this.longOutstanding.add(lane.consumer)
    const started = Date.now()
    void this.request(lane, 1, true, expiresMs).then((got) => {
      this.longOutstanding.delete(lane.consumer)
      if (got === 0 && Date.now() - started >= expiresMs / 2) onLapsed?.()
    })
  }

  private request(lane: LaneRef, n: number, long: boolean, expiresMs: number): Promise<number> {
    const id = String(++this.seq)
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => this.finish(id), long ? expiresMs + 5_000 : 2_000)
      const req: Req = { id, lane, want: n, got: 0, resolve, timer, long }
      this.reqs.set(id, req)
      const q = this.byLane.get(lane.consumer)
      if (q) q.push(req)
      else this.byLane.set(lane.consumer, [req])
      const body = long ? { batch: 1, expires: expiresMs * 1_000_000 } : { batch: n, no_wait: true }
      this.nc.publish(consumerNextSubject(this.stream, lane.consumer), JSON.stringify(body), {
        reply: `${this.inbox}.${id}`,
      })
    })
  }

  private finish(id: string): void {
    const r = this.reqs.get(id)
    if (!r) return
    this.reqs.delete(id)
    const q = this.byLane.get(r.lane.consumer)
    const i = q ? q.indexOf(r) : -1
    if (q && i >= 0) q.splice(i, 1)
    clearTimeout(r.timer)
    r.resolve(r.got)
  }

  /**
   * A confirmed ack (what nats.js calls ackAck) answered on this puller's inbox: the same
   * protocol, without a request object and timer per message on the hot path.
   */
  private readonly acks = new Map<string, { resolve: (ok: boolean) => void; until: number }>()
  private ackSeq = 0
  private ackSweep: ReturnType<typeof setInterval> | undefined
  private readonly confirmAck = (ackSubject: string, timeoutMs: number): Promise<boolean> => {
    const id = `a${++this.ackSeq}`
    return new Promise<boolean>((resolve) => {
      this.acks.set(id, { resolve, until: Date.now() + timeoutMs })
      if (!this.ackSweep) {
        this.ackSweep = setInterval(() => {
          const now = Date.now()
          for (const [k, a] of this.acks) {
            if (a.until < now) {
              this.acks.delete(k)
              a.resolve(false)
            }
          }
          if (this.acks.size === 0) {
            clearInterval(this.ackSweep)
            this.ackSweep = undefined
          }
        }, 250)
      }
      this.nc.publish(ackSubject, "+ACK", { reply: `${this.inbox}.${id}` })
    })
  }

  private receive(m: Msg): void {
    const tail = m.subject.charCodeAt(this.inbox.length + 1) === 97 /* a */ ? m.subject.slice(this.inbox.length + 1) : undefined
    if (tail !== undefined && m.subject.startsWith(this.inbox)) {
      const a = this.acks.get(tail)
      if (a) {
        this.acks.delete(tail)
        a.resolve(true)
      }
      return
    }
    const info = m.reply ? parseAckSubject(m.reply) : undefined
    if (!info) {
      // A status (404 no messages, 408 expired or partly filled, 409 ...) arrives on the
      // request's own inbox: that request is over.
      this.finish(m.subject.slice(this.inbox.length + 1))
      return
    }
    // Messages arrive with their stream subject, not the inbox: credit the oldest open request
    // of the lane (the server fills them in order).
    const r = this.byLane.get(info.consumer)?.find((q) => q.got < q.want)
    const lane = r?.lane ?? this.lanes.get(info.consumer)
    if (r) {
      r.got++
      if (r.got >= r.want) this.finish(r.id)
    }
    if (!lane) {
      this.nc.publish(m.reply!, "-NAK")
      return
    }
    this.onMessage(new Delivery(this.nc, m, lane, info, this.confirmAck))
  }

  private readonly lanes = new Map<string, LaneRef>()
  register(lane: LaneRef): void {
    this.lanes.set(lane.consumer, lane)
  }

  /** Forgets parked requests (they died with a lost connection) so new ones can be parked. */
  forgetParked(): void {
    for (const r of [...this.reqs.values()]) this.finish(r.id)
    this.longOutstanding.clear()
  }

  close(): void {
    for (const id of [...this.reqs.keys()]) this.finish(id)
    for (const a of this.acks.values()) a.resolve(false)
    this.acks.clear()
    if (this.ackSweep) clearInterval(this.ackSweep)
    this.sub.unsubscribe()
  }
}
