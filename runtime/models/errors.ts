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
import type { ErrorCode } from "../../subjects/envelope.ts"

export type ProviderErrorKind = "rate_limited" | "overloaded" | "timeout" | "server" | "malformed" | "context" | "refused"

/** One failed call to one deployment. */
export class ProviderError extends Error {
  readonly _tag = "ProviderError"
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    /** From Retry-After / retry-after-ms, when the provider said. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = "ProviderError"
  }
}

/** No deployment could answer: every candidate failed, was cooling down or had its circuit open. */
export class ModelUnavailableError extends Error {
  readonly _tag = "ModelUnavailableError"
  constructor(
    message: string,
    readonly attempts: ReadonlyArray<{ readonly deployment: string; readonly error: string }>,
    /** The last provider error's kind, when there was one. */
    readonly lastKind?: ProviderErrorKind,
  ) {
    super(message)
    this.name = "ModelUnavailableError"
  }
}

/** The prompt is larger than every eligible model's context, and no summarising step is declared. */
export class ContextOverflowError extends Error {
  readonly _tag = "ContextOverflowError"
  constructor(message: string, readonly estimatedTokens: number) {
    super(message)
    this.name = "ContextOverflowError"
  }
}

/** A budget (per request, agent, type or tenant) is spent: model use stops. */
export class BudgetExceededError extends Error {
  readonly _tag = "BudgetExceededError"
  readonly code = "budget_exceeded"
  constructor(
    message: string,
    readonly scope: "request" | "agent" | "type" | "tenant",
    readonly limitUsd: number,
    readonly spentUsd: number,
  ) {
    super(message)
    this.name = "BudgetExceededError"
  }
}

/** A models file or environment that cannot be used. */
export class ModelConfigError extends Error {
  readonly _tag = "ModelConfigError"
  constructor(message: string) {
    super(message)
    this.name = "ModelConfigError"
  }
}

/** A tool call the model made that cannot run: unknown tool, or arguments that do not fit its Schema. */
export class ToolCallError extends Error {
  readonly _tag = "ToolCallError"
  constructor(message: string, readonly tool: string, readonly issues?: string) {
    super(message)
    this.name = "ToolCallError"
  }
}

/** A turn that could not finish: step limit reached, or a structured answer that does not fit its Schema. */
export class TurnError extends Error {
  readonly _tag = "TurnError"
  constructor(message: string, readonly reason: "step_limit" | "invalid_output" | "journal") {
    super(message)
    this.name = "TurnError"
  }
}

export type ModelLayerError =
  | ProviderError
  | ModelUnavailableError
  | ContextOverflowError
  | BudgetExceededError
  | ModelConfigError
  | ToolCallError
  | TurnError

const TAGS = new Set(["ProviderError", "ModelUnavailableError", "ContextOverflowError", "BudgetExceededError", "ModelConfigError", "ToolCallError", "TurnError"])

export function isModelLayerError(e: unknown): e is ModelLayerError {
  return typeof e === "object" && e !== null && TAGS.has((e as { _tag?: string })._tag ?? "")
}

/** The envelope code a caller sees for a models-layer error. */
export function modelErrorCode(e: ModelLayerError): ErrorCode {
  switch (e._tag) {
    case "BudgetExceededError":
      return "budget_exceeded"
    case "ModelUnavailableError":
    case "ProviderError":
      return "unavailable"
    case "ContextOverflowError":
    case "ToolCallError":
    case "ModelConfigError":
      return "invalid_request"
    case "TurnError":
      // the journal out of reach (a KV timeout, no quorum) is not the actor's fault: retry, the turn resumes
      return e.reason === "journal" ? "unavailable" : "handler_failed"
  }
}

/**
 * What a supervisor should do when a handler fails with this error: a model that could not
 * answer (rate limits, overload, timeouts, malformed answers, a prompt too long) is no fault
 * of the actor, so it is resumed with its state; a spent budget escalates to the type's
 * supervisor. `undefined` for every other error (the type's own decider, or restart).
 */
export function modelDirective(e: unknown): "resume" | "escalate" | undefined {
  if (!isModelLayerError(e)) return undefined
  return e._tag === "BudgetExceededError" ? "escalate" : "resume"
}
