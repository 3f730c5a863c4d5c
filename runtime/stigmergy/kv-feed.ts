/**
 * A push feed of KV changes under a key filter: the subscription on the deliver subject is made
 * BEFORE the consumer is created, so no message the server pushes right after creation can be
 * lost. (nats.js 3.4's ordered push consumer creates first and subscribes after; the messages
 * that fall in between are only recovered by a consumer reset, seconds later on an idle feed:
 * too late for watches, wrong counts for reads.)
 *
 * Permissions. The deliver subject is an inbox under the connection's own `inboxPrefix` (a tenant
 * user may subscribe only to its `_INBOX_<tenant>.>`), and the consumer is created by name, so
 * nats.js sends `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`: the key filter is in the
 * subject, where per-tenant permissions can confine it (subjects/permissions.ts).
 *
 * The consumer is ephemeral (ack none, flow control, idle heartbeats, in memory) and is removed
 * by the server a few seconds after its subscription goes away. Long-lived feeds (watches) pass
 * `resume` and survive lost messages and reconnects by recreating the consumer.
 */
import { createInbox, nanos, nuid, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core"
import { kvOperationOf } from "../../subjects/pheromones.ts"
import { inboxPrefixOf } from "../server/reply-inbox.ts"
import { kvKeyOffset, kvSubject, parseAckSubject } from "../../subjects/jetstream.ts"
import type { JetStreamManager } from "@nats-io/jetstream"

/** What a feed needs of a store (kv-store.ts's KvStore is one), so the two files need not import each other. */
export interface FeedStore {
  readonly bucket: string
  readonly stream: string
  readonly jsm: JetStreamManager
}

/** One key's last message, as read by `readLatest` or a watch. */
export interface KvItem {
  readonly key: string
  readonly revision: number
  readonly operation: "PUT" | "DEL" | "PURGE"
  readonly value: Uint8Array
  /** Reads one header of the message (undefined when absent). */
  header(name: string): string | undefined
}

export interface KvFeed {
  /** Messages the server had for the filter when the feed started (the snapshot size). */
  readonly initial: number
  stop(): void
  /** Deletes the consumer now instead of letting the server time it out. */
  close(): Promise<void>
}

export interface KvFeedOptions {
  /** `last_per_subject` (default): the last value of every key, then changes; `new`: only changes. */
  readonly deliver?: "last_per_subject" | "new"
  /** Each message with the number of messages still pending after it. */
  readonly onItem: (item: KvItem, pending: number) => void
  readonly onError?: (err: unknown) => void
  /** Called on each idle heartbeat (the server has nothing more to send for now). */
  readonly onIdle?: () => void
  /**
   * Keep the feed alive across lost messages and reconnects (for long-lived watches): when a
   * delivery gap shows or no heartbeat arrived for FEED_STALL_MS, the consumer is recreated
   * from the stream sequence after the last message seen. Values superseded in between (history
   * 1) are not replayed; the latest ones are.
   */
  readonly resume?: boolean
}

const HEARTBEAT_MS = 5_000
/** A resuming feed that heard nothing (not even a heartbeat) for this long recreates its consumer. */
export const FEED_STALL_MS = 3 * HEARTBEAT_MS

interface Current {
  readonly sub: Subscription
  name?: string
}

export async function openKvFeed(nc: NatsConnection, store: FeedStore, filter: string, opts: KvFeedOptions): Promise<KvFeed> {
  const prefixLength = kvKeyOffset(store.bucket)
  let current: Current | undefined
  let lastSeq = 0
  let lastDseq = 0
  let lastActivity = Date.now()
  let stopped = false
  let restarting = false

  const handle = (sub: Subscription, err: Error | null, msg: Msg) => {
    if (sub !== current?.sub) return // a message for a consumer we replaced
    if (err) return opts.onError?.(err)
    lastActivity = Date.now()
    const h = msg.headers
    if (h && h.code === 100 && msg.data.length === 0) {
      // Flow control requests carry a reply; idle heartbeats may name a stalled consumer.
      if (msg.reply) msg.respond()
      else {
        const stalled = h.get("Nats-Consumer-Stalled")
        if (stalled) nc.publish(stalled)
        opts.onIdle?.()
      }
      return
    }
    const meta = parseAckSubject(msg.reply)
    if (!meta) return
    if (opts.resume && meta.consumerSeq !== lastDseq + 1 && lastDseq > 0) {
      restart()
      return
    }
    lastDseq = meta.consumerSeq
    // A last-per-subject start can deliver a message twice: nats-server 2.9 notes the stream's
    // last sequence, then reads each subject's last message, and once it has sent those goes on
    // after the sequence it noted, so a write that landed in between comes twice
    if (meta.streamSeq <= lastSeq) return
    lastSeq = meta.streamSeq
    try {
      opts.onItem(toItem(msg, prefixLength, meta.streamSeq), meta.pending)
    } catch (e) {
      opts.onError?.(e)
    }
  }

  const start = async (startSeq?: number) => {
    const inbox = createInbox(inboxPrefixOf(nc))
    const sub: Subscription = nc.subscribe(inbox, { callback: (err, msg) => handle(sub, err, msg) })
    const cur: Current = { sub }
    current = cur
    lastDseq = 0
    try {
      const info = await store.jsm.consumers.add(store.stream, {
        name: nuid.next(),
        deliver_subject: inbox,
        ...(startSeq === undefined
          ? { deliver_policy: (opts.deliver ?? "last_per_subject") as never }
          : startSeq > 0
            ? { deliver_policy: "by_start_sequence" as never, opt_start_seq: startSeq }
            : { deliver_policy: "new" as never }),
        ack_policy: "none" as never,
        filter_subject: kvSubject(store.bucket, filter),
        flow_control: true,
        idle_heartbeat: nanos(HEARTBEAT_MS),
        inactive_threshold: nanos(HEARTBEAT_MS),
        mem_storage: true,
        num_replicas: 1,
      })
      cur.name = info.name
      return info
    } catch (e) {
      sub.unsubscribe()
      throw e
    }
  }

  const drop = (cur: Current | undefined) => {
    if (!cur) return
    cur.sub.unsubscribe()
    if (cur.name) store.jsm.consumers.delete(store.stream, cur.name).catch(() => false)
  }

  const restart = () => {
    if (stopped || restarting) return
    restarting = true
    const old = current
    drop(old)
    // Before any message was seen there is no position to resume from: take only what is new.
    start(lastSeq > 0 ? lastSeq + 1 : 0).then(
      () => {
        restarting = false
        lastActivity = Date.now()
      },
      (e) => {
        restarting = false
        opts.onError?.(e) // the watchdog tries again
      },
    )
  }

  const info = await start()
  const watchdog = opts.resume
    ? setInterval(() => {
        if (Date.now() - lastActivity > FEED_STALL_MS) restart()
      }, HEARTBEAT_MS)
    : undefined
  watchdog?.unref?.()

  return {
    initial: info.num_pending,
    stop() {
      stopped = true
      if (watchdog) clearInterval(watchdog)
      current?.sub.unsubscribe()
    },
    async close() {
      stopped = true
      if (watchdog) clearInterval(watchdog)
      const cur = current
      cur?.sub.unsubscribe()
      if (cur?.name) await store.jsm.consumers.delete(store.stream, cur.name).catch(() => false)
    },
  }
}

/** The `header` of a message without headers (a plain put: most of what detection reads). */
const noHeader = (): undefined => undefined

/**
 * A message without headers shares one `header` function and is a put; only a message with
 * headers gets a reader of its own (detection reads thousands of items at a time).
 */
function toItem(m: Msg, prefixLength: number, seq: number): KvItem {
  const key = m.subject.substring(prefixLength)
  const h = m.headers
  if (h === undefined) return { key, revision: seq, operation: "PUT", value: m.data, header: noHeader }
  const header = (name: string) => {
    const v = h.get(name)
    return v === undefined || v === "" ? undefined : v
  }
  return { key, revision: seq, operation: kvOperationOf(header), value: m.data, header }
}
