/**
 * The JetStream subjects ANTS publishes on or reads directly, below the nats.js client: a KV
 * bucket's stream and write subjects, the pull request of a consumer, and the ack reply a
 * delivery carries (whose tokens say which stream, consumer and sequence a message is).
 *
 *   KV_<bucket>                                   the stream behind a KV bucket
 *   $KV.<bucket>.<key>                            a KV write (put or delete marker) of one key
 *   $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> a pull request for the next messages
 *   $JS.API.STREAM.MSG.GET.<stream>               a read of one stored message, answered by
 *                                                 the stream's leader
 *   $JS.API.DIRECT.GET.<stream>.<subject>         the last message of a subject, answered by
 *                                                 any server holding the stream (allow_direct)
 *   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>
 *                                                 a delivery's reply (v1; v2 adds domain and
 *                                                 account hash after ACK: 11 tokens or more)
 *
 * Pure code.
 */

/** The JetStream stream behind a KV bucket (for stream info: replicas, leader). */
export function bucketStream(bucket: string): string {
  return `KV_${bucket}`
}

/** The subject a KV write of `key` (or a key filter) in `bucket` is published on. */
export function kvSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`
}

/** How many characters of a KV message's subject come before its key. */
export function kvKeyOffset(bucket: string): number {
  return kvSubject(bucket, "").length
}

/** The subject a pull request for `consumer` of `stream` is published on. */
export function consumerNextSubject(stream: string, consumer: string): string {
  return `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`
}

/** The subject a read of one stored message of `stream` (by sequence or last by subject) is sent to. */
export function streamMsgGetSubject(stream: string): string {
  return `$JS.API.STREAM.MSG.GET.${stream}`
}

/** The subject of a direct read of the last message of `subject` in `stream` (empty request body). */
export function directGetLastSubject(stream: string, subject: string): string {
  return `$JS.API.DIRECT.GET.${stream}.${subject}`
}

/** What a delivery's ack reply subject says about it. */
export interface AckInfo {
  readonly stream: string
  readonly consumer: string
  readonly deliveryCount: number
  readonly streamSeq: number
  readonly consumerSeq: number
  readonly pending: number
}

/** Where the dots of an ack subject are (at most 12 are looked at), reused between calls. */
const dots = new Int32Array(13)

/**
 * Reads a delivery's `$JS.ACK.…` reply subject (v1 or v2 form); undefined for anything else.
 * One pass over the dots, no split: detection reads thousands of deliveries at a time and the
 * split's nine strings were 6% of its CPU.
 */
export function parseAckSubject(reply: string | undefined): AckInfo | undefined {
  if (!reply || !reply.startsWith("$JS.ACK.")) return undefined
  let n = 0
  for (let at = reply.indexOf("."); at !== -1 && n < dots.length; at = reply.indexOf(".", at + 1)) dots[n++] = at
  // tokens = dots + 1 (when fewer than 13 dots were seen)
  const tokens = n < dots.length ? n + 1 : Infinity
  let i: number
  if (tokens === 9) i = 2
  else if (tokens >= 11) i = 4
  else return undefined
  // token k spans (dots[k-1], dots[k]); the last token ends at the subject's end
  const tok = (k: number) => reply.slice(dots[k - 1]! + 1, k < n ? dots[k]! : reply.length)
  return {
    stream: tok(i),
    consumer: tok(i + 1),
    deliveryCount: Number(tok(i + 2)),
    streamSeq: Number(tok(i + 3)),
    consumerSeq: Number(tok(i + 4)),
    pending: Number(tok(i + 6)),
  }
}

/** JetStream API error codes ANTS acts on: a write that named a revision (last sequence) the subject no longer has. */
export const JS_WRONG_LAST_SEQUENCE = [10071, 10164] as const

/**
 * Whether a JetStream or KV write failed because the revision it named is not the subject's
 * last any more (update-with-revision, create of a key that exists): someone else wrote first.
 * By the API error code when the client kept it, else by the server's description.
 */
export function isWrongLastSequence(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false
  const err = e as { code?: unknown; api_error?: { err_code?: unknown }; message?: unknown }
  const codes: ReadonlyArray<unknown> = JS_WRONG_LAST_SEQUENCE
  if (codes.includes(err.code) || codes.includes(err.api_error?.err_code)) return true
  return /wrong last sequence|key exists|10071/i.test(String(err.message ?? ""))
}
