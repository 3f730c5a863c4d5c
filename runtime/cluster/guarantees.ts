/**
 * Which cluster guarantees hold on the NATS server a node found. Pure: decided
 * from the version and shape the server announced at connect and from the replicas each of the
 * runtime's buckets and streams really has (read from the server at start-up), printed at
 * start-up (the `ants node` ready banner) and answered by `ants nodes`.
 *
 * The one that matters: single activation rests on KV compare-and-set (create-if-absent and
 * update-with-revision) being serialized. nats-server 2.9.10 does not serialize it on clustered,
 * replicated streams: two nodes racing for one lease can both succeed. The runtime then warns
 * and single activation is best effort while ownership changes (checkpoints are still fenced
 * by revision on each write, with the same caveat). On 2.10 and newer the runtime relies on it.
 *
 * Published vulnerabilities of the server's version (runtime/security/server-cves.ts) are
 * warnings too, naming the versions that fix them.
 *
 * Replication is stated store by store: what is R3 on a cluster survives the loss of one
 * server; what is not is named in a warning.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { bucketStream } from "../../subjects/cluster.ts"
import { versionAtLeast } from "../server/server-features.ts"
import { serverVulnerabilities } from "../security/server-cves.ts"

/** One of the runtime's buckets (KV) or streams and the replicas it has (or is created with). */
export interface StoreReplicas {
  readonly name: string
  readonly kind: "kv" | "stream"
  readonly replicas: number
}

export interface ServerShape {
  readonly version: string
  /** The server is part of a cluster (INFO carries a cluster name). */
  readonly clustered: boolean
  /** Replicas the runtime asks for its buckets and streams. */
  readonly replicas: number
  /** The runtime's buckets and streams, each with its real replicas. Absent: all use `replicas`. */
  readonly stores?: ReadonlyArray<StoreReplicas>
}

export interface Guarantees {
  readonly version: string
  /** Replicas the runtime asks for its buckets and streams. */
  readonly replicas: number
  /** KV compare-and-set is serialized, so leases and checkpoint fencing are exact. */
  readonly casSerialized: boolean
  /** Every listed store survives the loss of one server (clustered, replicas ≥ 3 each). */
  readonly survivesServerLoss: boolean
  /** Stores replicated at least R3 on a cluster. */
  readonly replicated: ReadonlyArray<string>
  /** Stores with fewer than 3 replicas on a cluster. */
  readonly unreplicated: ReadonlyArray<string>
  readonly statements: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
  /** Published vulnerabilities of the server's version (also among `warnings`), each with its fixing versions. */
  readonly vulnerabilities: ReadonlyArray<{ readonly id: string; readonly fixedIn: ReadonlyArray<string> }>
}

/**
 * The replicas the runtime uses when none are configured: as many as the cluster has servers,
 * at most 3 (1 on a single server). `clusterSize` comes from the server's INFO (connect_urls).
 */
export function defaultReplicas(shape: { readonly clustered: boolean; readonly clusterSize: number }): number {
  if (!shape.clustered) return 1
  return Math.max(1, Math.min(3, shape.clusterSize))
}

/** Servers of the cluster a connection sees: the distinct client URLs its INFO advertises (1 when none). */
export function clusterSizeOf(info: { readonly cluster?: string; readonly connect_urls?: ReadonlyArray<string> } | undefined): number {
  if (!info?.cluster) return 1
  return Math.max(1, new Set(info.connect_urls ?? []).size)
}

export function clusterGuarantees(s: ServerShape): Guarantees {
  const statements: string[] = []
  const warnings: string[] = []
  const stores = s.stores ?? []
  const effective = stores.length > 0 ? Math.min(...stores.map((x) => x.replicas)) : s.replicas
  const anyReplicated = s.clustered && (stores.length > 0 ? stores.some((x) => x.replicas > 1) : s.replicas > 1)
  const newEnough = versionAtLeast(s.version, "2.10.0")
  const casSerialized = !anyReplicated || newEnough
  const label = (x: StoreReplicas) => `${x.name} (${x.kind === "kv" ? "KV" : "stream"})`
  if (!anyReplicated) {
    statements.push(`nats-server ${s.version}, ${s.clustered ? "cluster" : "single server"}, runtime buckets R${effective}: KV compare-and-set is serialized; leases and checkpoint fencing are exact (single activation holds)`)
  } else if (newEnough) {
    statements.push(`nats-server ${s.version}, cluster, runtime buckets R${s.replicas}: KV compare-and-set is serialized on replicated streams; single activation holds`)
  } else {
    warnings.push(
      `nats-server ${s.version} does not serialize KV compare-and-set on replicated (R${s.replicas}) streams: two nodes racing for one actor's lease or checkpoint can both succeed, so single activation is best effort while partitions move. Upgrade to nats-server 2.10 or newer for exact leases.`,
    )
  }
  const replicated = s.clustered ? stores.filter((x) => x.replicas >= 3).map(label) : []
  const unreplicated = s.clustered ? stores.filter((x) => x.replicas < 3).map((x) => `${label(x)} R${x.replicas}`) : []
  const survivesServerLoss = s.clustered && (stores.length > 0 ? unreplicated.length === 0 : s.replicas >= 3)
  if (s.clustered && s.replicas < 3) {
    warnings.push(`the server is clustered but the runtime's buckets and streams use R${s.replicas}: state, leases, membership and durable mail are lost or unavailable when their server goes down. Start nodes with replicas 3 (--replicas 3).`)
  }
  if (replicated.length > 0) statements.push(`replicated R3 or more, surviving the loss of one server: ${replicated.join(", ")}`)
  else if (s.clustered && stores.length === 0 && s.replicas >= 3) statements.push(`runtime buckets and streams are replicated R${s.replicas}: the swarm survives the loss of one server`)
  if (s.replicas >= 3 && unreplicated.length > 0) {
    warnings.push(`not replicated on this cluster (lost or unavailable while their server is down): ${unreplicated.join(", ")}`)
  }
  if (!versionAtLeast(s.version, "2.11.0")) statements.push(`no per-message TTL before 2.11: lease and membership expiry use bucket max_age`)
  const vulns = serverVulnerabilities(s.version)
  for (const v of vulns) warnings.push(v.warning)
  const vulnerabilities = vulns.map((v) => ({ id: v.id, fixedIn: v.fixedIn }))
  return { version: s.version, replicas: s.replicas, casSerialized, survivesServerLoss, replicated, unreplicated, statements, warnings, vulnerabilities }
}

/**
 * The replicas each store really has on the server (a bucket or stream created earlier keeps its
 * configuration); one that does not exist yet is listed with the replicas it will be created with.
 */
export async function storeReplicas(nc: NatsConnection, declared: ReadonlyArray<StoreReplicas>): Promise<StoreReplicas[]> {
  const seen = new Set<string>()
  const unique = declared.filter((d) => !seen.has(`${d.kind}:${d.name}`) && seen.add(`${d.kind}:${d.name}`))
  try {
    const jsm = await jetstreamManager(nc)
    return await Promise.all(
      unique.map(async (d) => {
        try {
          const info = await jsm.streams.info(d.kind === "kv" ? bucketStream(d.name) : d.name)
          return { ...d, replicas: info.config.num_replicas || 1 }
        } catch {
          return d
        }
      }),
    )
  } catch {
    return [...unique]
  }
}
