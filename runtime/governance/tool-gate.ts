/**
 * The models layer's `ToolGate`, filled with the tenant's policy and the approval queue: before
 * a tool call of a turn runs, the policy decides (allow, deny, approve, notify); `approve` files
 * a request keyed by the call's idempotency key and waits for its decision. Every decision is
 * recorded in the audit (`policy`, `approval`).
 *
 * A turn resumed after its node died asks the gate again for a call whose verdict was not yet
 * journaled: the request filed before is found under the same key, and its decision (made in
 * the meantime, on any node) is used; the call still runs at most once, after an approval.
 */
import { createHash } from "node:crypto"
import type { KV } from "@nats-io/kv"
import { ModelDeniedError, type ChatMessage, type ModelGate, type ToolGate, type ToolGateCall } from "../models/mod.ts"
import type { RecordReceipt } from "./audit-log.ts"
import type { Approvals, ApprovalRecord } from "./approvals.ts"
import { evaluatePolicy, readPolicy } from "./policy.ts"
import type { PolicyView } from "./policy-view.ts"

/** The request id of a tool call: stable across resumption (16 hex digits of its key's sha256). */
export function approvalIdOf(idempotencyKey: string): string {
  return createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 16)
}

/** The last messages of a conversation in a few lines, for the approver. */
export function summariseContext(history: ReadonlyArray<ChatMessage>, max = 6): string {
  return history
    .filter((m) => m.role !== "system")
    .slice(-max)
    .map((m) => `${m.role}${m.role === "tool" && "name" in m ? ` (${(m as { name?: string }).name})` : ""}: ${m.content.replace(/\s+/g, " ").slice(0, 300)}`)
    .join("\n")
}

export interface ToolGateDeps {
  readonly policies: KV
  /** The node's watched view of the policies (policy-view.ts): no KV read per call when given. */
  readonly view?: PolicyView
  readonly approvals: Approvals
  /** Queues a receipt (kind, detail) in the tenant's audit. */
  readonly note: (tenant: string, kind: string, detail: unknown) => void
  readonly record?: RecordReceipt
}

/** The tenant's rules: from the node's watched view when there is one, else read from the bucket. */
async function rulesOf(d: Pick<ToolGateDeps, "policies" | "view">, tenant: string) {
  return (d.view ? await d.view.policy(tenant) : await readPolicy(d.policies, tenant)).rules
}

function refusal(r: ApprovalRecord): string {
  const who = r.timedOut ? `nobody decided by ${r.deadline}, so the safe default (reject) applied` : `${r.decidedBy ?? "an approver"} rejected it${r.reason ? `: ${r.reason}` : ""}`
  return `${r.action.name} was not run: approval request ${r.id} — ${who}. Do not retry it; tell the user.`
}

export function createToolGate(d: ToolGateDeps): ToolGate {
  return async (call: ToolGateCall) => {
    const tenant = call.caller.tenant
    const actor = `${call.caller.type}/${call.caller.id}`
    let decision
    try {
      decision = evaluatePolicy(await rulesOf(d, tenant), { action: "tool", agentType: call.caller.type, tool: call.tool, impact: call.impact })
    } catch (e) {
      // no policy could be read: a high-impact call does not run; a low-impact one does (the default)
      if (call.impact === "high") return { run: false, result: `${call.tool} was not run: the tenant's policy could not be read (${(e as Error).message})` }
      return { run: true }
    }
    d.note(tenant, "policy", { actor, turn: call.turn, tool: call.tool, impact: call.impact, effect: decision.effect, rule: decision.rule, reason: decision.reason })
    if (decision.effect === "allow") return { run: true }
    if (decision.effect === "deny") return { run: false, result: `${call.tool} was not run: the tenant's policy denies it (${decision.reason})` }
    const id = approvalIdOf(call.idempotencyKey)
    const base = {
      id,
      tenant,
      requester: actor,
      action: { kind: "tool", name: call.tool, arguments: call.arguments, impact: call.impact },
      why: [decision.reason, ...(call.impact === "high" ? ["the action is high-impact"] : [])],
      context: summariseContext(call.history),
      severity: decision.severity,
      safeDefault: decision.safeDefault,
      timeoutMs: decision.timeoutMs,
    }
    if (decision.effect === "notify") {
      const { created } = await d.approvals.request({ ...base, mode: "human_on_the_loop", status: "approved", decidedBy: "policy (human on the loop)", decidedAt: new Date().toISOString() })
      if (created) d.note(tenant, "approval", { id, event: "ran_for_review", actor, tool: call.tool })
      return { run: true }
    }
    const { record, created } = await d.approvals.request({ ...base, mode: "human_approval", ...(call.resume ? { resume: call.resume } : {}) })
    if (created) d.note(tenant, "approval", { id, event: "requested", actor, tool: call.tool, severity: record.severity, deadline: record.deadline, why: record.why, ...(call.resume ? { held: call.turn } : {}) })
    // a turn that may end meanwhile does: its actor is told to take it up again once decided
    if (record.status === "pending" && call.resume) {
      return { run: false, held: id, result: `${call.tool} waits for a human's decision (approval request ${id}, deadline ${record.deadline}); the turn goes on once it is decided` }
    }
    // the deadline's receipt is written by whoever applied it (this wait, or the node's sweep), once
    const { record: final, applied } = record.status === "pending" ? await d.approvals.wait(tenant, id) : { record, applied: false }
    if (applied) d.note(tenant, "approval", { id, event: "timed_out", applied: final.status, actor, tool: call.tool })
    if (final.status !== "approved") return { run: false, result: refusal(final) }
    return final.amended !== undefined ? { run: true, arguments: final.amended } : { run: true }
  }
}

/**
 * The models' ModelGate: before a model call, the tenant's `model` and `spend` rules are
 * evaluated on each deployment the router could use (its name, provider and the call's
 * estimated cost there); a deployment a rule denies (or holds for approval, which a model call
 * does not wait for) is not used. Each refusal and each `notify` is recorded in the audit.
 */
export function createModelGate(d: Pick<ToolGateDeps, "policies" | "view" | "note">): ModelGate {
  return async (call) => {
    const tenant = call.caller.tenant
    let rules
    try {
      rules = await rulesOf(d, tenant)
    } catch (e) {
      throw new ModelDeniedError(`the tenant's policy could not be read (${(e as Error).message})`)
    }
    if (!rules.some((r) => r.action === "model" || r.action === "spend")) return { deny: [] }
    const deny: string[] = []
    const reasons: string[] = []
    for (const c of call.candidates) {
      for (const action of ["model", "spend"] as const) {
        const turnUsd = call.turnSpentUsd !== undefined ? call.turnSpentUsd + c.estimatedUsd : undefined
        const decision = evaluatePolicy(rules, { action, agentType: call.caller.type, model: c.deployment, provider: c.provider, usd: c.estimatedUsd, ...(turnUsd !== undefined ? { turnUsd } : {}) })
        if (decision.rule === "default") continue
        if (decision.effect === "allow") continue
        d.note(tenant, "policy", { actor: `${call.caller.type}/${call.caller.id}`, action, model: c.deployment, provider: c.provider, estimatedUsd: c.estimatedUsd, ...(turnUsd !== undefined ? { turnUsd } : {}), effect: decision.effect, rule: decision.rule, reason: decision.reason })
        if (decision.effect === "notify") continue
        deny.push(c.deployment)
        reasons.push(`${c.deployment}: ${decision.effect === "approve" ? "needs a human's approval, which a model call does not wait for" : decision.reason}`)
        break
      }
    }
    return { deny, reason: reasons.join("; ") }
  }
}
