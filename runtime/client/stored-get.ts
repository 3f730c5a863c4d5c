/**
 * The last message stored under a subject, read from the stream's leader
 * (`$JS.API.STREAM.MSG.GET`, as nats.js's `jsm.streams.getMessage`), over the connection's reply
 * inbox (server/reply-inbox.ts) rather than a nats.js request, which builds stack-capturing
 * errors on every call. An activation makes one of these per actor it wakes (its checkpoint).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { streamMsgGetSubject } from "../../subjects/jetstream.ts"
import { requestReply } from "../server/reply-inbox.ts"
import { StoreError } from "../server/stored-publish.ts"

export interface StoredMessage {
  readonly seq: number
  readonly data: Uint8Array
  /** The message's headers block as text (`NATS/1.0\r\nName: value\r\n...`), when it has one. */
  readonly headers: string | undefined
}

/** The server's code for "no message found". */
const NO_MESSAGE = 10037

interface GetResponse {
  message?: { seq: number; data?: string; hdrs?: string }
  error?: { code: number; err_code?: number; description?: string }
}

/** The last message of `subject` in `stream`; undefined when there is none. Throws StoreError otherwise. */
export async function lastStoredMessage(nc: NatsConnection, stream: string, subject: string, timeoutMs = 5_000): Promise<StoredMessage | undefined> {
  let m
  try {
    m = await requestReply(nc, streamMsgGetSubject(stream), JSON.stringify({ last_by_subj: subject }), timeoutMs)
  } catch (e) {
    throw new StoreError(`could not read the last message of ${subject}: ${(e as Error).message}`)
  }
  const r = JSON.parse(new TextDecoder().decode(m.data)) as GetResponse
  if (r.error) {
    if (r.error.err_code === NO_MESSAGE) return undefined
    throw new StoreError(r.error.description ?? "read refused", r.error)
  }
  const msg = r.message
  if (!msg) throw new StoreError("unexpected answer to a stored-message read")
  return {
    seq: msg.seq,
    data: msg.data ? Buffer.from(msg.data, "base64") : new Uint8Array(0),
    headers: msg.hdrs ? Buffer.from(msg.hdrs, "base64").toString("latin1") : undefined,
  }
}

/** The value of header `name` in a headers block, if present. */
export function headerValue(headers: string | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":")
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim()
  }
  return undefined
}
