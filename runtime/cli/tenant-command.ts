/**
 * `ants tenant` (declared in commands.ts as TENANT): the kill switch and quotas of a tenant,
 * stored in the tenant bucket that every node watches (runtime/security/tenant-control.ts).
 * Run as the operator principal.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { token } from "../../subjects/grammar.ts"
import type { TenantQuotas } from "../../subjects/tenancy.ts"
import { readTenant, resumeTenant, setTenantQuotas, suspendTenant, tenantsBucket } from "../security/tenant-control.ts"
import type { Parsed } from "./command-spec.ts"
import type { TENANT } from "./commands.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

const by = () => process.env.USER ?? process.env.LOGNAME ?? "operator"

const QUOTA_FLAGS = { "max-actors": "maxActors", "messages-per-second": "messagesPerSecond", "kv-bytes": "kvBytes", "task-backlog": "taskBacklog" } as const

export async function runTenant(parsed: Parsed<(typeof TENANT)["options"]>, io: Io & { readonly json: boolean; readonly nc: NatsConnection }): Promise<number> {
  const { values, subcommand } = parsed
  const tenant = parsed.args[0]!
  try {
    token("tenant", tenant)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const quotas: Record<string, number> = {}
  for (const [f, key] of Object.entries(QUOTA_FLAGS)) {
    const v = values[f as keyof typeof QUOTA_FLAGS]
    if (v !== undefined) quotas[key] = v
  }
  if (subcommand === "suspend" && !values.reason) throw new UsageError("tenant suspend needs --reason <text> (it is stored and given to the tenant's callers)")
  if (subcommand === "quota" && Object.keys(quotas).length === 0) {
    throw new UsageError(`tenant quota needs at least one of ${Object.keys(QUOTA_FLAGS).map((f) => `--${f}`).join(", ")}`)
  }
  const kv = await tenantsBucket(io.nc)
  const record =
    subcommand === "suspend"
      ? await suspendTenant(io.nc, kv, tenant, values.reason!, by())
      : subcommand === "resume"
        ? await resumeTenant(io.nc, kv, tenant, by())
        : subcommand === "quota"
          ? await setTenantQuotas(io.nc, kv, tenant, quotas as TenantQuotas, by())
          : await readTenant(kv, tenant)
  if (io.json) io.out(JSON.stringify({ tenant, record: record ?? null }))
  else if (!record) io.out(`tenant ${tenant}: no record (active, no quotas beyond the nodes' defaults)`)
  else {
    io.out(`tenant ${tenant}: ${record.suspended ? `SUSPENDED since ${record.suspended.at} by ${record.suspended.by}: ${record.suspended.reason}` : "active"}`)
    if (record.quotas) io.out(`  quotas: ${Object.entries(record.quotas).map(([k, v]) => `${k} ${v}`).join(", ")}`)
  }
  return 0
}
