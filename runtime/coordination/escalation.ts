/**
 * Escalation as an approval request: `escalateToApprovals(approvals)` is an `EscalatePort` that
 * files what coordination escalates (a round that did not decide, a saga whose compensation
 * keeps failing) in the tenant's approval queue (runtime/governance `Approvals`, ordered by
 * severity), and returns the request's id, which the round or journal keeps.
 *
 * What approving means: for a round, going with the leading answer (the request's
 * `action.arguments.answer`); rejecting, not. For a saga, that a human has settled it. The
 * safe default when nobody decides in time is `reject`.
 */
import type { Approvals, NewApproval } from "../governance/mod.ts"
import type { EscalatePort, EscalationRequest } from "./ports.ts"

export type ApprovalSeverity = NewApproval["severity"]

/** What the adapter needs of an approval queue: the governance layer's `Approvals` filing. */
export type ApprovalQueue = Pick<Approvals, "request">

export interface ApprovalEscalationOptions {
  /** How long a human has (default 1 h); then the safe default applies. */
  readonly timeoutMs?: number
  /** Default `reject`. */
  readonly safeDefault?: "approve" | "reject"
  /** Who asks, in the queue (default `coordination`). */
  readonly requester?: string
}

/** 0..1 to the queue's levels: ≥ 0.9 critical, ≥ 0.7 high, ≥ 0.4 normal, else low. */
export function approvalSeverity(severity: number): ApprovalSeverity {
  return severity >= 0.9 ? "critical" : severity >= 0.7 ? "high" : severity >= 0.4 ? "normal" : "low"
}

const WHY: Readonly<Record<string, string>> = {
  below_threshold: "consensus is below its threshold",
  low_confidence: "the voters' confidence is below its minimum",
  no_quorum: "too few valid votes",
  compensation_failed: "a compensation keeps failing",
}

export function escalateToApprovals(approvals: ApprovalQueue, options: ApprovalEscalationOptions = {}): EscalatePort {
  return async (e: EscalationRequest) => {
    const id = `coordination-${e.artifact.replace(/\./g, "-")}`.slice(0, 128)
    const consensus = e.subject === "consensus"
    const score = typeof e.detail.score === "number" ? e.detail.score : undefined
    const { record, created } = await approvals.request({
      id,
      tenant: e.tenant,
      requester: options.requester ?? "coordination",
      action: consensus
        ? { kind: "consensus", name: String(e.detail.question ?? e.artifact), arguments: { answer: e.detail.answer, artifact: e.artifact } }
        : { kind: "saga", name: e.artifact, arguments: { artifact: e.artifact, step: e.detail.step } },
      why: [WHY[e.reason] ?? e.reason, ...(consensus && score !== undefined ? [`consensus ${score.toFixed(2)}`] : [])],
      context: e.summary,
      severity: approvalSeverity(e.severity),
      mode: "human_approval",
      safeDefault: options.safeDefault ?? "reject",
      timeoutMs: options.timeoutMs ?? 3_600_000,
    })
    return { approval: record.id, created }
  }
}
