/**
 * Asking the whole swarm: every node answers ants._sys.nodes.members and
 * ants._sys.nodes.actors; the caller gathers replies until every member in `ants_members`
 * answered or the deadline passed. Works from any connection (no node needed).
 */
import { createInbox, type NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { inboxPrefixOf } from "../server/reply-inbox.ts"
import { MEMBERS_BUCKET, NODES_ACTORS_SUBJECT, NODES_MEMBERS_SUBJECT } from "../../subjects/cluster.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { actorName } from "../../subjects/grammar.ts"
import type { ActorInfo, NodeMembersInfo } from "./inspection.ts"

export const INSPECT_DEFAULT_TIMEOUT_MS = 1_000

const encoder = new TextEncoder()

/** How many nodes have a membership entry (0 when unknown: no bucket, or JetStream slow to answer). */
export async function memberCount(nc: NatsConnection, withinMs = 500): Promise<number> {
  const count = async () => {
    const kv = await new Kvm(nc).open(MEMBERS_BUCKET)
    let n = 0
    for await (const _k of await kv.keys()) n++
    return n
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([count(), new Promise<number>((r) => (timer = setTimeout(() => r(0), withinMs)))])
  } catch {
    return 0
  } finally {
    clearTimeout(timer)
  }
}

/** Publishes one request and collects every `ok` reply until `expected` arrived or `timeoutMs` passed. */
export async function gather<T>(nc: NatsConnection, subject: string, body: unknown, opts: { timeoutMs?: number; expected?: number } = {}): Promise<T[]> {
  const timeoutMs = opts.timeoutMs ?? INSPECT_DEFAULT_TIMEOUT_MS
  const inbox = createInbox(inboxPrefixOf(nc))
  const out: T[] = []
  const sub = nc.subscribe(inbox)
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs)
  nc.publish(subject, encoder.encode(body === undefined ? "" : JSON.stringify(body)), { reply: inbox })
  for await (const m of sub) {
    try {
      const env = decodeReply(m.data)
      if (env.ok) out.push(env.value as T)
    } catch {
      // not an envelope: ignore
    }
    if (opts.expected !== undefined && out.length >= opts.expected) break
  }
  clearTimeout(timer)
  sub.unsubscribe()
  return out
}

/** Every node's membership record, sorted by node id. */
export async function listNodes(nc: NatsConnection, opts: { timeoutMs?: number } = {}): Promise<NodeMembersInfo[]> {
  const expected = await memberCount(nc)
  const nodes = await gather<NodeMembersInfo>(nc, NODES_MEMBERS_SUBJECT, undefined, { timeoutMs: opts.timeoutMs, expected: expected || undefined })
  return nodes.sort((a, b) => a.node.localeCompare(b.node))
}

/** Every actor the nodes hold (active, idle, warming, or sleeping there), optionally of one type/tenant. */
export async function listActors(
  nc: NatsConnection,
  filter: { type?: string; tenant?: string; limit?: number; timeoutMs?: number } = {},
): Promise<{ actors: ActorInfo[]; nodes: number; truncated: boolean }> {
  const expected = await memberCount(nc)
  const { timeoutMs, ...f } = filter
  const replies = await gather<{ node: string; actors: ActorInfo[]; truncated: boolean }>(nc, NODES_ACTORS_SUBJECT, f, { timeoutMs, expected: expected || undefined })
  const actors = replies.flatMap((r) => r.actors)
  // an actor asleep on one node and active on another is listed where it is active
  const live = new Set(actors.filter((a) => a.state !== "sleeping").map((a) => actorName(a)))
  const shown = actors.filter((a) => a.state !== "sleeping" || !live.has(actorName(a)))
  shown.sort((a, b) => a.type.localeCompare(b.type) || a.tenant.localeCompare(b.tenant) || a.id.localeCompare(b.id))
  return { actors: shown, nodes: replies.length, truncated: replies.some((r) => r.truncated) }
}
