/**
 * The example assistant hosted by a real node: through the offline provider a tool call
 * reaches the counter actor; streamed deltas arrive on the stream subject, also when only the
 * ask's Ants-Stream header asks for them (`ants ask --stream`), for the assistant and for a
 * plain handler that streams its `ctx.model.chat` through `ctx.streamId`; through the real
 * SDKs against fake servers a 429 on one provider completes the turn on the other; a spent
 * budget answers `budget_exceeded` and escalates to the type's supervisor, while a model that
 * cannot answer is `unavailable` and the actor keeps its conversation.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assistant } from "../../actors/examples/assistant.ts"
import { Empty } from "../../runtime/agent/define-agent.ts"
import { counter } from "../../actors/examples/counter.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { defineAgent } from "../../runtime/agent/mod.ts"
import { askStreaming } from "../../runtime/cli/ask-stream.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import type { ModelsFile } from "../../runtime/models/mod.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, supervisorSubject } from "../../subjects/grammar.ts"
import { modelStreamSubject } from "../../subjects/models.ts"
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const quiet = () => undefined

/** How each `caller` model call ended. */
const callerOutcomes: string[] = []

/** Calls the model without passing any signal: `ctx.model` takes the handler's by itself. */
const caller = defineAgent({
  type: "caller",
  protocol: { Ask: { message: Empty, reply: Empty } },
  checkpoint: "never",
  handlerTimeoutMs: 1_000,
  handlers: {
    Ask: async (_m, ctx) => {
      try {
        await ctx.model.chat("take your time")
        callerOutcomes.push("answered")
      } catch (e) {
        callerOutcomes.push(`failed: ${(e as Error).message}`)
      }
      return {}
    },
  },
})

describe("assistant agent", () => {
  let server: NatsServer
  let nc: NatsConnection
  let oai: FakeServer
  let ant: FakeServer
  const nodes: AntsNode[] = []
  beforeAll(async () => {
    server = await natsFixture()
    nc = await rawConnect(server.url)
    oai = await startFakeOpenAI()
    ant = await startFakeAnthropic()
  })
  afterAll(async () => {
    for (const n of nodes) await n.drain()
    await oai?.close()
    await ant?.close()
    await nc?.close()
    await server?.stop()
  })

  async function ask(tenant: string, type: string, id: string, tag: string, body: unknown) {
    const m = await nc.request(agentSubject({ tenant, type, id, tag }), JSON.stringify(body), { timeout: 20_000 })
    return decodeReply(m.data)
  }

  it("assistant - through the offline provider, a tool call reaches the counter actor", async () => {
    const logs: string[] = []
    const node = await startNode({ agents: [assistant, counter], nats: server.url, nodeId: "n-offline", memory: false, logger: (l, m) => void logs.push(`${l} ${m}`) })
    nodes.push(node)
    expect(logs.some((l) => /^warn models: OFFLINE/.test(l))).toBe(true)
    const r = await ask("t1", "assistant", "a1", "Chat", { text: "please counter_add id=c7 n=5" })
    expect(r).toEqual({ ok: true, value: { text: 'counter_add returned {"total":5}', turn: "t0", offline: true } })
    const total = await createMessaging(nc).ref(counter, "c7", "t1").ask("Get", {})
    expect(total).toEqual({ total: 5 })
    const again = await ask("t1", "assistant", "a1", "Chat", { text: "counter_get id=c7" })
    expect(again).toMatchObject({ ok: true, value: { text: 'counter_get returned {"total":5}', turn: "t1" } })
    const hist = await ask("t1", "assistant", "a1", "History", {})
    expect(hist).toMatchObject({ ok: true, value: { turns: 2 } })
    expect((hist as { value: { messages: unknown[] } }).value.messages).toHaveLength(8)
  })

  it("assistant - a streamed turn publishes its deltas, then done, on the stream subject", async () => {
    const got: Array<{ seq: number; delta?: { type: string; text?: string }; done?: boolean; text?: string }> = []
    const sub = nc.subscribe(modelStreamSubject("t1", "s1"), { callback: (_e, m) => void got.push(m.json()) })
    await nc.flush()
    const r = await ask("t1", "assistant", "a2", "Chat", { text: "hello there friend", stream: "s1" })
    expect(r).toMatchObject({ ok: true, value: { text: "offline model: hello there friend" } })
    await waitUntil(() => got.some((g) => g.done))
    sub.unsubscribe()
    expect(got.filter((g) => g.delta?.type === "text").map((g) => g.delta!.text).join("")).toBe("offline model: hello there friend")
    expect(got.at(-1)).toMatchObject({ done: true, text: "offline model: hello there friend" })
    expect(got.map((g) => g.seq)).toEqual(got.map((_, i) => i))
  })

  it("assistant - ask --stream: the header alone streams a turn, and any handler can stream through ctx.streamId", async () => {
    const plain = defineAgent({
      type: "plain_writer",
      protocol: { Write: { message: Schema.Struct({ topic: Schema.String }), reply: Schema.Struct({ text: Schema.String }) } },
      initialState: () => ({}),
      handlers: {
        Write: async ({ topic }, ctx) => {
          const sink = ctx.streamId ? ctx.model.stream(ctx.streamId) : undefined
          const a = await ctx.model.chat(`write about ${topic}`, { onDelta: sink?.onDelta })
          sink?.end({ text: a.content })
          return { text: a.content }
        },
      },
    })
    const node = await startNode({ agents: [assistant, counter, plain], nats: server.url, nodeId: "n-stream", logger: quiet })
    nodes.push(node)
    for (const [type, tag, body, text] of [
      ["assistant", "Chat", { text: "tell me more" }, "offline model: tell me more"],
      ["plain_writer", "Write", { topic: "ants" }, "offline model: write about ants"],
    ] as const) {
      let written = ""
      const lines: string[] = []
      const subject = agentSubject({ tenant: "t3", type, id: "w1", tag })
      const env = await askStreaming(nc, subject, new TextEncoder().encode(JSON.stringify(body)), 20_000, false, { out: (l) => void lines.push(l), write: (t) => void (written += t) })
      expect(env).toEqual({ ok: true, value: expect.objectContaining({ text }) })
      // the deltas, then the newline askStreaming ends a streamed answer with
      expect(written).toBe(`${text}\n`)
    }
    // with --json every stream message is printed as it came, ending with done
    const lines: string[] = []
    await askStreaming(nc, agentSubject({ tenant: "t3", type: "plain_writer", id: "w2", tag: "Write" }), new TextEncoder().encode('{"topic":"bees"}'), 20_000, true, { out: (l) => void lines.push(l) })
    await waitUntil(() => lines.some((l) => JSON.parse(l).done === true))
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ done: true, text: "offline model: write about bees" })
  })

  it("assistant - a 429 cools one provider down and the turn completes on the other; a spent budget escalates", async () => {
    const file: ModelsFile = {
      providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` }, ant: { kind: "anthropic", baseURL: ant.url } },
      models: [
        { name: "gpt-small", provider: "oai", price: { input: 1000, output: 1000 } },
        { name: "claude-small", provider: "ant", price: { input: 2000, output: 2000 } },
      ],
      budgets: { agent: { "assistant/spender": 0.01 } },
    }
    const node = await startNode({ agents: [assistant, counter], nats: server.url, nodeId: "n-online", memory: false, models: { file, env: {} }, logger: quiet })
    nodes.push(node)
    oai.respond(() => ({ status: 429, retryAfter: "60" }))
    ant.respond((req) => {
      const last = req.body.messages.at(-1)
      const isResult = Array.isArray(last.content) && last.content.some((b: { type: string }) => b.type === "tool_result")
      return isResult ? { text: "c8 is at 2 now" } : { toolCalls: [{ id: "tu1", name: "counter_add", arguments: { id: "c8", n: 2 } }] }
    })
    const o0 = oai.count()
    const a0 = ant.count()
    const r = await ask("t2", "assistant", "b1", "Chat", { text: "add two to c8" })
    expect(r).toEqual({ ok: true, value: { text: "c8 is at 2 now", turn: "t0", offline: false } })
    expect(oai.count() - o0).toBe(1) // cooled down after its 429: the second model call went to anthropic directly
    expect(ant.count() - a0).toBe(2)
    expect(await createMessaging(nc).ref(counter, "c8", "t2").ask("Get", {})).toEqual({ total: 2 })

    // Budget: the first answer spends more than the agent's $0.01; the next call is refused and escalated.
    ant.respond(() => ({ text: "expensive", usage: { input: 10, output: 10 } }))
    const decisions: Array<{ directive: string; reason: string }> = []
    const sub = nc.subscribe(supervisorSubject({ tenant: "t2", type: "assistant", id: "spender" }), { callback: (_e, m) => void decisions.push(m.json()) })
    await nc.flush()
    expect(await ask("t2", "assistant", "spender", "Chat", { text: "one" })).toMatchObject({ ok: true })
    const before = ant.count() + oai.count()
    const refused = await ask("t2", "assistant", "spender", "Chat", { text: "two" })
    expect(refused).toMatchObject({ ok: false, error: { code: "budget_exceeded" } })
    expect(ant.count() + oai.count()).toBe(before)
    await waitUntil(() => decisions.length > 0)
    expect(decisions[0].directive).toBe("escalate")
    sub.unsubscribe()

    // No model can answer: unavailable, and the actor is resumed with its conversation.
    ant.respond(() => ({ status: 500 }))
    oai.respond(() => ({ status: 500 }))
    const down = await ask("t2", "assistant", "b1", "Chat", { text: "again" })
    expect(down).toMatchObject({ ok: false, error: { code: "unavailable" } })
    expect(await ask("t2", "assistant", "b1", "History", {})).toMatchObject({ ok: true, value: { turns: 1 } })
    oai.respond(() => ({ text: "hello from fake openai" }))
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("assistant - a model call still running at the handler's deadline is aborted with it (ctx.signal)", async () => {
    const file: ModelsFile = { providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "gpt-slow", provider: "oai" }] }
    const node = await startNode({ agents: [caller], nats: server.url, nodeId: "n-slow", models: { file, env: {} }, logger: quiet })
    nodes.push(node)
    oai.respond(() => ({ text: "late", delayMs: 120_000 }))
    const r = await ask("t3", "caller", "c1", "Ask", {})
    expect(r).toMatchObject({ ok: false, error: { code: "timeout" } })
    // the call of two minutes ended with the handler, not two minutes later
    await waitUntil(() => callerOutcomes.length > 0, { timeoutMs: 15_000, message: "the model call ended" })
    expect(callerOutcomes[0]).toMatch(/^failed: .*abort/i)
    oai.respond(() => ({ text: "hello from fake openai" }))
  })
})
