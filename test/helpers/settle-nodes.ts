/**
 * Waits until a set of nodes agree on the member set and split the partitions between them,
 * each partition served exactly once, and their subscriptions are registered with the server.
 * With `everyServes` (the default) every node must serve some: a node that has just joined is
 * counted in by the others before it has taken its share. Nodes of different versions of a
 * type (a rolling upgrade) pass false: the newest serves every partition of its type.
 */
import type { AntsNode } from "../../runtime/node/node.ts"
import { PARTITIONS } from "../../subjects/grammar.ts"
import { waitUntil } from "./wait-until.ts"

export async function settleNodes(nodes: ReadonlyArray<AntsNode>, timeoutMs = 15_000, everyServes = true): Promise<void> {
  const ids = nodes.map((n) => n.id).sort()
  await waitUntil(
    () => {
      if (!nodes.every((n) => n.cluster.members().join() === ids.join())) return false
      const served = nodes.map((n) => n.cluster.partitions())
      if (everyServes && served.some((p) => p.length === 0)) return false
      const all = served.flat()
      return all.length === PARTITIONS && new Set(all).size === PARTITIONS
    },
    { timeoutMs, message: `nodes ${ids.join(", ")} settle` },
  )
  await Promise.all(nodes.map((n) => n.nc.flush()))
}
