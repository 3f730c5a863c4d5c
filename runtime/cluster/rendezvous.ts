/**
 * Partition ownership by rendezvous (highest random weight) hashing: the owner of partition p
 * is the member with the highest weight(member, p). A pure function of the member set, so every
 * node computes the same assignment from the same membership view, with no coordinator.
 *
 * Promises (tested in test/cluster/rendezvous.test.ts): deterministic and independent of the
 * order members are listed in; balanced (each of n members owns about PARTITIONS/n); minimal
 * movement: when a member joins only partitions it wins move (to it), when one leaves only its
 * partitions move.
 */
import { PARTITIONS } from "../../subjects/grammar.ts"

/** A 32-bit weight of (member, partition): FNV-1a over the text, then murmur3's finalizer for avalanche. */
export function weight(member: string, partition: number): number {
  let h = 0x811c9dc5
  const s = `${member}\u0000${partition}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The owner of one partition among `members`, or undefined when there are none. */
export function ownerOf(partition: number, members: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestWeight = -1
  for (const m of members) {
    const w = weight(m, partition)
    // ties (astronomically rare) go to the smaller id, so the result never depends on order
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m
      bestWeight = w
    }
  }
  return best
}

/** The owner of every partition 0..partitions-1 (undefined entries when there are no members). */
export function assignPartitions(members: Iterable<string>, partitions: number = PARTITIONS): Array<string | undefined> {
  const list = [...new Set(members)]
  return Array.from({ length: partitions }, (_, p) => ownerOf(p, list))
}

/** The partitions `member` owns in an assignment. */
export function partitionsOf(assignment: ReadonlyArray<string | undefined>, member: string): number[] {
  const out: number[] = []
  assignment.forEach((m, p) => {
    if (m === member) out.push(p)
  })
  return out
}
