/**
 * Step 7 of `ants demo`: assistants that think. Three `assistant` actors each run a turn through
 * the offline provider (no key needed): the model calls the tool `counter_add`, an ask to a
 * shared counter actor, and answers from its result; a fourth turn reads the counter with
 * `counter_get`. Every figure printed is read back from the system: the replies, the counter,
 * the journaled turns and the model spend. Last, the reader's turn is replayed from its journal
 * against the assistant's code (no model called), as `ants turn replay` does.
 */
import { Kvm } from "@nats-io/kv"
import { counter } from "../../actors/examples/counter.ts"
import { assistant } from "../../actors/examples/assistant.ts"
import { TURNS_BUCKET } from "../../subjects/models.ts"
import type { AntsNode } from "../node/node.ts"
import { TURN_SPEC_EXTENSION } from "../agent/conversational-agent.ts"
import { kvTurnJournal, readTurnRecord, replayTurn, type TurnSpec } from "../models/mod.ts"
import { readModelSpend } from "./cost-command.ts"

export interface AssistantsSummary {
  readonly replies: ReadonlyArray<string>
  readonly total: number
  readonly offline: boolean
  readonly turnsJournaled: number
  readonly modelCalls: number
  /** The reader's turn replayed from the journal: recorded steps used, divergences found. */
  readonly replay: { readonly stepsUsed: number; readonly stepsRecorded: number; readonly divergences: number } | undefined
  readonly correct: boolean
}

export async function assistantsStep(node: AntsNode, say: (s: string) => void): Promise<AssistantsSummary> {
  const run = node.id.replace(/^node-/, "")
  const tally = `tally-${run}`
  say(`\n7. assistants think: 3 assistant actors add to counter ${tally} through a model's tool calls, a 4th reads it`)
  const replies: string[] = []
  let offline = true
  const turns = await Promise.all(
    [1, 2, 3].map((n) => node.client.ref(assistant, `helper${n}-${run}`).ask("Chat", { text: `please counter_add id=${tally} n=${n}` }, { timeoutMs: 30_000 })),
  )
  const read = await node.client.ref(assistant, `reader-${run}`).ask("Chat", { text: `what is counter_get id=${tally}?` }, { timeoutMs: 30_000 })
  for (const [i, t] of [...turns, read].entries()) {
    replies.push(t.text)
    offline &&= t.offline
    say(`  ${i < 3 ? `helper${i + 1}` : "reader"} (${t.turn}${t.offline ? ", offline model" : ""}): ${t.text}`)
  }
  const { total } = await node.client.ref(counter, tally).ask("Get", {})
  const journal = kvTurnJournal(await new Kvm(node.nc).open(TURNS_BUCKET))
  const journaled = (await journal.list("default", "assistant")).filter((m) => m.address.id.endsWith(run) && m.status === "done").length
  const spend = (await readModelSpend(node.nc)).byType.assistant
  say(`  counter ${tally} = ${total} (1 + 2 + 3); ${journaled} turn(s) journaled step by step in KV ${TURNS_BUCKET}; model calls so far: ${spend?.calls ?? 0}, tokens ${spend?.inputTokens ?? 0}/${spend?.outputTokens ?? 0}, $${(spend?.usd ?? 0).toFixed(6)}`)
  // the reader's turn again, from its journal against the assistant's code: no model call, no tool run
  const record = await readTurnRecord(journal, { tenant: "default", type: assistant.type, id: `reader-${run}` }, read.turn)
  const report = record ? await replayTurn(record, assistant.extensions[TURN_SPEC_EXTENSION] as TurnSpec) : undefined
  const replay = report && { stepsUsed: report.stepsUsed, stepsRecorded: report.stepsRecorded, divergences: report.divergences.length }
  say(
    replay
      ? `  replayed reader's ${read.turn} from the journal: ${replay.stepsUsed} of ${replay.stepsRecorded} recorded step(s) used, no model called, ${replay.divergences} divergence(s)`
      : `  the reader's turn ${read.turn} was not found in the journal`,
  )
  say(`  (the demo's server and journal go away when it ends: README, "Models and agent turns", does the same with \`ants turn replay\` against a node you keep running)`)
  const correct = total === 6 && journaled === 4 && replies[3].includes('"total":6') && replay !== undefined && replay.divergences === 0 && replay.stepsUsed === replay.stepsRecorded
  if (!correct) say("  the assistants step did NOT go as expected (see above)")
  return { replies, total, offline, turnsJournaled: journaled, modelCalls: spend?.calls ?? 0, replay, correct }
}
