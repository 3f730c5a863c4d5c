/**
 * Conversation memory (runtime/agent/conversation-memory.ts) through the example assistant on
 * a real node, the offline provider and the embedded PGlite: a completed turn is stored as
 * episodic memory; a later turn whose conversation no longer holds it (after `Reset`) gets it
 * in its prompt (read back from the turn journal: the history the model was given); a turn
 * still holding it in its conversation is not given it twice; another actor does not get it;
 * a node without memory answers as before.
 */
import { Kvm } from "@nats-io/kv"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assistant } from "../../actors/examples/assistant.ts"
import { counter } from "../../actors/examples/counter.ts"
import { resolveConversationMemory, MEMORY_PREAMBLE } from "../../runtime/agent/conversation-memory.ts"
import { kvTurnJournal } from "../../runtime/models/kv-stores.ts"
import type { ChatMessage, TurnJournal } from "../../runtime/models/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/mod.ts"
import { TURNS_BUCKET } from "../../subjects/models.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { pgliteDataDir } from "../helpers/postgres.ts"

const TENANT = "cm"

describe("conversation memory", () => {
  let server: NatsServer
  let node: AntsNode
  let data: Awaited<ReturnType<typeof pgliteDataDir>>
  let journal: TurnJournal
  const logs: string[] = []

  beforeAll(async () => {
    ;[server, data] = await Promise.all([natsFixture(), pgliteDataDir()])
    node = await startNode({ agents: [assistant, counter], nats: server.url, memory: { dataDir: data.dir, sweepIntervalMs: 0 }, logger: (l, m) => void logs.push(`${l} ${m}`) })
    journal = kvTurnJournal(await new Kvm(node.nc).open(TURNS_BUCKET))
  })
  afterAll(async () => {
    await node?.drain()
    await server?.stop()
    data?.remove()
  })

  const chat = (id: string, text: string) => node.client.ref(assistant, id, TENANT).ask("Chat", { text }, { timeoutMs: 60_000 })
  async function history(id: string, turn: string): Promise<ReadonlyArray<ChatMessage>> {
    const meta = await journal.meta({ tenant: TENANT, type: "assistant", id }, turn)
    expect(meta?.status).toBe("done")
    return meta!.history
  }
  const memoryMessages = (h: ReadonlyArray<ChatMessage>) => h.filter((m) => m.role === "system" && m.content.startsWith(MEMORY_PREAMBLE))

  it("conversation memory - a turn is stored, and a later turn's prompt gets it back once the conversation no longer holds it", async () => {
    const first = await chat("a1", "my locker code is 4711 at the harbour gym")
    expect(first).toMatchObject({ turn: "t0", offline: true })
    const stored = await node.memory.current!.recall({ tenant: TENANT, type: "assistant", id: "a1" }, { query: "locker code harbour gym", kind: "episodic" })
    expect(stored.map((m) => [m.text, m.metadata])).toEqual([["User: my locker code is 4711 at the harbour gym\nAssistant: offline model: my locker code is 4711 at the harbour gym", { source: "conversation", turn: "t0" }]])

    // still in the conversation: the prompt holds the turn itself, not a memory of it
    await chat("a1", "which locker code at the harbour gym?")
    expect(memoryMessages(await history("a1", "t1"))).toEqual([])

    await node.client.ref(assistant, "a1", TENANT).ask("Reset", {})
    const later = await chat("a1", "what was my locker code at the gym?")
    expect(later).toMatchObject({ turn: "t2", text: "offline model: what was my locker code at the gym?" })
    const h = await history("a1", "t2")
    const recalled = memoryMessages(h)
    expect(recalled).toHaveLength(1)
    expect(recalled[0]!.content).toContain("User: my locker code is 4711 at the harbour gym / Assistant: offline model: my locker code is 4711")
    // just before the user's message, and at most the configured number of items
    expect(h.at(-1)).toBe(recalled[0])
    expect(recalled[0]!.content.split("\n").length - 1).toBeLessThanOrEqual(resolveConversationMemory(true)!.recall)
  })

  it("conversation memory - another actor's turns stay its own (scope actor)", async () => {
    await chat("a2", "what was my locker code at the gym?")
    expect(memoryMessages(await history("a2", "t0"))).toEqual([])
    const own = await node.memory.current!.recall({ tenant: TENANT, type: "assistant", id: "a2" }, { query: "locker code gym", kind: "episodic" })
    expect(own.map((m) => m.metadata.turn)).toEqual(["t0"])
  })

  it("conversation memory - a node without memory answers as before and logs nothing about it", async () => {
    // a server of its own, so the actor cannot be placed on the node that has memory
    const own = await natsFixture()
    const plain = await startNode({ agents: [assistant, counter], nats: own.url, memory: false, logger: (l, m) => void logs.push(`${l} ${m}`) })
    try {
      const r = await plain.client.ref(assistant, "a3", "cm-off").ask("Chat", { text: "hello there" }, { timeoutMs: 60_000 })
      expect(r).toMatchObject({ text: "offline model: hello there", turn: "t0" })
    } finally {
      await plain.drain()
      await own.stop()
    }
    expect(logs.filter((l) => l.includes("conversation memory"))).toEqual([])
  })

  it("conversation memory - options are checked when the type is defined", () => {
    expect(resolveConversationMemory(false)).toBeUndefined()
    expect(resolveConversationMemory({ recall: 0 })).toMatchObject({ recall: 0, store: true })
    expect(() => resolveConversationMemory({ recall: 21 })).toThrow(/recall must be an integer from 0 to 20/)
    expect(() => resolveConversationMemory({ minScore: 2 })).toThrow(/minScore/)
  })
})
