/**
 * Traces across NATS hops, exported over OTLP/HTTP to a receiver the test starts: one trace
 * goes from a client's ask through a node that forwards it to the node that owns the actor and
 * its handler; the protobuf protocol posts protobuf; with no SDK nothing is added to messages;
 * an unsampled trace makes no span and still travels.
 */
import { afterEach, describe, expect, it } from "vitest"
import { headers as natsHeaders } from "@nats-io/nats-core"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { assistant, counter, EXAMPLE_WORK_CAPABILITY, worker } from "../../actors/examples/index.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { startTracing, tracingActive, type Tracing } from "../../runtime/observability/mod.ts"
import { PARTITIONS, agentSubject, partitionSubject } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { TRACEPARENT_HEADER, formatTraceParent, parseTraceParent } from "../../subjects/trace-context.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { where } from "../cluster/fixtures/where-agent.ts"

const broker = natsPerFile()
const quiet = () => {}
const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

// `relay`: its handler asks a counter, so what a traced turn sends can be seen on the wire
const relay = defineAgent({
  type: "relay",
  protocol: { Pass: { message: Empty, reply: Schema.Struct({ total: Schema.Number }) } },
  initialState: () => ({}),
  handlers: { Pass: async (_m, ctx) => (await ctx.ask({ agent: "counter", id: "relayed" }, "Add", { n: 1 })) as { total: number } },
})

// `fanout`: a plain handler that tells, and an async one that asks after an await
const fanout = defineAgent({
  type: "fanout",
  protocol: { Plain: { message: Empty, reply: Empty }, Later: { message: Empty, reply: Schema.Struct({ total: Schema.Number }) } },
  initialState: () => ({}),
  handlers: {
    Plain: (_m, ctx) => {
      ctx.tell({ agent: "counter", id: "plain" }, "Add", { n: 1 })
      return {}
    },
    Later: async (_m, ctx) => {
      await null
      return (await ctx.ask({ agent: "counter", id: "later" }, "Add", { n: 1 })) as { total: number }
    },
  },
})

const envFor = (r: OtlpReceiver, protocol: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_SERVICE_NAME: "ants-test" })

async function node(nodeId: string, agents: any[], env: Record<string, string>, models = false): Promise<AntsNode> {
  const n = await startNode({ agents, nats: broker.server.url, nodeId, logger: quiet, memory: false, tracing: { env }, ...(models ? {} : { models: false }) })
  cleanups.push(() => n.drain())
  return n
}

describe("traces", () => {
  it("trace context - traceparent is formatted and parsed as W3C writes it; invalid ones are ignored", () => {
    const p = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 }
    expect(formatTraceParent(p)).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    expect(parseTraceParent(formatTraceParent(p))).toEqual(p)
    expect(parseTraceParent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBeUndefined()
    expect(parseTraceParent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBeUndefined()
    expect(parseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")).toBeUndefined()
    expect(parseTraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")).toEqual(p)
    expect(parseTraceParent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).toBeUndefined()
  })

  it("tracing off - no SDK: no span is made and an ask carries no traceparent header", async () => {
    expect(tracingActive()).toBe(false)
    const n = await node("off1", [counter], {})
    const seen: Array<string | undefined> = []
    // the server maps the public subject to the actor's partition: listen there, beside the node
    const subject = partitionSubject(partitionOf("counter", "off"), { tenant: "default", type: "counter", id: "off", tag: "Add" })
    const sub = broker.nc.subscribe(subject, { callback: (_e, m) => void seen.push(m.headers?.get(TRACEPARENT_HEADER)) })
    await broker.nc.flush()
    await n.client.ask({ agent: "counter", id: "off" }, "Add", { n: 1 })
    await waitUntil(() => seen.length === 1)
    sub.unsubscribe()
    expect(seen).toEqual([undefined])
  })

  it("traces - one trace goes from a client's ask through a forwarding node to the owning node's handler (http/json)", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const env = envFor(receiver, "http/json")
    // the client's own process-wide SDK (the nodes share it: one provider per process)
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    expect(tracing.exporting).toBe(`otlp http/json ${receiver.url}/v1/traces`)
    // `where` lives only on ha; hb hosts another type, so an ask for `where` that lands on hb is forwarded to ha
    const ha = await node("ha", [where], env)
    const hb = await node("hb", [counter], env)
    await waitUntil(() => ha.cluster.members().length === 2 && hb.cluster.members().length === 2 && ha.cluster.partitions().length === PARTITIONS && hb.cluster.partitions().length === PARTITIONS, { timeoutMs: 15_000 })
    await Promise.all([ha.nc.flush(), hb.nc.flush()])
    const client = createMessaging(broker.nc)
    const forwardedTrace = async (): Promise<ReceivedSpan[] | undefined> => {
      await tracing.flush()
      const spans = receiver.spans()
      const hop = spans.find((s) => s.name === "ants.dispatch where.Hit" && s.attributes["ants.node.id"] === "hb" && s.attributes["ants.forwarded"] === true)
      if (hop === undefined) return undefined
      const trace = spans.filter((s) => s.traceId === hop.traceId)
      return trace.some((s) => s.name === "ants.handle where.Hit") ? trace : undefined
    }
    // each ask lands on either node (one queue group per partition): one of 40 reaches hb all but surely
    let trace: ReceivedSpan[] | undefined
    for (let i = 0; i < 40 && trace === undefined; i++) {
      expect(await client.ask({ agent: "where", id: `w${i}` }, "Hit", {})).toEqual({ node: "ha", count: 1 })
      if (i % 10 === 9) trace = await forwardedTrace()
    }
    trace ??= await waitUntil(forwardedTrace, { timeoutMs: 15_000, message: "a forwarded trace is exported" })
    const byName = (name: string, nodeId?: string) => trace!.find((s) => s.name === name && (nodeId === undefined || s.attributes["ants.node.id"] === nodeId))
    const ask = byName("ants.ask where.Hit")!
    const hop = byName("ants.dispatch where.Hit", "hb")!
    const owner = byName("ants.dispatch where.Hit", "ha")!
    const handle = byName("ants.handle where.Hit")!
    expect([ask, hop, owner, handle].every(Boolean)).toBe(true)
    // one chain: client ask -> forwarding node's dispatch -> owner's dispatch -> handler
    expect(ask.parentSpanId).toBeUndefined()
    expect(hop.parentSpanId).toBe(ask.spanId)
    expect(owner.parentSpanId).toBe(hop.spanId)
    expect(handle.parentSpanId).toBe(owner.spanId)
    expect(ask.kind).toBe(3) // client
    expect(owner.kind).toBe(2) // server
    expect(ask.attributes).toMatchObject({ "messaging.system": "nats", "ants.agent.type": "where", "ants.message.tag": "Hit", "ants.tenant": "default" })
    // the handler's span repeats none of its dispatch parent's address attributes
    expect(owner.attributes).toMatchObject({ "ants.agent.type": "where", "ants.agent.id": expect.any(String), "ants.message.tag": "Hit", "ants.tenant": "default", "ants.node.id": "ha" })
    expect(Object.keys(handle.attributes).filter((k) => k.startsWith("ants."))).toEqual([])
    expect(ask.service).toBe("ants-test")
    // `where` checkpoints before it replies: the write is a child of the handler's span
    const checkpoint = trace.find((s) => s.name === "ants.checkpoint where")
    expect(checkpoint?.parentSpanId).toBe(handle.spanId)
    expect(receiver.posts.every((p) => p.path === "/v1/traces" && p.contentType.startsWith("application/json"))).toBe(true)
  })

  it("traces - a handler's model call, its tool call, the tool's ask and a task's attempt are spans of the caller's trace", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const env = envFor(receiver, "http/json")
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    const n = await node("gm", [assistant, counter, worker], env, true)
    const client = createMessaging(broker.nc)
    const r = (await client.ask({ agent: "assistant", id: "a1" }, "Chat", { text: "counter_add id=c7 n=5" })) as { text: string }
    expect(r.text).toContain("counter_add returned")
    const submitted = await n.tasks!.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 0 } })
    const spans = await waitUntil(async () => {
      await tracing.flush()
      const all = receiver.spans()
      return all.some((s) => s.name === `ants.task ${EXAMPLE_WORK_CAPABILITY}`) && all.some((s) => s.name === "ants.handle counter.Add") ? all : undefined
    })
    const one = (name: string) => spans.find((s) => s.name === name)!
    const handle = one("ants.handle assistant.Chat")
    const model = spans.find((s) => s.name.startsWith("chat ") && s.traceId === handle.traceId)!
    expect(model.kind).toBe(3) // client
    expect(model.attributes).toMatchObject({ "gen_ai.operation.name": "chat", "gen_ai.system": "offline" })
    expect(model.attributes["gen_ai.request.model"]).toBeTypeOf("string")
    expect(model.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0)
    expect(model.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0)
    const tool = one("execute_tool counter_add")
    expect(tool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "counter_add" })
    expect(tool.traceId).toBe(handle.traceId)
    // the tool is an ask to the counter actor: the ask is the tool span's child, and the counter's handler is in the same trace
    const toolAsk = spans.find((s) => s.name === "ants.ask counter.Add" && s.parentSpanId === tool.spanId)
    expect(toolAsk).toBeDefined()
    expect(one("ants.handle counter.Add").traceId).toBe(handle.traceId)
    // a task: the submission and its attempt in one trace
    const submit = one(`ants.submit ${EXAMPLE_WORK_CAPABILITY}`)
    const attempt = one(`ants.task ${EXAMPLE_WORK_CAPABILITY}`)
    expect(attempt.traceId).toBe(submit.traceId)
    expect(attempt.parentSpanId).toBe(submit.spanId)
    expect(attempt.attributes).toMatchObject({ "ants.task.id": submitted.id, "ants.task.attempt": 1 })
  })

  it("traces - a refused ask's dispatch span carries the error code", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const env = envFor(receiver, "http/json")
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("ra", [counter], env)
    const client = createMessaging(broker.nc)
    await expect(client.ask({ agent: "counter", id: "r1" }, "Nope", {})).rejects.toMatchObject({ code: "unknown_tag" })
    const refused = await waitUntil(async () => {
      await tracing.flush()
      return receiver.spans().find((s) => s.name === "ants.dispatch counter.Nope")
    })
    expect(refused.attributes["ants.error.code"]).toBe("unknown_tag")
    expect(refused.status.code).toBe(2) // error
    const ask = receiver.spans().find((s) => s.spanId === refused.parentSpanId)
    expect(ask?.attributes["ants.error.code"]).toBe("unknown_tag")
  })

  it("traces - under a parent-based sampler an unsampled traceparent makes no span, and what the handler sends carries the same trace, unsampled", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const env = { ...envFor(receiver, "http/json"), OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" }
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("us", [relay, counter], env)
    const seen: Array<string | undefined> = []
    const subject = partitionSubject(partitionOf("counter", "relayed"), { tenant: "default", type: "counter", id: "relayed", tag: "Add" })
    const sub = broker.nc.subscribe(subject, { callback: (_e, m) => void seen.push(m.headers?.get(TRACEPARENT_HEADER)) })
    cleanups.push(async () => sub.unsubscribe())
    await broker.nc.flush()
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const h = natsHeaders()
    h.set(TRACEPARENT_HEADER, `00-${traceId}-00f067aa0ba902b7-00`)
    const r = await broker.nc.request(agentSubject({ tenant: "default", type: "relay", id: "r1", tag: "Pass" }), new TextEncoder().encode("{}"), { timeout: 10_000, headers: h })
    expect(r.json()).toMatchObject({ ok: true, value: { total: 1 } })
    await waitUntil(() => seen.length === 1)
    // the counter's ask went on in the same trace, not sampled (a root ratio of 1 would have sampled a new trace)
    expect(parseTraceParent(seen[0])).toMatchObject({ traceId, traceFlags: 0 })
    // a sampled ask afterwards is exported; nothing of the unsampled one ever is
    const client = createMessaging(broker.nc)
    expect(await client.ask({ agent: "relay", id: "r1" }, "Pass", {})).toEqual({ total: 2 })
    await waitUntil(async () => {
      await tracing.flush()
      return receiver.spans().some((s) => s.name === "ants.handle counter.Add")
    })
    expect(receiver.spans().filter((s) => s.traceId === traceId)).toEqual([])
    expect(new Set(receiver.spans().map((s) => s.traceId)).size).toBe(1)
  })

  it("traces - what a plain handler sends and what an async handler sends after an await are children of their turn's span", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const env = envFor(receiver, "http/json")
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("fo", [fanout, counter], env)
    const client = createMessaging(broker.nc)
    expect(await client.ask({ agent: "fanout", id: "f1" }, "Plain", {})).toEqual({})
    expect(await client.ask({ agent: "fanout", id: "f1" }, "Later", {})).toEqual({ total: 1 })
    const spans = await waitUntil(async () => {
      await tracing.flush()
      const all = receiver.spans()
      return all.some((s) => s.name === "ants.tell counter.Add") && all.some((s) => s.name === "ants.ask counter.Add") ? all : undefined
    })
    const one = (name: string) => spans.find((s) => s.name === name)!
    expect(one("ants.tell counter.Add").parentSpanId).toBe(one("ants.handle fanout.Plain").spanId)
    expect(one("ants.ask counter.Add").parentSpanId).toBe(one("ants.handle fanout.Later").spanId)
  })

  it("traces - OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf posts protobuf to the traces endpoint", async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(() => receiver.close())
    const n = await node("pb", [counter], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" })
    await n.client.ask({ agent: "counter", id: "p1" }, "Add", { n: 1 })
    // the node's drain flushes its spans (it is the SDK's last user)
    await n.drain()
    await waitUntil(() => receiver.posts.length > 0)
    expect(receiver.posts[0]!.path).toBe("/custom/traces")
    expect(receiver.posts[0]!.contentType).toBe("application/x-protobuf")
    expect(receiver.posts[0]!.body.length).toBeGreaterThan(50)
    expect(tracingActive()).toBe(false)
  })
})
