/**
 * An agent tool's ask carries its tool call's idempotency key (header `Ants-Idempotency-Key`,
 * read by the asked actor as `ctx.idempotencyKey`): a turn whose tool ran but whose result could
 * not be recorded makes the call again with the same key, and an actor that de-duplicates on it
 * applies the call once. Against a real nats-server, a node, and a fake Chat Completions server
 * driven through the real openai SDK.
 */
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defineAgent } from "../../runtime/agent/define-agent.ts"
import { defineConversationalAgent } from "../../runtime/agent/mod.ts"
import { agentTool, createModels, memoryTurnJournal, type TurnJournal } from "../../runtime/models/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { natsPerFile } from "../helpers/nats.ts"

/** Applies each keyed post once: a post whose key it has seen answers `repeat` and changes nothing. */
const ledger = defineAgent({
  type: "ledger",
  protocol: {
    Post: { message: Schema.Struct({ amount: Schema.Number }), reply: Schema.Struct({ total: Schema.Number, repeat: Schema.Boolean }) },
    Keys: { message: Schema.Struct({}), reply: Schema.Struct({ keys: Schema.Array(Schema.String), total: Schema.Number }) },
  },
  initialState: () => ({ total: 0, keys: [] as string[] }),
  handlers: {
    Post: ({ amount }, ctx) => {
      const key = ctx.idempotencyKey
      if (key !== undefined && ctx.state.keys.includes(key)) return { total: ctx.state.total, repeat: true }
      ctx.state.total += amount
      ctx.state.keys = key === undefined ? ctx.state.keys : [...ctx.state.keys, key].slice(-100)
      return { total: ctx.state.total, repeat: false }
    },
    Keys: (_m, ctx) => ({ keys: ctx.state.keys, total: ctx.state.total }),
  },
})
const postEntry = agentTool({
  name: "post_entry",
  description: "Posts amount to ledger id",
  parameters: Schema.Struct({ id: Schema.String, amount: Schema.Number }),
  agent: ledger,
  tag: "Post",
})
const clerk = defineConversationalAgent({ type: "clerk", system: "You post entries.", tools: [postEntry], maxSteps: 3 })

const broker = natsPerFile()
let oai: FakeServer
let node: AntsNode

beforeAll(async () => {
  oai = await startFakeOpenAI()
  oai.respond((req) => {
    const last = req.body.messages.at(-1)
    if (last.role === "user") return { toolCalls: [{ id: "call_post", name: "post_entry", arguments: { id: /ledger (\w+)/.exec(String(last.content))![1], amount: 5 } }] }
    return { text: `posted: ${String(last.content)}` }
  })
  node = await startNode({ agents: [clerk, ledger], nats: broker.server.url, memory: false, models: { file: { providers: { fake: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "m", provider: "fake" }] }, env: {} } })
})
afterAll(async () => {
  await node?.drain()
  await oai?.close()
})

describe("agent tools' idempotency keys", () => {
  it("agent tool - the ask carries the tool call's key; the asked actor reads it as ctx.idempotencyKey", async () => {
    const reply = await node.client.ref(clerk, "k1").ask("Chat", { text: "post to ledger l1" }, { timeoutMs: 60_000 })
    expect(reply.text).toContain('"repeat":false')
    // <tenant>/<type>/<id>/<turn>/<seq>: the turn's first tool call follows its first model answer
    expect(await node.client.ref(ledger, "l1").ask("Keys", {})).toEqual({ keys: ["default/clerk/k1/t0/1"], total: 5 })
    // an ask without a key (a plain client's) has none
    expect(await node.client.ref(ledger, "l1").ask("Post", { amount: 1 })).toEqual({ total: 6, repeat: false })
    expect((await node.client.ref(ledger, "l1").ask("Keys", {})).keys).toHaveLength(1)
  })

  it("agent tool - a tool that ran but whose result was not recorded runs again with the same key: applied once", async () => {
    const store = memoryTurnJournal()
    let toolRecordFails = true
    // the tool step cannot be recorded the first time (the node "dies" between the tool's answer and the journal)
    const flaky: TurnJournal = { ...store, record: async (a, turn, step) => (step.kind === "tool" && toolRecordFails ? Promise.reject(new Error("TimeoutError: timeout")) : store.record(a, turn, step)) }
    const models = createModels({ file: { providers: { fake: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "m", provider: "fake" }] }, env: {}, journal: flaky })
    const asked: Array<string | undefined> = []
    const askAgent = (type: string, id: string, tag: string, message: unknown, idempotencyKey?: string) => {
      asked.push(idempotencyKey)
      return node.client.ask({ agent: type, id }, tag, message, { timeoutMs: 10_000, ...(idempotencyKey ? { idempotencyKey } : {}) })
    }
    const client = models.client({ tenant: "default", type: "clerk", id: "k2" }, askAgent)
    await expect(client.turn("post to ledger l2", { turn: "t0", tools: [postEntry] })).rejects.toMatchObject({ _tag: "TurnJournalError" })
    expect(await node.client.ref(ledger, "l2").ask("Keys", {})).toEqual({ keys: ["default/clerk/k2/t0/1"], total: 5 })
    toolRecordFails = false
    const r = await client.turn("post to ledger l2", { turn: "t0", tools: [postEntry] })
    expect(asked).toEqual(["default/clerk/k2/t0/1", "default/clerk/k2/t0/1"])
    expect(r.text).toContain('"repeat":true')
    expect(await node.client.ref(ledger, "l2").ask("Keys", {})).toEqual({ keys: ["default/clerk/k2/t0/1"], total: 5 })
  })
})
