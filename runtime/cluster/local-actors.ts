/**
 * The cluster's port to the actor engine: everything the cluster knows of the actors this node
 * runs, and the one guard it gives the engine back. The node plugs the engine in
 * (runtime/actor/local-actors.ts implements `LocalActors`, the host calls `LeaseGuard` around
 * each activation) and the compiler checks the fit where the node wires them; the cluster never
 * sees a cell or a host, so either side can change behind these few names.
 */
import type { Msg } from "@nats-io/nats-core"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { Inbound } from "../../subjects/inbound.ts"

/** One activation on this node, as the cluster sees it (the same object for its whole life). */
export interface LocalActivation extends ActorAddress {
  /** The actor's key among its type's actors (`actorKey`). */
  readonly key: string
  /** Its lifecycle state; `"stopped"` once it ended (passivated, stopped, handed over). */
  readonly status: string
  /** The lease this node holds for it, written by the cluster only (held-leases.ts `LeaseHolder`). */
  leaseRevision?: number
  leaseRefreshedMs?: number
}

/** A message taken out of a mailbox to be forwarded: its tag and the NATS message (for its data and reply subject). */
export interface QueuedMessage {
  readonly tag: string
  readonly msg: Msg | undefined
}

/** One hosted type's actors on this node, by state. */
export interface TypeCensus {
  active: number
  idle: number
  warming: number
  sleeping: number
  /** The version of the type's code on this node. */
  version?: number
}

/** An actor on this node, active or asleep (inspection). */
export interface LocalActorInfo extends ActorAddress {
  readonly state: string
}

export interface LocalActors {
  /** The agent types this node hosts. */
  types(): Iterable<string>
  /** The version of each hosted type's code (advertised in the membership entry). */
  versions(): Record<string, number>
  /** Whether the actor has an activation here now (hot path). */
  has(type: string, key: string): boolean
  /** Every activation here now. */
  activations(): Iterable<LocalActivation>
  /** How many activations there are here now. */
  size(): number
  /** Handles a message here: the node's dispatch path, checks included; `routed` when it is already parsed. */
  dispatch(msg: Msg, routed?: Inbound): void
  /**
   * Hands an activation over: lets it finish what it has queued and in flight (until
   * `deadline`, epoch ms), checkpoints it (forced, keeping its cost accounting), then asks
   * `why()`: a reason stops it (its lease released, what arrives meanwhile is refused
   * `unavailable`), `undefined` keeps it (it stays ours after all). True when it was stopped.
   */
  handOver(a: LocalActivation, deadline: number, why: () => string | undefined): Promise<boolean>
  /** Stops an activation at once (its lease was lost); what it had queued is refused `unavailable`. */
  stop(a: LocalActivation, reason: string): void
  /**
   * Removes what the activation has queued, counted as forwarded (the caller sends it on); an ask
   * held here longer than `heldMaxMs` is answered `unavailable` and counted so instead.
   */
  takeQueued(a: LocalActivation, heldMaxMs?: number): QueuedMessage[]
  /** Forgets the sleeping actors for which `keep` is false (the node that owns them now wakes them). */
  forgetSleeping(keep: (type: string, id: string) => boolean): void
  /** Per hosted type, its actors here by state (inspection). */
  census(): Record<string, TypeCensus>
  /** The actors here of one type (or all), activations first, then those asleep (inspection). */
  list(type?: string): Iterable<LocalActorInfo>
}

/**
 * What the engine asks of the cluster around an activation (the actor layer's
 * `ActivationGuard`, seen from this side): the lease before the state is read, forwarding when
 * another node holds it, its release when the activation ends.
 */
export interface LeaseGuard {
  /** Takes the lease (or throws `LeaseHeldError`); true when taken over from another holder. */
  acquire(a: LocalActivation): Promise<boolean>
  /**
   * The activation failed: true when it failed because another node holds it, or because its
   * state is newer than this node's code and a live node runs that version (its queue was
   * forwarded there, the lease given back).
   */
  refused(a: LocalActivation, error: unknown): boolean
  release(a: ActorAddress): void
  /**
   * Why this node must not serve now (it lost touch with the swarm and its actors may have
   * moved), or undefined: asked when a turn starts (its message was admitted earlier) and ends.
   */
  outOfTouch(): string | undefined
}
