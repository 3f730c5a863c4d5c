/**
 * Agent turns over a real nats-server: the loop with tools (plain functions, agents through
 * the ask port, handoffs), the journal in JetStream KV (a resumed turn repeats no completed
 * model or tool call: the fake server and the tool count), replay against changed code,
 * budgets held swarm-wide (counters in KV: racing calls on two nodes cannot overspend), conversation policies, stats shared through KV, and the declared
 * summarising step of a turn, journaled (a resumed turn takes the recorded summary instead of
 * summarising again).
 */
import { Kvm, type KV } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  Router,
  applyPolicy,
  createModels,
  defineTool,
  agentTool,
  handoffTool,
  kvBudgetStore,
  kvCostStore,
  memoryTurnJournal,
  modelDirective,
  kvStatsSharing,
  kvTurnJournal,
  readTurnRecord,
  replayTurn,
  resolveModels,
  type ChatMessage,
  type ModelsFile,
  type StreamDelta,
  type TurnJournal,
  type TurnStep,
} from "../../runtime/models/mod.ts"
import { MODEL_BUDGET_BUCKET, MODEL_COST_BUCKET, MODEL_STATS_BUCKET, TURNS_BUCKET, modelBudgetKey, turnMetaKey, turnSummaryKey } from "../../subjects/models.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { errorCodeOf } from "../../subjects/errors.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const me = { tenant: "acme", type: "assistant", id: "a1" }
const me2 = { tenant: "acme", type: "assistant", id: "s1" }

describe("agent turns", () => {
  let server: NatsServer
  let nc: NatsConnection
  let turns: KV
  let oai: FakeServer
  const totals = new Map<string, number>()
  let toolRuns = 0
  const counterAdd = defineTool({
    name: "counter_add",
    description: "Adds n to counter id and returns its total",
    parameters: Schema.Struct({ id: Schema.String, n: Schema.Number }),
    run: ({ id, n }) => {
      toolRuns++
      totals.set(id, (totals.get(id) ?? 0) + n)
      return { total: totals.get(id) }
    },
  })
  const noAsk = async () => {
    throw new Error("no agents here")
  }

  beforeAll(async () => {
    server = await natsFixture()
    nc = await rawConnect(server.url)
    const kvm = new Kvm(nc)
    turns = await kvm.create(TURNS_BUCKET, { history: 1 })
    oai = await startFakeOpenAI()
  })
  afterAll(async () => {
    await oai.close()
    await nc?.close()
    await server?.stop()
  })

  function oaiFile(extra: Partial<ModelsFile> = {}): ModelsFile {
    return { providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "gpt-small", provider: "oai", price: { input: 1000, output: 1000 } }], ...extra }
  }

  it("turn - the offline provider calls a tool named in the text and answers from its result", async () => {
    const models = createModels({ env: {}, journal: kvTurnJournal(turns) })
    expect(models.offline).toBe(true)
    const r = await models.client(me, noAsk).turn("please counter_add id=c1 n=5", { turn: "t-offline", tools: [counterAdd] })
    expect(r.text).toBe('counter_add returned {"total":5}')
    expect(r.offline).toBe(true)
    expect(r.modelSteps).toBe(2)
    expect(r.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"])
    const rec = await readTurnRecord(models.journal, me, "t-offline")
    expect(rec!.meta.status).toBe("done")
    expect(rec!.steps.map((s) => s.kind)).toEqual(["model", "tool", "model"])
    const tool = rec!.steps[1] as Extract<TurnStep, { kind: "tool" }>
    expect(tool.idempotencyKey).toBe("acme/assistant/a1/t-offline/1")
  })

  it("journal - a turn that ends on a model answer writes its header once; its last step says it is done", async () => {
    const models = createModels({ env: {}, journal: kvTurnJournal(turns) })
    const r = await models.client(me, noAsk).turn("please counter_add id=c9 n=2", { turn: "t-once", tools: [counterAdd], history: [{ role: "user", content: "earlier" }] })
    const header = await turns.get(turnMetaKey(me, "t-once"))
    // the header as opened (revision of its one write), still "open" in the store
    expect(header!.json<{ status: string }>().status).toBe("open")
    const history = await turns.history({ key: turnMetaKey(me, "t-once") })
    let writes = 0
    for await (const _e of history) writes++
    expect(writes).toBe(1)
    const rec = await readTurnRecord(models.journal, me, "t-once")
    expect(rec!.meta).toMatchObject({ status: "done", answer: r.text, steps: 2, finishedAt: rec!.steps[2].at })
    const listed = (await models.journal.list("acme", "assistant", "a1")).find((m) => m.turn === "t-once")
    expect(listed).toMatchObject({ status: "done", answer: r.text, steps: 2 })
  })

  it("journal - a record written before the done header was dropped (its header rewritten done) reads as it did", async () => {
    const j = kvTurnJournal(turns)
    const meta = { turn: "t-old", address: me, input: "hi", history: [], status: "open" as const, startedAt: "2026-12-01T00:00:00.000Z" }
    await j.open(meta)
    const answer = { content: "hello", toolCalls: [], finishReason: "stop" as const, usage: { inputTokens: 1, outputTokens: 1 }, model: "m", deployment: "m", provider: "p", offline: false, latencyMs: 1, costUsd: 0 }
    await j.record(me, "t-old", { kind: "model", seq: 0, request: { hash: "x", tools: [], messages: 1 }, answer, at: "2026-12-01T00:00:01.000Z" })
    await j.setMeta({ ...meta, status: "done", finishedAt: "2026-12-01T00:00:02.000Z", answer: "hello", steps: 1 })
    expect(await j.meta(me, "t-old")).toMatchObject({ status: "done", finishedAt: "2026-12-01T00:00:02.000Z", answer: "hello", steps: 1 })
    // a turn whose last step asks for a tool is still open
    await j.open({ ...meta, turn: "t-mid" })
    await j.record(me, "t-mid", { kind: "model", seq: 0, request: { hash: "x", tools: ["counter_add"], messages: 1 }, answer: { ...answer, toolCalls: [{ id: "c", name: "counter_add", arguments: {} }] }, at: "2026-12-01T00:00:01.000Z" })
    expect((await j.meta(me, "t-mid"))!.status).toBe("open")
  })

  it("turn - a journaled turn resumed does not repeat a completed model or tool call", async () => {
    // First owner: the model asks for the tool, the tool runs, then the model fails (the node "dies").
    let second = false
    oai.respond((req) => {
      const last = req.body.messages.at(-1)
      if (last.role === "user") return { toolCalls: [{ id: "call_r1", name: "counter_add", arguments: { id: "c2", n: 3 } }] }
      return second ? { text: "c2 is now 3" } : { status: 500 }
    })
    const first = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns), maxAttempts: 1 })
    const runs0 = toolRuns
    const calls0 = oai.count()
    await expect(first.client(me, noAsk).turn("add 3 to c2", { turn: "t-resume", tools: [counterAdd] })).rejects.toMatchObject({ _tag: "ModelUnavailableError" })
    expect(oai.count() - calls0).toBe(2)
    expect(toolRuns - runs0).toBe(1)
    // The new owner (another Models, same KV journal) resumes the turn.
    second = true
    const next = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns) })
    const r = await next.client(me, noAsk).turn("add 3 to c2", { turn: "t-resume", tools: [counterAdd] })
    expect(r.text).toBe("c2 is now 3")
    expect(r.resumed).toBe(2)
    expect(oai.count() - calls0).toBe(3) // only the model call that had failed
    expect(toolRuns - runs0).toBe(1)
    expect(totals.get("c2")).toBe(3)
    // A finished turn asked again answers from the journal alone.
    const again = await next.client(me, noAsk).turn("add 3 to c2", { turn: "t-resume", tools: [counterAdd] })
    expect(again.text).toBe("c2 is now 3")
    expect(oai.count() - calls0).toBe(3)
    // The same turn id with another question starts afresh.
    oai.respond(() => ({ text: "fresh" }))
    expect((await next.client(me, noAsk).turn("something else", { turn: "t-resume" })).text).toBe("fresh")
    expect(oai.count() - calls0).toBe(4)
  })

  it("turn - a resumed turn keeps the context recalled for it the first time: a new recall on the new owner repeats no call", async () => {
    // First owner: memories recalled for the turn go with it; the tool runs, then the model fails (the node "dies").
    let second = false
    const seen: string[] = []
    oai.respond((req) => {
      seen.push(JSON.stringify(req.body.messages))
      const last = req.body.messages.at(-1)
      if (last.role === "user") return { toolCalls: [{ id: "call_x1", name: "counter_add", arguments: { id: "c3", n: 4 } }] }
      return second ? { text: "c3 is now 4" } : { status: 500 }
    })
    const history: ChatMessage[] = [
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
    ]
    const first = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns), maxAttempts: 1 })
    const runs0 = toolRuns
    const calls0 = oai.count()
    const ask = { turn: "t-context", tools: [counterAdd], history }
    await expect(first.client(me, noAsk).turn("add 4 to c3", { ...ask, context: [{ role: "system", content: "you remember: the user likes c3" }] })).rejects.toMatchObject({ _tag: "ModelUnavailableError" })
    expect(seen[0]).toContain("the user likes c3")
    expect(toolRuns - runs0).toBe(1)
    // The new owner recalls something else for the same turn: the turn resumes as it was.
    second = true
    const next = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns) })
    const r = await next.client(me, noAsk).turn("add 4 to c3", { ...ask, context: [{ role: "system", content: "you remember: something else entirely" }] })
    expect(r.text).toBe("c3 is now 4")
    expect(r.resumed).toBe(2)
    expect(oai.count() - calls0).toBe(3) // only the model call that had failed
    expect(toolRuns - runs0).toBe(1)
    expect(seen.at(-1)).toContain("the user likes c3")
    expect(seen.at(-1)).not.toContain("something else entirely")
    const rec = await readTurnRecord(next.journal, me, "t-context")
    expect(rec!.meta).toMatchObject({ context: 1, history: [...history, { role: "system", content: "you remember: the user likes c3" }] })
    // Another conversation before the same turn id is another question: it starts afresh.
    oai.respond(() => ({ text: "fresh" }))
    expect((await next.client(me, noAsk).turn("add 4 to c3", { ...ask, history: [], context: [] })).text).toBe("fresh")
    expect(oai.count() - calls0).toBe(4)
  })

  it("conversation - a turn's compaction is journaled with it: the new owner compacting again takes the recorded summary", async () => {
    oai.respond(() => ({ text: "they talked about c4" }))
    const msgs: ChatMessage[] = [
      { role: "user", content: "m0" },
      { role: "assistant", content: "m1" },
      { role: "user", content: "m2" },
      { role: "assistant", content: "m3" },
      { role: "user", content: "m4" },
      { role: "assistant", content: "m5" },
    ]
    const policy = { kind: "summarise" as const, maxMessages: 4, keep: 2 }
    const before = oai.count()
    const first = await createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns) }).client(me, noAsk).compact(msgs, policy, "t-compact")
    expect(first).toEqual([{ role: "system", content: "Summary of the earlier conversation: they talked about c4" }, msgs[4], msgs[5]])
    oai.respond(() => ({ text: "something else" }))
    const next = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns) }).client(me, noAsk)
    expect(await next.compact(msgs, policy, "t-compact")).toEqual(first)
    expect(oai.count() - before).toBe(1)
    // with no turn named, each compaction asks the model
    expect((await next.compact(msgs, policy))[0]).toEqual({ role: "system", content: "Summary of the earlier conversation: something else" })
    expect(oai.count() - before).toBe(2)
  })

  it("turn - a journal out of reach is unavailable (retry), not a crash; the retried turn completes", async () => {
    const store = memoryTurnJournal()
    let down = true
    const flaky: TurnJournal = { ...store, record: async (a, turn, step) => (down ? Promise.reject(new Error("TimeoutError: timeout")) : store.record(a, turn, step)) }
    oai.respond(() => ({ text: "journaled answer" }))
    const models = createModels({ file: oaiFile(), env: {}, journal: flaky })
    const before = oai.count()
    const failure = await models.client(me, noAsk).turn("hello", { turn: "t-flaky" }).catch((e) => e)
    expect(failure).toMatchObject({ _tag: "TurnJournalError" })
    expect(errorCodeOf(failure)).toBe("unavailable")
    expect(modelDirective(failure)).toBe("resume")
    down = false
    const r = await models.client(me, noAsk).turn("hello", { turn: "t-flaky" })
    expect(r.text).toBe("journaled answer")
    // the answer could not be recorded the first time, so the model was asked again: twice in all
    expect(oai.count() - before).toBe(2)
  })

  it("turn - arguments that do not fit the tool's schema go back to the model as an error", async () => {
    oai.respond((req) => {
      const last = req.body.messages.at(-1)
      if (last.role === "user") return { toolCalls: [{ id: "call_bad", name: "counter_add", arguments: { id: "c3", n: "five" } }] }
      return { text: `the tool said: ${last.content}` }
    })
    const runs0 = toolRuns
    const models = createModels({ file: oaiFile(), env: {}, journal: kvTurnJournal(turns) })
    const r = await models.client(me, noAsk).turn("add five to c3", { turn: "t-badargs", tools: [counterAdd] })
    expect(toolRuns).toBe(runs0)
    expect(r.text).toMatch(/do not fit its schema/)
  })

  it("turn - the step limit ends a turn whose model never stops calling tools", async () => {
    oai.respond((_req, n) => ({ toolCalls: [{ id: `call_loop_${n}`, name: "counter_add", arguments: { id: "loop", n: 1 } }] }))
    const models = createModels({ file: oaiFile(), env: {} })
    await expect(models.client(me, noAsk).turn("loop", { turn: "t-loop", tools: [counterAdd], maxSteps: 3 })).rejects.toMatchObject({ _tag: "TurnError", reason: "step_limit" })
  })

  it("turn - agent tools ask through the port, and a handoff's answer ends the turn", async () => {
    const asked: Array<[string, string, string, unknown]> = []
    const keys: Array<string | undefined> = []
    const ask = async (type: string, id: string, tag: string, msg: unknown, key?: string) => {
      asked.push([type, id, tag, msg])
      keys.push(key)
      return type === "counter" ? { total: 42 } : { text: `expert ${id} says hi` }
    }
    const get = agentTool({ name: "counter_get", description: "reads a counter", parameters: Schema.Struct({ id: Schema.String }), agent: "counter", tag: "Get" })
    const expert = handoffTool({ name: "ask_expert", description: "hands over to an expert", agent: "expert" })
    const models = createModels({ env: {} })
    const r = await models.client(me, ask).turn("counter_get id=c9", { turn: "t-agent", tools: [get, expert] })
    expect(asked[0]).toEqual(["counter", "c9", "Get", {}])
    expect(r.text).toBe('counter_get returned {"total":42}')
    const h = await models.client(me, ask).turn('ask_expert id=e1 text="hello there"', { turn: "t-handoff", tools: [get, expert], history: [{ role: "user", content: "earlier" }] })
    expect(r.handoff).toBeUndefined()
    expect(h.handoff).toEqual({ agent: "expert", id: "e1" })
    expect(h.text).toBe("expert e1 says hi")
    expect(asked[1][0]).toBe("expert")
    expect((asked[1][3] as { text: string; history: unknown[] }).text).toBe("hello there")
    expect((asked[1][3] as { history: unknown[] }).history.length).toBeGreaterThan(1)
    // each ask carries its tool call's idempotency key
    expect(keys).toEqual(["acme/assistant/a1/t-agent/1", "acme/assistant/a1/t-handoff/1"])
  })

  it("replay - the same code replays without divergence; changed code shows where it diverges", async () => {
    const models = createModels({ env: {}, journal: kvTurnJournal(turns) })
    await models.client(me, noAsk).turn("counter_add id=r1 n=2", { turn: "t-replay", tools: [counterAdd], system: "You count." })
    const runs0 = toolRuns
    const rec = (await readTurnRecord(models.journal, me, "t-replay"))!
    const same = await replayTurn(rec, { tools: [counterAdd], system: "You count." })
    expect(same.divergences).toEqual([])
    expect(same.replayedAnswer).toBe(rec.meta.answer)
    expect(toolRuns).toBe(runs0) // replay runs no tool
    const prompt = await replayTurn(rec, { tools: [counterAdd], system: "You count carefully." })
    expect(prompt.divergences.map((d) => d.kind)).toEqual(["request", "request"])
    const noTool = await replayTurn(rec, { system: "You count." })
    expect(noTool.divergences.map((d) => d.kind)).toContain("tool_missing")
    const strict = defineTool({ name: "counter_add", description: "Adds n to counter id and returns its total", parameters: Schema.Struct({ id: Schema.String, n: Schema.Number.pipe(Schema.greaterThan(10)) }), run: () => null })
    const stricter = await replayTurn(rec, { tools: [strict], system: "You count." })
    expect(stricter.divergences.map((d) => d.kind)).toContain("arguments")
    const short = await replayTurn(rec, { tools: [counterAdd], system: "You count.", maxSteps: 1 })
    expect(short.divergences.map((d) => d.kind)).toContain("extra_step")
  })

  it("budget - an exhausted agent budget stops model use with budget_exceeded, and budgets hold across nodes", async () => {
    const kvm = new Kvm(nc)
    const costKv = await kvm.create(MODEL_COST_BUCKET, { history: 1 })
    const budgetKv = await kvm.create(MODEL_BUDGET_BUCKET, { history: 1 })
    oai.respond(() => ({ text: "paid answer", usage: { input: 100, output: 100 } }))
    const budgets = { agent: { "assistant/spender": 0.1 }, type: { assistant: 0.3 } }
    const open = async (nodeId: string) => createModels({ file: oaiFile({ budgets }), env: {}, costs: await kvCostStore(costKv), budgets: kvBudgetStore(budgetKv), nodeId })
    const nodeA = await open("node-a")
    const nodeB = await open("node-b")
    const spender = { ...me, id: "spender" }
    const calls0 = oai.count()
    const a = await nodeA.client(spender, noAsk).chat("hi")
    expect(a.costUsd).toBeCloseTo(0.2, 10)
    await expect(nodeA.client(spender, noAsk).chat("hi")).rejects.toMatchObject({ _tag: "BudgetExceededError", code: "budget_exceeded", scope: "agent" })
    await expect(nodeB.client(spender, noAsk).chat("hi")).rejects.toMatchObject({ scope: "agent" })
    expect(oai.count() - calls0).toBe(1)
    // The type's counter is one for both nodes: B's call spends what is left, then both refuse.
    await nodeB.client({ ...me, id: "other" }, noAsk).chat("hi")
    await expect(nodeB.client({ ...me, id: "third" }, noAsk).chat("hi")).rejects.toMatchObject({ scope: "type" })
    await expect(nodeA.client({ ...me, id: "fourth" }, noAsk).chat("hi")).rejects.toMatchObject({ scope: "type" })
    expect(oai.count() - calls0).toBe(2)
    await waitUntil(() => nodeA.ledger.report("acme").total.calls === 2)
    expect(nodeA.ledger.report("acme").byType["acme/assistant"].inputTokens).toBeGreaterThanOrEqual(100)
  })

  it("budget - calls racing on two nodes cannot overspend a tenant's budget: each holds its estimate first", async () => {
    const kvm = new Kvm(nc)
    const costKv = await kvm.create(MODEL_COST_BUCKET, { history: 1 })
    const budgetKv = await kvm.create(MODEL_BUDGET_BUCKET, { history: 1 })
    // every answer costs $0.2 (100 + 100 tokens at $1000 per million); the tenant may spend $0.5
    oai.respond(() => ({ text: "paid answer", usage: { input: 100, output: 100 }, delayMs: 50 }))
    const budgets = { tenant: { racers: 0.5 } }
    const open = async (nodeId: string) => createModels({ file: oaiFile({ budgets }), env: {}, costs: await kvCostStore(costKv), budgets: kvBudgetStore(budgetKv), nodeId })
    const nodes = [await open("node-a"), await open("node-b")]
    const calls0 = oai.count()
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => nodes[i % 2].client({ tenant: "racers", type: "assistant", id: `r${i}` }, noAsk).chat("hi")),
    )
    const answered = results.filter((r) => r.status === "fulfilled").length
    const refused = results.filter((r) => r.status === "rejected" && (r.reason as { _tag?: string })._tag === "BudgetExceededError").length
    expect(answered + refused).toBe(12)
    // a call starts only while spent + held < $0.5, and each holds at least its $0.2 estimate
    expect(answered).toBeGreaterThanOrEqual(1)
    expect(answered).toBeLessThanOrEqual(3)
    expect(oai.count() - calls0).toBe(answered)
    // calls one after another until the budget is spent: then it stops both nodes
    let late = 0
    for (; late < 5; late++) {
      const r = await nodes[late % 2].client({ tenant: "racers", type: "assistant", id: `late${late}` }, noAsk).chat("hi").catch((e) => e)
      if ((r as { _tag?: string })._tag === "BudgetExceededError") break
    }
    for (const n of nodes) await expect(n.client({ tenant: "racers", type: "assistant", id: "after" }, noAsk).chat("hi")).rejects.toMatchObject({ _tag: "BudgetExceededError", scope: "tenant" })
    const spent = (answered + late) * 0.2
    expect(spent).toBeGreaterThanOrEqual(0.5)
    expect(spent).toBeLessThan(0.5 + 0.2 + 1e-9)
    expect(oai.count() - calls0).toBe(answered + late)
    const counter = (await budgetKv.get(modelBudgetKey("tenant", { tenant: "racers", type: "assistant", id: "x" })))!.json<{ usd: number; holds: object }>()
    expect(counter.usd).toBeCloseTo(spent, 10)
    expect(counter.holds).toEqual({})
  })

  it("chat - an output Schema asks for JSON and decodes it; streaming delivers deltas", async () => {
    const models = createModels({ env: {} })
    const c = models.client(me, noAsk)
    const a = await c.chat("hello", { output: Schema.Struct({ text: Schema.String }) })
    expect(a.output).toEqual({ text: "offline model: hello" })
    oai.respond(() => ({ text: "not json" }))
    const online = createModels({ file: oaiFile({ models: [{ name: "gpt-small", provider: "oai", capabilities: ["chat", "json"] }] }), env: {} })
    await expect(online.client(me, noAsk).chat("hello", { output: Schema.Struct({ text: Schema.String }) })).rejects.toMatchObject({ _tag: "TurnError", reason: "invalid_output" })
    oai.respond(() => ({ text: "streamed words here" }))
    const deltas: StreamDelta[] = []
    const s = await online.client(me, noAsk).chat("go", { onDelta: (d) => deltas.push(d) })
    expect(s.content).toBe("streamed words here")
    expect(deltas.length).toBe(3)
  })

  it("conversation - truncation keeps tool results with their calls; summarising folds older messages", async () => {
    const conv: ChatMessage[] = []
    for (let i = 0; i < 5; i++) {
      conv.push({ role: "user", content: `q${i}` })
      conv.push({ role: "assistant", content: "", toolCalls: [{ id: `c${i}`, name: "t", arguments: {} }] })
      conv.push({ role: "tool", toolCallId: `c${i}`, name: "t", content: "r" })
      conv.push({ role: "assistant", content: `a${i}` })
    }
    const cut = await applyPolicy(conv, { kind: "truncate", maxMessages: 6 })
    expect(cut[0]).toEqual({ role: "user", content: "q4" })
    expect(cut).toHaveLength(4)
    const models = createModels({ env: {} })
    const folded = await models.client(me, noAsk).compact(conv, { kind: "summarise", maxMessages: 10, keep: 4 })
    expect(folded[0].role).toBe("system")
    expect(folded[0].content).toMatch(/^Summary of the earlier conversation: offline model: user: q0/)
    expect(folded.slice(1)).toEqual(conv.slice(16))
  })

  it("stats - two routers share what they learn through the KV bucket", async () => {
    const statsKv = await new Kvm(nc).create(MODEL_STATS_BUCKET, { history: 1 })
    const config = resolveModels({ file: oaiFile(), env: {} })
    const a = new Router({ config, sharing: kvStatsSharing(statsKv, "node-a") })
    const b = new Router({ config, sharing: kvStatsSharing(statsKv, "node-b") })
    oai.respond(() => ({ status: 500 }))
    await expect(a.call({ messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ _tag: "ModelUnavailableError" })
    await waitUntil(() => b.stats("gpt-small")!.remote.get("node-a"))
    expect(b.stats("gpt-small")!.blended().success).toBeLessThan(1)
    a.close()
    b.close()
    oai.respond(() => ({ text: "hello from fake openai" }))
  })

  // one model with a small context: a long history overflows it
  const smallFile = (): ModelsFile => ({ providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "small", provider: "oai", contextTokens: 300 }] })
  const history: ChatMessage[] = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i} `.repeat(20) }))

  it("turn summary - a resumed turn takes the recorded summary and does not summarise again", async () => {
    const models = createModels({ file: smallFile(), env: {}, journal: kvTurnJournal(turns) })
    let summaries = 0
    const summarise = async (messages: ReadonlyArray<ChatMessage>): Promise<ChatMessage[]> => {
      summaries++
      return [{ role: "system", content: `summary ${summaries} of ${messages.length} messages` }, messages[messages.length - 1]]
    }
    const client = models.client(me2, noAsk)
    // the first try: summarised, then the model fails, the turn is cut short with its journal kept
    oai.respond(() => ({ status: 500 }))
    const before = oai.count()
    await expect(client.turn("and now?", { turn: "t5", history, route: { summarise } })).rejects.toMatchObject({ _tag: "ModelUnavailableError" })
    expect(summaries).toBe(1)
    expect(oai.count() - before).toBe(1)
    const kept = await turns.get(turnSummaryKey(me2, "t5", 0))
    expect(kept?.json<{ messages: ChatMessage[] }>().messages[0].content).toBe("summary 1 of 13 messages")

    // asked again (a new activation, the same turn id and input): the recorded summary is used
    oai.respond(() => ({ text: "answered from the summary" }))
    const models2 = createModels({ file: smallFile(), env: {}, journal: kvTurnJournal(turns) })
    const r = await models2.client(me2, noAsk).turn("and now?", { turn: "t5", history, route: { summarise } })
    expect(r.text).toBe("answered from the summary")
    expect(summaries).toBe(1)
    expect(r.resumed).toBe(1)
    const sent = oai.requests.at(-1)!.body.messages as Array<{ content: string }>
    expect(sent.map((m) => m.content)).toEqual(["summary 1 of 13 messages", "and now?"])
    const record = await readTurnRecord(models2.journal, me2, "t5")
    expect(record?.meta.status).toBe("done")
    expect(record?.steps.map((s) => s.kind)).toEqual(["model"])
    models.close()
    models2.close()
  })

  it("turn summary - the same turn id with another question summarises afresh", async () => {
    const models = createModels({ file: smallFile(), env: {}, journal: kvTurnJournal(turns) })
    let summaries = 0
    const summarise = async (messages: ReadonlyArray<ChatMessage>): Promise<ChatMessage[]> => {
      summaries++
      return [messages[messages.length - 1]]
    }
    oai.respond(() => ({ text: "fine" }))
    const client = models.client(me2, noAsk)
    await client.turn("first question", { turn: "t6", history, route: { summarise } })
    await client.turn("another question", { turn: "t6", history, route: { summarise } })
    expect(summaries).toBe(2)
    expect((oai.requests.at(-1)!.body.messages as Array<{ content: string }>).map((m) => m.content)).toEqual(["another question"])
    models.close()
  })
})
