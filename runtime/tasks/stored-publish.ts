/**
 * JetStream publishes that wait for the PubAck on one shared inbox per connection. Same
 * protocol as `js.publish` (a publish with a reply subject; the stream answers `{stream, seq,
 * duplicate}` or `{error}`; 503 when no stream captures the subject), but without a request
 * object, timer and pre-built error per message: the task hot path makes one of these per
 * submission.
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node"
import { createInbox, headers as makeHeaders, type MsgHdrs } from "@nats-io/nats-core"

export interface StoredAck {
  readonly stream: string
  readonly seq: number
  readonly duplicate: boolean
}

/** What the stream refused; `api_error.err_code` as in nats.js (10071: wrong last sequence). */
export class StoreError extends TaggedError("StoreError") {
  constructor(
    message: string,
    readonly api_error?: { code: number; err_code?: number; description?: string },
  ) {
    super(message)
  }
}

export interface StoreOptions {
  readonly msgId?: string
  /** Only store if the subject's last sequence is this (0: no message on the subject yet). */
  readonly expectedLastSubjectSequence?: number
  readonly headers?: Record<string, string>
  readonly timeoutMs?: number
}

interface Pending {
  resolve(a: StoredAck): void
  reject(e: Error): void
  until: number
}

class StoredPublisher {
  private readonly inbox = createInbox()
  private readonly sub: Subscription
  private readonly pending = new Map<string, Pending>()
  private seq = 0
  private sweep: ReturnType<typeof setInterval> | undefined
  private readonly decoder = new TextDecoder()

  constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_e, m) => this.receive(m) })
    void nc.closed().then(() => this.failAll(new StoreError("connection closed before the server acknowledged the publish")))
  }

  publish(subject: string, data: string | Uint8Array, o: StoreOptions = {}): Promise<StoredAck> {
    let h: MsgHdrs | undefined
    if (o.msgId !== undefined || o.expectedLastSubjectSequence !== undefined || o.headers) {
      h = makeHeaders()
      if (o.msgId !== undefined) h.set("Nats-Msg-Id", o.msgId)
      if (o.expectedLastSubjectSequence !== undefined) h.set("Nats-Expected-Last-Subject-Sequence", String(o.expectedLastSubjectSequence))
      if (o.headers) for (const [k, v] of Object.entries(o.headers)) h.set(k, v)
    }
    const id = String(++this.seq)
    return new Promise<StoredAck>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, until: Date.now() + (o.timeoutMs ?? 10_000) })
      this.arm()
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, ...(h ? { headers: h } : {}) })
      } catch (e) {
        this.pending.delete(id)
        reject(e as Error)
      }
    })
  }

  private arm(): void {
    if (this.sweep) return
    this.sweep = setInterval(() => {
      const now = Date.now()
      for (const [k, p] of this.pending) {
        if (p.until < now) {
          this.pending.delete(k)
          p.reject(new StoreError("timed out waiting for the stream to acknowledge the publish"))
        }
      }
      if (this.pending.size === 0) {
        clearInterval(this.sweep)
        this.sweep = undefined
      }
    }, 250)
    this.sweep.unref?.()
  }

  private receive(m: Msg): void {
    const id = m.subject.slice(this.inbox.length + 1)
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    if (m.headers && m.headers.code === 503) {
      p.reject(new StoreError("no stream captures this subject (503 no responders): are the task streams created?", { code: 503 }))
      return
    }
    try {
      const r = JSON.parse(this.decoder.decode(m.data)) as {
        stream?: string
        seq?: number
        duplicate?: boolean
        error?: { code: number; err_code?: number; description?: string }
      }
      if (r.error) p.reject(new StoreError(r.error.description ?? "publish refused", r.error))
      else p.resolve({ stream: r.stream ?? "", seq: r.seq ?? 0, duplicate: r.duplicate === true })
    } catch (e) {
      p.reject(new StoreError(`unexpected publish acknowledgement: ${String(e)}`))
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
    if (this.sweep) clearInterval(this.sweep)
    this.sweep = undefined
  }
}

const publishers = new WeakMap<NatsConnection, StoredPublisher>()

/** Publishes to a stream and resolves with its acknowledgement. */
export function storedPublish(nc: NatsConnection, subject: string, data: string | Uint8Array, opts?: StoreOptions): Promise<StoredAck> {
  let p = publishers.get(nc)
  if (!p) {
    p = new StoredPublisher(nc)
    publishers.set(nc, p)
  }
  return p.publish(subject, data, opts)
}
