/**
 * What a node knows of each tenant's standing: suspended or not (and why), and its quotas, from
 * the tenant bucket (runtime/security/tenant-control.ts) over the node's defaults. The node asks
 * it before a message reaches an actor and before an actor is activated; every refusal is
 * counted per tenant and kind, and reported in the node's stats.
 *
 * Where each quota holds (the node hands in the figures): `maxActors` counts the tenant's actors
 * active on this node and the message rate is this node's share of the tenant's traffic (per
 * node: both are checked on the hot path, where a swarm-wide count would cost a round trip per
 * message); `kvBytes` is the size of the tenant's actor state in `ants_state`, every node's
 * checkpoints (checked when another actor would activate), and `taskBacklog` the tenant's tasks
 * waiting in the stream (checked on submission through a node's task engine): swarm-wide.
 */
import type { QuotaKind, Suspension, TenantQuotas, TenantRecord } from "../../subjects/tenancy.ts"
import { TokenBucket } from "../limits/mod.ts"

export interface TenantPolicyOptions {
  /** Quotas of every tenant without its own (default: none). */
  readonly defaults?: TenantQuotas
  /** Per-tenant quotas given at start (the bucket's record wins). */
  readonly tenants?: Readonly<Record<string, TenantQuotas>>
}

export class TenantPolicy {
  private readonly records = new Map<string, TenantRecord>()
  /** The message-rate quota of each tenant that has one: the runtime's one token bucket (burst: a second's worth). */
  private readonly rate = new Map<string, TokenBucket>()
  /** Refusals per tenant and quota kind (node stats `quotaRefusals`). */
  readonly refusals: Record<string, Partial<Record<QuotaKind, number>>> = {}

  constructor(private readonly o: TenantPolicyOptions = {}) {}

  /** Applies a record from the tenant bucket (undefined: deleted). */
  update(tenant: string, record: TenantRecord | undefined): void {
    if (record) this.records.set(tenant, record)
    else this.records.delete(tenant)
    this.merged.delete(tenant)
    this.rate.delete(tenant)
  }

  suspended(tenant: string): Suspension | undefined {
    return this.records.get(tenant)?.suspended
  }

  private readonly merged = new Map<string, TenantQuotas>()

  /** The tenant's quotas: the bucket's record over the node's per-tenant and default quotas (cached per tenant). */
  quotas(tenant: string): TenantQuotas {
    let q = this.merged.get(tenant)
    if (q === undefined) {
      q = { ...this.o.defaults, ...this.o.tenants?.[tenant], ...this.records.get(tenant)?.quotas }
      this.merged.set(tenant, q)
    }
    return q
  }

  /** Suspended tenants and why. */
  suspensions(): Record<string, Suspension> {
    const out: Record<string, Suspension> = {}
    for (const [t, r] of this.records) if (r.suspended) out[t] = r.suspended
    return out
  }

  private refuse(tenant: string, kind: QuotaKind, message: string): string {
    const r = (this.refusals[tenant] ??= {})
    r[kind] = (r[kind] ?? 0) + 1
    return message
  }

  /** Undefined when a message of `tenant` may go on; otherwise the refusal (code `quota_exceeded`). */
  admitMessage(tenant: string, at?: number): string | undefined {
    const rate = this.quotas(tenant).messagesPerSecond
    if (rate === undefined) return undefined
    const now = at ?? Date.now()
    let bucket = this.rate.get(tenant)
    if (bucket === undefined) this.rate.set(tenant, (bucket = new TokenBucket({ ratePerSec: rate }, now)))
    if (bucket.take(1, now)) return undefined
    return this.refuse(tenant, "messagesPerSecond", `tenant "${tenant}" is over its quota of ${rate} messages per second on this node; retry later`)
  }

  /** Whether a new activation of the tenant must be checked (it has an actor or state quota). */
  limitsActivation(tenant: string): boolean {
    const q = this.quotas(tenant)
    return q.maxActors !== undefined || q.kvBytes !== undefined
  }

  /** Undefined when one more actor of `tenant` may activate next to `active` ones. */
  admitActor(tenant: string, active: number): string | undefined {
    const max = this.quotas(tenant).maxActors
    if (max === undefined || active < max) return undefined
    return this.refuse(tenant, "maxActors", `tenant "${tenant}" has ${active} active actors on this node, its quota is ${max}; an actor must passivate or stop first`)
  }

  /** Undefined when another actor may activate while the tenant holds `bytes` of actor state (all nodes). */
  admitStateBytes(tenant: string, bytes: number): string | undefined {
    const max = this.quotas(tenant).kvBytes
    if (max === undefined || bytes < max) return undefined
    return this.refuse(tenant, "kvBytes", `tenant "${tenant}" holds ${bytes} bytes of actor state (every node's checkpoints), its quota is ${max}; no new actor activates until that shrinks`)
  }

  /** Undefined when a task may join `backlog` waiting ones. */
  admitTask(tenant: string, backlog: number): string | undefined {
    const max = this.quotas(tenant).taskBacklog
    if (max === undefined || backlog < max) return undefined
    return this.refuse(tenant, "taskBacklog", `tenant "${tenant}" has ${backlog} tasks waiting, its quota is ${max}; submit again once some are done`)
  }
}
