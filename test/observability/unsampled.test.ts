/**
 * The unsampled path made without the SDK (runtime/observability/unsampled.ts): a root decided
 * as the SDK's ratio sampler decides it, with its trace id kept when sampled; the raw
 * `traceparent` read as the parsed one is; the light trace headers encoded as nats.js encodes
 * them; and, end to end, an unsampled trace exports nothing and still reaches user code.
 */
import { afterEach, describe, expect, it } from "vitest"
import { headers as natsHeaders } from "@nats-io/nats-core"
import { MsgImpl } from "@nats-io/nats-core/internal"
import { ROOT_CONTEXT, SamplingDecision, trace } from "@opentelemetry/api"
import { TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { spanContextFromHeaders, startTracing, type Tracing } from "../../runtime/observability/mod.ts"
import { drawRoot, ratioBound, rawTraceParent, remoteContextOf, TraceHeaders } from "../../runtime/observability/unsampled.ts"
import { agentSubject, partitionSubject } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, parseTraceParent } from "../../subjects/trace-context.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const broker = natsPerFile()
const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

// `peek`: an async handler that reads the active span, as user code with the OpenTelemetry API would
const peek = defineAgent({
  type: "peek",
  protocol: { Look: { message: Empty, reply: Schema.Struct({ traceId: Schema.String, sampled: Schema.Boolean }) } },
  initialState: () => ({}),
  checkpoint: "never",
  handlers: {
    Look: async () => {
      await null
      const sc = trace.getActiveSpan()?.spanContext()
      return { traceId: sc?.traceId ?? "", sampled: ((sc?.traceFlags ?? 0) & 1) === 1 }
    },
  },
})

/** A message as nats.js hands it over, with `h`'s bytes as its header block. */
function msgWith(headerBytes: Uint8Array): MsgImpl {
  const body = Buffer.from("{}")
  const rdata = new Uint8Array(headerBytes.length + body.length)
  rdata.set(headerBytes)
  rdata.set(body, headerBytes.length)
  return new MsgImpl({ subject: Buffer.from("s"), reply: Buffer.from(""), sid: 1, hdr: headerBytes.length, size: rdata.length } as never, rdata, {} as never)
}

const encodeNats = (pairs: Array<[string, string]>) => {
  const h = natsHeaders()
  for (const [k, v] of pairs) h.append(k, v)
  return (h as unknown as { encode(): Uint8Array }).encode()
}

async function node(nodeId: string, env: Record<string, string>): Promise<AntsNode> {
  const n = await startNode({ agents: [peek], nats: broker.server.url, nodeId, logger: () => {}, memory: false, models: false, tracing: { env } })
  cleanups.push(() => n.drain())
  return n
}

async function receiverEnv(extra: Record<string, string>): Promise<{ receiver: OtlpReceiver; env: Record<string, string> }> {
  const receiver = await startOtlpReceiver()
  cleanups.push(() => receiver.close())
  return { receiver, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "ants-test", ...extra } }
}

describe("unsampled", () => {
  it("root decision - a drawn root is sampled exactly when the SDK's TraceIdRatioBasedSampler samples its trace id", () => {
    for (const ratio of [0, 0.1, 0.5, 1]) {
      const sdk = new TraceIdRatioBasedSampler(ratio)
      let sampled = 0
      for (let i = 0; i < 2000; i++) {
        const r = drawRoot(ratioBound(ratio))
        expect(r.traceId).toMatch(/^[0-9a-f]{32}$/)
        expect(r.spanId).toMatch(/^[0-9a-f]{16}$/)
        expect(r.sampled).toBe(sdk.shouldSample(ROOT_CONTEXT, r.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED)
        if (r.sampled) sampled++
      }
      if (ratio === 0) expect(sampled).toBe(0)
      if (ratio === 1) expect(sampled).toBe(2000)
      if (ratio === 0.5) expect(sampled).toBeGreaterThan(800)
    }
  })

  it("raw traceparent - read from the header bytes as the parsed headers read it; anything else is left to the parsed headers", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    const one = rawTraceParent(msgWith(encodeNats([[TRACEPARENT_HEADER, tp]])))
    expect(one?.sampled).toBe(false)
    expect(Buffer.from(one!.bytes).toString("latin1")).toBe(tp)
    const sampledMsg = msgWith(encodeNats([[TRACEPARENT_HEADER, tp.replace(/00$/, "01")]]))
    const sampled = rawTraceParent(sampledMsg)
    expect(sampled?.sampled).toBe(true)
    // the parent read raw is the one the parsed headers name
    expect(remoteContextOf(sampled!.bytes, true)).toEqual(spanContextFromHeaders(sampledMsg.headers!))
    expect(remoteContextOf(one!.bytes, false)).toEqual(spanContextFromHeaders(msgWith(encodeNats([[TRACEPARENT_HEADER, tp]])).headers!))
    expect(rawTraceParent(msgWith(encodeNats([[TRACEPARENT_HEADER, tp.replace(/00$/, "03")]])))?.sampled).toBe(true)
    expect(rawTraceParent(msgWith(encodeNats([[TRACEPARENT_HEADER, tp.replace(/00$/, "02")]])))?.sampled).toBe(false)
    // invalid as parseTraceParent says: not read raw (the parsed path ignores them and starts a new trace)
    for (const bad of [tp.replace("4bf9", "4BF9"), `00-${"0".repeat(32)}-00f067aa0ba902b7-00`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-00`, `ff${tp.slice(2)}`, tp.replace("-00f0", "x00f0")]) {
      expect(parseTraceParent(bad)).toBeUndefined()
      expect(rawTraceParent(msgWith(encodeNats([[TRACEPARENT_HEADER, bad]])))).toBeUndefined()
    }
    // another header, a tracestate, a header in another case: the parsed headers decide
    expect(rawTraceParent(msgWith(encodeNats([[TRACEPARENT_HEADER, tp], [TRACESTATE_HEADER, "a=b"]])))).toBeUndefined()
    expect(rawTraceParent(msgWith(encodeNats([["Traceparent", tp]])))).toBeUndefined()
    expect(rawTraceParent(msgWith(encodeNats([["x-other", "y".repeat(tp.length + 2)]])))).toBeUndefined()
    expect(rawTraceParent(msgWith(new Uint8Array(0)))).toBeUndefined()
  })

  it("trace headers - encoded as nats.js encodes the same headers, and read and changed as nats.js headers", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    expect(Buffer.from(new TraceHeaders(tp).encode())).toEqual(Buffer.from(encodeNats([[TRACEPARENT_HEADER, tp]])))
    expect(Buffer.from(new TraceHeaders(tp, "k=v").encode())).toEqual(Buffer.from(encodeNats([[TRACEPARENT_HEADER, tp], [TRACESTATE_HEADER, "k=v"]])))
    const h = new TraceHeaders(tp)
    expect(h.get(TRACEPARENT_HEADER)).toBe(tp)
    h.set("x-more", "1")
    expect([...h].map(([k]) => k)).toEqual([TRACEPARENT_HEADER, "x-more"])
    expect(Buffer.from((h as unknown as { encode(): Uint8Array }).encode())).toEqual(Buffer.from(encodeNats([[TRACEPARENT_HEADER, tp], ["x-more", "1"]])))
  })

  it("unsampled - a flag-00 traceparent exports no span on the node and its trace id reaches the handler's active span", async () => {
    const { receiver, env } = await receiverEnv({ OTEL_TRACES_SAMPLER: "parentbased_always_on" })
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("un1", env)
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const ask = async (flags: string) => {
      const h = natsHeaders()
      h.set(TRACEPARENT_HEADER, `00-${traceId}-00f067aa0ba902b7-${flags}`)
      const r = await broker.nc.request(agentSubject({ tenant: "default", type: "peek", id: "p1", tag: "Look" }), new TextEncoder().encode("{}"), { timeout: 10_000, headers: h })
      return r.json<{ ok: boolean; value: { traceId: string; sampled: boolean } }>()
    }
    expect(await ask("00")).toMatchObject({ ok: true, value: { traceId, sampled: false } })
    // the same trace sampled afterwards is exported: the receiver works, and only that ask is in it
    expect(await ask("01")).toMatchObject({ ok: true, value: { traceId, sampled: true } })
    const spans = await waitUntil(async () => {
      await tracing.flush()
      const s = receiver.spans()
      return s.some((x) => x.name === "ants.handle peek.Look") ? s : undefined
    })
    expect(spans.filter((s) => s.name === "ants.dispatch peek.Look")).toHaveLength(1)
    expect(spans.filter((s) => s.name === "ants.handle peek.Look")).toHaveLength(1)
    expect(spans.every((s) => s.traceId === traceId)).toBe(true)
  })

  it("unsampled - a root not sampled (ratio 0) sends a flag-00 traceparent with a new trace id, the handler sees it, and nothing is exported", async () => {
    const { receiver, env } = await receiverEnv({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" })
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("un2", env)
    const seen: Array<string | undefined> = []
    const subject = partitionSubject(partitionOf("peek", "p2"), { tenant: "default", type: "peek", id: "p2", tag: "Look" })
    const sub = broker.nc.subscribe(subject, { callback: (_e, m) => void seen.push(m.headers?.get(TRACEPARENT_HEADER)) })
    cleanups.push(async () => sub.unsubscribe())
    await broker.nc.flush()
    const client = createMessaging(broker.nc)
    const a = (await client.ask({ agent: "peek", id: "p2" }, "Look", {})) as { traceId: string; sampled: boolean }
    const b = (await client.ask({ agent: "peek", id: "p2" }, "Look", {})) as { traceId: string; sampled: boolean }
    await waitUntil(() => seen.length === 2)
    const wire = seen.map((v) => parseTraceParent(v))
    expect(wire.map((p) => p?.traceFlags)).toEqual([0, 0])
    // each ask is a trace of its own, and the handler's active span carries the one on the wire
    expect(wire[0]!.traceId).not.toBe(wire[1]!.traceId)
    expect([a, b]).toEqual([{ traceId: wire[0]!.traceId, sampled: false }, { traceId: wire[1]!.traceId, sampled: false }])
    await tracing.flush()
    expect(receiver.posts).toEqual([])
  })

  it("sampled root - a root the ratio samples (ratio 1) is exported under the trace id its decision was made on (the one on the wire)", async () => {
    const { receiver, env } = await receiverEnv({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" })
    const tracing = (await startTracing({ env })) as Tracing
    cleanups.push(() => tracing.stop())
    await node("un3", env)
    const client = createMessaging(broker.nc)
    const r = (await client.ask({ agent: "peek", id: "p3" }, "Look", {})) as { traceId: string; sampled: boolean }
    expect(r.sampled).toBe(true)
    const spans = await waitUntil(async () => {
      await tracing.flush()
      const s = receiver.spans()
      return s.some((x) => x.name === "ants.ask peek.Look") && s.some((x) => x.name === "ants.handle peek.Look") ? s : undefined
    })
    const ask = spans.find((s) => s.name === "ants.ask peek.Look")!
    expect(ask.traceId).toBe(r.traceId)
    expect(ask.parentSpanId).toBeUndefined()
    expect(spans.find((s) => s.name === "ants.dispatch peek.Look")?.parentSpanId).toBe(ask.spanId)
  })
})
