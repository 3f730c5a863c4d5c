/**
 * `ants task submit|status`: durable tasks from a shell (declared in commands.ts as TASK). Exit
 * codes: 0 ok, 1 refused by the task engine or not found, 2 usage.
 *
 * With --json: submit prints the SubmitResult, status prints the TaskRecord, and a refusal
 * prints `{"ok":false,"error":{"code","message"}}`.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import type { TaskRecord } from "../../subjects/tasks.ts"
import { getTaskStatus } from "../tasks/status.ts"
import { submitTask, type TaskInput } from "../tasks/submit.ts"
import { taskBacklog } from "../tasks/streams.ts"
import { readTenant, tenantsBucket } from "../security/tenant-control.ts"
import { TenantPolicy } from "../security/tenant-policy.ts"
import type { Parsed } from "./command-spec.ts"
import { TASK } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"

export interface TaskCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** `ants task ...` from code: the same parsing, help and exit codes as the shell. */
export async function taskCommand(argv: string[], io: TaskCommandIO): Promise<number> {
  return await runCommand(TASK, argv, io, (parsed, json) => runTask(parsed, { ...io, json }))
}

function fail(io: TaskCommandIO, json: boolean, code: string, message: string, exit = 1): number {
  if (json) io.out(JSON.stringify({ ok: false, error: { code, message } }))
  else (io.err ?? io.out).call(io, `error: ${message}`)
  return exit
}

/** The tenant's task backlog quota, as set with `ants tenant quota`, applied to a submission from the command line. */
async function backlogRefusal(nc: NatsConnection, tenant: string): Promise<string | undefined> {
  const record = await readTenant(await tenantsBucket(nc), tenant)
  if (record?.quotas?.taskBacklog === undefined) return undefined
  const policy = new TenantPolicy()
  policy.update(tenant, record)
  return policy.admitTask(tenant, await taskBacklog(nc, tenant))
}

export function formatRecord(r: TaskRecord): string {
  const lines = [`task ${r.id}: ${r.state}${r.state === "claimed" && r.claimedBy ? ` by ${r.claimedBy}` : ""}`]
  lines.push(`  capability ${r.capability}  priority ${r.priority}  attempts ${r.attempts}  tenant ${r.tenant}`)
  if (r.sessionId) lines.push(`  session    ${r.sessionId}`)
  if (r.notBefore) lines.push(`  not before ${r.notBefore}`)
  if (r.deadline) lines.push(`  deadline   ${r.deadline}`)
  if (r.submittedAt) lines.push(`  submitted  ${r.submittedAt}`)
  if (r.claimedBy && r.state !== "claimed") lines.push(`  run by     ${r.claimedBy}`)
  lines.push(`  updated    ${r.updatedAt}`)
  if (r.state === "completed") lines.push(`  result     ${JSON.stringify(r.result)}${r.resultTruncated ? " (truncated)" : ""}`)
  if (r.lastError) lines.push(`  last error ${r.lastError}`)
  if (r.retryAt) lines.push(`  retry at   ${r.retryAt}`)
  if (r.reason) lines.push(`  reason     ${r.reason}  (see: npx ants dlq show ${r.id})`)
  return lines.join("\n")
}

/** Runs a parsed `ants task` command on the connection. */
export async function runTask(parsed: Parsed<(typeof TASK)["options"]>, io: TaskCommandIO): Promise<number> {
  const { subcommand, args, values: v } = parsed
  const json = io.json
  const tenant = v.tenant
  try {
    if (subcommand === "submit") {
      const [capability, payloadJson] = args as [string, string | undefined]
      let payload: unknown = null
      if (payloadJson !== undefined) {
        try {
          payload = JSON.parse(payloadJson)
        } catch (e) {
          throw new UsageError(`the payload is not JSON (${(e as Error).message}); quote it, e.g. '{"ms":100}'`)
        }
      }
      const input: TaskInput = {
        capability,
        payload,
        ...(v.priority !== undefined ? { priority: v.priority } : {}),
        ...(v.key !== undefined ? { idempotencyKey: v.key } : {}),
        ...(v.session !== undefined ? { sessionId: v.session } : {}),
        ...(v["not-before"] !== undefined ? { notBefore: v["not-before"] } : {}),
        ...(v.deadline !== undefined ? { deadline: v.deadline } : {}),
      }
      const refusal = await backlogRefusal(io.nc, tenant)
      if (refusal !== undefined) return fail(io, json, "quota_exceeded", refusal)
      const r = await submitTask(io.nc, input, { tenant })
      // a duplicate stored nothing: what the task is now comes from its status, not from this submission
      const now = r.duplicate ? ((await getTaskStatus(io.nc, r.id, { tenant }).catch(() => undefined))?.state ?? "state unknown") : r.state
      if (json) io.out(JSON.stringify(r.duplicate ? { ...r, state: now } : r))
      else {
        io.out(
          `${r.duplicate ? `already submitted task ${r.id} (now ${now})` : `submitted task ${r.id} (${r.state})`} on ${r.subject}` +
            `\n  follow it with: npx ants task status ${r.id}${tenant !== DEFAULT_TENANT ? ` --tenant ${tenant}` : ""}`,
        )
      }
      return 0
    }
    const [id] = args as [string]
    const r = await getTaskStatus(io.nc, id, { tenant })
    if (!r) return fail(io, json, "not_found", `no task "${id}" in tenant "${tenant}": check the id and --tenant (records are kept 14 days)`)
    io.out(json ? JSON.stringify(r) : formatRecord(r))
    return 0
  } catch (e) {
    const err = e as { _tag?: string; code?: string; message?: string }
    if (err._tag === "TaskInputError" || err._tag === "SubjectError" || err._tag === "TaskEngineError") {
      return fail(io, json, err.code ?? "invalid_message", err.message ?? String(e))
    }
    throw e
  }
}
