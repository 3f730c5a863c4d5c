/**
 * Unserved hints, the swarm's half (the caller's: runtime/server/unserved-hint.ts). A caller
 * whose ask found no one subscribed to partition p publishes `ants.<tenant>.unserved.<p>`. One
 * node of the swarm takes each hint (queue group `ants-unserved`) and checks every member whose
 * entry says it serves p: a member that does not answer its ping ("no responders": its
 * connection is gone from this node's server) and whose servers no longer list its connections
 * is removed with the marker that names this node, at the revision this node last saw
 * (gone-check.ts). Every member then takes it for dead at once and its partitions and leases are
 * taken over with no grace. So a crashed node's actors move as soon as somebody asks one of
 * them, instead of a heartbeat period later, when its missed beat would have been noticed.
 *
 * A hint is never a judgement on its own, whoever sends it: a member that answers its ping, or
 * whose connections a server still lists, or whose entry moved on (a heartbeat landed), is left
 * alone; nothing is checked while this node cannot judge (its own view frozen, its connection
 * down or just moved: membership.ts `canJudge`); each member is checked at most once per
 * `heartbeatMs / 3`, so a flood of hints costs at most a few pings a second per member.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { isNoResponders } from "../client/no-responders.ts"
import { PARTITIONS } from "../../subjects/grammar.ts"
import { UNSERVED_QUEUE, UNSERVED_SUBSCRIPTION, nodePingSubject, parseUnservedSubject } from "../../subjects/cluster.ts"
import { goneNow } from "./gone-check.ts"
import type { Member } from "./member-record.ts"

/** What the check needs of membership.ts. */
export interface UnservedView {
  readonly members: ReadonlyMap<string, Member>
  readonly heartbeatMs: number
  canJudge(now: number): boolean
}

export interface UnservedCounts {
  /** Hints received. */
  hints: number
  /** Members pinged because of a hint. */
  checked: number
  /** Members removed as gone for sure because of a hint. */
  downed: number
}

/**
 * Subscribes to unserved hints on `nc` and acts on them as the header says. `me`: this node (never
 * checked). Counts into `counts` (the node's inspection shows them). Returns the subscription and the counts.
 */
export function answerUnserved(
  nc: NatsConnection,
  view: UnservedView,
  me: string,
  log: (level: "info" | "warn", message: string) => void,
  counts: UnservedCounts = { hints: 0, checked: 0, downed: 0 },
): { sub: Subscription; counts: UnservedCounts } {
  const lastChecked = new Map<string, number>()
  const check = async (node: string, m: Member, partition: number) => {
    counts.checked++
    try {
      await nc.request(nodePingSubject(node), undefined, { timeout: Math.max(200, view.heartbeatMs) })
      return // it answered: alive, whatever the caller saw (a partition moving, interest still propagating)
    } catch (e) {
      if (!isNoResponders(e)) return
    }
    const current = view.members.get(node)
    // a heartbeat that landed meanwhile proves it alive; the marker would be refused anyway
    if (current === undefined || current.revision !== m.revision || !view.canJudge(Date.now())) return
    if (!(await goneNow(nc, node, m, me))) return
    counts.downed++
    log("warn", `node ${node} is gone: an ask to partition ${partition} found no responders, its ping too, and its servers no longer list its connections; taken for dead`)
  }
  const sub = nc.subscribe(UNSERVED_SUBSCRIPTION, {
    queue: UNSERVED_QUEUE,
    callback: (_e, msg) => {
      const partition = parseUnservedSubject(msg.subject, PARTITIONS)
      if (partition === undefined) return
      counts.hints++
      const now = Date.now()
      if (!view.canJudge(now)) return
      const gap = view.heartbeatMs / 3
      for (const [node, m] of view.members) {
        if (node === me || !m.record.serving.includes(partition)) continue
        if (now - (lastChecked.get(node) ?? -Infinity) < gap) continue
        lastChecked.set(node, now)
        void check(node, m, partition).catch((e) => log("warn", `checking node ${node} after an unserved hint failed: ${(e as Error).message}`))
      }
      if (lastChecked.size > 2 * view.members.size + 16) {
        for (const node of lastChecked.keys()) if (!view.members.has(node)) lastChecked.delete(node)
      }
    },
  })
  return { sub, counts }
}
