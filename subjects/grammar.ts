/**
 * The subject grammar: ANTS's public protocol. Every subject the runtime
 * publishes or subscribes to is built and parsed here and nowhere else, so that a client in
 * any language can talk to agents by following this page.
 *
 *   ants.<tenant>.agent.<type>.<id>.<Tag>        a message to one actor (ask with reply, tell without)
 *   ants.<tenant>.topic.<name...>                pub/sub between agents
 *   ants.<tenant>.task.<capability...>           a task for the marketplace (JetStream)
 *   ants.<tenant>.audit.<kind>                   immutable audit receipts (JetStream)
 *   ants._sys.lifecycle.<tenant>.<type>.<id>     lifecycle transitions {from,to,node,at}
 *   ants._sys.supervisor.<tenant>.<type>.<id>    supervisor decisions {directive,reason,restarts,node,at}
 *   ants._sys.node.<nodeId>.<...>                node control and inspection
 *   ants._part.<p>.<tenant>.<type>.<id>.<Tag>    internal: an agent subject after the server's
 *                                                partition mapping (nats.conf), p in 0..PARTITIONS-1
 *
 * Tokens match [A-Za-z0-9_-]+ (no dots, no wildcards) and are at most MAX_TOKEN_LENGTH (128)
 * characters; a whole subject is at most MAX_SUBJECT_LENGTH (1024) characters, well inside the
 * server's 4 KiB control line (a longer one would make the server drop the whole connection).
 * Tenants may not begin with `_` (the `_sys` and `_part` spaces are the runtime's); `default` is
 * the tenant when none is given. Tags are PascalCase; tags beginning with `_` are reserved for
 * the runtime.
 *
 * Pure code: no sockets, no clocks.
 */
import { TaggedError } from "./errors.ts"

export const ROOT = "ants"
export const DEFAULT_TENANT = "default"
/** Number of routing partitions; must match `{{partition(64,2,3)}}` in nats.conf. */
export const PARTITIONS = 64

/** Longest accepted token. */
export const MAX_TOKEN_LENGTH = 128
/** Longest subject the runtime builds or accepts (the server's control line is 4096 bytes). */
export const MAX_SUBJECT_LENGTH = 1024

const TOKEN = /^[A-Za-z0-9_-]+$/
const TAG = /^(?:[A-Z][A-Za-z0-9]*|_[A-Za-z][A-Za-z0-9]*)$/

export type TokenKind = "tenant" | "type" | "id" | "tag" | "topic" | "capability" | "kind" | "node" | "token"

/** A subject or token that does not follow the grammar. Its code on the wire is `invalid_subject`. */
export class SubjectError extends TaggedError("SubjectError") {
  readonly code = "invalid_subject"
  constructor(
    message: string,
    readonly kind: TokenKind | "subject",
    readonly value: string,
  ) {
    super(message)
  }
}

export function isToken(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_TOKEN_LENGTH && TOKEN.test(value)
}

function tooLong(kind: TokenKind, value: string): SubjectError {
  return new SubjectError(
    `${kind} "${value.slice(0, 24)}…" is ${value.length} characters long; a subject token may have at most ${MAX_TOKEN_LENGTH} (use a shorter name, or a hash of a long one)`,
    kind,
    value,
  )
}

/** Checks the length of a whole built subject (or dotted path), throwing a SubjectError. */
export function bounded(subject: string, kind: TokenKind | "subject" = "subject"): string {
  if (subject.length > MAX_SUBJECT_LENGTH) {
    throw new SubjectError(
      `${kind === "subject" ? "subject" : kind} "${subject.slice(0, 40)}…" is ${subject.length} characters long; at most ${MAX_SUBJECT_LENGTH} are allowed (use fewer or shorter tokens)`,
      kind,
      subject,
    )
  }
  return subject
}

/** Validates one token, throwing a SubjectError that names what is wrong. */
export function token(kind: TokenKind, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new SubjectError(`${kind} must be a non-empty string`, kind, String(value))
  }
  if (value.length > MAX_TOKEN_LENGTH) throw tooLong(kind, value)
  if (!TOKEN.test(value)) {
    throw new SubjectError(
      `${kind} "${value}" is not a valid subject token: use letters, digits, '_' and '-' only (no dots, spaces or wildcards)`,
      kind,
      value,
    )
  }
  if (kind === "tenant" && value.startsWith("_")) {
    throw new SubjectError(`tenant "${value}" may not begin with '_' (reserved for the runtime)`, kind, value)
  }
  if (kind === "tag" && !TAG.test(value)) {
    throw new SubjectError(`tag "${value}" must be PascalCase (e.g. AssignTask)`, kind, value)
  }
  return value
}

/** Splits a dotted path such as `finance.reconciliation` into validated tokens. */
export function path(kind: TokenKind, value: string | ReadonlyArray<string>): string[] {
  const parts = typeof value === "string" ? value.split(".") : [...value]
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "")) {
    throw new SubjectError(`${kind} must have at least one token`, kind, String(value))
  }
  const tokens = parts.map((p) => token(kind, p))
  bounded(tokens.join("."), kind)
  return tokens
}

// ---------------------------------------------------------------------------------------
// Actor messages

export interface ActorAddress {
  readonly tenant: string
  readonly type: string
  readonly id: string
}

/**
 * `<tenant>/<type>/<id>`: the name an actor signs with (a pheromone's emitter, an artifact's
 * author, log lines) and its key wherever actors of several types are kept together. Tokens
 * hold no `/`, so the name is unambiguous.
 */
export function actorName(a: ActorAddress): string {
  return `${a.tenant}/${a.type}/${a.id}`
}

export interface AgentSubjectParts extends ActorAddress {
  readonly tag: string
}

/** `ants.<tenant>.agent.<type>.<id>.<Tag>` */
export function agentSubject(parts: AgentSubjectParts): string {
  // six tokens of at most MAX_TOKEN_LENGTH each always fit MAX_SUBJECT_LENGTH
  return `${ROOT}.${token("tenant", parts.tenant)}.agent.${token("type", parts.type)}.${token("id", parts.id)}.${token("tag", parts.tag)}`
}

/** Parses `ants.<tenant>.agent.<type>.<id>.<Tag>`; throws SubjectError. */
export function parseAgentSubject(subject: string): AgentSubjectParts {
  bounded(subject)
  const t = subject.split(".")
  if (t.length !== 6 || t[0] !== ROOT || t[2] !== "agent") {
    throw new SubjectError(`"${subject}" is not an agent subject (ants.<tenant>.agent.<type>.<id>.<Tag>)`, "subject", subject)
  }
  return { tenant: token("tenant", t[1]), type: token("type", t[3]), id: token("id", t[4]), tag: token("tag", t[5]) }
}

/** The subscription for one partition: `ants._part.<p>.>` */
export function partitionSubscription(partition: number): string {
  return `${ROOT}._part.${partitionToken(partition)}.>`
}

/** The queue group for one partition, so a partition briefly claimed twice delivers once. */
export function partitionQueue(partition: number): string {
  return `ants-part-${partitionToken(partition)}`
}

/** `ants._part.<p>.<tenant>.<type>.<id>.<Tag>` (what the server's mapping produces). */
export function partitionSubject(partition: number, parts: AgentSubjectParts): string {
  return `${ROOT}._part.${partitionToken(partition)}.${token("tenant", parts.tenant)}.${token("type", parts.type)}.${token("id", parts.id)}.${token("tag", parts.tag)}`
}

/** Every subject in the agent space below a tenant: `ants.*.agent.>`. */
export const AGENT_WILDCARD = `${ROOT}.*.agent.>`
/**
 * What a node always subscribes to, with the one queue group AGENT_WILDCARD_QUEUE: on a server
 * without the partition mapping these carry every agent message; with it, only the subjects the
 * mapping does not take (`ants.<tenant>.agent` with the wrong number of tokens), which the node
 * answers with `invalid_subject` instead of leaving them to "no responders".
 */
export const AGENT_WILDCARDS: ReadonlyArray<string> = [`${ROOT}.*.agent`, AGENT_WILDCARD]
export const AGENT_WILDCARD_QUEUE = "ants-agents"

/** Partition mapping probe: a subject only a node publishes to, to learn whether nats.conf's mapping is in force. */
export function mappingProbeSubject(nonce: string): string {
  return `${ROOT}._sys.agent.probe.${token("id", nonce)}.Probe`
}

/** What the probe becomes when the server applies the mapping (any partition). */
export function mappedProbePattern(nonce: string): string {
  return `${ROOT}._part.*._sys.probe.${token("id", nonce)}.Probe`
}

/**
 * True for the runtime's own mapping probes, mapped or not (they carry no reply and are not
 * addressed to any actor); every other inbound subject gets an answer.
 */
export function isMappingProbe(subject: string): boolean {
  const t = subject.split(".")
  if (t[0] !== ROOT || t[t.length - 1] !== "Probe") return false
  if (t.length === 6) return t[1] === "_sys" && t[2] === "agent" && t[3] === "probe"
  if (t.length === 7) return t[1] === "_part" && t[3] === "_sys" && t[4] === "probe"
  return false
}

/**
 * The subject a sender used for an inbound message: a mapped `ants._part.<p>.<tenant>.<type>.<id>.<Tag>`
 * becomes `ants.<tenant>.agent.<type>.<id>.<Tag>` again; anything else is returned unchanged.
 */
export function senderSubject(subject: string): string {
  const t = subject.split(".")
  if (t.length === 7 && t[0] === ROOT && t[1] === "_part") return [ROOT, t[3], "agent", t[4], t[5], t[6]].join(".")
  return subject
}

export interface ParsedInbound extends AgentSubjectParts {
  /** The partition, or -1 when the subject arrived unmapped. */
  readonly partition: number
}

/**
 * Parses an inbound actor subject, mapped (`ants._part.<p>.…`) or not (`ants.<tenant>.agent.…`).
 * Returns a SubjectError instead of throwing: this sits on the hot path and bad input is normal.
 */
export function parseInbound(subject: string): ParsedInbound | SubjectError {
  const t = subject.split(".")
  let partition = -1
  let tenant: string, type: string, id: string, tag: string
  if (t.length === 7 && t[0] === ROOT && t[1] === "_part") {
    partition = Number(t[2])
    tenant = t[3]
    type = t[4]
    id = t[5]
    tag = t[6]
  } else if (t.length === 6 && t[0] === ROOT && t[2] === "agent") {
    tenant = t[1]
    type = t[3]
    id = t[4]
    tag = t[5]
  } else {
    return new SubjectError(`"${subject}" is not an agent subject (ants.<tenant>.agent.<type>.<id>.<Tag>)`, "subject", subject)
  }
  // Server-side tokens cannot contain dots or wildcards in a published subject except `*`/`>`
  // literally, which TOKEN rejects.
  if (tenant.length > MAX_TOKEN_LENGTH) return tooLong("tenant", tenant)
  if (type.length > MAX_TOKEN_LENGTH) return tooLong("type", type)
  if (id.length > MAX_TOKEN_LENGTH) return tooLong("id", id)
  if (tag.length > MAX_TOKEN_LENGTH) return tooLong("tag", tag)
  if (!TOKEN.test(tenant)) return new SubjectError(`invalid tenant "${tenant}": use letters, digits, '_' and '-' only`, "tenant", tenant)
  if (tenant.charCodeAt(0) === 95 /* _ */) {
    return new SubjectError(`tenant "${tenant}" is reserved for the runtime (tenants may not begin with '_'); address actors as ants.<tenant>.agent.<type>.<id>.<Tag>`, "tenant", tenant)
  }
  if (!TOKEN.test(type)) return new SubjectError(`invalid agent type "${type}": use letters, digits, '_' and '-' only`, "type", type)
  if (!TOKEN.test(id)) return new SubjectError(`invalid actor id "${id}": use letters, digits, '_' and '-' only`, "id", id)
  if (!TAG.test(tag)) return new SubjectError(`invalid tag "${tag}": tags are PascalCase`, "tag", tag)
  return { partition, tenant, type, id, tag }
}

function partitionToken(p: number): string {
  if (!Number.isInteger(p) || p < 0 || p >= PARTITIONS) {
    throw new SubjectError(`partition ${p} is outside 0..${PARTITIONS - 1}`, "token", String(p))
  }
  return String(p)
}

// ---------------------------------------------------------------------------------------
// De-duplication ids

/**
 * A de-duplication id (`Nats-Msg-Id`) scoped by tenant: `<tenant>.<id>`. JetStream de-duplicates
 * per stream and the task and mail streams are shared by every tenant, so an unscoped id of one
 * tenant would make another tenant's message with the same id a duplicate. The runtime scopes
 * every id it publishes; a plain client sets the header to `<tenant>.<key>` itself.
 */
export function tenantMsgId(tenant: string, id: string): string {
  return `${token("tenant", tenant)}.${id}`
}

/** The id a tenant chose, from a header that may be scoped (`<tenant>.<id>`) or not. */
export function unscopedMsgId(tenant: string, msgId: string): string {
  return msgId.startsWith(`${tenant}.`) ? msgId.slice(tenant.length + 1) : msgId
}

// ---------------------------------------------------------------------------------------
// Topics, tasks, audit

/** `ants.<tenant>.topic.<name...>` for publishing (no wildcards). */
export function topicSubject(tenant: string, name: string | ReadonlyArray<string>): string {
  return bounded(`${ROOT}.${token("tenant", tenant)}.topic.${path("topic", name).join(".")}`)
}

/**
 * A topic subscription pattern: like a topic name, but `*` may stand for one token and a final
 * `>` for the rest (`orders.*.created`, `alerts.>`).
 */
export function topicPattern(tenant: string, pattern: string | ReadonlyArray<string>): string {
  const parts = typeof pattern === "string" ? pattern.split(".") : [...pattern]
  parts.forEach((p, i) => {
    if (p === "*") return
    if (p === ">" && i === parts.length - 1) return
    token("topic", p)
  })
  return bounded(`${ROOT}.${token("tenant", tenant)}.topic.${parts.join(".")}`)
}

/** A topic pattern across every tenant (`ants.*.topic.<pattern>`), for declared subscriptions. */
export function topicPatternAllTenants(pattern: string): string {
  return topicPattern(DEFAULT_TENANT, pattern).replace(`${ROOT}.${DEFAULT_TENANT}.`, `${ROOT}.*.`)
}

/** Parses `ants.<tenant>.topic.<name...>` into tenant and dotted name. */
export function parseTopicSubject(subject: string): { tenant: string; name: string } {
  const t = subject.split(".")
  if (t.length < 4 || t[0] !== ROOT || t[2] !== "topic") {
    throw new SubjectError(`"${subject}" is not a topic subject`, "subject", subject)
  }
  return { tenant: token("tenant", t[1]), name: path("topic", t.slice(3)).join(".") }
}

/** `ants.<tenant>.task.<capability...>` */
export function taskSubject(tenant: string, capability: string | ReadonlyArray<string>): string {
  return bounded(`${ROOT}.${token("tenant", tenant)}.task.${path("capability", capability).join(".")}`)
}

/** `ants.<tenant>.audit.<kind>` */
export function auditSubject(tenant: string, kind: string): string {
  return `${ROOT}.${token("tenant", tenant)}.audit.${token("kind", kind)}`
}

// ---------------------------------------------------------------------------------------
// System subjects

/** `ants._sys.lifecycle.<tenant>.<type>.<id>` */
export function lifecycleSubject(a: ActorAddress): string {
  return `${ROOT}._sys.lifecycle.${token("tenant", a.tenant)}.${token("type", a.type)}.${token("id", a.id)}`
}

/** Everything published about lifecycles, optionally narrowed to one tenant or type. */
export function lifecycleWildcard(tenant?: string, type?: string): string {
  return `${ROOT}._sys.lifecycle.${tenant ? token("tenant", tenant) : "*"}.${type ? token("type", type) : "*"}.*`
}

/** `ants._sys.supervisor.<tenant>.<type>.<id>` */
export function supervisorSubject(a: ActorAddress): string {
  return `${ROOT}._sys.supervisor.${token("tenant", a.tenant)}.${token("type", a.type)}.${token("id", a.id)}`
}

export function supervisorWildcard(tenant?: string, type?: string): string {
  return `${ROOT}._sys.supervisor.${tenant ? token("tenant", tenant) : "*"}.${type ? token("type", type) : "*"}.*`
}

/** `ants._sys.node.<nodeId>.<...>` */
export function nodeSubject(nodeId: string, ...rest: string[]): string {
  return bounded([ROOT, "_sys", "node", token("node", nodeId), ...rest.map((r) => token("token", r))].join("."))
}

/** A request every node answers (inspection fan-out): `ants._sys.nodes.<verb>` */
export function nodesBroadcastSubject(verb: string): string {
  return `${ROOT}._sys.nodes.${token("token", verb)}`
}
