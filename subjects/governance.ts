/**
 * The governance layer's part of the wire contract: the tamper-evident audit, the nodes'
 * public keys, per-tenant policy, and approval requests with the subjects other interfaces (a
 * dashboard, a chat bot) use to list and decide them. Pure code: built and parsed here only.
 *
 *   stream ANTS_AUDIT_<tenant>   captures ants.<tenant>.audit.>  (deny delete, deny purge)
 *   ants.<tenant>.audit.<kind>   one receipt, JSON {"body":"<JSON text>","sig":"<base64>"}; the
 *                                body is {"v":1,"n","tenant","kind","at","node","key","prev","detail"}
 *                                (n = its stream sequence, prev = sha256 hex of the previous
 *                                receipt's bytes, key = the id of the signing key)
 *   KV ants_audit_keys  <keyId>  a node's public key {"keyId","node","publicKey"(PEM),"at"}
 *   KV ants_policy      <tenant> the tenant's rules {"rules":[...],"at","by"}
 *   KV ants_approvals   <tenant>.<id>  one approval request and its decision
 *
 *   ants._sys.approvals.<tenant>.list      {} -> {"ok":true,"value":[ApprovalRecord...]}  (pending first, by severity)
 *   ants._sys.approvals.<tenant>.show      {"id"} -> ApprovalRecord
 *   ants._sys.approvals.<tenant>.decide    {"id","decision":"approve"|"reject","by","reason"?,"override"?} -> ApprovalRecord
 *   ants._sys.approvals.<tenant>.delegate  {"id","to","by"} -> ApprovalRecord
 *   ants._sys.approvals.<tenant>.decided.<id>  event: the record, once decided (by a human or its deadline)
 */
import { ROOT, token } from "./grammar.ts"

export const AUDIT_KEYS_BUCKET = "ants_audit_keys"
export const POLICY_BUCKET = "ants_policy"
export const APPROVALS_BUCKET = "ants_approvals"

/** The audit stream of one tenant. */
export function auditStreamName(tenant: string): string {
  return `ANTS_AUDIT_${token("tenant", tenant)}`
}

/** What the tenant's audit stream captures. */
export function auditStreamSubjects(tenant: string): string[] {
  return [`${ROOT}.${token("tenant", tenant)}.audit.>`]
}

/** The tenant of an audit stream's name, or undefined when it is not one. */
export function parseAuditStreamName(name: string): string | undefined {
  const m = /^ANTS_AUDIT_([A-Za-z0-9_-]+)$/.exec(name)
  return m?.[1]
}

export type ApprovalOp = "list" | "show" | "decide" | "delegate"
export const APPROVAL_OPS: ReadonlyArray<ApprovalOp> = ["list", "show", "decide", "delegate"]

/** `ants._sys.approvals.<tenant>.<op>`: request/reply served by every node (one answers). */
export function approvalsSubject(tenant: string, op: ApprovalOp): string {
  return `${ROOT}._sys.approvals.${token("tenant", tenant)}.${op}`
}

/** What a node serves: every tenant's approval requests. */
export const APPROVALS_REQUESTS_WILDCARD = `${ROOT}._sys.approvals.*.*`

/** The tenant and operation of an approvals request subject. */
export function parseApprovalsSubject(subject: string): { tenant: string; op: ApprovalOp } | undefined {
  const p = subject.split(".")
  if (p.length !== 5 || p[0] !== ROOT || p[1] !== "_sys" || p[2] !== "approvals") return undefined
  const op = p[4] as ApprovalOp
  if (!APPROVAL_OPS.includes(op)) return undefined
  return { tenant: token("tenant", p[3]), op }
}

/** `ants._sys.approvals.<tenant>.decided.<id>`: published once a request is decided. */
export function approvalDecidedSubject(tenant: string, id: string): string {
  return `${ROOT}._sys.approvals.${token("tenant", tenant)}.decided.${token("id", id)}`
}

/**
 * `ants._sys.notice.<tenant>.<kind>`: a change made outside a node (a tenant suspended, a
 * policy set from the CLI) announced for the audit: one node (queue group) records it as a
 * signed receipt of that kind in the tenant's chain. Not captured by the audit stream itself,
 * which holds only receipts a node signed.
 */
export function auditNoticeSubject(tenant: string, kind: string): string {
  return `${ROOT}._sys.notice.${token("tenant", tenant)}.${token("kind", kind)}`
}

export const AUDIT_NOTICE_WILDCARD = `${ROOT}._sys.notice.*.*`

/** The tenant and kind of a notice subject, or undefined. */
export function parseAuditNoticeSubject(subject: string): { tenant: string; kind: string } | undefined {
  const p = subject.split(".")
  if (p.length !== 5 || p[0] !== ROOT || p[1] !== "_sys" || p[2] !== "notice") return undefined
  return { tenant: p[3]!, kind: p[4]! }
}

export const POLICY_AUDIT_KIND = "policy_change"

/** Key of one approval request. */
export function approvalKey(tenant: string, id: string): string {
  return `${token("tenant", tenant)}.${token("id", id)}`
}

/** Every approval request of a tenant. */
export function approvalsFilter(tenant: string): string {
  return `${token("tenant", tenant)}.>`
}

/** Key of a tenant's policy. */
export function policyKey(tenant: string): string {
  return token("tenant", tenant)
}

/** Key of a public key in the keys bucket. */
export function auditKeyKey(keyId: string): string {
  return token("id", keyId)
}

/** The actor of a lifecycle subject (`ants._sys.lifecycle.<tenant>.<type>.<id>`), or undefined. */
export function parseLifecycleSubject(subject: string): { tenant: string; type: string; id: string } | undefined {
  const p = subject.split(".")
  if (p.length !== 6 || p[0] !== ROOT || p[1] !== "_sys" || p[2] !== "lifecycle") return undefined
  return { tenant: p[3]!, type: p[4]!, id: p[5]! }
}
