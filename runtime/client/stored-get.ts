/**
 * The last message stored under a subject, over the connection's reply inbox
 * (server/reply-inbox.ts) rather than a nats.js request, which builds stack-capturing errors on
 * every call. An activation makes one of these per actor it wakes (its checkpoint).
 *
 * Two ways to ask: `leader` (`$JS.API.STREAM.MSG.GET`, as nats.js's `jsm.streams.getMessage`,
 * answered by the stream's leader through the JetStream API) and `direct`
 * (`$JS.API.DIRECT.GET.<stream>.<subject>`, answered by a server holding the stream without the
 * API's queue: the message's own bytes, no JSON or base64). Direct reads may be answered by any
 * replica (or a mirror made with `mirror_direct`), so the caller uses them only where the
 * stream's one replica is its leader.
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import { directGetLastSubject, streamMsgGetSubject } from "../../subjects/jetstream.ts"
import { requestReply } from "../server/reply-inbox.ts"
import { KV_TIMEOUT_MS, StoreError } from "../server/stored-publish.ts"

/** The write beside the read, for layers that reach the store through this one (the actor's checkpoints). */
export { KV_TIMEOUT_MS, storedCreate, storedPublish } from "../server/stored-publish.ts"

export interface StoredMessage {
  readonly seq: number
  readonly data: Uint8Array
  /** One header of the stored message (undefined when absent). */
  header(name: string): string | undefined
}

/** The server's code for "no message found". */
const NO_MESSAGE = 10037

interface GetResponse {
  message?: { seq: number; data?: string; hdrs?: string }
  error?: { code: number; err_code?: number; description?: string }
}

async function ask(nc: NatsConnection, subject: string, body: string, what: string, timeoutMs: number): Promise<Msg> {
  try {
    return await requestReply(nc, subject, body, timeoutMs)
  } catch (e) {
    throw new StoreError(`could not read the last message of ${what}: ${(e as Error).message}`)
  }
}

/** The last message of `subject` in `stream`; undefined when there is none. Throws StoreError otherwise. */
export async function lastStoredMessage(nc: NatsConnection, stream: string, subject: string, o: { direct?: boolean; timeoutMs?: number } = {}): Promise<StoredMessage | undefined> {
  const timeoutMs = o.timeoutMs ?? KV_TIMEOUT_MS
  if (o.direct) {
    const m = await ask(nc, directGetLastSubject(stream, subject), "", subject, timeoutMs)
    const h = m.headers
    if (h?.code === 404) return undefined
    if (h === undefined || (h.code !== 0 && h.code !== 200)) throw new StoreError(`direct read of ${subject} refused: ${h?.code ?? "no headers"} ${h?.description ?? ""}`.trim())
    return { seq: Number(h.get("Nats-Sequence")), data: m.data, header: (name) => h.get(name) || undefined }
  }
  const m = await ask(nc, streamMsgGetSubject(stream), JSON.stringify({ last_by_subj: subject }), subject, timeoutMs)
  const r = JSON.parse(new TextDecoder().decode(m.data)) as GetResponse
  if (r.error) {
    if (r.error.err_code === NO_MESSAGE) return undefined
    throw new StoreError(r.error.description ?? "read refused", r.error)
  }
  const msg = r.message
  if (!msg) throw new StoreError("unexpected answer to a stored-message read")
  const headers = msg.hdrs ? Buffer.from(msg.hdrs, "base64").toString("latin1") : undefined
  return { seq: msg.seq, data: msg.data ? Buffer.from(msg.data, "base64") : new Uint8Array(0), header: (name) => headerValue(headers, name) }
}

/** The value of header `name` in a headers block (`NATS/1.0\r\nName: value\r\n...`), if present. */
function headerValue(headers: string | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined
  const want = name.toLowerCase()
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":")
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === want) return line.slice(colon + 1).trim()
  }
  return undefined
}
