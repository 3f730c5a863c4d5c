/**
 * Reply envelopes and system event payloads. Every reply to an actor request is
 * JSON, either `{"ok":true,"value":<reply>}` or
 * `{"ok":false,"error":{"code":"<code>","message":"<text>","details":<optional>}}`.
 * Error codes are a closed set so clients can branch on them.
 */
import * as Schema from "effect/Schema"

export const ERROR_CODES = [
  "invalid_subject",
  "invalid_message",
  "unknown_type",
  "unknown_tag",
  "overloaded",
  "handler_failed",
  "unavailable",
  "timeout",
  "forbidden",
  "not_found",
  "conflict",
  "invalid_request",
  "quota_exceeded",
  "budget_exceeded",
  "too_large",
] as const

export const ErrorCode = Schema.Literal(...ERROR_CODES)
export type ErrorCode = typeof ErrorCode.Type

export const ErrorBody = Schema.Struct({
  code: ErrorCode,
  message: Schema.String,
  details: Schema.optional(Schema.Unknown),
})
export type ErrorBody = typeof ErrorBody.Type

export const OkEnvelope = Schema.Struct({ ok: Schema.Literal(true), value: Schema.Unknown })
export const ErrEnvelope = Schema.Struct({ ok: Schema.Literal(false), error: ErrorBody })
export const ReplyEnvelope = Schema.Union(OkEnvelope, ErrEnvelope)
export type ReplyEnvelope = typeof ReplyEnvelope.Type

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Encodes a success envelope (hot path: no schema work, value must be JSON-serialisable). */
export function encodeOk(value: unknown): Uint8Array {
  const v = JSON.stringify(value)
  return encoder.encode(`{"ok":true,"value":${v === undefined ? "null" : v}}`)
}

/** Encodes an error envelope. */
export function encodeError(code: ErrorCode, message: string, details?: unknown): Uint8Array {
  const error: ErrorBody = details === undefined ? { code, message } : { code, message, details }
  return encoder.encode(JSON.stringify({ ok: false, error }))
}

const decodeEnvelope = Schema.decodeUnknownEither(ReplyEnvelope)

/** Decodes a reply envelope; a payload that is not one becomes an `invalid_message` error envelope. */
export function decodeReply(data: Uint8Array | string): ReplyEnvelope {
  let parsed: unknown
  try {
    parsed = JSON.parse(typeof data === "string" ? data : decoder.decode(data))
  } catch {
    return { ok: false, error: { code: "invalid_message", message: "reply is not JSON" } }
  }
  // Fast path for the common well-formed shapes.
  if (parsed !== null && typeof parsed === "object") {
    const p = parsed as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } }
    if (p.ok === true) return { ok: true, value: p.value }
  }
  const r = decodeEnvelope(parsed)
  if (r._tag === "Right") return r.right
  return { ok: false, error: { code: "invalid_message", message: "reply is not an ANTS envelope", details: parsed } }
}

// ---------------------------------------------------------------------------------------
// System events

export const LIFECYCLE_STATES = ["cold", "warming", "active", "idle", "sleeping"] as const
export const LifecycleState = Schema.Literal(...LIFECYCLE_STATES)
export type LifecycleState = typeof LifecycleState.Type

/** Published on `ants._sys.lifecycle.<tenant>.<type>.<id>` for every transition. */
export const LifecycleEvent = Schema.Struct({
  from: LifecycleState,
  to: LifecycleState,
  node: Schema.String,
  at: Schema.String,
  reason: Schema.optional(Schema.String),
})
export type LifecycleEvent = typeof LifecycleEvent.Type

export const DIRECTIVES = ["resume", "restart", "stop", "escalate"] as const
export const Directive = Schema.Literal(...DIRECTIVES)
export type Directive = typeof Directive.Type

/** Published on `ants._sys.supervisor.<tenant>.<type>.<id>` for every supervisor decision. */
export const SupervisorEvent = Schema.Struct({
  directive: Directive,
  reason: Schema.String,
  restarts: Schema.Number,
  node: Schema.String,
  at: Schema.String,
  supervisor: Schema.optional(Schema.String),
  backoffMs: Schema.optional(Schema.Number),
})
export type SupervisorEvent = typeof SupervisorEvent.Type
