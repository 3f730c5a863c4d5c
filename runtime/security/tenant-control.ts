/**
 * The tenant kill switch and quotas as stored state: one record per tenant in the `ants_tenants`
 * bucket (subjects/tenancy.ts), written by the operator (`ants tenant suspend|resume|quota`)
 * and watched by every node. Stored in KV, a suspension survives node restarts (a node reads
 * every record before it serves) and every change is kept in the bucket's history; each is also
 * published as a receipt on the tenant's audit subject.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import {
  TENANTS_BUCKET,
  TENANTS_HISTORY,
  decodeTenantRecord,
  tenancyNoticeSubject,
  tenantKey,
  type TenantQuotas,
  type TenantRecord,
} from "../../subjects/tenancy.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Opens (creating when missing) the tenant bucket. */
export async function tenantsBucket(nc: NatsConnection, replicas = 1): Promise<KV> {
  const kvm = new Kvm(nc)
  try {
    return await kvm.create(TENANTS_BUCKET, { history: TENANTS_HISTORY, replicas })
  } catch {
    // created by someone else with other settings, or no right to create it: use it as it is
    return await kvm.open(TENANTS_BUCKET)
  }
}

export async function readTenant(kv: KV, tenant: string): Promise<TenantRecord | undefined> {
  const e = await kv.get(tenantKey(tenant))
  if (!e || e.operation !== "PUT" || e.length === 0) return undefined
  try {
    return decodeTenantRecord(JSON.parse(decoder.decode(e.value)))
  } catch {
    return undefined
  }
}

/** Rewrites a tenant's record with `change` applied, revision-checked (concurrent changes are retried), and publishes the receipt. */
async function change(
  nc: NatsConnection,
  kv: KV,
  tenant: string,
  action: string,
  by: string,
  f: (r: TenantRecord | undefined, at: string) => TenantRecord,
): Promise<TenantRecord> {
  const key = tenantKey(tenant)
  for (let attempt = 0; ; attempt++) {
    const e = await kv.get(key)
    const current = e && e.operation === "PUT" && e.length > 0 ? decodeTenantRecord(JSON.parse(decoder.decode(e.value))) : undefined
    const at = new Date().toISOString()
    const next = f(current, at)
    const body = encoder.encode(JSON.stringify(next))
    try {
      if (e && e.revision > 0) await kv.update(key, body, e.revision)
      else await kv.create(key, body)
    } catch (err) {
      if (attempt < 5) continue
      throw err
    }
    try {
      nc.publish(tenancyNoticeSubject(tenant), encoder.encode(JSON.stringify({ action, tenant, by, at, record: next })))
    } catch {
      // the bucket's history is the record; the notice becomes a signed audit receipt where a node hears it
    }
    return next
  }
}

export async function suspendTenant(nc: NatsConnection, kv: KV, tenant: string, reason: string, by: string): Promise<TenantRecord> {
  return await change(nc, kv, tenant, "suspend", by, (r, at) => ({ ...r, suspended: { reason, at, by }, updatedAt: at }))
}

export async function resumeTenant(nc: NatsConnection, kv: KV, tenant: string, by: string): Promise<TenantRecord> {
  return await change(nc, kv, tenant, "resume", by, (r, at) => {
    const { suspended: _gone, ...rest } = r ?? { updatedAt: at }
    return { ...rest, updatedAt: at }
  })
}

export async function setTenantQuotas(nc: NatsConnection, kv: KV, tenant: string, quotas: TenantQuotas, by: string): Promise<TenantRecord> {
  return await change(nc, kv, tenant, "quota", by, (r, at) => ({ ...r, quotas: { ...r?.quotas, ...quotas }, updatedAt: at }))
}

/**
 * Follows every tenant's record: `onChange` gets each record as it is now (before `ready`
 * resolves) and every later change (undefined when deleted).
 */
export async function watchTenants(
  kv: KV,
  onChange: (tenant: string, record: TenantRecord | undefined) => void,
  log: (level: "warn", message: string) => void,
): Promise<{ stop(): void }> {
  const iter = await kv.watch()
  let stopped = false
  let initial = true
  let markReady!: () => void
  const ready = new Promise<void>((r) => (markReady = r))
  // an empty bucket delivers nothing: then the watch is ready at once
  const status = await kv.status()
  if (status.values === 0) {
    initial = false
    markReady()
  }
  void (async () => {
    for await (const e of iter) {
      if (stopped) break
      let record: TenantRecord | undefined
      if (e.operation === "PUT" && e.length > 0) {
        try {
          record = decodeTenantRecord(JSON.parse(decoder.decode(e.value)))
        } catch {
          record = undefined
        }
        if (!record) log("warn", `tenant record of "${e.key}" does not fit the schema; the tenant is treated as unrestricted`)
      }
      onChange(e.key, record)
      if (initial && e.delta === 0) {
        initial = false
        markReady()
      }
    }
  })().catch((err) => {
    if (!stopped) log("warn", `tenant watch ended: ${(err as Error).message}`)
  })
  await ready
  return {
    stop() {
      stopped = true
      iter.stop()
    },
  }
}
