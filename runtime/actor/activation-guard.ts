/**
 * What a TypeHost asks of the cluster around an activation (a narrow role interface, so
 * type-host.ts needs no knowledge of leases or routing). The cluster implements it as its
 * `LeaseGuard` (runtime/cluster/local-actors.ts), which sees the cell only as an address.
 */
import type { ActorCell } from "./cell.ts"

export interface ActivationGuard {
  /**
   * Called while the cell is warming, before its state is restored: takes the actor's lease or
   * throws. Resolves true when the lease was taken over from another holder (which may still be
   * alive, stalled): the restore must then fence the state (StateStore.takeOver).
   */
  acquire(cell: ActorCell): Promise<boolean>
  /**
   * Called when an activation failed. Returns true when the failure means "served elsewhere"
   * (active on another node, or state newer than this node's code that a live node runs) and the
   * guard has taken the queued messages (forwarded there) and the lease; false otherwise.
   */
  refused(cell: ActorCell, error: unknown): boolean
  /** Called when an activation ends (passivated, stopped, handed over, failed). */
  release(cell: ActorCell): void
  /**
   * Why this node must not serve now, or undefined. A message is admitted while the node is in
   * touch with the swarm, but it may wait in a mailbox (behind a handler, a checkpoint the store
   * has not answered), or its handler may still run, past the moment the node lost touch, when
   * another node may already have taken the actor over. Asked when a turn starts (the message
   * is refused) and when it ends (its answer waits for its change to be stored: a write fenced
   * by the new holder stops the activation instead).
   */
  outOfTouch(): string | undefined
}
