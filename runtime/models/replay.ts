/**
 * Replay: a recorded turn run again against new agent code, with the recorded model answers
 * and tool results instead of live calls (no model is asked, no tool runs). It reports where
 * the new code's choices diverge from the recorded ones:
 *
 *   request        the code built another request at this step (prompt, tools or history changed)
 *   tool_missing   the model asked for a tool the new code no longer has
 *   arguments      the new code's schema judges the recorded arguments differently
 *   extra_step     the new code wants a step the record does not have (e.g. a lower step limit
 *                  was not reached before, or a tool result is now followed by another call)
 *   unused_steps   the record holds steps the new code never reached
 *   answer         the final answer differs
 *
 * A regression test for prompts and tools is then: replay real turns, expect no divergence.
 */
import { TaggedError } from "../../subjects/errors.ts"
import * as Either from "effect/Either"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { TurnJournal, TurnRecord } from "./journal.ts"
import { runTurnLoop, type TurnSpec, type TurnSteps } from "./turn.ts"

export interface Divergence {
  readonly seq: number
  readonly kind: "request" | "tool_missing" | "arguments" | "extra_step" | "unused_steps" | "answer"
  readonly detail: string
}

export interface ReplayReport {
  readonly turn: string
  readonly recordedAnswer: string | undefined
  readonly replayedAnswer: string | undefined
  readonly divergences: ReadonlyArray<Divergence>
  /** Steps of the record the replay used. */
  readonly stepsUsed: number
  readonly stepsRecorded: number
}

/** Ends a replay at its first divergence (caught in `replayTurn`). */
class ReplayStop extends TaggedError("ReplayStop") {}

export async function replayTurn(record: TurnRecord, spec: TurnSpec): Promise<ReplayReport> {
  const divergences: Divergence[] = []
  const tools = new Map((spec.tools ?? []).map((t) => [t.name, t]))
  let used = 0
  const steps: TurnSteps = {
    resumed: () => used,
    async model(seq, _request, digest) {
      const r = record.steps[seq]
      if (!r || r.kind !== "model") {
        divergences.push({ seq, kind: "extra_step", detail: r ? `the new code asks the model where the record has a ${r.name} tool result` : "the new code asks the model for an answer the record does not have" })
        throw new ReplayStop("the replay diverged from the record")
      }
      used++
      if (r.request.hash !== digest.hash) {
        const added = digest.tools.filter((t) => !r.request.tools.includes(t))
        const removed = r.request.tools.filter((t) => !digest.tools.includes(t))
        const why: string[] = []
        if (added.length) why.push(`tools added: ${added.join(", ")}`)
        if (removed.length) why.push(`tools removed: ${removed.join(", ")}`)
        if (digest.messages !== r.request.messages) why.push(`${digest.messages} messages instead of ${r.request.messages}`)
        if (why.length === 0) why.push("prompt, tool descriptions or message content changed")
        divergences.push({ seq, kind: "request", detail: why.join("; ") })
      }
      return r.answer
    },
    async tool(seq, call) {
      const r = record.steps[seq]
      if (!r || r.kind !== "tool" || r.callId !== call.id) {
        divergences.push({ seq, kind: "extra_step", detail: `the new code calls ${call.name} where the record has ${r ? r.kind : "nothing"}` })
        throw new ReplayStop("the replay diverged from the record")
      }
      used++
      const tool = tools.get(call.name)
      if (!tool) {
        if (r.ok) divergences.push({ seq, kind: "tool_missing", detail: `the model called ${call.name}, which the new code does not have` })
      } else {
        const ok = Either.isRight(tool.decode(call.arguments))
        if (ok !== r.ok && (ok || r.ok)) {
          divergences.push({ seq, kind: "arguments", detail: ok ? `${call.name} now accepts arguments that were refused` : `${call.name} now refuses the recorded arguments ${JSON.stringify(call.arguments)}` })
        }
      }
      return { ok: r.ok, result: r.result }
    },
  }
  let replayed: string | undefined
  try {
    const res = await runTurnLoop({
      spec,
      address: record.meta.address,
      turn: record.meta.turn,
      history: record.meta.history,
      input: record.meta.input,
      steps,
      askAgent: async () => {
        throw new Error("replay runs no tool")
      },
    })
    replayed = res.text
  } catch (e) {
    if ((e as { _tag?: string })._tag !== "ReplayStop") {
      divergences.push({ seq: used, kind: "extra_step", detail: `the new code failed: ${(e as Error).message}` })
    }
  }
  if (used < record.steps.length && !divergences.some((d) => d.kind === "extra_step")) {
    divergences.push({ seq: used, kind: "unused_steps", detail: `${record.steps.length - used} recorded step(s) never reached` })
  }
  if (replayed !== undefined && record.meta.answer !== undefined && replayed !== record.meta.answer) {
    divergences.push({ seq: used, kind: "answer", detail: `answer ${JSON.stringify(replayed.slice(0, 120))} instead of ${JSON.stringify(record.meta.answer.slice(0, 120))}` })
  }
  return { turn: record.meta.turn, recordedAnswer: record.meta.answer, replayedAnswer: replayed, divergences, stepsUsed: used, stepsRecorded: record.steps.length }
}

/** Reads a turn's record from a journal. */
export async function readTurnRecord(journal: TurnJournal, address: ActorAddress, turn: string): Promise<TurnRecord | undefined> {
  const meta = await journal.meta(address, turn)
  if (!meta) return undefined
  return { meta, steps: await journal.steps(address, turn) }
}
