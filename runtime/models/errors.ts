/**
 * The models layer's errors, one file (checked by `_tag`, never `instanceof`: a recorded step
 * decoded from KV has no prototype). What matters about a provider error is what the router
 * does next, so each carries a `kind`:
 *
 *   rate_limited   429: cool this deployment down (Retry-After), try another
 *   overloaded     529 / 503: cool down, try another
 *   timeout        no answer in time: try another
 *   server         5xx or a dropped connection: try another
 *   malformed      an answer that is not the API's shape: try another, never crash
 *   context        the prompt does not fit: only larger-context models, or summarise
 *   refused        400/401/403/404: this request will not work here; try another, no cooldown
 *
 * `budget_exceeded` stops model use; it is not retried anywhere.
 */
import { TaggedError } from "../../subjects/errors.ts"

export type ProviderErrorKind = "rate_limited" | "overloaded" | "timeout" | "server" | "malformed" | "context" | "refused"

/** One failed call to one deployment. */
export class ProviderError extends TaggedError("ProviderError") {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    /** From Retry-After / retry-after-ms, when the provider said. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** No deployment could answer: every candidate failed, was cooling down or had its circuit open. */
export class ModelUnavailableError extends TaggedError("ModelUnavailableError") {
  constructor(
    message: string,
    readonly attempts: ReadonlyArray<{ readonly deployment: string; readonly error: string }>,
    /** The last provider error's kind, when there was one. */
    readonly lastKind?: ProviderErrorKind,
  ) {
    super(message)
  }
}

/** The prompt is larger than every eligible model's context, and no summarising step is declared. */
export class ContextOverflowError extends TaggedError("ContextOverflowError") {
  constructor(message: string, readonly estimatedTokens: number) {
    super(message)
  }
}

/** A budget (per request, agent, type or tenant) is spent: model use stops. */
export class BudgetExceededError extends TaggedError("BudgetExceededError") {
  readonly code = "budget_exceeded"
  constructor(
    message: string,
    readonly scope: "request" | "agent" | "type" | "tenant",
    readonly limitUsd: number,
    readonly spentUsd: number,
  ) {
    super(message)
  }
}

/** A models file or environment that cannot be used. */
export class ModelConfigError extends TaggedError("ModelConfigError") {}

/** A tool call the model made that cannot run: unknown tool, or arguments that do not fit its Schema. */
export class ToolCallError extends TaggedError("ToolCallError") {
  constructor(message: string, readonly tool: string, readonly issues?: string) {
    super(message)
  }
}

/** A turn that could not finish: step limit reached, or a structured answer that does not fit its Schema. */
export class TurnError extends TaggedError("TurnError") {
  constructor(message: string, readonly reason: "step_limit" | "invalid_output") {
    super(message)
  }
}

/**
 * The turn journal could not be reached (a KV timeout under overload, a server without
 * quorum): not the actor's fault; the caller gets `unavailable` and its retry resumes the turn
 * from what was recorded.
 */
export class TurnJournalError extends TaggedError("TurnJournalError") {}

/**
 * A turn that ended because one of its tool calls waits for a human (an approval request): the
 * call is not journaled, so the same turn started again after the decision (its owner told so
 * by the approval's `resume`) replays what was done and asks the gate again, which then has
 * the decision. Not a failure: the actor is free meanwhile, and may passivate.
 */
export class TurnHeldError extends TaggedError("TurnHeldError") {
  constructor(
    message: string,
    readonly turn: string,
    /** The approval request the turn waits on. */
    readonly approval: string,
  ) {
    super(message)
  }
}

/** A model call the tenant's policy refused before it was made (model use or spending). */
export class ModelDeniedError extends TaggedError("ModelDeniedError") {
  readonly code = "forbidden"
}

export type ModelLayerError =
  | ProviderError
  | ModelUnavailableError
  | ContextOverflowError
  | BudgetExceededError
  | ModelConfigError
  | ToolCallError
  | TurnError
  | TurnJournalError
  | TurnHeldError
  | ModelDeniedError

const TAGS = new Set(["ProviderError", "ModelUnavailableError", "ContextOverflowError", "BudgetExceededError", "ModelConfigError", "ToolCallError", "TurnError", "TurnJournalError", "TurnHeldError", "ModelDeniedError"])

export function isModelLayerError(e: unknown): e is ModelLayerError {
  return typeof e === "object" && e !== null && TAGS.has((e as { _tag?: string })._tag ?? "")
}

/**
 * What a supervisor should do when a handler fails with this error: a model that could not
 * answer (rate limits, overload, timeouts, malformed answers, a prompt too long) is no fault
 * of the actor, so it is resumed with its state; a spent budget escalates to the type's
 * supervisor. `undefined` for every other error (the type's own decider, or restart).
 */
export function modelDirective(e: unknown): "resume" | "escalate" | undefined {
  if (!isModelLayerError(e)) return undefined
  return e._tag === "BudgetExceededError" || e._tag === "ModelDeniedError" ? "escalate" : "resume"
}
