/**
 * `ants approvals list|show|approve|reject|delegate` (declared in governance-spec.ts as
 * APPROVALS): a client of the subjects every node serves (ants._sys.approvals.<tenant>.<op>),
 * the same a dashboard uses. Exit codes: 0 ok, 1 refused (not found, already decided, no node),
 * 2 usage.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { decodeReply } from "../../subjects/envelope.ts"
import { approvalsSubject, type ApprovalOp } from "../../subjects/governance.ts"
import type { ApprovalRecord } from "../governance/mod.ts"
import type { Parsed } from "./command-spec.ts"
import type { APPROVALS } from "./governance-spec.ts"
import type { CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"

function line(r: ApprovalRecord): string {
  const state = r.status === "pending" ? `PENDING until ${r.deadline}${r.delegatedTo ? ` (delegated to ${r.delegatedTo})` : ""}` : `${r.status} by ${r.decidedBy}${r.timedOut ? " (deadline)" : ""}`
  return `${r.id}  ${r.severity.padEnd(8)}  ${r.requester}  ${r.action.name} ${JSON.stringify(r.action.arguments ?? {})}  ${state}`
}

/** The held turn's answer, as its actor replied (a conversational agent's `{text}`). */
function resumedText(reply: unknown): string {
  const text = (reply as { text?: unknown } | null)?.text
  return (typeof text === "string" ? text : JSON.stringify(reply ?? null)).replace(/\s+/g, " ").slice(0, 300)
}

function detail(r: ApprovalRecord): string {
  return [
    `approval request ${r.id} (tenant ${r.tenant}, ${r.mode})`,
    `  requester  ${r.requester}`,
    `  action     ${r.action.kind} ${r.action.name} ${JSON.stringify(r.action.arguments ?? {})}${r.action.impact ? ` (impact ${r.action.impact})` : ""}`,
    `  why        ${r.why.join("; ")}`,
    `  severity   ${r.severity}`,
    `  asked      ${r.createdAt}; deadline ${r.deadline}, then ${r.safeDefault}`,
    `  status     ${r.status}${r.decidedBy ? ` by ${r.decidedBy} at ${r.decidedAt}` : ""}${r.reason ? ` (${r.reason})` : ""}`,
    ...(r.delegatedTo ? [`  delegated  to ${r.delegatedTo}`] : []),
    ...(r.amended !== undefined ? [`  amended    ${JSON.stringify(r.amended)}`] : []),
    ...(r.resume ? [`  turn       ${r.resumed ? `taken up ${r.resumed.at}: ${r.resumed.error ? `failed: ${r.resumed.error}` : resumedText(r.resumed.reply)}` : r.status === "pending" ? "held until decided" : "waiting to be taken up"}`] : []),
    `  context:`,
    ...r.context.split("\n").map((l) => `    ${l}`),
  ].join("\n")
}

export async function runApprovals(parsed: Parsed<(typeof APPROVALS)["options"]>, io: CommandIo & { readonly nc: NatsConnection }): Promise<number> {
  const { subcommand, values: v } = parsed
  const [id] = parsed.args
  const by = v.by ?? process.env.USER ?? "cli"
  let op: ApprovalOp = "list"
  let body: Record<string, unknown> = {}
  if (subcommand === "show") [op, body] = ["show", { id }]
  else if (subcommand === "approve" || subcommand === "reject") {
    op = "decide"
    body = { id, decision: subcommand, by, ...(v.reason ? { reason: v.reason } : {}), ...(v.override ? { override: true } : {}), ...(v.arguments !== undefined ? { arguments: v.arguments } : {}) }
  } else if (subcommand === "delegate") {
    if (!v.to) throw new UsageError("approvals delegate needs --to <who>")
    ;[op, body] = ["delegate", { id, to: v.to, by }]
  }
  let env
  try {
    env = decodeReply((await io.nc.request(approvalsSubject(v.tenant, op), JSON.stringify(body), { timeout: v.timeout })).data)
  } catch (e) {
    env = { ok: false as const, error: { code: "unavailable", message: `no node answered on ${approvalsSubject(v.tenant, op)} (${(e as Error).message}); start one with: npx ants node --agents <module>` } }
  }
  if (!env.ok) {
    if (io.json) io.out(JSON.stringify(env))
    else (io.err ?? io.out).call(io, `error: ${env.error.message}`)
    return 1
  }
  if (io.json) io.out(JSON.stringify(env.value))
  else if (op === "list") {
    const all = env.value as ApprovalRecord[]
    io.out(all.length ? all.map(line).join("\n") : `no approval requests in tenant "${v.tenant}"`)
  } else io.out(detail(env.value as ApprovalRecord))
  return 0
}
