/**
 * `ants tenant`: the kill switch and quotas of a tenant, stored in the tenant bucket that every
 * node watches (runtime/security/tenant-control.ts). Run as the operator principal.
 */
import { parseArgs } from "node:util"
import type { NatsConnection } from "@nats-io/nats-core"
import { readTenant, resumeTenant, setTenantQuotas, suspendTenant, tenantsBucket } from "../security/tenant-control.ts"
import { decodeTenantQuotas, type TenantQuotas } from "../../subjects/tenancy.ts"
import { token } from "../../subjects/grammar.ts"

export const TENANT_USAGE =
  "ants tenant suspend <tenant> --reason <text> | resume <tenant> | show <tenant>\n" +
  "       | quota <tenant> [--max-actors N] [--messages-per-second N] [--kv-bytes N] [--task-backlog N]   [--json]\n" +
  "  suspend: within seconds every actor of the tenant on every node is stopped (state checkpointed), its\n" +
  "  messages are answered forbidden with the reason, its tasks wait; stored, so it survives node restarts."

interface Io {
  readonly nc: NatsConnection
  readonly json: boolean
  out(s: string): void
  err(s: string): void
}

const by = () => process.env.USER ?? process.env.LOGNAME ?? "operator"

export async function tenantCommand(argv: string[], io: Io): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: "string" },
        "max-actors": { type: "string" },
        "messages-per-second": { type: "string" },
        "kv-bytes": { type: "string" },
        "task-backlog": { type: "string" },
      },
    })
  } catch (e) {
    io.err(`ants tenant: ${(e as Error).message}\nusage: ${TENANT_USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const [verb, tenant] = positionals
  if (!verb || !tenant || !["suspend", "resume", "show", "quota"].includes(verb)) {
    io.err(`ants tenant: a sub-command and a tenant are required\nusage: ${TENANT_USAGE}`)
    return 2
  }
  try {
    token("tenant", tenant)
  } catch (e) {
    io.err(`ants tenant: ${(e as Error).message}`)
    return 2
  }
  const kv = await tenantsBucket(io.nc)
  let record
  if (verb === "suspend") {
    if (!values.reason) {
      io.err(`ants tenant: suspend needs --reason <text> (it is stored and given to the tenant's callers)\nusage: ${TENANT_USAGE}`)
      return 2
    }
    record = await suspendTenant(io.nc, kv, tenant, values.reason, by())
  } else if (verb === "resume") {
    record = await resumeTenant(io.nc, kv, tenant, by())
  } else if (verb === "quota") {
    const raw: Record<string, number> = {}
    const flags = { "max-actors": "maxActors", "messages-per-second": "messagesPerSecond", "kv-bytes": "kvBytes", "task-backlog": "taskBacklog" } as const
    for (const [flag, key] of Object.entries(flags)) {
      const v = values[flag as keyof typeof flags]
      if (v !== undefined) raw[key] = Number(v)
    }
    const q = decodeTenantQuotas(raw)
    if (q._tag === "Left" || Object.keys(raw).length === 0) {
      io.err(`ants tenant: quota needs at least one of --max-actors, --messages-per-second, --kv-bytes, --task-backlog, as non-negative numbers${q._tag === "Left" ? ` (${q.left})` : ""}\nusage: ${TENANT_USAGE}`)
      return 2
    }
    record = await setTenantQuotas(io.nc, kv, tenant, q.right as TenantQuotas, by())
  } else {
    record = await readTenant(kv, tenant)
  }
  if (io.json) io.out(JSON.stringify({ tenant, record: record ?? null }))
  else if (!record) io.out(`tenant ${tenant}: no record (active, no quotas beyond the nodes' defaults)`)
  else {
    io.out(`tenant ${tenant}: ${record.suspended ? `SUSPENDED since ${record.suspended.at} by ${record.suspended.by}: ${record.suspended.reason}` : "active"}`)
    if (record.quotas) io.out(`  quotas: ${Object.entries(record.quotas).map(([k, v]) => `${k} ${v}`).join(", ")}`)
  }
  return 0
}
