/**
 * `ants ask --stream`: an ask whose answer is streamed. The ask carries the header
 * `Ants-Stream: <a fresh id>` and the message goes as written; an agent that streams
 * (conversational agents do, and any handler through `ctx.streamId`) publishes the answer's
 * deltas on ants.<tenant>.stream.<id> while it works. The text deltas are printed as they
 * arrive (with --json, every stream message as one JSON line), then the reply envelope.
 */
import { randomUUID } from "node:crypto"
import { headers, type NatsConnection } from "@nats-io/nats-core"
import { decodeReply, type ReplyEnvelope } from "../../subjects/envelope.ts"
import { parseAgentSubject } from "../../subjects/grammar.ts"
import { modelStreamSubject, STREAM_HEADER } from "../../subjects/models.ts"

export interface StreamIo {
  out(s: string): void
  /** Writes text as it is (no newline added); default stdout. */
  write?(s: string): void
}

export async function askStreaming(nc: NatsConnection, subject: string, body: Uint8Array, timeoutMs: number, json: boolean, io: StreamIo): Promise<ReplyEnvelope> {
  const write = io.write ?? ((s: string) => void process.stdout.write(s))
  const { tenant } = parseAgentSubject(subject)
  const id = randomUUID().replace(/-/g, "")
  let wrote = false
  const sub = nc.subscribe(modelStreamSubject(tenant, id), {
    callback: (_e, m) => {
      if (json) return io.out(m.string())
      const ev = m.json<{ delta?: { type: string; text?: string } }>()
      if (ev.delta?.type === "text" && ev.delta.text) {
        write(ev.delta.text)
        wrote = true
      }
    },
  })
  await nc.flush()
  try {
    const h = headers()
    h.set(STREAM_HEADER, id)
    const r = await nc.request(subject, body, { timeout: timeoutMs, headers: h })
    // the last deltas may still be on their way behind the reply
    await nc.flush()
    if (wrote) write("\n")
    return decodeReply(r.data)
  } finally {
    sub.unsubscribe()
  }
}
