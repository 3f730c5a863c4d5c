/**
 * The two lease writes of an activation's hot path, below nats.js's KV client (leases.ts says
 * what a lease promises):
 *
 *   - `createLease`: a create-if-absent published on the connection's reply inbox
 *     (server/stored-publish.ts): nats.js's `kv.create` went through a request that built
 *     stack-capturing errors on every call. A key left with a delete marker (the release of a
 *     lease that was taken over, below, or by an older runtime) is free: taken at the marker's
 *     revision. A live lease fails the create with the server's wrong-last-sequence error, for
 *     the caller to look at the holder.
 *   - `removeLeaseMessage`: a release removes the stream message at the revision held instead of
 *     writing a delete marker, so the key is empty and the next create is one round trip (after a
 *     marker `kv.create` took three: the create refused, a read, an update). It never removes
 *     another node's lease: history is 1, so a write since replaced the message at that revision
 *     and the removal finds nothing.
 *   - `markLeaseReleased`: the release of a lease that was taken over writes a delete marker
 *     instead (fenced at the revision held). A removal leaves no trace, and the holder it was
 *     taken from may still believe it holds it: that node's re-check after its silence reads the
 *     stream's writes since the silence began (lease-stream-recheck.ts), and a takeover whose
 *     message was removed again is not among them. The marker is.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { JetStreamManager } from "@nats-io/jetstream"
import type { KV } from "@nats-io/kv"
import { bucketStream, LEASES_BUCKET } from "../../subjects/cluster.ts"
import { isWrongLastSequence, kvSubject } from "../../subjects/jetstream.ts"
import { storedCreate } from "../server/stored-publish.ts"

const LEASE_STREAM = bucketStream(LEASES_BUCKET)

/** Creates the lease `key` (must be empty or a delete marker); resolves with its revision. */
export function createLease(nc: NatsConnection, kv: KV, key: string, body: Uint8Array): Promise<number> {
  return storedCreate(nc, kvSubject(LEASES_BUCKET, key), body, async () => {
    const entry = await kv.get(key)
    return entry === null || entry.operation === "PUT" ? undefined : entry.revision
  })
}

/**
 * The server's answers to removing a message that is not there: 10057 "no message found" (the
 * sequence was removed), 10043 "sequence not found" (it was replaced: a later write of the key).
 */
const NO_SUCH_MESSAGE: ReadonlyArray<unknown> = [10057, 10043]

function isNoSuchMessage(e: unknown): boolean {
  const err = e as { code?: unknown; api_error?: { err_code?: unknown }; message?: unknown } | null
  if (NO_SUCH_MESSAGE.includes(err?.code) || NO_SUCH_MESSAGE.includes(err?.api_error?.err_code)) return true
  return /no message found|sequence \d+ not found/.test(String(err?.message ?? ""))
}

/** Removes the lease message stored at `revision`; resolves when removed or not there. Throws only when the store did not answer. */
export async function removeLeaseMessage(jsm: JetStreamManager, revision: number): Promise<void> {
  try {
    await jsm.streams.deleteMessage(LEASE_STREAM, revision, false)
  } catch (e) {
    if (!isNoSuchMessage(e)) throw e
  }
}

/**
 * Writes a delete marker for the lease `key` held at `revision`; resolves when written, or when
 * another write came since (it is not this holder's lease any more). Throws only when the store
 * did not answer.
 */
export async function markLeaseReleased(kv: KV, key: string, revision: number): Promise<void> {
  try {
    await kv.delete(key, { previousSeq: revision })
  } catch (e) {
    if (!isWrongLastSequence(e)) throw e
  }
}
