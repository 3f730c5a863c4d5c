/**
 * What coordination asks of the rest of the system, as narrow optional ports: a receipt writer
 * (the audit) and a human escalation (an approval queue). Either may be missing; neither may
 * crash a round, a response or a saga: a failing port is counted and reported, never thrown.
 */
import { TaggedError } from "../../subjects/errors.ts"

/** Writes one receipt (`kind` is one of COORDINATION_RECEIPTS); e.g. the governance audit. */
export type RecordPort = (tenant: string, kind: string, detail: Record<string, unknown>) => Promise<void>

/** What a human is asked to settle. */
export interface EscalationRequest {
  readonly tenant: string
  /** What is escalated: `consensus` (a round that did not decide) or `saga` (a compensation that failed). */
  readonly subject: "consensus" | "saga"
  /** The artifact holding the whole record (`consensus.<round>`, `sagas.<id>`). */
  readonly artifact: string
  readonly reason: string
  /** One paragraph for a human: the question, the votes, the leading answer and its score. */
  readonly summary: string
  /** 0..1, how urgent (an approval queue orders by it); from the caller's spec, default 0.5. */
  readonly severity: number
  readonly detail: Record<string, unknown>
}

/** Opens the escalation (e.g. an approval request) and returns a reference to it (its id), if any. */
export type EscalatePort = (request: EscalationRequest) => Promise<unknown>

export interface Ports {
  readonly record?: RecordPort
  readonly escalate?: EscalatePort
}

/** Calls the receipt port, swallowing its failure; returns whether it failed. */
export async function recordSafely(record: RecordPort | undefined, tenant: string, kind: string, detail: Record<string, unknown>): Promise<boolean> {
  if (!record) return false
  try {
    await record(tenant, kind, detail)
    return false
  } catch {
    return true
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message
  if (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string") return (e as { message: string }).message
  return String(e)
}

export type CoordinationErrorCode = "invalid_input" | "duplicate" | "not_found" | "taken_over" | "busy" | "stopped" | "failed"

/** Bad input, a round or saga id in use, a journal taken over by another coordinator. */
export class CoordinationError extends TaggedError("CoordinationError") {
  constructor(
    readonly code: CoordinationErrorCode,
    message: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, options)
    if (options?.details !== undefined) this.details = options.details
  }
  /** What was done before the error (a fan-out's results, a hand-off's trail). */
  readonly details?: unknown
}
