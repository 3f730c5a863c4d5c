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
import { readLastPerSubject } from "../server/last-per-subject.ts"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { STATE_BUCKET, tenantStateKeys } from "../../subjects/kv.ts"

/** How often a tenant's state bytes are read again while its activations are checked. */
export const STATE_BYTES_REFRESH_MS = 2_000

export async function tenantStateBytes(nc: NatsConnection, tenant: string): Promise<number> {
  let bytes = 0
  await readLastPerSubject(nc, bucketStream(STATE_BUCKET), kvSubject(STATE_BUCKET, tenantStateKeys(tenant)), { batch: 10_000, headersOnly: true }, (m) => {
    bytes += Number(m.headers?.get("Nats-Msg-Size") || 0)
  })
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
