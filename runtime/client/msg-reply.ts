/**
 * A received message's reply subject, read without decoding an absent one.
 *
 * nats.js (`MsgImpl.reply`, @nats-io/nats-core 3.x) caches a decoded reply only when it is not
 * empty, so for a tell (no reply subject) every read of `msg.reply` runs a TextDecoder over
 * nothing again (about 100 ns in a loop on the shared 2-core VM under load, where a node's whole
 * path per tell measured about 1.5 us).
 * Where the message has nats.js's raw arguments (`_msg`) and they carry no reply, the answer is
 * "" without that; any other message (another nats.js, a message the runtime built) is asked
 * `msg.reply` as before.
 */
import type { Msg } from "@nats-io/nats-core"

export function replyOf(msg: Msg): Msg["reply"] {
  const raw = (msg as unknown as { _msg?: { reply?: Uint8Array | undefined } })._msg
  if (typeof raw === "object" && raw !== null && "reply" in raw && (raw.reply === undefined || raw.reply.length === 0)) return ""
  return msg.reply
}
