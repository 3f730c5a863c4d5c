/**
 * The last message of each subject of a stream under a filter, read once: one stream info
 * (how many subjects there are) and one consumer delivering the last message per subject,
 * fetched in batches and deleted afterwards. It is how a KV bucket's current values under a
 * key prefix are read in bulk (a tenant's task records, the sizes of its state), without a
 * request per key. KV deletes and purges are skipped; `headersOnly` leaves the bodies on the
 * server (a value's size is in `Nats-Msg-Size`). At most `max` messages are read.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream"
import { KV_OPERATION_HEADER } from "../../subjects/pheromones.ts"

export interface LastPerSubjectOptions {
  /** Read at most this many (default: all). */
  readonly max?: number
  /** Messages per fetch. */
  readonly batch: number
  readonly headersOnly?: boolean
}

/** Calls `each` with the last live message of every subject under `filter`; returns how many subjects the stream holds there. */
export async function readLastPerSubject(nc: NatsConnection, stream: string, filter: string, o: LastPerSubjectOptions, each: (m: JsMsg) => void): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info(stream, { subjects_filter: filter })
  const total = Object.keys(info.state.subjects ?? {}).length
  if (total === 0) return 0
  const want = Math.min(total, o.max ?? total)
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject, ...(o.headersOnly ? { headers_only: true } : {}) })
  let seen = 0
  /** A message is read once: nats-server 2.9 can deliver one twice when a subject is written as the consumer is made. */
  let lastSeq = 0
  try {
    while (seen < want) {
      const batch = await consumer.fetch({ max_messages: Math.min(want - seen, o.batch), expires: 5_000 })
      let got = 0
      for await (const m of batch) {
        got++
        if (m.seq <= lastSeq) continue
        lastSeq = m.seq
        seen++
        const op = m.headers?.get(KV_OPERATION_HEADER)
        if (op !== "DEL" && op !== "PURGE") each(m)
        if (m.info.pending === 0) seen = want
      }
      if (got === 0) break
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  return total
}
