/**
 * `ants dlq list|show|resubmit|purge`: the dead-letter stream from a shell (declared in
 * commands.ts as DLQ). Exit codes: 0 ok, 1 refused or not found, 2 usage.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import type { DeadLetter } from "../../subjects/tasks.ts"
import { deadLetters } from "../tasks/dead-letters.ts"
import type { Parsed } from "./command-spec.ts"
import { DLQ } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"

export interface DlqCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** `ants dlq ...` from code: the same parsing, help and exit codes as the shell. */
export async function dlqCommand(argv: string[], io: DlqCommandIO): Promise<number> {
  return await runCommand(DLQ, argv, io, (parsed, json) => runDlq(parsed, { ...io, json }))
}

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
      ? `  malformed: submit a corrected task, then remove this one with: npx ants dlq purge ${d.id}`
      : `  resubmit with: npx ants dlq resubmit ${d.id}`,
  ].join("\n")
}

/** Runs a parsed `ants dlq` command on the connection. */
export async function runDlq(parsed: Parsed<(typeof DLQ)["options"]>, io: DlqCommandIO): Promise<number> {
  const { subcommand, values: v } = parsed
  const [id] = parsed.args
  const json = io.json
  const tenant = v.tenant
  const failure = (code: string | undefined, message: string) => {
    if (json) io.out(JSON.stringify({ ok: false, error: { code, message } }))
    else (io.err ?? io.out).call(io, `error: ${message}`)
    return 1
  }
  const notFound = (what: string) =>
    failure("not_found", `no dead letter "${what}" in tenant "${tenant}"; see what there is with \`npx ants dlq list${tenant !== DEFAULT_TENANT ? ` --tenant ${tenant}` : ""}\``)
  try {
    const dlq = deadLetters(io.nc, { tenant })
    switch (subcommand) {
      case "list": {
        const all = await dlq.list(v.limit === undefined ? {} : { limit: v.limit })
        if (json) io.out(JSON.stringify(all))
        else io.out(all.length ? all.map(oneLine).join("\n") : `no dead letters in tenant "${tenant}"`)
        return 0
      }
      case "show": {
        const d = await dlq.show(id!)
        if (!d) return notFound(id!)
        io.out(json ? JSON.stringify(d) : detail(d))
        return 0
      }
      case "resubmit": {
        if (!(await dlq.show(id!))) return notFound(id!)
        const r = await dlq.resubmit(id!)
        io.out(json ? JSON.stringify(r) : `resubmitted task ${r.id} (${r.state}) on ${r.subject}\n  follow it with: npx ants task status ${r.id}`)
        return 0
      }
      default: {
        const n = await dlq.purge(id)
        if (id && n === 0) return notFound(id)
        io.out(json ? JSON.stringify({ purged: n }) : `purged ${n} dead letter${n === 1 ? "" : "s"}`)
        return 0
      }
    }
  } catch (e) {
    const err = e as { _tag?: string; code?: string; message?: string }
    if (err._tag === "SubjectError" || err._tag === "TaskEngineError") return failure(err.code, err.message ?? String(e))
    throw e
  }
}
