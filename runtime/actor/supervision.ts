/**
 * The node's view of supervision: what happens to an actor whose handler failed. The node asks
 * its Supervisor for a decision; the default one (`node-supervision.ts`) is the supervision tree
 * of `supervisors/` with the OTP defaults written there (restart from the last checkpoint with
 * backoff, per-actor intensity, type give-up beyond the type's intensity).
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { Directive } from "../../subjects/envelope.ts"

export interface ActorDecision {
  readonly directive: Directive
  readonly backoffMs?: number
  /** Which supervisor decided (for the published event). */
  readonly supervisor: string
  /** Set when the type's supervisor gave up: the reason the type is now unavailable. */
  readonly typeGaveUp?: string
}

/** Decides what happens to an actor whose handler failed, and publishes the decision. */
export interface Supervisor {
  actorFailed(type: string, actor: ActorAddress, error: unknown): ActorDecision
}
