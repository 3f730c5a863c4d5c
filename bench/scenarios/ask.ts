/**
 * ask: request/reply to an active actor (`echo.Say`) against a raw nats.js request to a raw
 * responder subscription that echoes the same bytes. Same process layout on both sides: the
 * caller on one connection, the responder (raw subscription or ANTS node) on another, both in
 * this process. Closed loop at each concurrency (default 1, 16, 64): each worker sends its next
 * request when the previous reply arrived; ANTS workers each address their own actor.
 * Rounds alternate raw and ANTS; throughput and p50/p99 are medians over rounds.
 *
 * The headline baseline moves bytes only (the responder echoes the request's bytes, the caller
 * never parses the reply); ANTS encodes, validates and parses JSON at both ends by contract.
 * At the highest concurrency a second, non-headline pair of figures compares with a raw client
 * and responder doing that JSON work themselves, so what is left is the runtime's own overhead.
 */
import { echo } from "../../actors/examples/index.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { alternate, closedLoop, payloadText, type LoopResult } from "../load.ts"
import { median, percentile } from "../stats.ts"
import { benchLogger, duration, encoder, rawConnection, rounds } from "../support.ts"
import { atEachLevel, failedNote, halfRounds, recordVsRaw } from "../compare.ts"
import type { Scenario } from "../types.ts"

const RAW_SUBJECT = "bench.raw.echo"
const BASELINE = "raw nats.js request/reply to a raw responder, same process, same payload and concurrency"
const RAW_JSON_SUBJECT = "bench.raw.echo-json"
const BASELINE_JSON = "raw nats.js request of JSON.stringify(message) to a raw responder that parses it and answers JSON.stringify of it, the caller parsing the reply; same process, payload and concurrency"

export const askScenario: Scenario = {
  name: "ask",
  summary: "ask an active actor vs raw nats.js request/reply: throughput, p50, p99 at concurrency 1/16/64",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const body = encoder.encode(JSON.stringify({ text }))
    const responderNc = await rawConnection(ctx.natsUrl, "bench-raw-responder")
    const callerNc = await rawConnection(ctx.natsUrl, "bench-caller")
    const node = await startNode({ agents: [echo], nats: ctx.natsUrl, nodeId: "bench-ask", logger: benchLogger(ctx) })
    try {
      responderNc.subscribe(RAW_SUBJECT, { callback: (_e, m) => void m.respond(m.data) })
      responderNc.subscribe(RAW_JSON_SUBJECT, { callback: (_e, m) => void m.respond(JSON.stringify(m.json())) })
      await responderNc.flush()
      const client = createMessaging(callerNc)
      const levels = ctx.options.concurrency
      const maxC = Math.max(...levels)
      const refs = Array.from({ length: maxC }, (_, i) => client.ref(echo, `w${i}`))
      const raw = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, () => callerNc.request(RAW_SUBJECT, body, { timeout: 5000 }))
      const ants = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, (w) => refs[w].ask("Say", { text }))
      const rawJson = (c: number, ms: number) =>
        closedLoop(c, { durationMs: ms }, async () => (await callerNc.request(RAW_JSON_SUBJECT, JSON.stringify({ text }), { timeout: 5000 })).json())

      const R = rounds(ctx)
      const D = duration(ctx)
      await atEachLevel(ctx, { levels, rounds: R, durationMs: D, raw, ants }, (c, res) => {
        const params = { concurrency: c, rounds: R, durationMs: D, payload: ctx.options.payload }
        const note = failedNote(res)
        recordVsRaw(ctx, res, (x) => x.throughput, {
          metric: `throughput c=${c}`,
          baselineOf: BASELINE,
          unit: "msg/s",
          better: "higher",
          target: "ratio >= 0.8",
          headline: true,
          params,
          note,
        })
        const latency = { baselineOf: BASELINE, unit: "ms", better: "lower", params } as const
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.5), { ...latency, metric: `p50 c=${c}`, target: "ratio <= 1.25", headline: true })
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.99), { ...latency, metric: `p99 c=${c}` })
      })
      const json = await alternate<LoopResult>(
        halfRounds(R),
        () => rawJson(maxC, D),
        () => ants(maxC, D),
      )
      const jsonParams = { concurrency: maxC, rounds: json.ants.length, durationMs: D, payload: ctx.options.payload }
      const jsonNote = "the raw client and responder encode and parse the same JSON messages; the gap is routing, validation and actor dispatch"
      recordVsRaw(ctx, json, (x) => x.throughput, {
        metric: `throughput c=${maxC} vs raw JSON request/reply`,
        baselineOf: BASELINE_JSON,
        unit: "msg/s",
        better: "higher",
        params: jsonParams,
        note: jsonNote,
      })
      recordVsRaw(ctx, json, (x) => percentile(x.latencies, 0.5), {
        metric: `p50 c=${maxC} vs raw JSON request/reply`,
        baselineOf: BASELINE_JSON,
        unit: "ms",
        better: "lower",
        params: jsonParams,
        note: jsonNote,
      })
    } finally {
      await node.drain()
      await callerNc.close()
      await responderNc.close()
    }
  },
}
