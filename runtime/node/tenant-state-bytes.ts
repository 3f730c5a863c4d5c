/**
 * The bytes of a tenant's actor state as the server holds them: the size of the last value of
 * each of its keys in `ants_state`, whichever node checkpointed it. This is the figure the
 * `kvBytes` quota holds swarm-wide. One read is one stream info (how many keys) and one ordered
 * consumer delivering the last message of each key with headers only (`Nats-Msg-Size` gives a
 * value's size without sending the value); deleted keys count nothing.
 *
 * `StateBytes` caches the figure per tenant and reads it again at most every `refreshMs` in the
 * background, so the admission check on the hot path stays a map lookup; a figure is therefore
 * up to `refreshMs` (plus a checkpoint's delay) behind the writes.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { STATE_BUCKET, tenantStateKeys } from "../../subjects/kv.ts"

/** How often a tenant's state bytes are read again while its activations are checked. */
export const STATE_BYTES_REFRESH_MS = 2_000

export async function tenantStateBytes(nc: NatsConnection, tenant: string): Promise<number> {
  const stream = bucketStream(STATE_BUCKET)
  const filter = kvSubject(STATE_BUCKET, tenantStateKeys(tenant))
  const jsm = await jetstreamManager(nc)
  const info = await jsm.streams.info(stream, { subjects_filter: filter })
  const keys = Object.keys(info.state.subjects ?? {}).length
  if (keys === 0) return 0
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject, headers_only: true })
  let bytes = 0
  let seen = 0
  try {
    while (seen < keys) {
      const batch = await consumer.fetch({ max_messages: Math.min(keys - seen, 10_000), expires: 5_000 })
      let got = 0
      for await (const m of batch) {
        got++
        seen++
        const op = m.headers?.get("KV-Operation")
        if (op !== "DEL" && op !== "PURGE") bytes += Number(m.headers?.get("Nats-Msg-Size") || 0)
        if (m.info.pending === 0) seen = keys
      }
      if (got === 0) break
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  return bytes
}

export class StateBytes {
  private readonly figures = new Map<string, { bytes: number; at: number; reading: boolean }>()

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: (level: "info" | "warn" | "error", message: string) => void,
    private readonly refreshMs = STATE_BYTES_REFRESH_MS,
  ) {}

  /** The last figure read for `tenant` (0 before the first read completes); starts a new read when it is stale. */
  of(tenant: string, now = Date.now()): number {
    let f = this.figures.get(tenant)
    if (f === undefined) this.figures.set(tenant, (f = { bytes: 0, at: 0, reading: false }))
    if (!f.reading && now - f.at >= this.refreshMs) {
      const fig = f
      fig.reading = true
      tenantStateBytes(this.nc, tenant).then(
        (b) => {
          fig.bytes = b
          fig.at = Date.now()
          fig.reading = false
        },
        (e) => {
          fig.at = Date.now()
          fig.reading = false
          this.log("warn", `could not read the state bytes of tenant "${tenant}" for its kvBytes quota: ${(e as Error).message}`)
        },
      )
    }
    return f.bytes
  }
}
