/**
 * tracing: what OpenTelemetry tracing costs an ask. The same node and the same typed asks to
 * active `echo` actors, closed loop at each concurrency, in alternating rounds with tracing off
 * (no SDK installed: the baseline) and on (the SDK installed for the round, every ask sampled:
 * the caller's `ants.ask` span, the node's `ants.dispatch` span and the handler's `ants.handle`
 * span, with `traceparent` on every message, exported by the batch span processor over OTLP
 * http/protobuf to a receiver in this process that reads and discards the bodies, as a local
 * collector would). The processor's queue is raised so no span is dropped at this rate; the
 * note says how many spans reached the exporter per ask. A second figure at the highest
 * concurrency samples one trace in ten (`parentbased_traceidratio` 0.1, a production setting):
 * every message still carries `traceparent`, nine in ten unsampled. Beside throughput, each
 * round's CPU per ask (`process.cpuUsage` of this process, where caller, node and exporter all
 * run, over the round and, traced, the flush after it) is recorded: on a shared machine it moves
 * far less with other load than throughput does, and it is what tracing adds.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import { echo } from "../../actors/examples/index.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { startTracing } from "../../runtime/observability/mod.ts"
import { alternate, closedLoop, payloadText, type LoopResult } from "../load.ts"
import { percentile } from "../stats.ts"
import { benchLogger, duration, rawConnection, rounds } from "../support.ts"
import { atEachLevel, failedNote, halfRounds, recordVsRaw } from "../compare.ts"
import type { Scenario } from "../types.ts"

/** A round's result with the CPU this process spent per operation over it. */
type Measured = LoopResult & { readonly cpuUsPerOp: number }

async function measured(run: () => Promise<LoopResult>, after?: () => Promise<unknown>): Promise<Measured> {
  const c0 = process.cpuUsage()
  const r = await run()
  await after?.()
  const c = process.cpuUsage(c0)
  return { ...r, cpuUsPerOp: (c.user + c.system) / Math.max(1, r.ops) }
}
const cpuOf = (x: LoopResult) => (x as Measured).cpuUsPerOp

const BASELINE = "the same asks to the same node with tracing off (no OpenTelemetry SDK installed), alternating rounds"

/** An OTLP/HTTP receiver that reads and drops what it is sent (the collector's side of the wire). */
async function startSink(): Promise<{ url: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0
  const server = createServer((req, res) => {
    req.on("data", (c: Buffer) => (bytes += c.length))
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/x-protobuf" })
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    bytes: () => bytes,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  }
}

/** Counts the spans that reach the exporter (those the processor did not drop). */
function counting(inner: SpanExporter, count: (n: number) => void): SpanExporter {
  return {
    export: (spans: ReadableSpan[], done) => {
      count(spans.length)
      inner.export(spans, done)
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  }
}

export const tracingScenario: Scenario = {
  name: "tracing",
  summary: "ask throughput and p50 with tracing on (every ask traced, OTLP http/protobuf to a local receiver; and 10% sampled) vs off, same node",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const sink = await startSink()
    const callerNc = await rawConnection(ctx.natsUrl, "bench-caller")
    const node = await startNode({ agents: [echo], nats: ctx.natsUrl, nodeId: "bench-tracing", logger: benchLogger(ctx), tracing: false, memory: false, models: false })
    let spans = 0
    let tracedAsks = 0
    try {
      const client = createMessaging(callerNc)
      const levels = ctx.options.concurrency
      const refs = Array.from({ length: Math.max(...levels) }, (_, i) => client.ref(echo, `t${i}`))
      const loop = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, (w) => refs[w]!.ask("Say", { text }))
      const off = (c: number, ms: number) => measured(() => loop(c, ms))
      const on = async (c: number, ms: number, sampler?: Record<string, string>): Promise<LoopResult> => {
        const exporter = counting(new OTLPTraceExporter({ url: sink.url }), (n) => (spans += n))
        const tracing = (await startTracing({ exporter, env: { OTEL_BSP_MAX_QUEUE_SIZE: "262144", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2048", OTEL_BSP_SCHEDULE_DELAY: "200", ...sampler } }))!
        let stopped = false
        try {
          // flushed outside the measured window (for throughput), inside the CPU figure
          const r = await measured(() => loop(c, ms), () => ((stopped = true), tracing.stop()))
          if (sampler === undefined) tracedAsks += r.ops
          return r
        } finally {
          if (!stopped) await tracing.stop()
        }
      }
      const R = rounds(ctx)
      const D = duration(ctx)
      await atEachLevel(ctx, { levels, rounds: R, durationMs: D, raw: off, ants: on }, (c, res) => {
        const params = { concurrency: c, rounds: R, durationMs: D, payload: ctx.options.payload, sampler: "parentbased_always_on", exporter: "otlp http/protobuf" }
        const exported = tracedAsks > 0 ? `${(spans / tracedAsks).toFixed(2)} spans exported per traced ask so far (3 expected), ${Math.round(sink.bytes() / 1024)} KiB received` : undefined
        const note = [failedNote(res), exported].filter(Boolean).join("; ") || undefined
        recordVsRaw(ctx, res, (x) => x.throughput, { metric: `throughput c=${c}`, baselineOf: BASELINE, unit: "msg/s", better: "higher", target: "ratio >= 0.9", headline: true, params, note })
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.5), { metric: `p50 c=${c}`, baselineOf: BASELINE, unit: "ms", better: "lower", params })
        recordVsRaw(ctx, res, cpuOf, { metric: `cpu per ask c=${c}`, baselineOf: BASELINE, unit: "µs", better: "lower", params })
      })
      // a production setting: one trace in ten sampled (the others still carry traceparent, unsampled)
      const maxC = Math.max(...levels)
      const ratio = { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }
      const sampled = await alternate<LoopResult>(halfRounds(R), () => off(maxC, D), () => on(maxC, D, ratio))
      const params = { concurrency: maxC, rounds: sampled.ants.length, durationMs: D, payload: ctx.options.payload, sampler: "parentbased_traceidratio 0.1", exporter: "otlp http/protobuf" }
      recordVsRaw(ctx, sampled, (x) => x.throughput, { metric: `throughput c=${maxC}, 10% sampled`, baselineOf: BASELINE, unit: "msg/s", better: "higher", target: "ratio >= 0.9", params, note: failedNote(sampled) })
      recordVsRaw(ctx, sampled, cpuOf, { metric: `cpu per ask c=${maxC}, 10% sampled`, baselineOf: BASELINE, unit: "µs", better: "lower", params })
    } finally {
      await node.drain()
      await callerNc.close()
      await sink.close()
    }
  },
}
