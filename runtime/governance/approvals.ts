/**
 * Approval requests: durable records in the KV bucket `ants_approvals` (key `<tenant>.<id>`),
 * one per action waiting on a human. A request says who asks, what action, why (the triggers),
 * the multi-agent context summarised, its severity, its deadline and its safe default. Every
 * change is a revision-checked update, so a human's decision and the deadline cannot both win:
 * whichever is stored first decides, and the other sees it decided.
 *
 * The seed's triggers (`approvalTriggers`): confidence below 0.7, high impact, policy requires
 * it, consensus below 0.75, a novel situation.
 */
import type { KV } from "@nats-io/kv"
import { approvalKey, approvalsFilter } from "../../subjects/governance.ts"
import { GovernanceError } from "./errors.ts"
import { SEVERITY_RANK, type Severity } from "./policy.ts"

export type ApprovalStatus = "pending" | "approved" | "rejected"

export interface ApprovalRecord {
  readonly id: string
  readonly tenant: string
  /** Who asks: `<type>/<id>` of the actor. */
  readonly requester: string
  readonly action: { readonly kind: string; readonly name: string; readonly arguments?: unknown; readonly impact?: "low" | "high" }
  readonly why: ReadonlyArray<string>
  /** The conversation or multi-agent context, summarised for the approver. */
  readonly context: string
  readonly severity: Severity
  /** The delegation mode that filed it: `human_approval` (waits) or `human_on_the_loop` (ran; for review). */
  readonly mode: "human_approval" | "human_on_the_loop"
  readonly createdAt: string
  readonly deadline: string
  readonly safeDefault: "approve" | "reject"
  readonly status: ApprovalStatus
  readonly decidedBy?: string
  readonly decidedAt?: string
  readonly reason?: string
  /** True when the deadline decided (the safe default applied). */
  readonly timedOut?: boolean
  /** Arguments the approver amended (human in the loop). */
  readonly amended?: unknown
  readonly delegatedTo?: string
  /** Earlier decisions a human overrode. */
  readonly overridden?: ReadonlyArray<{ readonly status: ApprovalStatus; readonly by?: string; readonly at?: string }>
  /**
   * Set when the requesting turn ended instead of waiting (a held turn): the decision tells the
   * actor `<type>/<id>` (the requester) `tag` with `message`, and it takes the turn up again.
   */
  readonly resume?: { readonly tag: string; readonly message: unknown }
  /** The held turn taken up after the decision: when, and its answer (or why it failed). */
  readonly resumed?: { readonly at: string; readonly reply?: unknown; readonly error?: string }
}

export type NewApproval = Omit<ApprovalRecord, "status" | "createdAt" | "deadline"> & { readonly timeoutMs: number; readonly status?: ApprovalStatus }

/** Why an action should wait for a human (the seed's triggers); empty: no trigger. */
export function approvalTriggers(s: { confidence?: number; impact?: "low" | "high"; policy?: boolean; consensus?: number; novel?: boolean }): string[] {
  const why: string[] = []
  if (s.confidence !== undefined && s.confidence < 0.7) why.push(`confidence ${s.confidence} is below 0.7`)
  if (s.impact === "high") why.push("the action is high-impact")
  if (s.policy) why.push("policy requires approval")
  if (s.consensus !== undefined && s.consensus < 0.75) why.push(`consensus ${s.consensus} is below 0.75`)
  if (s.novel) why.push("the situation is novel")
  return why
}

/** Pending first (by severity, then oldest), then decided (newest first). */
export function queueOrder(a: ApprovalRecord, b: ApprovalRecord): number {
  const pa = a.status === "pending" ? 0 : 1
  const pb = b.status === "pending" ? 0 : 1
  if (pa !== pb) return pa - pb
  if (pa === 0) return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.createdAt.localeCompare(b.createdAt)
  return (b.decidedAt ?? "").localeCompare(a.decidedAt ?? "")
}

export interface Approvals {
  /** Files a request, or returns the one already filed under its id (a resumed turn asking again). */
  request(r: NewApproval): Promise<{ record: ApprovalRecord; created: boolean }>
  get(tenant: string, id: string): Promise<ApprovalRecord | undefined>
  list(tenant: string): Promise<ApprovalRecord[]>
  /** A human's decision; a decided request changes only with `override`. */
  decide(tenant: string, id: string, d: { decision: "approve" | "reject"; by: string; reason?: string; override?: boolean; arguments?: unknown }): Promise<ApprovalRecord>
  delegate(tenant: string, id: string, to: string, by: string): Promise<ApprovalRecord>
  /**
   * Applies the safe default to a pending request past its deadline; returns it as it now is,
   * and whether this call applied the default (false when it was decided or expired before).
   */
  expire(tenant: string, id: string, now?: number): Promise<{ record: ApprovalRecord; applied: boolean } | undefined>
  /**
   * Resolves when the request is decided (by anyone, on any node), or applies its deadline;
   * `applied` says whether this wait applied the safe default itself (so that one receipt notes it).
   */
  wait(tenant: string, id: string, signal?: AbortSignal): Promise<{ record: ApprovalRecord; applied: boolean }>
  /** Every tenant's pending requests past their deadline that this sweep decided by their safe default. */
  sweep(now?: number): Promise<ApprovalRecord[]>
  /** Decided requests whose held turn has not been taken up, decided at least `graceMs` ago (its resume was lost). */
  unresumed(graceMs: number, now?: number): Promise<ApprovalRecord[]>
  /** Records that the held turn was taken up (its reply, or why it failed). */
  markResumed(tenant: string, id: string, outcome: { reply?: unknown; error?: string }): Promise<ApprovalRecord>
}

const MAX_CAS = 20

export function createApprovals(kv: KV): Approvals {
  const read = async (tenant: string, id: string) => {
    const e = await kv.get(approvalKey(tenant, id))
    return e && e.operation === "PUT" ? { record: e.json<ApprovalRecord>(), revision: e.revision } : undefined
  }
  // read, change, write back only if unchanged since: retried when another writer got there first
  const change = async (tenant: string, id: string, f: (r: ApprovalRecord) => ApprovalRecord | undefined): Promise<ApprovalRecord> => {
    for (let i = 0; i < MAX_CAS; i++) {
      const cur = await read(tenant, id)
      if (!cur) throw new GovernanceError("not_found", `no approval request "${id}" in tenant "${tenant}"; see the queue with: npx ants approvals list --tenant ${tenant}`)
      const next = f(cur.record)
      if (!next) return cur.record
      try {
        await kv.update(approvalKey(tenant, id), JSON.stringify(next), cur.revision)
        return next
      } catch {
        // changed meanwhile: read again
      }
    }
    throw new GovernanceError("unavailable", `approval request "${id}" kept changing under ${MAX_CAS} attempts; retry`)
  }
  const self: Approvals = {
    async request(n) {
      const now = Date.now()
      const { timeoutMs, ...rest } = n
      const record: ApprovalRecord = { ...rest, status: n.status ?? "pending", createdAt: new Date(now).toISOString(), deadline: new Date(now + timeoutMs).toISOString() }
      try {
        await kv.create(approvalKey(n.tenant, n.id), JSON.stringify(record))
        return { record, created: true }
      } catch (e) {
        const had = await read(n.tenant, n.id)
        if (had) return { record: had.record, created: false }
        throw new GovernanceError("unavailable", `the approval request could not be filed: ${(e as Error).message}`, { cause: e })
      }
    },
    get: async (tenant, id) => (await read(tenant, id))?.record,
    async list(tenant) {
      const out: ApprovalRecord[] = []
      for await (const k of await kv.keys(approvalsFilter(tenant))) {
        const e = await kv.get(k)
        if (e && e.operation === "PUT") out.push(e.json<ApprovalRecord>())
      }
      return out.sort(queueOrder)
    },
    decide: (tenant, id, d) =>
      change(tenant, id, (r) => {
        if (r.status !== "pending" && !d.override) {
          throw new GovernanceError("conflict", `approval request "${id}" was already ${r.status} by ${r.decidedBy ?? "?"} at ${r.decidedAt ?? "?"}; to change it, decide again with override`)
        }
        const status: ApprovalStatus = d.decision === "approve" ? "approved" : "rejected"
        const overridden = r.status !== "pending" ? [...(r.overridden ?? []), { status: r.status, by: r.decidedBy, at: r.decidedAt }] : r.overridden
        const { timedOut: _t, ...rest } = r
        return { ...rest, status, decidedBy: d.by, decidedAt: new Date().toISOString(), ...(d.reason ? { reason: d.reason } : {}), ...(d.arguments !== undefined ? { amended: d.arguments } : {}), ...(overridden ? { overridden } : {}) }
      }),
    delegate: (tenant, id, to, by) =>
      change(tenant, id, (r) => {
        if (r.status !== "pending") throw new GovernanceError("conflict", `approval request "${id}" was already ${r.status}; only a pending request can be delegated`)
        return { ...r, delegatedTo: to, reason: `delegated by ${by}` }
      }),
    async expire(tenant, id, now = Date.now()) {
      // whether the write that `change` made (its last call of f returned a record) was ours
      let applied = false
      const record = await change(tenant, id, (r) => {
        const next: ApprovalRecord | undefined =
          r.status === "pending" && Date.parse(r.deadline) <= now
            ? { ...r, status: r.safeDefault === "approve" ? "approved" : "rejected", decidedBy: "deadline", decidedAt: new Date(now).toISOString(), timedOut: true, reason: `no decision by ${r.deadline}: the safe default (${r.safeDefault}) applies` }
            : undefined
        applied = next !== undefined
        return next
      }).catch((e: unknown) => {
        if ((e as GovernanceError).code === "not_found") return undefined
        throw e
      })
      return record && { record, applied }
    },
    async wait(tenant, id, signal) {
      for (;;) {
        const r = await self.get(tenant, id)
        if (!r) throw new GovernanceError("not_found", `approval request "${id}" of tenant "${tenant}" is gone`)
        if (r.status !== "pending") return { record: r, applied: false }
        const left = Date.parse(r.deadline) - Date.now()
        if (left <= 0) {
          const e = await self.expire(tenant, id)
          if (e && e.record.status !== "pending") return e
          continue
        }
        if (signal?.aborted) throw signal.reason ?? new Error("aborted")
        // a watch wakes us at the decision; the deadline (or a lost watch) at most a second late
        const watch = await kv.watch({ key: approvalKey(tenant, id) })
        const timer = setTimeout(() => watch.stop(), Math.min(left, 30_000) + 50)
        const onAbort = () => watch.stop()
        signal?.addEventListener("abort", onAbort, { once: true })
        try {
          for await (const e of watch) if (e.operation === "PUT" && e.json<ApprovalRecord>().status !== "pending") break
        } finally {
          clearTimeout(timer)
          signal?.removeEventListener("abort", onAbort)
          watch.stop()
        }
      }
    },
    async sweep(now = Date.now()) {
      const decided: ApprovalRecord[] = []
      for await (const k of await kv.keys()) {
        const e = await kv.get(k)
        if (!e || e.operation !== "PUT") continue
        const r = e.json<ApprovalRecord>()
        if (r.status !== "pending" || Date.parse(r.deadline) > now) continue
        const x = await self.expire(r.tenant, r.id, now).catch(() => undefined)
        if (x?.applied) decided.push(x.record)
      }
      return decided
    },
    async unresumed(graceMs, now = Date.now()) {
      const out: ApprovalRecord[] = []
      for await (const k of await kv.keys()) {
        const e = await kv.get(k)
        if (!e || e.operation !== "PUT") continue
        const r = e.json<ApprovalRecord>()
        if (r.resume && !r.resumed && r.status !== "pending" && Date.parse(r.decidedAt ?? r.deadline) + graceMs <= now) out.push(r)
      }
      return out
    },
    markResumed: (tenant, id, outcome) => change(tenant, id, (r) => ({ ...r, resumed: { at: new Date().toISOString(), ...outcome } })),
  }
  return self
}
