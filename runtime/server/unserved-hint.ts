/**
 * The caller's half of fast failover: an ask to `ants.<tenant>.agent.<type>.<id>.<Tag>` that
 * the server answers "no responders" found nobody subscribed to the actor's partition (the
 * server's mapping sends it to `ants._part.<p>`). The usual cause is a node that crashed a
 * moment ago: its connection closed, so its partition subscriptions went with it, but the
 * others learn of it only when its next heartbeat is missed. The caller says so at once on
 * `ants.<tenant>.unserved.<p>` (no body), and one node checks whether the node that served p is
 * gone (runtime/cluster/unserved.ts). The hint is a publish in the tenant's own space, costs
 * the caller nothing when no node listens (a server without the mapping, a single node), and
 * is sent at most once per `HINT_GAP_MS` per connection, tenant and partition, so a caller
 * retrying in a tight loop does not flood the swarm.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { PARTITIONS, ROOT } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { unservedSubject } from "../../subjects/cluster.ts"

/** The least time between two hints of one connection about one tenant's partition. */
export const HINT_GAP_MS = 50
/** Past this many (tenant, partition) pairs remembered for one connection the memory starts over. */
const MAX_REMEMBERED = 4_096

const sent = new WeakMap<NatsConnection, Map<string, number>>()

/**
 * Sends an unserved hint for `subject` when it is an agent subject; anything else (a node's
 * ping, a JetStream API call, a subject without the mapping's shape) is left alone. Never throws.
 */
export function hintUnserved(nc: NatsConnection, subject: string, now = Date.now()): boolean {
  const t = subject.split(".")
  if (t.length !== 6 || t[0] !== ROOT || t[2] !== "agent") return false
  const partition = partitionOf(t[3]!, t[4]!, PARTITIONS)
  const key = `${t[1]}.${partition}`
  let last = sent.get(nc)
  if (last === undefined) sent.set(nc, (last = new Map()))
  if (now - (last.get(key) ?? -Infinity) < HINT_GAP_MS) return false
  if (last.size >= MAX_REMEMBERED) last.clear()
  last.set(key, now)
  try {
    nc.publish(unservedSubject(t[1]!, partition))
    return true
  } catch {
    return false // a tenant token the grammar refuses, a closed connection: the hint is only a hint
  }
}
