/**
 * A node's governance, assembled: its audit key (published), the audit writer, and what it
 * records on its own: pheromone writes (the stigmergy write hook), lifecycle transitions (all
 * but an active actor's flips to idle and back) and notices of changes made outside a node
 * (tenancy, policy set from the CLI; every node listens in one queue group, so each is recorded
 * once by some node, signed with its key).
 * Other layers record through `record` (the `RecordReceipt` port) and queue through `note`.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { retrying } from "../../supervisors/backoff.ts"
import { lifecycleWildcard } from "../../subjects/grammar.ts"
import { APPROVALS_BUCKET, AUDIT_KEYS_BUCKET, AUDIT_NOTICE_WILDCARD, POLICY_BUCKET, parseAuditNoticeSubject, parseLifecycleSubject } from "../../subjects/governance.ts"
import type { ModelGate, ToolGate } from "../models/mod.ts"
import { createMessaging } from "../client/messaging.ts"
import { createApprovals, type Approvals, type ApprovalRecord } from "./approvals.ts"
import { serveApprovals } from "./approvals-service.ts"
import { createModelGate, createToolGate } from "./tool-gate.ts"
import { watchPolicies } from "./policy-view.ts"
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
  /** Where a decision is offered as feedback to the requesting agent's memory (the node fills it when memory is on). */
  readonly feedback?: FeedbackPort
  /** How long a held turn's actor has to take it up and answer (default 10 minutes, a conversational turn's limit). */
  readonly resumeTimeoutMs?: number
}

/** An entry for an agent's memory: the memory layer's `remember` as governance needs it. */
export type FeedbackPort = (
  owner: { readonly tenant: string; readonly type: string; readonly id: string },
  entry: { readonly kind: "episodic"; readonly text: string; readonly data: Record<string, unknown>; readonly metadata: Record<string, string>; readonly outcome: number },
) => Promise<unknown>

/**
 * A decision as feedback for the requesting agent's memory: an episodic entry saying what it
 * asked, who decided what and why, with outcome +1 (approved) or -1 (rejected: a human, or the
 * deadline, had to step in), so the agent can recall it before asking again.
 */
export function approvalFeedback(r: ApprovalRecord): Parameters<FeedbackPort>[1] {
  const who = r.timedOut ? `nobody decided by the deadline, so the safe default (${r.safeDefault}) applied` : `${r.decidedBy ?? "a human"} ${r.status} it${r.reason ? `: ${r.reason}` : ""}`
  return {
    kind: "episodic",
    text: `Approval ${r.id}: my ${r.action.kind} ${r.action.name} ${JSON.stringify(r.action.arguments ?? {})} was ${r.status}; ${who}.`,
    data: { approval: r.id, action: r.action, status: r.status, decidedBy: r.decidedBy ?? null, reason: r.reason ?? null, timedOut: r.timedOut === true, why: r.why },
    metadata: { source: "approval", approval: r.id, status: r.status },
    outcome: r.status === "approved" ? 1 : -1,
  }
}

export interface Governance {
  readonly key: NodeKey
  readonly audit: AuditLog
  readonly record: RecordReceipt
  /** The models' ToolGate: the tenant's policy, then approvals, before every tool call of a turn. */
  readonly gate: ToolGate
  /** The models' ModelGate: the tenant's model and spending rules, before every model call. */
  readonly modelGate: ModelGate
  readonly approvals: Approvals
  /** The policy bucket (ants_policy). */
  readonly policies: KV
  /** The stigmergy write hook: one receipt per deposit, reinforcement and evaporation (queued). */
  onPheromoneWrite(tenant: string, write: PheromoneWrite): void
  stats(): AuditStats
  close(): Promise<void>
}

const decoder = new TextDecoder()

/**
 * An active actor's mailbox emptying and filling again (`active`<->`idle`) is no receipt: it is
 * scheduling, not a change of who holds the actor or its state, and at one flip per message of
 * an actor that waits between messages it would outnumber everything else in the chain (and
 * cost a signature each). The lifecycle subject and the metrics still carry every flip.
 */
function isIdleFlip(d: { from?: unknown; to?: unknown }): boolean {
  return (d.from === "idle" && d.to === "active") || (d.from === "active" && d.to === "idle")
}

/** A receipt's detail from a published body: its JSON, or the start of its text when it is not JSON. */
function detailOf(data: Uint8Array): unknown {
  const text = decoder.decode(data)
  try {
    return JSON.parse(text)
  } catch {
    return { raw: text.slice(0, 500) }
  }
}

/** The receipt detail of a pheromone write. */
export function pheromoneReceipt(write: PheromoneWrite): Record<string, unknown> {
  if (write.op === "evaporate") return { op: write.op, emitter: write.emitter, key: write.key, type: write.type }
  const t = write.trail
  return { op: write.op, emitter: write.emitter, key: t.key, type: t.type, strength: t.strength, location: t.location, ttlMs: t.ttlMs }
}

export async function startGovernance(nc: NatsConnection, o: GovernanceOptions): Promise<Governance> {
  const log = o.log ?? (() => {})
  const key = loadNodeKey(o.nodeId, o.keyFile)
  const kvm = new Kvm(nc)
  // retried while JetStream settles (nodes of a cluster starting together create these at once)
  const create = (name: string, history: number) => retrying(() => kvm.create(name, { history, replicas: o.replicas ?? 1 }), 20_000)
  const keys = await create(AUDIT_KEYS_BUCKET, 1)
  await publishKey(keys, key)
  const audit = createAuditLog(nc, o.nodeId, { key, replicas: o.replicas, log, ...o.audit })
  const [policies, approvalsKv] = await Promise.all([create(POLICY_BUCKET, 5), create(APPROVALS_BUCKET, 5)])
  const approvals = createApprovals(approvalsKv)
  const policyView = await watchPolicies(policies)
  const messaging = createMessaging(nc)
  const requesterOf = (r: ApprovalRecord) => {
    const slash = r.requester.indexOf("/")
    return slash > 0 ? { tenant: r.tenant, type: r.requester.slice(0, slash), id: r.requester.slice(slash + 1) } : undefined
  }
  const served =
    o.approvals === false
      ? undefined
      : serveApprovals(nc, approvals, {
          note: audit.note,
          log,
          onDecision: (r) => {
            const owner = requesterOf(r)
            if (!o.feedback || !owner) return
            o.feedback(owner, approvalFeedback(r)).catch((e: unknown) => log("warn", `governance: the decision on ${r.id} was not offered to ${r.requester}'s memory: ${(e as Error)?.message ?? e}`))
          },
          resumeTurn: async (r) => {
            const owner = requesterOf(r)
            if (!owner || !r.resume) return undefined
            return await messaging.ask({ agent: owner.type, id: owner.id, tenant: owner.tenant }, r.resume.tag, r.resume.message, { timeoutMs: o.resumeTimeoutMs ?? 10 * 60_000 })
          },
        })
  const subs: Subscription[] = []
  if (o.lifecycle !== false) {
    subs.push(
      nc.subscribe(lifecycleWildcard(), {
        queue: "ants-audit-lifecycle",
        callback: (_e, m) => {
          const a = parseLifecycleSubject(m.subject)
          if (!a) return
          const d = detailOf(m.data) as { from?: unknown; to?: unknown }
          if (isIdleFlip(d)) return
          audit.note(a.tenant, "lifecycle", { actor: `${a.type}/${a.id}`, ...(d as object) })
        },
      }),
    )
  }
  // changes made outside a node (tenancy, a policy set from the CLI): one node records each, signed
  subs.push(
    nc.subscribe(AUDIT_NOTICE_WILDCARD, {
      queue: "ants-audit-notices",
      callback: (_e, m) => {
        const a = parseAuditNoticeSubject(m.subject)
        if (!a) return
        audit.note(a.tenant, a.kind, detailOf(m.data))
      },
    }),
  )
  log("info", `governance: audit key ${key.keyId} published; receipts chained per tenant in ANTS_AUDIT_<tenant>`)
  return {
    key,
    audit,
    record: audit.record,
    gate: createToolGate({ policies, approvals, note: audit.note, view: policyView }),
    modelGate: createModelGate({ policies, note: audit.note, view: policyView }),
    approvals,
    policies,
    onPheromoneWrite: (tenant, write) => audit.note(tenant, "pheromone", pheromoneReceipt(write)),
    stats: () => audit.stats(),
    async close() {
      for (const s of subs) s.unsubscribe()
      served?.stop()
      policyView.stop()
      await audit.close()
    },
  }
}
