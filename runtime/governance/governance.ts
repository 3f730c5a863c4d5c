/**
 * A node's governance, assembled: its audit key (published), the audit writer, and what it
 * records on its own: pheromone writes (the stigmergy write hook), and lifecycle transitions
 * (every node listens in one queue group, so each transition is recorded once by some node).
 * Other layers record through `record` (the `RecordReceipt` port) and queue through `note`.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { lifecycleWildcard } from "../../subjects/grammar.ts"
import { AUDIT_KEYS_BUCKET, parseLifecycleSubject } from "../../subjects/governance.ts"
import type { PheromoneWrite } from "../stigmergy/mod.ts"
import { createAuditLog, type AuditLog, type AuditRetention, type AuditStats, type RecordReceipt } from "./audit-log.ts"
import { loadNodeKey, publishKey, type NodeKey } from "./receipts.ts"

export interface GovernanceOptions {
  readonly nodeId: string
  /** The node's audit key file (PEM, Ed25519; created if absent). Default `.ants/audit/node-key.pem`. */
  readonly keyFile?: string
  /** Retention of audit streams this node creates. */
  readonly audit?: AuditRetention & { readonly maxQueued?: number }
  /** Record lifecycle transitions (default true). */
  readonly lifecycle?: boolean
  readonly replicas?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

export interface Governance {
  readonly key: NodeKey
  readonly audit: AuditLog
  readonly record: RecordReceipt
  /** The stigmergy write hook: one receipt per deposit, reinforcement and evaporation (queued). */
  onPheromoneWrite(tenant: string, write: PheromoneWrite): void
  stats(): AuditStats
  close(): Promise<void>
}

const decoder = new TextDecoder()

/** The receipt detail of a pheromone write. */
export function pheromoneReceipt(write: PheromoneWrite): Record<string, unknown> {
  if (write.op === "evaporate") return { op: write.op, emitter: write.emitter, key: write.key, type: write.type }
  const t = write.trail
  return { op: write.op, emitter: write.emitter, key: t.key, type: t.type, strength: t.strength, location: t.location, ttlMs: t.ttlMs }
}

export async function startGovernance(nc: NatsConnection, o: GovernanceOptions): Promise<Governance> {
  const log = o.log ?? (() => {})
  const key = loadNodeKey(o.nodeId, o.keyFile)
  const keys = await new Kvm(nc).create(AUDIT_KEYS_BUCKET, { history: 1, replicas: o.replicas ?? 1 })
  await publishKey(keys, key)
  const audit = createAuditLog(nc, o.nodeId, { key, replicas: o.replicas, log, ...o.audit })
  const subs: Subscription[] = []
  if (o.lifecycle !== false) {
    subs.push(
      nc.subscribe(lifecycleWildcard(), {
        queue: "ants-audit-lifecycle",
        callback: (_e, m) => {
          const a = parseLifecycleSubject(m.subject)
          if (!a) return
          let event: unknown
          try {
            event = JSON.parse(decoder.decode(m.data))
          } catch {
            event = { raw: decoder.decode(m.data).slice(0, 500) }
          }
          audit.note(a.tenant, "lifecycle", { actor: `${a.type}/${a.id}`, ...(event as object) })
        },
      }),
    )
  }
  log("info", `governance: audit key ${key.keyId} published; receipts chained per tenant in ANTS_AUDIT_<tenant>`)
  return {
    key,
    audit,
    record: audit.record,
    onPheromoneWrite: (tenant, write) => audit.note(tenant, "pheromone", pheromoneReceipt(write)),
    stats: () => audit.stats(),
    async close() {
      for (const s of subs) s.unsubscribe()
      await audit.close()
    },
  }
}
