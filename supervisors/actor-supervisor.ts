/**
 * The narrow role a type host needs, "an actor's handler failed: what now?", backed by a
 * `SupervisionTree`. Its shape is the node's `Supervisor` (`runtime/actor/supervision.ts`), so the
 * runtime can plug a tree in where it used a placeholder, without this layer importing the
 * runtime.
 *
 * The tree publishes every decision itself (through its `publish` callback), so a host using
 * this adapter should not publish the decision a second time.
 */
import type { Directive } from "./spec.ts"
import type { SupervisionTree } from "./tree.ts"

export interface ActorAddressLike {
  readonly tenant: string
  readonly id: string
}

export interface ActorVerdict {
  readonly directive: Directive
  /** Present when `directive` is `restart`. */
  readonly backoffMs?: number
  readonly supervisor: string
  /** Present only on the failure that made the type give up: the reason it is now unavailable. */
  readonly typeGaveUp?: string
}

export interface ActorSupervisor {
  actorFailed(type: string, actor: ActorAddressLike, error: unknown): ActorVerdict
}

export function actorSupervisor(tree: SupervisionTree): ActorSupervisor {
  return {
    actorFailed(type, actor, error) {
      const r = tree.actorFailed(type, actor.id, error, { tenant: actor.tenant })
      const newlyGaveUp = r.typeGaveUp && r.escalated
      return {
        directive: r.directive,
        ...(r.directive === "restart" ? { backoffMs: r.backoffMs } : {}),
        supervisor: r.supervisor,
        ...(newlyGaveUp ? { typeGaveUp: r.reason } : {}),
      }
    },
  }
}
