/**
 * The partition of an actor, computed the way nats-server computes `{{partition(n, 2, 3)}}`
 * in nats.conf's mapping: FNV-1a (32 bit) over the concatenated type and id tokens, modulo the
 * partition count. The node needs it for actors that are activated without a mapped subject
 * (durable mail, wakes, inspection) and for routing when the server has no mapping.
 * `test/cluster/partition-hash.test.ts` checks it against a real server.
 */
import { PARTITIONS } from "./grammar.ts"

const encoder = new TextEncoder()

export function partitionOf(type: string, id: string, partitions: number = PARTITIONS): number {
  return fnv1a(type, id) % partitions
}

/** FNV-1a (32 bit, unsigned) over the UTF-8 bytes of `parts`, concatenated. */
export function fnv1a(...parts: ReadonlyArray<string>): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    const bytes = encoder.encode(part)
    for (let i = 0; i < bytes.length; i++) {
      h ^= bytes[i]!
      h = Math.imul(h, 0x01000193)
    }
  }
  return h >>> 0
}
