/**
 * The node's view of supervision: what happens to an actor whose handler failed. The node asks
 * its Supervisor for a decision; the default one (`node-supervision.ts`) is the supervision tree
 * of `supervisors/` with the OTP defaults written there (restart from the last checkpoint with
 * backoff, per-actor intensity, type give-up beyond the type's intensity).
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { ActorVerdict } from "../../supervisors/actor-supervisor.ts"

/**
 * Decides what happens to an actor whose handler failed, and publishes the decision. The
 * decision travels one way: the tree's `ActorDecision` becomes the `ActorVerdict` the engine
 * carries out (supervisors/actor-supervisor.ts); the engine never sends one back.
 */
export interface Supervisor {
  actorFailed(type: string, actor: ActorAddress, error: unknown): ActorVerdict
}

export type { ActorVerdict }
