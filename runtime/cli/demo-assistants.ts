/**
 * Step 7 of `ants demo`: assistants that think. Three `assistant` actors each run a turn through
 * the offline provider (no key needed): the model calls the tool `counter_add`, an ask to a
 * shared counter actor, and answers from its result; a fourth turn reads the counter with
 * `counter_get`. Every figure printed is read back from the system: the replies, the counter,
 * the journaled turns and the model spend.
 */
import { Kvm } from "@nats-io/kv"
import { counter } from "../../actors/examples/counter.ts"
import { assistant } from "../../actors/examples/assistant.ts"
import { TURNS_BUCKET } from "../../subjects/models.ts"
import type { AntsNode } from "../node/node.ts"
import { kvTurnJournal } from "../models/mod.ts"
import { modelSpendByType } from "./cost-command.ts"

export interface AssistantsSummary {
  readonly replies: ReadonlyArray<string>
  readonly total: number
  readonly offline: boolean
  readonly turnsJournaled: number
  readonly modelCalls: number
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
  const spend = (await modelSpendByType(node.nc)).assistant
  say(`  counter ${tally} = ${total} (1 + 2 + 3); ${journaled} turn(s) journaled step by step in KV ${TURNS_BUCKET}; model calls so far: ${spend?.calls ?? 0}, tokens ${spend?.inputTokens ?? 0}/${spend?.outputTokens ?? 0}, $${(spend?.usd ?? 0).toFixed(6)}`)
  say(`  replay one with: npx ants turn replay assistant/reader-${run}/t0 --agents ./actors/examples/index.ts`)
  const correct = total === 6 && journaled === 4 && replies[3].includes('"total":6')
  if (!correct) say("  the assistants step did NOT go as expected (see above)")
  return { replies, total, offline, turnsJournaled: journaled, modelCalls: spend?.calls ?? 0, correct }
}
