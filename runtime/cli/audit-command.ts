/**
 * `ants audit tail|verify` (declared in commands.ts as AUDIT): a tenant's audit receipts from a
 * shell, and the check of their chain. Exit codes: 0 ok, 1 the chain does not hold (or no
 * stream), 2 usage.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { hasTag } from "../../subjects/errors.ts"
import { readAuditStream, verifyAudit, viewReceipts } from "../governance/mod.ts"
import type { Parsed } from "./command-spec.ts"
import type { AUDIT } from "./governance-spec.ts"
import type { CommandIo } from "./run-command.ts"

export interface AuditCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

function short(detail: unknown): string {
  const s = JSON.stringify(detail) ?? "null"
  return s.length > 160 ? `${s.slice(0, 157)}...` : s
}

export async function runAudit(parsed: Parsed<(typeof AUDIT)["options"]>, io: AuditCommandIO): Promise<number> {
  const { subcommand, values: v } = parsed
  const tenant = v.tenant
  try {
    if (subcommand === "tail") {
      const { messages } = await readAuditStream(io.nc, tenant, { last: v.last })
      const views = viewReceipts(messages)
      if (io.json) io.out(JSON.stringify(views))
      else if (views.length === 0) io.out(`no receipts in tenant "${tenant}"`)
      else
        io.out(
          views
            .map((r) => ("error" in r ? `#${r.seq}  ${r.subject}  NOT A RECEIPT: ${r.error}` : `#${r.seq}  ${r.at}  ${r.kind.padEnd(10)}  ${r.node}  ${short(r.detail)}`))
            .join("\n"),
        )
      return 0
    }
    const report = await verifyAudit(io.nc, tenant)
    if (io.json) io.out(JSON.stringify({ tenant, ...report }))
    else if (report.ok) io.out(`audit of tenant "${tenant}" holds: ${report.checked} receipt(s), positions ${report.startsAt}..${report.lastSeq}, each signed by a published node key and chained to the one before${report.startsAt > 1 ? ` (positions before ${report.startsAt} were removed by the stream's retention)` : ""}`)
    else io.out(`audit of tenant "${tenant}" is BROKEN at position ${report.firstBad!.position}: ${report.firstBad!.problem}: ${report.firstBad!.reason} (${report.checked} receipt(s) before it hold)`)
    return report.ok ? 0 : 1
  } catch (e) {
    return governanceFailure(e, io)
  }
}

/** A GovernanceError as the command's failure (exit 1, `{"ok":false,"error"}` with --json); anything else is thrown on. */
export function governanceFailure(e: unknown, io: CommandIo): number {
  if (!hasTag(e, "GovernanceError")) throw e
  const err = e as Error & { code: string }
  if (io.json) io.out(JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }))
  else (io.err ?? io.out).call(io, `error: ${err.message}`)
  return 1
}
