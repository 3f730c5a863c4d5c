/**
 * `ants turn list|show|replay` (declared in commands.ts as TURN): the journaled turns of
 * conversational agents. `replay` runs a recorded turn against the agent code of a module (no
 * model is called, no tool runs) and prints where its choices diverge. Exit codes: 0 ok, 1 not
 * found or diverged, 2 usage.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { TURNS_BUCKET } from "../../subjects/models.ts"
import type { Parsed } from "./command-spec.ts"
import { TURN } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"
import { kvTurnJournal, readTurnRecord, replayTurn, type TurnRecord, type TurnSpec, type TurnStep } from "../models/mod.ts"

export interface TurnCommandIO extends CommandIo {
  readonly nc: NatsConnection
  /** Loads the agent definitions of a module (default: the CLI's `--agents` loader). */
  readonly loadAgents?: (module: string) => Promise<ReadonlyArray<{ readonly type: string; readonly extensions: Readonly<Record<string, unknown>> }>>
}

/** Where a conversational type keeps its turn spec (defineConversationalAgent sets it). */
const TURN_SPEC_EXTENSION = "models.turnSpec"

function stepLine(s: TurnStep): string {
  if (s.kind === "model") {
    const calls = s.answer.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(", ")
    return `  ${s.seq}. model ${s.answer.deployment}${s.answer.offline ? " (offline)" : ""}: ${calls ? `calls ${calls}` : JSON.stringify(s.answer.content.slice(0, 200))}  [${s.answer.usage.inputTokens}+${s.answer.usage.outputTokens} tokens, $${s.answer.costUsd.toFixed(6)}]`
  }
  return `  ${s.seq}. tool ${s.name} ${s.ok ? "->" : "failed:"} ${JSON.stringify(s.result).slice(0, 200)}  [key ${s.idempotencyKey}]`
}

function show(r: TurnRecord): string {
  const m = r.meta
  return [
    `turn ${m.address.type}/${m.address.id}/${m.turn} (tenant ${m.address.tenant}): ${m.status}${m.error ? ` (last error: ${m.error})` : ""}`,
    `  started ${m.startedAt}${m.finishedAt ? `, finished ${m.finishedAt}` : ""}; ${m.history.length} message(s) of history`,
    `  input  ${JSON.stringify(m.input)}`,
    ...r.steps.map(stepLine),
    ...(m.answer !== undefined ? [`  answer ${JSON.stringify(m.answer)}`] : []),
  ].join("\n")
}

function parseRef(ref: string | undefined, tenant: string): { address: { tenant: string; type: string; id: string }; turn: string } {
  const p = (ref ?? "").split("/")
  if (p.length !== 3 || p.some((x) => x === "")) throw new UsageError(`a turn is named <type>/<id>/<turn>, e.g. assistant/a1/t0 (got "${ref ?? ""}")`)
  return { address: { tenant, type: p[0], id: p[1] }, turn: p[2] }
}

/** `ants turn` from code: the same parsing, help and exit codes as the shell. */
export async function turnCommand(argv: string[], io: TurnCommandIO): Promise<number> {
  return await runCommand(TURN, argv, io, (parsed, json) => runTurn(parsed, { ...io, json }))
}

export async function runTurn(parsed: Parsed<(typeof TURN)["options"]>, io: TurnCommandIO): Promise<number> {
  const v = parsed.values
  const json = io.json
  const tenant = v.tenant
  const command = parsed.subcommand
  const ref = parsed.args[0]
  const loadAgents = io.loadAgents ?? (await import("./load-agents.ts")).loadAgents
  try {
    const journal = kvTurnJournal(await new Kvm(io.nc).create(TURNS_BUCKET, { history: 1 }))
    const notFound = (what: string) => {
      const message = `no journaled turn ${what} in tenant "${tenant}"; see what there is with \`ants turn list\``
      io.out(json ? JSON.stringify({ ok: false, error: { code: "not_found", message } }) : `error: ${message}`)
      return 1
    }
    switch (command) {
      case "list": {
        const all = await journal.list(tenant, v.type, v.id)
        if (json) io.out(JSON.stringify(all.map(({ history: _h, ...m }) => m)))
        else io.out(all.length ? all.map((m) => `${m.address.type}/${m.address.id}/${m.turn}  ${m.status}  ${m.startedAt}  ${JSON.stringify(m.input.slice(0, 60))}${m.answer !== undefined ? ` -> ${JSON.stringify(m.answer.slice(0, 60))}` : ""}`).join("\n") : `no journaled turns in tenant "${tenant}"`)
        return 0
      }
      case "show": {
        const { address, turn } = parseRef(ref, tenant)
        const r = await readTurnRecord(journal, address, turn)
        if (!r) return notFound(ref!)
        io.out(json ? JSON.stringify(r) : show(r))
        return 0
      }
      case "replay": {
        const { address, turn } = parseRef(ref, tenant)
        if (!v.agents) throw new UsageError("turn replay needs --agents <module>: the agent code to replay the turn against")
        const r = await readTurnRecord(journal, address, turn)
        if (!r) return notFound(ref!)
        const def = (await loadAgents(v.agents)).find((d) => d.type === address.type)
        if (!def) throw new UsageError(`${v.agents} defines no agent type "${address.type}"`)
        const spec = def.extensions[TURN_SPEC_EXTENSION] as TurnSpec | undefined
        if (!spec) throw new UsageError(`agent type "${address.type}" in ${v.agents} runs no journaled turns (define it with defineConversationalAgent)`)
        const report = await replayTurn(r, spec)
        if (json) io.out(JSON.stringify(report))
        else {
          io.out(
            [
              `replayed ${address.type}/${address.id}/${turn} against ${v.agents}: ${report.stepsUsed} of ${report.stepsRecorded} recorded step(s) used, no model called`,
              `  recorded answer ${JSON.stringify(report.recordedAnswer)}`,
              `  replayed answer ${JSON.stringify(report.replayedAnswer)}`,
              report.divergences.length === 0 ? "  no divergence" : `  ${report.divergences.length} divergence(s):`,
              ...report.divergences.map((d) => `    step ${d.seq}: ${d.kind}: ${d.detail}`),
            ].join("\n"),
          )
        }
        return report.divergences.length === 0 ? 0 : 1
      }
      default:
        throw new UsageError(`unknown turn command "${command}"`)
    }
  } catch (e) {
    const err = e as { _tag?: string; code?: string; message?: string }
    if (err._tag === "SubjectError") {
      io.out(json ? JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }) : `error: ${err.message}`)
      return 1
    }
    throw e
  }
}
