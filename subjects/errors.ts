/**
 * Errors as tagged data. Every error class of the runtime extends `TaggedError(tag)`: its
 * `_tag` names its kind and is what code checks (never `instanceof` or the message: an error
 * that crossed a worker thread or was decoded from KV has no prototype), and its `name` is the
 * same tag. `ERROR_CODE_BY_TAG` is the one table saying which envelope code answers an error
 * of a given tag when a handler throws it; any other error is `handler_failed`.
 */
import type { ErrorCode } from "./envelope.ts"

/** The base of a tagged error class: `class NoBidderError extends TaggedError("NoBidderError") {}`. */
export function TaggedError<const Tag extends string>(tag: Tag) {
  return class extends Error {
    readonly _tag: Tag = tag
    constructor(message: string, options?: { cause?: unknown }) {
      super(message, options)
      this.name = tag
    }
  }
}

/**
 * The base of an error that answers with an envelope code and its details (an ask's error
 * reply, a refused endpoint request, a tool's failure): `class AskError extends CodedError("AskError") {}`.
 */
export function CodedError<const Tag extends string>(tag: Tag) {
  return class extends TaggedError(tag) {
    constructor(
      readonly code: ErrorCode,
      message: string,
      readonly details?: unknown,
      options?: { cause?: unknown },
    ) {
      super(message, options)
    }
  }
}

/** The tag of an error, if it has one (any object with a string `_tag`). */
export function tagOf(e: unknown): string | undefined {
  const tag = typeof e === "object" && e !== null ? (e as { _tag?: unknown })._tag : undefined
  return typeof tag === "string" ? tag : undefined
}

/** Whether `e` is tagged `tag`. */
export function hasTag(e: unknown, tag: string): boolean {
  return tagOf(e) === tag
}

/**
 * The envelope code that answers a handler's error, by its tag: the models layer's errors keep
 * their meaning for the caller (a spent budget, no model reachable, a request no model can
 * take); anything else a handler throws is `handler_failed`.
 */
export const ERROR_CODE_BY_TAG: Readonly<Record<string, ErrorCode>> = {
  BudgetExceededError: "budget_exceeded",
  ModelUnavailableError: "unavailable",
  ProviderError: "unavailable",
  ContextOverflowError: "invalid_request",
  ToolCallError: "invalid_request",
  ModelConfigError: "invalid_request",
  TurnError: "handler_failed",
  TurnJournalError: "unavailable",
  ModelDeniedError: "forbidden",
  TurnHeldError: "unavailable",
}

/** The envelope code for a handler's error (`ERROR_CODE_BY_TAG`, else `handler_failed`). */
export function errorCodeOf(e: unknown): ErrorCode {
  const tag = tagOf(e)
  return (tag !== undefined && Object.hasOwn(ERROR_CODE_BY_TAG, tag) ? ERROR_CODE_BY_TAG[tag] : undefined) ?? "handler_failed"
}
