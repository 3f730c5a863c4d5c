/**
 * The cluster's options and defaults, what it needs from its node (`ClusterDeps`) and what it
 * offers (`ClusterView` to operators, `Cluster` to the node that wires it).
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import type { ConnectionView } from "./gone-check.ts"
import type { Inbound } from "../../subjects/inbound.ts"
import type { LeaseGuard, LocalActors } from "./local-actors.ts"
import type { MailOptions } from "./durable-mail.ts"
import { LEASE_DEFAULTS } from "./leases.ts"
import { MEMBERSHIP_DEFAULTS, type MemberRecord } from "./membership.ts"
import type { Guarantees, StoreReplicas } from "./guarantees.ts"
import type { ActorInfo, MessageTotals, NodeMembersInfo } from "./inspection.ts"

export const CLUSTER_DEFAULTS = {
  ...MEMBERSHIP_DEFAULTS,
  ...LEASE_DEFAULTS,
  /** How long a losing node waits for the gaining node to serve a partition before letting go anyway. */
  handoverTimeoutMs: 3_000,
  /** Forwarding hops before a message is answered `unavailable`. */
  maxHops: 8,
  /**
   * An ask held on a node longer than this while its actor's lease was in question (the store
   * out, a holder's grace) is answered `unavailable` rather than passed on to the node found
   * holding the actor: the runtime's client gives up after 5 s by default, and an ask applied
   * after its caller gave up changes state nobody is waiting on.
   */
  heldAskMaxMs: 5_000,
} as const

export interface ClusterOptions {
  /** Membership heartbeat interval. Default 300 ms. */
  readonly heartbeatMs?: number
  /** A node not heard from for this long is taken for dead (also the members bucket's max_age). Default 1500 ms. */
  readonly expiryMs?: number
  /** Max age of the leases bucket (collects leases a crashed node left behind). Default 10 min. */
  readonly leaseTtlMs?: number
  readonly handoverTimeoutMs?: number
  /** Durable mail delivery from this node; `false` to not pull mail here. */
  readonly mail?: Omit<MailOptions, "replicas" | "watchOwner"> | false
}


/** A partition's subscription, wherever it lives (what the cluster releases on hand-over). */
export interface PartitionSubscription {
  unsubscribe(): void
  drain(): Promise<void>
}

export interface ClusterDeps {
  readonly id: string
  readonly nc: NatsConnection
  /** The actors this node runs: the cluster's only way to the engine (local-actors.ts). */
  readonly actors: LocalActors
  readonly replicas: number
  /** The node's other buckets and streams (state, schedules, pheromones, tasks...) with the replicas it asks for. */
  readonly stores?: ReadonlyArray<StoreReplicas>
  readonly shutdownTimeoutMs: number
  readonly log: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void
  /**
   * The connection membership heartbeats and pings on: the node's own control connection, so a
   * flood of messages queued on the main connection cannot delay the heartbeat's answer and
   * make the node believe it is out of touch. Default: `nc`.
   */
  readonly controlNc?: NatsConnection
  /** Subscribes to a partition this node owns (the node's inbound lanes move a flooded one to a connection of its own). Default: on `nc`. */
  readonly subscribePartition?: (partition: number, dispatch: (msg: Msg) => void) => PartitionSubscription
  /** The node's inbound lanes' connections (runtime/node/inbound-lanes.ts): advertised in its member entry, and watched with the others (out-of-touch.ts: cut off). */
  readonly lanes?: { connections(): Iterable<ConnectionView>; onStatus(listener: (nc: ConnectionView, up: boolean) => void): void }
  /** The node's message accounting, summed (inspection shows it in `ants nodes`). */
  readonly messages?: () => MessageTotals
  /** Ack subjects of the durable tasks this node holds (advertised in its membership entry). */
  readonly heldTasks?: () => ReadonlyArray<string>
  /**
   * A member was taken for dead: `last` is its last entry, `releaser` whether this node is the
   * one (the first live member by id) that hands its tasks back, so only one node does.
   */
  readonly onNodeDead?: (node: string, last: MemberRecord, releaser: boolean) => void
}

/** What the node exposes about its cluster part (`node.cluster`). */
export interface ClusterView {
  readonly incarnation: string
  readonly guarantees: Guarantees
  /** Live members in this node's view (including itself). */
  members(): string[]
  /** Partitions this node is subscribed to. */
  partitions(): number[]
  /** The node that owns an actor in this node's view. */
  ownerOf(type: string, id: string): string | undefined
  info(): NodeMembersInfo
  actors(filter?: { type?: string; tenant?: string; limit?: number }): { actors: ActorInfo[]; truncated: boolean }
}

export interface Cluster extends ClusterView {
  /** What the engine calls around each activation (the node hands it to the hosts). */
  readonly guard: LeaseGuard
  /**
   * Routing hook: `false` when this node handles the message, `"forwarded"` when it went to
   * another node, `{refused}` when this node must refuse it now (out of touch with the swarm):
   * the caller answers and counts it.
   */
  forward(msg: Msg, p: Inbound, now?: number): false | "forwarded" | { readonly refused: string }
  /** Joins: membership, leases, partition subscriptions ("partitioned" routing), mail, inspection. */
  start(routing: "partitioned" | "direct"): Promise<void>
  /** Graceful leave: hands every partition and actor over. */
  leave(): Promise<void>
  /** The tasks this node holds changed: its membership entry says so within moments. */
  heldTasksChanged(): void
  /** Removes the membership entry and stops everything cluster-related. */
  close(): Promise<void>
}
