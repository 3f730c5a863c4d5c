/**
 * Tenants as the runtime governs them: the tenant bucket (suspension and quotas), the audit
 * kind of its receipts, and the error code of a quota refusal. Pure code.
 *
 * Bucket (JetStream KV; written by the operator's `ants tenant ...`, watched by every node):
 *
 *   ants_tenants   key <tenant>   value TenantRecord (JSON), history 64 (every change is kept:
 *                                the bucket is also the record of who suspended whom and why)
 *
 * A TenantRecord:
 *   {"suspended":{"reason":"invoice unpaid","at":"2026-12-03T14:00:00Z","by":"operator"},
 *    "quotas":{"maxActors":100,"messagesPerSecond":500,"kvBytes":10485760,"taskBacklog":1000},
 *    "updatedAt":"2026-12-03T14:00:00Z"}
 * A suspended tenant's actors are stopped (state checkpointed) on every node, its messages are
 * answered `forbidden` with the reason, its tasks wait. Each change is also announced on
 * ants._sys.notice.<tenant>.tenancy, which a node records as a signed receipt in the tenant's audit.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { token } from "./grammar.ts"
import { auditNoticeSubject } from "./governance.ts"

export const TENANTS_BUCKET = "ants_tenants"
export const TENANTS_HISTORY = 64
export const TENANCY_AUDIT_KIND = "tenancy"

export function tenantKey(tenant: string): string {
  return token("tenant", tenant)
}

/** Where a tenancy change is announced for the audit (recorded signed by a node; see auditNoticeSubject). */
export function tenancyNoticeSubject(tenant: string): string {
  return auditNoticeSubject(tenant, TENANCY_AUDIT_KIND)
}

const Count = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))

export const TenantQuotas = Schema.Struct({
  /** Actors of the tenant active at once on one node. */
  maxActors: Schema.optional(Count),
  /** Messages to the tenant's actors per second on one node (a token bucket, burst one second). */
  messagesPerSecond: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0))),
  /** Bytes of the tenant's actor state (checkpoints) one node holds. */
  kvBytes: Schema.optional(Count),
  /** Tasks of the tenant waiting in the task stream; a submission beyond it is refused. */
  taskBacklog: Schema.optional(Count),
})
export type TenantQuotas = typeof TenantQuotas.Type

export const Suspension = Schema.Struct({ reason: Schema.String, at: Schema.String, by: Schema.String })
export type Suspension = typeof Suspension.Type

export const TenantRecord = Schema.Struct({
  suspended: Schema.optional(Suspension),
  quotas: Schema.optional(TenantQuotas),
  updatedAt: Schema.String,
})
export type TenantRecord = typeof TenantRecord.Type

/** Decodes a record; undefined for anything that does not fit (a node then treats the tenant as unrestricted and says so). */
export function decodeTenantRecord(v: unknown): TenantRecord | undefined {
  const r = Schema.decodeUnknownEither(TenantRecord)(v)
  return Either.isRight(r) ? r.right : undefined
}

export function decodeTenantQuotas(v: unknown): Either.Either<TenantQuotas, string> {
  return Schema.decodeUnknownEither(TenantQuotas)(v).pipe(Either.mapLeft((e) => e.message))
}

/** The quota kinds, as counted and reported. */
export const QUOTA_KINDS = ["maxActors", "messagesPerSecond", "kvBytes", "taskBacklog"] as const
export type QuotaKind = (typeof QUOTA_KINDS)[number]
