/**
 * A node's governance, assembled: its audit key (published), the audit writer, and what it
 * records on its own: pheromone writes (the stigmergy write hook), and lifecycle transitions
 * (every node listens in one queue group, so each transition is recorded once by some node).
 * Other layers record through `record` (the `RecordReceipt` port) and queue through `note`.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { lifecycleWildcard } from "../../subjects/grammar.ts"
import { APPROVALS_BUCKET, AUDIT_KEYS_BUCKET, POLICY_BUCKET, parseLifecycleSubject } from "../../subjects/governance.ts"
import type { ToolGate } from "../models/mod.ts"
import { createApprovals, type Approvals } from "./approvals.ts"
import { serveApprovals } from "./approvals-service.ts"
import { createToolGate } from "./tool-gate.ts"
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
  /** Serve the approval queue's subjects and sweep its deadlines (default true). */
  readonly approvals?: boolean
  readonly replicas?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

export interface Governance {
  readonly key: NodeKey
  readonly audit: AuditLog
  readonly record: RecordReceipt
  /** The models' ToolGate: the tenant's policy, then approvals, before every tool call of a turn. */
  readonly gate: ToolGate
  readonly approvals: Approvals
  /** The policy bucket (ants_policy). */
  readonly policies: KV
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
  const kvm = new Kvm(nc)
  const [policies, approvalsKv] = await Promise.all([kvm.create(POLICY_BUCKET, { history: 5, replicas: o.replicas ?? 1 }), kvm.create(APPROVALS_BUCKET, { history: 5, replicas: o.replicas ?? 1 })])
  const approvals = createApprovals(approvalsKv)
  const served = o.approvals === false ? undefined : serveApprovals(nc, approvals, { note: audit.note, log })
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
    gate: createToolGate({ policies, approvals, note: audit.note }),
    approvals,
    policies,
    onPheromoneWrite: (tenant, write) => audit.note(tenant, "pheromone", pheromoneReceipt(write)),
    stats: () => audit.stats(),
    async close() {
      for (const s of subs) s.unsubscribe()
      served?.stop()
      await audit.close()
    },
  }
}
