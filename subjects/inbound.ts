/**
 * Inbound actor subjects, parsed once (the node's hot path and the cluster's route subjects
 * share the memo). An actor gets many messages on the same few subjects,
 * and parsing one (split, four token checks) was one of the largest costs of a tell, so the
 * node remembers the subjects it parsed last, each with the actor's key among its type's cells
 * and its partition (hashing type and id again for every message that arrived unmapped cost
 * more than all the rest of a tell).
 * The memo is bounded (cleared when full), so it holds at most `INBOUND_MEMO_SIZE` entries
 * whatever the number of actors; a subject that does not parse is never remembered.
 */
import { ROOT, parseInbound, SubjectError, type ParsedInbound } from "./grammar.ts"
import { partitionOf } from "./partition-hash.ts"

export interface Inbound extends ParsedInbound {
  /** The actor's key in `TypeHost.cells` (see `actorKey`). */
  readonly key: string
  /** The actor's key across types (`<type>\u0000<tenant>\u0000<id>`: its rate bucket), made once per subject rather than per message. */
  readonly typeKey: string
  /** The actor's partition: the subject's when it arrived mapped, else computed as the server would. */
  readonly part: number
}

/** Entries kept (about 200 bytes each). */
export const INBOUND_MEMO_SIZE = 4096

/** The key of an actor among the cells of its type (`TypeHost.cells`, `sleeping`, `pinned`). */
export function actorKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`
}

/** The tenant and id an `actorKey` was made of. */
export function parseActorKey(key: string): { readonly tenant: string; readonly id: string } {
  const cut = key.indexOf("\u0000")
  return { tenant: key.slice(0, cut), id: key.slice(cut + 1) }
}

const memo = new Map<string, Inbound>()

/** `parseInbound` with the last subjects remembered; the result must not be modified. */
export function parseInboundOnce(subject: string): Inbound | SubjectError {
  const hit = memo.get(subject)
  if (hit !== undefined) return hit
  const p = parseInbound(subject)
  if (p instanceof SubjectError) return p
  if (memo.size >= INBOUND_MEMO_SIZE) memo.clear()
  const inbound = toInbound(p)
  memo.set(subject, inbound)
  return inbound
}

/**
 * A route subject (`ants._sys.node.<nodeId>.route.<p>.<tenant>.<type>.<id>.<Tag>`, a message
 * another node forwarded here) parsed as the partition subject it stands for, through the memo.
 */
export function parseRoutedOnce(subject: string): Inbound | SubjectError {
  const t = subject.split(".")
  return t.length === 10 ? parseInboundOnce(`${ROOT}._part.${t.slice(5).join(".")}`) : new SubjectError(`"${subject}" is not a route subject`, "subject", subject)
}

/** What the hot path needs of a parsed subject (for messages that did not come through the memo). */
export function toInbound(p: ParsedInbound): Inbound {
  return {
    partition: p.partition,
    tenant: p.tenant,
    type: p.type,
    id: p.id,
    tag: p.tag,
    key: actorKey(p.tenant, p.id),
    typeKey: `${p.type}\u0000${actorKey(p.tenant, p.id)}`,
    part: p.partition >= 0 ? p.partition : partitionOf(p.type, p.id),
  }
}

/** How many subjects are remembered now (for tests and inspection). */
export function inboundMemoSize(): number {
  return memo.size
}
