/**
 * The lease re-check after a silence as one pass over the lease stream (leases.ts `verifyAll`):
 * another node takes a lease over only after it stopped hearing this one, so every takeover is
 * a write to the `ants_leases` stream after the silence began. Reading the stream from the last
 * sequence this node saw its own writes land at before then finds them all, at the cost of what
 * was written during the silence, not of a request per lease held (100,000 of them took minutes,
 * with the node refusing every message meanwhile).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DeliverPolicy, jetstream, type JetStreamManager } from "@nats-io/jetstream"
import { bucketStream, LEASES_BUCKET } from "../../subjects/cluster.ts"
import { kvKeyOffset } from "../../subjects/jetstream.ts"

const KEY_OFFSET = kvKeyOffset(LEASES_BUCKET)
/** How far back (ms) the marks reach; an older silence reads the stream from the oldest mark kept. */
const MARKS_KEPT_MS = 120_000

/** A lease's value: the node holding it, that node's incarnation, when it was written. */
export interface LeaseRecord {
  readonly node: string
  readonly incarnation: string
  readonly at: string
}

/** The lease record a stored message carries (undefined: not one). */
export function leaseRecordOf(m: { json<T>(): T }): LeaseRecord | undefined {
  try {
    return m.json<LeaseRecord>()
  } catch {
    return undefined
  }
}

/**
 * Sequences of the lease stream this node saw its own writes land at, and when (at most one
 * mark per 100 ms): a sequence seen before a silence began was stored before any takeover.
 */
export class StreamMarks {
  private readonly marks: Array<{ at: number; seq: number }> = []
  private seen = 0

  /** A write of this node landed at `seq`. */
  saw(seq: number): void {
    if (seq <= this.seen) return
    this.seen = seq
    const now = Date.now()
    const n = this.marks.length
    // the newest mark moves forward (its time stays the time its sequence was seen, so a silence
    // never starts from a sequence seen after it began)
    if (n >= 2 && now - this.marks[n - 2]!.at < 100) this.marks[n - 1] = { at: now, seq }
    else this.marks.push({ at: now, seq })
    // one mark older than the window stays, so any silence has a place to start from
    while (this.marks.length > 2 && now - this.marks[1]!.at > MARKS_KEPT_MS) this.marks.shift()
  }

  /** The highest sequence seen landed before `at` (0: none, or no `at`: the stream from its start). */
  before(at: number | undefined): number {
    if (at === undefined) return 0
    let seq = 0
    for (const m of this.marks) {
      if (m.at >= at) break
      seq = m.seq
    }
    return seq
  }
}

/** How long (ms) a read may go on past the stream's end when it began, catching up with writes made since. */
const CATCH_UP_MS = 2_000

/**
 * What `changed(key, seq, record)` returns for the stream's messages after `after` (a record is
 * undefined for a delete), read with a consumer until nothing is pending. Not only up to the
 * stream's last message when the read began: history is 1, so a write made during the read
 * (a takeover released again when this node re-joins) removes the message it replaces, which the
 * read may not have reached, and only its replacement, past that end, tells of it. A stream
 * written on faster than the read catches up within `CATCH_UP_MS` is an error, as is one that
 * cannot be read (the caller then reads each lease). `started`: called once the stream's end was
 * read, before the messages are (tests hold the read there).
 */
export async function leasesChangedSince<T>(
  nc: NatsConnection,
  jsm: JetStreamManager,
  after: number,
  changed: (key: string, seq: number, record: LeaseRecord | undefined) => T | undefined,
  started?: () => Promise<void>,
): Promise<T[]> {
  const stream = bucketStream(LEASES_BUCKET)
  const info = await jsm.streams.info(stream)
  const out: T[] = []
  if (info.state.last_seq <= after) return out
  await started?.()
  const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(after + 1, info.state.first_seq) })
  try {
    if ((await consumer.info(true)).num_pending === 0) return out
    let pastEnd: number | undefined
    for (let done = false; !done; ) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 3_000 })
      let got = 0
      for await (const m of batch) {
        got++
        const op = m.headers?.get("KV-Operation")
        const c = changed(m.subject.slice(KEY_OFFSET), m.seq, op === "DEL" || op === "PURGE" ? undefined : leaseRecordOf(m))
        if (c !== undefined) out.push(c)
        if (m.info.pending === 0) {
          done = true
          break // the batch would otherwise wait out its expiry for messages that will not come
        }
        if (m.seq >= info.state.last_seq) pastEnd ??= Date.now()
        if (pastEnd !== undefined && Date.now() - pastEnd > CATCH_UP_MS) throw new Error(`the lease stream was written on faster than it could be read for ${CATCH_UP_MS} ms`)
      }
      if (got === 0 && !done) throw new Error("the lease stream's consumer delivered nothing")
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  return out
}
