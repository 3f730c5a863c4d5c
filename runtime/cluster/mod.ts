/**
 * Layer `cluster`: nodes as one runtime. Membership (heartbeats in KV; a crashed node found
 * by a late beat or by a caller's unserved hint), placement of actor partitions by rendezvous
 * hashing, actor leases (single activation, fenced take-over), forwarding to the owning node,
 * hand-over when partitions move, durable mail (at-least-once tells through JetStream) and
 * cluster-wide inspection.
 *
 * Promises: at most one activation of an actor across the cluster at a time; a partition has
 * one owner among the live members that host its type; a durable tell is delivered until an
 * actor answers ok or it is dead-lettered.
 * May import: subjects/, runtime/agent (types), runtime/client, runtime/server, runtime/observability
 * (a forwarded message carries the forwarding node's span), runtime/limits (compact lease records). It sees the
 * engine only through the narrow port the node gives it (`LocalActors`), never cells or hosts.
 */
export { CLUSTER_DEFAULTS } from "./cluster.ts"
export type { ClusterOptions, ClusterView } from "./cluster.ts"
export type { LeaseGuard, LocalActivation, LocalActorInfo, LocalActors, QueuedMessage, TypeCensus } from "./local-actors.ts"
export type { ActorFilter, ActorInfo, MessageTotals, NodeMembersInfo } from "./inspection.ts"
export { clusterGuarantees, clusterSizeOf, defaultReplicas } from "./guarantees.ts"
export type { Guarantees, ServerShape, StoreReplicas } from "./guarantees.ts"
export { LEASE_DEFAULTS, LeaseHeldError, isLeaseHeldError } from "./leases.ts"
export { MEMBERSHIP_DEFAULTS } from "./membership.ts"
export type { MemberRecord, MemberState } from "./membership.ts"
export { MAIL_DEFAULTS, ensureMailStreams, publishDurable } from "./durable-mail.ts"
export type { DurableTellResult, MailOptions } from "./durable-mail.ts"
export { gather, listActors, listNodes, memberCount } from "./inspect-client.ts"
export { partitionOf } from "../../subjects/partition-hash.ts"
export { assignPartitions, ownerOf, partitionsOf } from "./rendezvous.ts"
