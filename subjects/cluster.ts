/**
 * The cluster's part of the wire contract: membership and lease buckets, the
 * subject a node forwards a message on when it is not the actor's owner, durable mail, and the
 * inspection requests every node answers. Pure code: built and parsed here only.
 *
 *   KV ants_members   <nodeId>                     a node's heartbeat entry (bucket max_age = expiry)
 *   KV ants_leases    <tenant>.<type>.<id>         single-activation lease {"node","incarnation","at"}
 *
 *   ants._sys.node.<nodeId>.route.<p>.<tenant>.<type>.<id>.<Tag>
 *                                                  a message forwarded to the node that owns
 *                                                  (or holds) the actor; header `Ants-Hops`
 *   ants.<tenant>.mail.<type>.<id>.<Tag>           durable mail: captured by stream `ants_mail`
 *                                                  (de-duplicated by `Nats-Msg-Id`), delivered
 *                                                  at least once to the actor
 *   ants._sys.dead.mail.<tenant>.<type>.<id>.<Tag> dead letters (stream `ants_mail_dead`), with
 *                                                  headers Ants-Dead-Code / -Reason / -Deliveries
 *   ants._sys.nodes.members                        every node answers with its member record
 *   ants._sys.nodes.actors                         every node answers with its actors (body {"type","tenant"?})
 *   ants._sys.node.<nodeId>.members|actors         the same, one node
 *   ants._sys.node.<nodeId>.ping                   liveness probe: answered with {"node","incarnation"};
 *                                                  "no responders" means the node is gone
 *   ants.<tenant>.unserved.<p>                     a caller's hint, no body: an ask mapped to partition
 *                                                  p found no responders; one node (queue group
 *                                                  ants-unserved) checks whether the node that
 *                                                  served p is gone (runtime/cluster/unserved.ts)
 *   $SYS.REQ.ACCOUNT.PING.CONNZ                    nats-server's account-scoped connection listing
 *                                                  (body {"cid"}): every server answers with its own
 *                                                  connections; a node taken for dead is gone for
 *                                                  sure when its servers no longer list its
 *                                                  connections (runtime/cluster/gone-check.ts)
 */
export { bucketStream } from "./jetstream.ts"
import { ROOT, nodeSubject, nodesBroadcastSubject, token, type AgentSubjectParts, type ActorAddress } from "./grammar.ts"

export const MEMBERS_BUCKET = "ants_members"
export const LEASES_BUCKET = "ants_leases"
export const MAIL_STREAM = "ants_mail"
export const MAIL_DEAD_STREAM = "ants_mail_dead"
/** The durable pull consumer every node pulls durable mail from (work queue). */
export const MAIL_CONSUMER = "ants_mail_delivery"

/**
 * Header on a durable-mail delivery: the actor stores its state before it answers (whatever its
 * checkpoint policy), because the answer acks the message.
 */
export const DURABLE_HEADER = "Ants-Durable"
/** Header carrying how many times a message was forwarded between nodes (loop guard). */
export const HOPS_HEADER = "Ants-Hops"
export const DEAD_CODE_HEADER = "Ants-Dead-Code"
export const DEAD_REASON_HEADER = "Ants-Dead-Reason"
export const DEAD_DELIVERIES_HEADER = "Ants-Deliveries"
export const DEAD_SUBJECT_HEADER = "Ants-Original-Subject"

/** Key of a node's membership entry. */
export function memberKey(nodeId: string): string {
  return token("node", nodeId)
}

/** Key of an actor's lease (same layout as its checkpoint key). */
export function leaseKey(a: ActorAddress): string {
  return `${token("tenant", a.tenant)}.${token("type", a.type)}.${token("id", a.id)}`
}

/** The tenant, type and id a `leaseKey` names (undefined: not a lease key). */
export function parseLeaseKey(key: string): ActorAddress | undefined {
  const a = key.indexOf(".")
  const b = a < 0 ? -1 : key.indexOf(".", a + 1)
  if (b < 0 || key.indexOf(".", b + 1) >= 0) return undefined
  return { tenant: key.slice(0, a), type: key.slice(a + 1, b), id: key.slice(b + 1) }
}

// ---------------------------------------------------------------------------------------
// Forwarding between nodes

/** `ants._sys.node.<nodeId>.route.<p>.<tenant>.<type>.<id>.<Tag>` */
export function routeSubject(nodeId: string, partition: number, parts: AgentSubjectParts): string {
  return nodeSubject(nodeId, "route", String(partition), token("tenant", parts.tenant), token("type", parts.type), token("id", parts.id), token("tag", parts.tag))
}

/** What a node subscribes to for messages forwarded to it. */
export function routeSubscription(nodeId: string): string {
  return `${nodeSubject(nodeId, "route")}.>`
}

export interface RoutedParts extends AgentSubjectParts {
  readonly partition: number
}

/** Parses a route subject (hot path: returns undefined instead of throwing). */
export function parseRouteSubject(subject: string): RoutedParts | undefined {
  const t = subject.split(".")
  if (t.length !== 10 || t[0] !== ROOT || t[1] !== "_sys" || t[2] !== "node" || t[4] !== "route") return undefined
  const partition = Number(t[5])
  if (!Number.isInteger(partition) || partition < 0) return undefined
  return { partition, tenant: t[6], type: t[7], id: t[8], tag: t[9] }
}

// ---------------------------------------------------------------------------------------
// Durable mail

/** `ants.<tenant>.mail.<type>.<id>.<Tag>`: publish here (JetStream, `Nats-Msg-Id`) for at-least-once delivery. */
export function mailSubject(parts: AgentSubjectParts): string {
  return `${ROOT}.${token("tenant", parts.tenant)}.mail.${token("type", parts.type)}.${token("id", parts.id)}.${token("tag", parts.tag)}`
}

/** What stream `ants_mail` captures. */
export const MAIL_STREAM_SUBJECTS = [`${ROOT}.*.mail.*.*.*`]

/** Parses `ants.<tenant>.mail.<type>.<id>.<Tag>`; undefined when it is not one. */
export function parseMailSubject(subject: string): AgentSubjectParts | undefined {
  const t = subject.split(".")
  if (t.length !== 6 || t[0] !== ROOT || t[2] !== "mail") return undefined
  return { tenant: t[1], type: t[3], id: t[4], tag: t[5] }
}

/** `ants._sys.dead.mail.<tenant>.<type>.<id>.<Tag>` */
export function mailDeadSubject(parts: AgentSubjectParts): string {
  return `${ROOT}._sys.dead.mail.${token("tenant", parts.tenant)}.${token("type", parts.type)}.${token("id", parts.id)}.${token("tag", parts.tag)}`
}

export const MAIL_DEAD_STREAM_SUBJECTS = [`${ROOT}._sys.dead.mail.>`]

// ---------------------------------------------------------------------------------------
// Inspection

export const NODES_MEMBERS_SUBJECT = nodesBroadcastSubject("members")
export const NODES_ACTORS_SUBJECT = nodesBroadcastSubject("actors")

export function nodeMembersSubject(nodeId: string): string {
  return nodeSubject(nodeId, "members")
}

/** nats-server's connection listing for the requester's account, answered by every server. */
export const ACCOUNT_CONNZ_SUBJECT = "$SYS.REQ.ACCOUNT.PING.CONNZ"

export function nodePingSubject(nodeId: string): string {
  return nodeSubject(nodeId, "ping")
}

/**
 * `ants.<tenant>.unserved.<p>`: published by a caller whose ask to partition `p` found no
 * responders (runtime/server/unserved-hint.ts), in the tenant's own space so a tenant principal
 * may send it.
 */
export function unservedSubject(tenant: string, partition: number): string {
  return `${ROOT}.${token("tenant", tenant)}.unserved.${partition}`
}

/** What nodes subscribe to for unserved hints (one queue group for the swarm). */
export const UNSERVED_SUBSCRIPTION = `${ROOT}.*.unserved.*`
export const UNSERVED_QUEUE = "ants-unserved"

/** The partition an unserved hint names; undefined when the subject is not one. */
export function parseUnservedSubject(subject: string, partitions: number): number | undefined {
  const t = subject.split(".")
  if (t.length !== 4 || t[0] !== ROOT || t[2] !== "unserved" || !/^\d{1,4}$/.test(t[3])) return undefined
  const p = Number(t[3])
  return p < partitions ? p : undefined
}

export function nodeActorsSubject(nodeId: string): string {
  return nodeSubject(nodeId, "actors")
}
