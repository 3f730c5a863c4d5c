/**
 * `ants dlq list|show|resubmit|purge`: the dead-letter stream from a shell. Returns an exit code
 * (0 ok, 1 refused or not found, 2 usage).
 *
 *   ants dlq list [--limit N]        dead letters of the tenant, oldest first
 *   ants dlq show <id>               one dead letter: payload, attempts, last error, reason (alias: inspect)
 *   ants dlq resubmit <id>           submit it again (fresh attempts, same id) and remove it
 *   ants dlq purge [<id>]            remove one dead letter, or all of the tenant's
 * Common: --tenant T (default `default`), --json.
 */
import { parseArgs } from "node:util"
import type { NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import type { DeadLetter } from "../../subjects/tasks.ts"
import { deadLetters } from "../tasks/dead-letters.ts"
import { UsageError, isUsageError } from "./io.ts"

export interface DlqCommandIO {
  readonly nc: NatsConnection
  readonly json: boolean
  readonly out: (s: string) => void
}

export const DLQ_USAGE = `usage: ants dlq <command> [options]
  list [--limit N]   dead-lettered tasks, oldest first
  show <id>          one dead letter (payload, attempts, last error, reason); alias: inspect <id>
  resubmit <id>      submit the task again with fresh attempts, and remove the dead letter
  purge [<id>]       remove one dead letter, or every dead letter of the tenant
options: --tenant T  --json`

const OPTIONS = {
  tenant: { type: "string" },
  json: { type: "boolean" },
  limit: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const


function oneLine(d: DeadLetter): string {
  return `${d.id}  ${d.capability}  ${d.reason}  attempts ${d.attempts}  at ${d.deadLetteredAt}  last error: ${d.lastError.slice(0, 120)}`
}

function detail(d: DeadLetter): string {
  return [
    `dead letter ${d.id} (tenant ${d.tenant})`,
    `  capability ${d.capability}  priority ${d.priority}${d.sessionId ? `  session ${d.sessionId}` : ""}`,
    `  reason     ${d.reason}`,
    `  attempts   ${d.attempts}`,
    `  last error ${d.lastError}`,
    `  submitted  ${d.submittedAt ?? "?"}`,
    `  dead since ${d.deadLetteredAt}`,
    `  subject    ${d.subject}`,
    `  payload    ${JSON.stringify(d.payload)}`,
    ...(d.raw !== undefined ? [`  raw body   ${d.raw.slice(0, 2000)}`] : []),
    ...(d.resubmits ? [`  resubmitted ${d.resubmits} time(s) before`] : []),
    d.reason === "malformed_payload"
      ? `  malformed: submit a corrected task, then remove this one with: ants dlq purge ${d.id}`
      : `  resubmit with: ants dlq resubmit ${d.id}`,
  ].join("\n")
}

export async function dlqCommand(argv: string[], io: DlqCommandIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    io.out(`${(e as Error).message}\n${DLQ_USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  const json = io.json || v.json === true
  const tenant = v.tenant ?? DEFAULT_TENANT
  const [command, id, ...extra] = positionals
  if (v.help || !command) {
    io.out(DLQ_USAGE)
    return v.help ? 0 : 2
  }
  const notFound = (what: string) => {
    const message = `no dead letter "${what}" in tenant "${tenant}"; see what there is with \`ants dlq list${tenant !== DEFAULT_TENANT ? ` --tenant ${tenant}` : ""}\``
    io.out(json ? JSON.stringify({ ok: false, error: { code: "not_found", message } }) : `error: ${message}`)
    return 1
  }
  try {
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`)
    const dlq = deadLetters(io.nc, { tenant })
    switch (command) {
      case "list": {
        if (id) throw new UsageError("dlq list takes no id (use dlq show <id>)")
        let limit: number | undefined
        if (v.limit !== undefined) {
          limit = Number(v.limit)
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got "${v.limit}"`)
        }
        const all = await dlq.list(limit === undefined ? {} : { limit })
        if (json) io.out(JSON.stringify(all))
        else io.out(all.length ? all.map(oneLine).join("\n") : `no dead letters in tenant "${tenant}"`)
        return 0
      }
      case "show":
      case "inspect": {
        if (!id) throw new UsageError(`dlq ${command} needs a task id (see \`ants dlq list\`)`)
        const d = await dlq.show(id)
        if (!d) return notFound(id)
        io.out(json ? JSON.stringify(d) : detail(d))
        return 0
      }
      case "resubmit": {
        if (!id) throw new UsageError("dlq resubmit needs a task id (see `ants dlq list`)")
        if (!(await dlq.show(id))) return notFound(id)
        const r = await dlq.resubmit(id)
        io.out(json ? JSON.stringify(r) : `resubmitted task ${r.id} (${r.state}) on ${r.subject}\n  follow it with: ants task status ${r.id}`)
        return 0
      }
      case "purge": {
        const n = await dlq.purge(id)
        if (id && n === 0) return notFound(id)
        io.out(json ? JSON.stringify({ purged: n }) : `purged ${n} dead letter${n === 1 ? "" : "s"}`)
        return 0
      }
      default:
        throw new UsageError(`unknown dlq command "${command}"`)
    }
  } catch (e) {
    if (isUsageError(e)) {
      io.out(json ? JSON.stringify({ ok: false, error: { code: "invalid_request", message: e.message } }) : `${e.message}\n${DLQ_USAGE}`)
      return 2
    }
    const err = e as { _tag?: string; code?: string; message?: string }
    if (err._tag === "SubjectError" || err._tag === "TaskEngineError") {
      io.out(json ? JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }) : `error: ${err.message}`)
      return 1
    }
    throw e
  }
}
