/**
 * The one error of the limits layer: an input (or a state, or a reply) over a limit, or with a
 * key that could reach a prototype. `limit` says which check refused it; the node maps it to
 * an envelope code (`invalid_message` for what a sender sent, `too_large` for sizes the server
 * or the store cannot carry).
 */
import { TaggedError } from "../../subjects/errors.ts"
export type LimitKind = "bytes" | "depth" | "keys" | "prototype_key" | "not_json" | "rate" | "mailbox_bytes" | "node_bytes"

export class LimitError extends TaggedError("LimitError") {
  constructor(
    readonly limit: LimitKind,
    message: string,
    /** The limit's value, when it has one. */
    readonly max?: number,
    /** Where in the value the problem is (keys and indexes). */
    readonly path?: ReadonlyArray<string | number>,
  ) {
    super(message)
  }
}

export function isLimitError(e: unknown): e is LimitError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "LimitError"
}
