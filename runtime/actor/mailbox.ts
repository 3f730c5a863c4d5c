/**
 * A bounded FIFO mailbox (ring buffer). A full mailbox refuses instead of growing: the caller
 * answers `overloaded`, which is back-pressure the sender can see (Akka's bounded mailbox).
 * Storage is allocated on first use and released when the mailbox empties, so an idle actor
 * carries no buffer.
 */
import type { Msg } from "@nats-io/nats-core"
import type { Span } from "@opentelemetry/api"
import type { Ticket } from "../limits/message-ledger.ts"

/** A decoded message waiting in a mailbox. `msg` is kept for its reply subject. */
export interface Envelope {
  readonly tag: string
  readonly message: unknown
  readonly msg: Msg | undefined
  /**
   * `msg.reply` as the node read it once ("" for a tell): nats.js decodes an empty reply subject
   * again on every read, so a tell's answer path asks this instead.
   */
  readonly reply?: string
  /** Where the node counted the message in (settled once: handled or rejected with a code). */
  readonly ticket?: Ticket
  /** Body bytes, counted against the actor's and the node's mailbox bytes while queued. */
  readonly bytes?: number
  /** When the node took an ask (`performance.now()`), for the ask latency histogram; undefined for a tell. */
  readonly at?: number
  /** The node's dispatch span (tracing on): the handler's span is its child. */
  readonly trace?: Span
  /** The handler's span while its turn runs; ended with the answer. */
  span?: Span
}

export class Mailbox<T> {
  private buf: Array<T | undefined> | null = null
  private head = 0
  private count = 0
  /** Body bytes queued (kept by the owner: here, so an actor with nothing queued keeps no field for it). */
  bytes = 0

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count
  }

  /** Adds an item; false when the mailbox is full. */
  push(item: T): boolean {
    if (this.count >= this.capacity) return false
    if (this.buf === null) this.buf = new Array(Math.min(this.capacity, 4))
    if (this.count === this.buf.length) this.grow()
    this.buf[(this.head + this.count) % this.buf.length] = item
    this.count++
    return true
  }

  shift(): T | undefined {
    if (this.count === 0 || this.buf === null) return undefined
    const item = this.buf[this.head]
    this.buf[this.head] = undefined
    this.head = (this.head + 1) % this.buf.length
    this.count--
    if (this.count === 0) {
      this.head = 0
      if (this.buf.length > 64) this.buf = null
    }
    return item
  }

  /** Removes and returns everything queued. */
  clear(): T[] {
    const out: T[] = []
    for (let x = this.shift(); x !== undefined; x = this.shift()) out.push(x)
    this.buf = null
    return out
  }

  private grow(): void {
    const old = this.buf!
    const next = new Array<T | undefined>(Math.min(this.capacity, old.length * 2))
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length]
    this.buf = next
    this.head = 0
  }
}
