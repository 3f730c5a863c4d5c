/**
 * `ants task submit|status`: durable tasks from a shell. The main CLI connects and passes the
 * connection; this module parses its own arguments and returns an exit code (0 ok, 1 refused or
 * not found, 2 usage).
 *
 *   ants task submit <capability> '<json payload>' [--priority critical|high|normal|low|background|1..10]
 *                    [--key K] [--session S] [--not-before ISO|+30s|+5m|+24h] [--deadline ISO|+D] [--tenant T]
 *   ants task status <id> [--tenant T]
 *
 * With --json: submit prints the SubmitResult, status prints the TaskRecord, and a refusal
 * prints `{"ok":false,"error":{"code","message"}}`.
 */
import { parseArgs } from "node:util"
import type { NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import type { TaskRecord } from "../../subjects/tasks.ts"
import { getTaskStatus } from "../tasks/status.ts"
import { submitTask, type TaskInput } from "../tasks/submit.ts"
import { UsageError, isUsageError } from "./io.ts"

export interface TaskCommandIO {
  readonly nc: NatsConnection
  readonly json: boolean
  readonly out: (s: string) => void
}

export const TASK_USAGE = `usage: ants task <command> [options]
  submit <capability> '<json payload>' [--priority P] [--key K] [--session S] [--not-before T] [--deadline T]
  status <id>
options: --tenant T  --json
priority P: critical (10), high (7), normal (5, default), low (3), background (1), or 1..10
times T: ISO-8601 (2026-01-31T09:00:00Z), epoch ms, or relative +500ms / +30s / +5m / +24h
example: ants task submit example.work '{"ms":100}' --priority high --key order-42`

const OPTIONS = {
  tenant: { type: "string" },
  json: { type: "boolean" },
  priority: { type: "string" },
  key: { type: "string" },
  session: { type: "string" },
  "not-before": { type: "string" },
  deadline: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const


/** `+30s` / ISO / epoch ms → epoch ms. */
export function parseWhen(flag: string, v: string, now = Date.now()): number {
  const rel = /^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim())
  if (rel) {
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as "ms" | "s" | "m" | "h" | "d"]
    return now + Number(rel[1]) * unit
  }
  if (/^\d+$/.test(v)) return Number(v)
  const ms = Date.parse(v)
  if (!Number.isFinite(ms)) throw new UsageError(`--${flag} "${v}" is not a time: use ISO-8601 (2026-01-31T09:00:00Z), epoch ms, or +30s / +5m / +24h`)
  return ms
}

function parsePriority(v: string): TaskInput["priority"] {
  if (/^\d+$/.test(v)) return Number(v)
  return v as TaskInput["priority"]
}

function fail(io: TaskCommandIO, json: boolean, code: string, message: string, exit = 1): number {
  io.out(json ? JSON.stringify({ ok: false, error: { code, message } }) : `error: ${message}`)
  return exit
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
  if (r.reason) lines.push(`  reason     ${r.reason}  (see: ants dlq show ${r.id})`)
  return lines.join("\n")
}

export async function taskCommand(argv: string[], io: TaskCommandIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    io.out(`${(e as Error).message}\n${TASK_USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  const json = io.json || v.json === true
  const tenant = v.tenant ?? DEFAULT_TENANT
  const [command, ...rest] = positionals
  if (v.help || !command) {
    io.out(TASK_USAGE)
    return v.help ? 0 : 2
  }
  try {
    if (command === "submit") {
      const [capability, payloadJson, ...extra] = rest
      if (!capability) throw new UsageError("task submit needs a capability, e.g. ants task submit example.work '{\"ms\":100}'")
      if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(" ")} (quote the JSON payload as one argument)`)
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
        ...(v.priority !== undefined ? { priority: parsePriority(v.priority) } : {}),
        ...(v.key !== undefined ? { idempotencyKey: v.key } : {}),
        ...(v.session !== undefined ? { sessionId: v.session } : {}),
        ...(v["not-before"] !== undefined ? { notBefore: parseWhen("not-before", v["not-before"]) } : {}),
        ...(v.deadline !== undefined ? { deadline: parseWhen("deadline", v.deadline) } : {}),
      }
      const r = await submitTask(io.nc, input, { tenant })
      if (json) io.out(JSON.stringify(r))
      else {
        io.out(
          `${r.duplicate ? "already submitted" : "submitted"} task ${r.id} (${r.state}) on ${r.subject}` +
            `\n  follow it with: ants task status ${r.id}${tenant !== DEFAULT_TENANT ? ` --tenant ${tenant}` : ""}`,
        )
      }
      return 0
    }
    if (command === "status") {
      const [id, ...extra] = rest
      if (!id) throw new UsageError("task status needs a task id (printed by `ants task submit`)")
      if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`)
      const r = await getTaskStatus(io.nc, id, { tenant })
      if (!r) return fail(io, json, "not_found", `no task "${id}" in tenant "${tenant}": check the id and --tenant (records are kept 14 days)`)
      io.out(json ? JSON.stringify(r) : formatRecord(r))
      return 0
    }
    throw new UsageError(`unknown task command "${command}"`)
  } catch (e) {
    if (isUsageError(e)) {
      io.out(json ? JSON.stringify({ ok: false, error: { code: "invalid_request", message: e.message } }) : `${e.message}\n${TASK_USAGE}`)
      return 2
    }
    const err = e as { _tag?: string; code?: string; message?: string }
    if (err._tag === "TaskInputError" || err._tag === "SubjectError" || err._tag === "TaskEngineError") {
      return fail(io, json, err.code ?? "invalid_message", err.message ?? String(e))
    }
    throw e
  }
}
