/**
 * JetStream publishes that wait for the PubAck on the connection's reply inbox
 * (runtime/server/reply-inbox.ts, shared with asks). Same protocol as `js.publish` (a publish
 * with a reply subject; the stream answers `{stream, seq, duplicate}` or `{error}`; 503 when no
 * stream captures the subject), but without a request object, timer and pre-built error per
 * message: the task hot path makes one of these per submission, a pheromone deposit one per
 * write, an activation one per lease it takes. The inbox is under the connection's inbox
 * prefix, so a tenant's principal can submit its own tasks and write its own pheromones.
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { Msg, NatsConnection } from "@nats-io/transport-node"
import { errors, headers as makeHeaders, type MsgHdrs } from "@nats-io/nats-core"
import { requestReply } from "./reply-inbox.ts"
import { isWrongLastSequence } from "../../subjects/jetstream.ts"

const decoder = new TextDecoder()

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

/** How long a KV write or read of the runtime's hot paths waits for the store (nats.js's JetStream default). */
export const KV_TIMEOUT_MS = 5_000

export interface StoreOptions {
  readonly msgId?: string
  /** Only store if the subject's last sequence is this (0: no message on the subject yet). */
  readonly expectedLastSubjectSequence?: number
  /** Only store if the stream's last sequence is this (a hash chain's head). */
  readonly expectedLastSequence?: number
  /** Only store if the stream's last message has this message id (a chain's link to the message before). */
  readonly expectedLastMsgId?: string
  readonly headers?: Record<string, string>
  readonly timeoutMs?: number
}

/** Publishes to a stream and resolves with its acknowledgement. */
export function storedPublish(nc: NatsConnection, subject: string, data: string | Uint8Array, o: StoreOptions = {}): Promise<StoredAck> {
  let h: MsgHdrs | undefined
  if (o.msgId !== undefined || o.expectedLastSubjectSequence !== undefined || o.expectedLastSequence !== undefined || o.expectedLastMsgId !== undefined || o.headers) {
    h = makeHeaders()
    if (o.msgId !== undefined) h.set("Nats-Msg-Id", o.msgId)
    if (o.expectedLastSubjectSequence !== undefined) h.set("Nats-Expected-Last-Subject-Sequence", String(o.expectedLastSubjectSequence))
    if (o.expectedLastSequence !== undefined) h.set("Nats-Expected-Last-Sequence", String(o.expectedLastSequence))
    if (o.expectedLastMsgId !== undefined) h.set("Nats-Expected-Last-Msg-Id", o.expectedLastMsgId)
    if (o.headers) for (const [k, v] of Object.entries(o.headers)) h.set(k, v)
  }
  return requestReply(nc, subject, data, o.timeoutMs ?? 10_000, h).then(ackOf, (e) => {
    throw storeErrorOf(e)
  })
}

/**
 * Creates a KV key (its `subject`) if absent: stored only when the subject has no message yet.
 * A key whose last message is a delete or purge marker is free too, as with nats.js's
 * `kv.create`: `marker()` reads that marker's sequence (undefined when the key holds a value) and
 * the create is made again at it. Rejects with the stream's wrong-last-sequence error when the
 * key is taken. Resolves with the new revision.
 */
export async function storedCreate(nc: NatsConnection, subject: string, data: Uint8Array, marker: () => Promise<number | undefined>): Promise<number> {
  try {
    return (await storedPublish(nc, subject, data, { expectedLastSubjectSequence: 0, timeoutMs: KV_TIMEOUT_MS })).seq
  } catch (e) {
    if (!isWrongLastSequence(e)) throw e
    const at = await marker()
    if (at === undefined) throw e
    return (await storedPublish(nc, subject, data, { expectedLastSubjectSequence: at, timeoutMs: KV_TIMEOUT_MS })).seq
  }
}

function ackOf(m: Msg): StoredAck {
  let r: { stream?: string; seq?: number; duplicate?: boolean; error?: { code: number; err_code?: number; description?: string } }
  try {
    r = JSON.parse(decoder.decode(m.data))
  } catch (e) {
    throw new StoreError(`unexpected publish acknowledgement: ${String(e)}`)
  }
  if (r.error) throw new StoreError(r.error.description ?? "publish refused", r.error)
  return { stream: r.stream ?? "", seq: r.seq ?? 0, duplicate: r.duplicate === true }
}

function storeErrorOf(e: unknown): StoreError {
  if (e instanceof errors.TimeoutError) return new StoreError("timed out waiting for the stream to acknowledge the publish")
  if (e instanceof errors.RequestError && e.isNoResponders()) {
    return new StoreError("no stream captures this subject (503 no responders): are the task streams created?", { code: 503 })
  }
  if (e instanceof errors.ClosedConnectionError) return new StoreError("connection closed before the server acknowledged the publish")
  return new StoreError((e as Error).message)
}
