/**
 * `ants ask --stream`: an ask whose answer is streamed. The message gets a `stream` field (a
 * fresh id); agents that stream (conversational agents do) publish the answer's deltas on
 * ants.<tenant>.stream.<id> while they work. The text deltas are printed as they arrive
 * (with --json, every stream message as one JSON line), then the reply envelope.
 */
import { randomUUID } from "node:crypto"
import type { NatsConnection } from "@nats-io/nats-core"
import { decodeReply, type ReplyEnvelope } from "../../subjects/envelope.ts"
import { parseAgentSubject } from "../../subjects/grammar.ts"
import { modelStreamSubject } from "../../subjects/models.ts"

export interface StreamIo {
  out(s: string): void
  /** Writes text as it is (no newline added); default stdout. */
  write?(s: string): void
}

export async function askStreaming(nc: NatsConnection, subject: string, body: Uint8Array, timeoutMs: number, json: boolean, io: StreamIo): Promise<ReplyEnvelope> {
  const write = io.write ?? ((s: string) => void process.stdout.write(s))
  let message: unknown
  try {
    message = JSON.parse(new TextDecoder().decode(body) || "{}")
  } catch {
    return { ok: false, error: { code: "invalid_message", message: "--stream needs a JSON object message (a stream id is added to it)" } }
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    return { ok: false, error: { code: "invalid_message", message: "--stream needs a JSON object message (a stream id is added to it)" } }
  }
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
    const r = await nc.request(subject, JSON.stringify({ ...message, stream: id }), { timeout: timeoutMs })
    // the last deltas may still be on their way behind the reply
    await nc.flush()
    if (wrote) write("\n")
    return decodeReply(r.data)
  } finally {
    sub.unsubscribe()
  }
}
