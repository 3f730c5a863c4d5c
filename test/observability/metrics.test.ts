/**
 * The node's HTTP listener and Prometheus metrics against a real server: `/metrics` parses as
 * Prometheus text and its counters move with the traffic the test sends; `/healthz` answers;
 * a token guards `/metrics` and mounted routes; an address beyond loopback needs a token.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent } from "../../runtime/agent/define-agent.ts"
import { assistant, counter, echo } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { countSandboxRun } from "../../runtime/observability/mod.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { parsePrometheusText, sampleValue } from "../helpers/prometheus-text.ts"

// `marker`: deposits (or reinforces) a pheromone of the type it is told, at one location
const Done = Schema.Struct({ strength: Schema.Number })
const marker = defineAgent({
  type: "marker",
  protocol: { Mark: { message: Schema.Struct({ type: Schema.String, id: Schema.String }), reply: Done } },
  initialState: () => ({}),
  handlers: {
    Mark: async (m, ctx) => ({ strength: (await ctx.pheromones.deposit({ type: m.type, location: "metrics.here", id: m.id, strength: 0.4, onExisting: "reinforce" })).strength }),
  },
})

const broker = natsPerFile()
const quiet = () => {}
const nodes: AntsNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.drain()))
})

async function node(nodeId: string, http: Parameters<typeof startNode>[0]["http"]): Promise<AntsNode> {
  const n = await startNode({ agents: [echo, counter], nats: broker.server.url, nodeId, logger: quiet, memory: false, models: false, tracing: false, http })
  nodes.push(n)
  return n
}

async function scrape(n: AntsNode, headers: Record<string, string> = {}) {
  const r = await fetch(`${n.http!.url}/metrics`, { headers })
  expect(r.status).toBe(200)
  expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await r.text())
}

describe("metrics", () => {
  it("metrics - /metrics parses as Prometheus text and its counters move with the traffic sent", async () => {
    const n = await node("m1", "127.0.0.1:0")
    expect(n.http?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const before = await scrape(n)
    expect(before.types.get("ants_messages_received_total")).toBe("counter")
    expect(before.types.get("ants_ask_duration_seconds")).toBe("histogram")
    expect(sampleValue(before.samples, "ants_messages_received_total", { type: "echo" })).toBe(0)

    for (let i = 0; i < 7; i++) expect(await n.client.ask({ agent: "echo", id: `e${i % 3}` }, "Say", { text: "hi" })).toEqual({ text: "hi" })
    await expect(n.client.ask({ agent: "echo", id: "e0" }, "Nope", {})).rejects.toMatchObject({ code: "unknown_tag" })
    countSandboxRun("ok")

    const after = await scrape(n)
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(after.samples, name, { node: "m1", ...labels })
    expect(v("ants_messages_received_total", { type: "echo", tenant: "default" })).toBe(8)
    expect(v("ants_messages_handled_total", { type: "echo" })).toBe(7)
    expect(v("ants_messages_rejected_total", { type: "echo", reason: "unknown_tag" })).toBe(1)
    expect(v("ants_ask_duration_seconds_count", { type: "echo", tag: "Say" })).toBe(7)
    expect(v("ants_ask_duration_seconds_bucket", { type: "echo", tag: "Say", le: "+Inf" })).toBe(7)
    expect(v("ants_ask_duration_seconds_sum", { type: "echo", tag: "Say" })).toBeGreaterThan(0)
    expect(v("ants_activations_total", { type: "echo" })).toBe(3)
    expect(v("ants_actors", { type: "echo", state: "active" }) + v("ants_actors", { type: "echo", state: "idle" })).toBe(3)
    expect(v("ants_cluster_members")).toBe(1)
    expect(v("ants_partitions_owned")).toBe(64)
    expect(v("ants_sandbox_runs_total", { outcome: "ok" })).toBeGreaterThanOrEqual(1)
    expect(after.samples.some((s) => s.name === "process_cpu_user_seconds_total")).toBe(true)
    expect(after.types.get("ants_task_queue_depth")).toBe("gauge")

    const health = await fetch(`${n.http!.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ ok: true, node: "m1" })
    const missing = await fetch(`${n.http!.url}/nothing`)
    expect(missing.status).toBe(404)
  })

  it("metrics - model calls count their tokens and cost per provider and model", async () => {
    const n = await startNode({ agents: [assistant, counter], nats: broker.server.url, nodeId: "mm", logger: quiet, memory: false, tracing: false, http: "127.0.0.1:0" })
    nodes.push(n)
    await n.client.ask({ agent: "assistant", id: "a1" }, "Chat", { text: "counter_add id=c1 n=2" })
    const m = await scrape(n)
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(m.samples, name, { node: "mm", ...labels })
    // the offline provider answered twice: the tool call, then the answer with the tool's result
    expect(v("ants_model_calls_total")).toBe(2)
    expect(v("ants_model_tokens_total", { direction: "input" })).toBeGreaterThan(0)
    expect(v("ants_model_tokens_total", { direction: "output" })).toBeGreaterThan(0)
    expect(m.samples.filter((s) => s.name === "ants_model_calls_total").every((s) => s.labels.provider !== undefined && s.labels.model !== undefined)).toBe(true)
    expect(m.types.get("ants_model_cost_usd_total")).toBe("counter")
  })

  it("metrics - pheromone writes are counted by tenant, pheromone type and operation as actors deposit and reinforce", async () => {
    const n = await startNode({ agents: [marker], nats: broker.server.url, nodeId: "mp", logger: quiet, memory: false, models: false, tracing: false, http: "127.0.0.1:0" })
    nodes.push(n)
    const before = await scrape(n)
    expect(before.types.get("ants_pheromone_writes_total")).toBe("counter")
    expect(before.samples.filter((s) => s.name === "ants_pheromone_writes_total")).toEqual([])
    await n.client.ask({ agent: "marker", id: "m1" }, "Mark", { type: "danger", id: "d1" })
    await n.client.ask({ agent: "marker", id: "m1" }, "Mark", { type: "danger", id: "d1" })
    await n.client.ask({ agent: "marker", id: "m1" }, "Mark", { type: "success", id: "s1" })
    const after = await scrape(n)
    const v = (labels: Record<string, string>) => sampleValue(after.samples, "ants_pheromone_writes_total", { node: "mp", tenant: "default", ...labels })
    expect(v({ pheromone_type: "danger", op: "deposit" })).toBe(1)
    expect(v({ pheromone_type: "danger", op: "reinforce" })).toBe(1)
    expect(v({ pheromone_type: "success", op: "deposit" })).toBe(1)
  })

  it("metrics - two nodes in one process keep registries of their own", async () => {
    const a = await node("m2a", "127.0.0.1:0")
    const b = await node("m2b", ":0")
    await a.client.ask({ agent: "counter", id: "c1" }, "Add", { n: 1 })
    const [ma, mb] = await Promise.all([scrape(a), scrape(b)])
    const total = (m: typeof ma, name: string) => sampleValue(m.samples, name, { type: "counter" })
    // exactly one of them handled the ask (while b's partitions move to it, a may also have
    // received it and forwarded it to b: each counts what it did); each reports only its own
    expect(total(ma, "ants_messages_handled_total") + total(mb, "ants_messages_handled_total")).toBe(1)
    expect(total(ma, "ants_messages_received_total") + total(mb, "ants_messages_received_total")).toBe(1 + total(ma, "ants_messages_forwarded_total") + total(mb, "ants_messages_forwarded_total"))
    expect(ma.samples.every((s) => s.labels.node === "m2a")).toBe(true)
    expect(mb.samples.every((s) => s.labels.node === "m2b")).toBe(true)
  })

  it("http listener - a token guards /metrics and mounted routes, not /healthz; a public address needs a token", async () => {
    const n = await node("m3", { address: "127.0.0.1:0", token: "s3cret" })
    expect((await fetch(`${n.http!.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${n.http!.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401)
    await scrape(n, { authorization: "Bearer s3cret" })
    expect((await fetch(`${n.http!.url}/healthz`)).status).toBe(200)
    n.http!.mount("/extra", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" })
      res.end("mounted")
    })
    expect((await fetch(`${n.http!.url}/extra/x`)).status).toBe(401)
    const mounted = await fetch(`${n.http!.url}/extra/x`, { headers: { authorization: "Bearer s3cret" } })
    expect(await mounted.text()).toBe("mounted")

    const saved = process.env.ANTS_HTTP_TOKEN
    delete process.env.ANTS_HTTP_TOKEN
    try {
      await expect(startNode({ agents: [echo], nats: broker.server.url, nodeId: "m4", logger: quiet, memory: false, models: false, tracing: false, http: "0.0.0.0:0" })).rejects.toMatchObject({ _tag: "HttpListenerError" })
      await expect(startNode({ agents: [echo], nats: broker.server.url, nodeId: "m5", logger: quiet, memory: false, models: false, tracing: false, http: "nonsense:port" })).rejects.toThrow(/not an address/)
    } finally {
      if (saved !== undefined) process.env.ANTS_HTTP_TOKEN = saved
    }
  })
})
