/**
 * A conversational agent's conversation lives in its state: it survives the actor's sleep
 * (passivation, its state checkpointed to KV) and wake, and the next turn goes on from it.
 * Against a real nats-server, the example assistant and the offline provider.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assistant } from "../../actors/examples/assistant.ts"
import { counter } from "../../actors/examples/counter.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const broker = natsPerFile()
let node: AntsNode

beforeAll(async () => {
  node = await startNode({ agents: [assistant, counter], nats: broker.server.url, memory: false, passivateAfterMs: 200, idleAfterMs: 30, logger: () => undefined })
})
afterAll(async () => {
  await node?.drain()
})

describe("conversations across sleep", () => {
  it("conversation - kept through the assistant's sleep and wake; the next turn continues it", async () => {
    const a1 = node.client.ref(assistant, "a1")
    expect(await a1.ask("Chat", { text: "please counter_add id=c1 n=2" }, { timeoutMs: 30_000 })).toMatchObject({ text: 'counter_add returned {"total":2}', turn: "t0" })
    await waitUntil(() => node.stats().types.assistant?.sleeping === 1, { timeoutMs: 30_000, message: "the assistant asleep" })
    const activations = node.stats().types.assistant!.activations
    const history = await a1.ask("History", {})
    expect(node.stats().types.assistant!.activations).toBe(activations + 1)
    expect(history.turns).toBe(1)
    expect(history.messages.map((m) => (m as { role: string }).role)).toEqual(["user", "assistant", "tool", "assistant"])
    expect(history.messages[0]).toMatchObject({ content: "please counter_add id=c1 n=2" })
    await waitUntil(() => node.stats().types.assistant?.sleeping === 1, { timeoutMs: 30_000, message: "the assistant asleep again" })
    expect(await a1.ask("Chat", { text: "counter_get id=c1" }, { timeoutMs: 30_000 })).toMatchObject({ text: 'counter_get returned {"total":2}', turn: "t1" })
    const after = await a1.ask("History", {})
    expect(after.turns).toBe(2)
    expect(after.messages).toHaveLength(8)
    expect(after.messages.slice(0, 4)).toEqual(history.messages)
  })
})
