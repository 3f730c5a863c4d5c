/**
 * Layer `governance`: agents that answer to someone. A tamper-evident audit (receipts chained
 * by hash and signed by the emitting node's Ed25519 key, one JetStream stream per tenant),
 * policy evaluated before an action runs, and durable approval requests a human decides.
 *
 * Promises: a receipt is stored only on top of the receipt its writer saw last (expected last
 * sequence), so concurrent writers keep one chain per tenant; `verifyChain` names the first
 * forged, removed or reordered position; the hot path (pheromone writes, lifecycle events)
 * never waits on the audit (queued, flushed in pipelined batches); a tool call that policy
 * denies never runs, and one that needs approval runs only after an approval, at most once.
 *
 * May import: `subjects/`, agent, client, server, security, stigmergy, tasks, models, tools,
 * limits, observability. The models layer does not import it: the node fills the models'
 * `ToolGate` port with `toolGate`.
 */
export { AUDIT_DEFAULTS, auditHead, createAuditLog, ensureAuditStream } from "./audit-log.ts"
export type { AuditLog, AuditLogOptions, AuditRetention, AuditStats, RecordReceipt } from "./audit-log.ts"
export { readAuditStream, verifyAudit, viewReceipts } from "./audit-read.ts"
export type { ReceiptView } from "./audit-read.ts"
export { verifyChain } from "./audit-verify.ts"
export type { StoredMessage, TamperKind, VerifyReport } from "./audit-verify.ts"
export { GovernanceError } from "./errors.ts"
export type { GovernanceErrorCode } from "./errors.ts"
export { approvalFeedback, pheromoneReceipt, startGovernance } from "./governance.ts"
export type { FeedbackPort, Governance, GovernanceOptions } from "./governance.ts"
export { DEFAULT_KEY_FILE, keyIdOf, loadNodeKey, openReceipt, publishKey, readKeys, receiptHash, sealReceipt, signatureHolds } from "./receipts.ts"
export type { NodeKey, OpenedReceipt, PublishedKey, ReceiptBody } from "./receipts.ts"
export { approvalTriggers, createApprovals, queueOrder } from "./approvals.ts"
export type { ApprovalRecord, ApprovalStatus, Approvals, NewApproval } from "./approvals.ts"
export { serveApprovals } from "./approvals-service.ts"
export type { ApprovalsServiceOptions } from "./approvals-service.ts"
export { APPROVAL_TIMEOUT_MS, evaluatePolicy, parseRules, PolicyRule, readPolicy, SEVERITY_RANK, Severity, TenantPolicy, writePolicy } from "./policy.ts"
export { watchPolicies } from "./policy-view.ts"
export type { PolicyView } from "./policy-view.ts"
export type { PolicyAction, PolicyDecision, PolicyEffect } from "./policy.ts"
export { approvalIdOf, createModelGate, createToolGate, summariseContext } from "./tool-gate.ts"
export type { ToolGateDeps } from "./tool-gate.ts"
