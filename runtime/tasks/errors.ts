/**
 * Errors of the task engine. Check them by `_tag`, not `instanceof` (values decoded from the
 * wire lose their prototype). A handler throws `TaskRejected` to stop retries at once; any
 * other throw is a transient failure, retried with backoff up to the attempt limit.
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { DeadLetterReason } from "../../subjects/tasks.ts"

/** Thrown by a handler: do not retry; dead-letter now with `reason` (default `rejected`). */
export class TaskRejected extends TaggedError("TaskRejected") {
  readonly reason: DeadLetterReason
  constructor(message: string, options?: { reason?: "rejected" | "dependency_down" | "malformed_payload"; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.reason = options?.reason ?? "rejected"
  }
}

/** The engine could not do what was asked (stream missing, not found, conflict, timeout). */
export class TaskEngineError extends TaggedError("TaskEngineError") {
  constructor(
    readonly code: "not_found" | "conflict" | "unavailable" | "timeout" | "invalid_request" | "quota_exceeded",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** No agent bid for a marketplace task within the bid window. */
export class NoBidderError extends TaggedError("NoBidderError") {}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name
  if (typeof e === "string") return e
  try {
    return JSON.stringify(e)
  } catch {
    return String(e)
  }
}

/** A submission that was refused; nothing was stored. Code on the wire: `invalid_message`. */
export class TaskInputError extends TaggedError("TaskInputError") {
  readonly code = "invalid_message"
  constructor(
    message: string,
    readonly issues: ReadonlyArray<string> = [],
  ) {
    super(message)
  }
}
