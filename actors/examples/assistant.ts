/**
 * assistant: a conversational agent whose tools are another agent's messages. `Chat {text}`
 * runs one turn; the model may call `counter_add {id, n}` and `counter_get {id}`, each an ask
 * to the example `counter` actor named by `id`. Without a model provider the offline provider
 * answers, and it calls a tool named in the text with the arguments it finds there:
 *
 *   ants ask assistant a1 Chat '{"text":"counter_add id=c7 n=5"}'
 *   → {"ok":true,"value":{"text":"counter_add returned {\"total\":5}","turn":"t0","offline":true}}
 *
 * It remembers: each turn is kept as episodic memory of the actor, and the three memories most
 * similar to a new message are given to the model with it (conversation memory, on wherever
 * the node has memory; runtime/agent/conversation-memory.ts).
 */
import * as Schema from "effect/Schema"
import { agentTool, defineConversationalAgent } from "../../runtime/agent/mod.ts"
import { counter } from "./counter.ts"

export const counterAdd = agentTool({
  name: "counter_add",
  description: "Adds n to the counter named id and returns its new total.",
  parameters: Schema.Struct({
    id: Schema.String.annotations({ description: "the counter's id" }),
    n: Schema.Number.annotations({ description: "how much to add (may be negative)" }),
  }),
  agent: counter,
  tag: "Add",
})

export const counterGet = agentTool({
  name: "counter_get",
  description: "Reads the total of the counter named id.",
  parameters: Schema.Struct({ id: Schema.String.annotations({ description: "the counter's id" }) }),
  agent: counter,
  tag: "Get",
})

/**
 * A high-impact tool: moves `amount` to the account `to` (a counter of that id). Its impact
 * holds every call for a human's approval unless the tenant's policy says otherwise
 * (`ants approvals list`, `ants approvals approve <id>`); a call nobody approves in time is not
 * run (the safe default).
 */
export const transfer = agentTool({
  name: "transfer",
  description: "Transfers amount to the account named to. High-impact: a human approves it first; if rejected or not approved in time, it is not run.",
  parameters: Schema.Struct({
    to: Schema.String.annotations({ description: "the receiving account" }),
    amount: Schema.Number.pipe(Schema.positive()).annotations({ description: "how much to transfer" }),
  }),
  agent: counter,
  tag: "Add",
  route: ({ to, amount }) => ({ id: to, message: { n: amount } }),
  impact: "high",
})

export const assistant = defineConversationalAgent({
  type: "assistant",
  system: "You are a helpful assistant that keeps counters. Use counter_add to add to a counter and counter_get to read one; transfer moves money and needs a human's approval. Answer briefly with the totals.",
  tools: [counterAdd, counterGet, transfer],
  maxSteps: 6,
  policy: { kind: "truncate", maxMessages: 40 },
  memory: true,
})
