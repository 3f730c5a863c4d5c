/**
 * `ants policy show|set` (declared in governance-spec.ts as POLICY): a tenant's rules, read and
 * written in the KV bucket `ants_policy`. Exit codes: 0 ok, 1 refused, 2 usage.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { auditNoticeSubject, POLICY_AUDIT_KIND, POLICY_BUCKET } from "../../subjects/governance.ts"
import { readPolicy, writePolicy, type PolicyRule } from "../governance/mod.ts"
import type { Parsed } from "./command-spec.ts"
import type { POLICY } from "./governance-spec.ts"
import { governanceFailure } from "./audit-command.ts"
import type { CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"

function ruleLine(r: PolicyRule, i: number): string {
  const match =
    [
      r.action && r.action !== "tool" ? `action=${r.action}` : "",
      r.tool ? `tool=${r.tool}` : "",
      r.impact ? `impact=${r.impact}` : "",
      r.agentType ? `type=${r.agentType}` : "",
      r.model ? `model=${r.model}` : "",
      r.provider ? `provider=${r.provider}` : "",
      r.minUsd !== undefined ? `minUsd=${r.minUsd}` : "",
      r.per ? `per=${r.per}` : "",
    ]
      .filter(Boolean)
      .join(" ") || "every tool call"
  const extra = r.effect === "approve" ? ` (severity ${r.severity ?? "default"}, ${r.timeoutMs ?? 300000} ms, then ${r.safeDefault ?? "reject"})` : ""
  return `${String(i + 1).padStart(2)}. ${r.effect.padEnd(7)} ${match}${extra}${r.reason ? ` — ${r.reason}` : ""}${r.id ? `  [${r.id}]` : ""}`
}

export async function runPolicy(parsed: Parsed<(typeof POLICY)["options"]>, io: CommandIo & { readonly nc: NatsConnection }): Promise<number> {
  const { subcommand, values: v } = parsed
  const tenant = v.tenant
  const kv = await new Kvm(io.nc).create(POLICY_BUCKET, { history: 5 })
  try {
    if (subcommand === "set") {
      if (v.rules === undefined) throw new UsageError("policy set needs --rules '<JSON array>' ([] for the defaults only)")
      const before = await readPolicy(kv, tenant).catch(() => undefined)
      const p = await writePolicy(kv, tenant, v.rules, v.by ?? process.env.USER ?? "cli")
      // announced for the audit: a node records it as a signed receipt (kind policy_change)
      io.nc.publish(auditNoticeSubject(tenant, POLICY_AUDIT_KIND), JSON.stringify({ tenant, by: p.by, at: p.at, rules: p.rules, before: before?.rules ?? null }))
      await io.nc.flush()
      io.out(io.json ? JSON.stringify({ tenant, ...p }) : `policy of tenant "${tenant}" set: ${p.rules.length} rule(s)`)
      return 0
    }
    const p = await readPolicy(kv, tenant)
    if (io.json) io.out(JSON.stringify({ tenant, ...p }))
    else io.out([`policy of tenant "${tenant}"${p.at ? ` (set ${p.at} by ${p.by})` : ""}:`, ...p.rules.map(ruleLine), "    default: high-impact tools need approval (5 min, then reject); everything else runs"].join("\n"))
    return 0
  } catch (e) {
    return governanceFailure(e, io)
  }
}
