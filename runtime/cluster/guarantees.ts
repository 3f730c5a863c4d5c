/**
 * Which cluster guarantees hold on the NATS server a node found (DESIGN.md §7). Pure: decided
 * from the version and the shape the server announced at connect, printed at start-up and
 * answered by `ants nodes`.
 *
 * The one that matters: single activation rests on KV compare-and-set (create-if-absent and
 * update-with-revision) being serialized. nats-server 2.9.10 does not serialize it on clustered,
 * replicated streams: two nodes racing for one lease can both succeed. The runtime then warns
 * and single activation is best effort while ownership changes (checkpoints are still fenced
 * by revision on each write, with the same caveat). On 2.10 and newer the runtime relies on it.
 */
import { versionAtLeast } from "../pheromones/server-features.ts"

export interface ServerShape {
  readonly version: string
  /** The server is part of a cluster (INFO carries a cluster name). */
  readonly clustered: boolean
  /** Replicas the runtime uses for its buckets and streams. */
  readonly replicas: number
}

export interface Guarantees {
  readonly version: string
  /** KV compare-and-set is serialized, so leases and checkpoint fencing are exact. */
  readonly casSerialized: boolean
  /** The runtime's data survives the loss of one server (replicas ≥ 3 on a cluster). */
  readonly survivesServerLoss: boolean
  readonly statements: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
}

export function clusterGuarantees(s: ServerShape): Guarantees {
  const statements: string[] = []
  const warnings: string[] = []
  const replicated = s.clustered && s.replicas > 1
  const newEnough = versionAtLeast(s.version, "2.10.0")
  const casSerialized = !replicated || newEnough
  if (!replicated) {
    statements.push(`nats-server ${s.version}, ${s.clustered ? "cluster" : "single server"}, runtime buckets R${s.replicas}: KV compare-and-set is serialized; leases and checkpoint fencing are exact (single activation holds)`)
  } else if (newEnough) {
    statements.push(`nats-server ${s.version}, cluster, runtime buckets R${s.replicas}: KV compare-and-set is serialized on replicated streams; single activation holds`)
  } else {
    warnings.push(
      `nats-server ${s.version} does not serialize KV compare-and-set on replicated (R${s.replicas}) streams: two nodes racing for one actor's lease or checkpoint can both succeed, so single activation is best effort while partitions move. Upgrade to nats-server 2.10 or newer for exact leases.`,
    )
  }
  const survivesServerLoss = s.clustered && s.replicas >= 3
  if (s.clustered && s.replicas < 3) {
    warnings.push(`the server is clustered but the runtime's buckets and streams use R${s.replicas}: state, leases, membership and durable mail are lost or unavailable when their server goes down. Start nodes with replicas 3 (--replicas 3).`)
  } else if (survivesServerLoss) {
    statements.push(`runtime buckets and streams are replicated R${s.replicas}: the swarm survives the loss of one server`)
  }
  if (!versionAtLeast(s.version, "2.11.0")) statements.push(`no per-message TTL before 2.11: lease and membership expiry use bucket max_age`)
  return { version: s.version, casSerialized, survivesServerLoss, statements, warnings }
}
