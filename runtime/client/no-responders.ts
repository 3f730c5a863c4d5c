/**
 * Whether a request failed because nobody subscribes to its subject: the server's 503 status,
 * which nats.js reports as a `RequestError` (or, through some paths, only in the message).
 */
import { errors } from "@nats-io/nats-core"

export function isNoResponders(e: unknown): boolean {
  return (e instanceof errors.RequestError && e.isNoResponders()) || /no responders/i.test(String((e as Error)?.message))
}
