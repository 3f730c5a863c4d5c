/**
 * noisy-neighbour: tenant B asks an active actor (`echo.Say`, closed loop, concurrency 1)
 * while tenant A floods tells at the same node as fast as an outside client can publish them
 * (bench/probes/flooder.ts in its own process), against B asking alone, in alternating rounds
 * of the same run. For reference, the same requests to a plain NATS responder in this process,
 * with and without the flood: what the machine leaves any responder that shares a process with
 * the node reading the flood; and, in rounds of their own, with the flood sent to a subject no
 * one subscribes to: what the flooder and the server alone leave (nothing of the flood reaches
 * this process). The figure is B's latency with the flood over B's latency alone (issue
 * target: p99 <= 1.5x). Also reported: the flood's offered rate and how the node disposed of
 * it (handled, refused `overloaded` by tenant A's rate limit), from the node's own accounting.
 * The node runs with its default limits (tenant rate 50,000/s, burst 100,000) unless
 * `--rate` gives tenant A's rate. The flood's partition moves to an inbound lane of its own
 * (runtime/node/inbound-lanes.ts), read on a thread of its own; its moves, lost lane connections and
 * what its thread refused are reported too.
 */
import { echo } from "../../actors/examples/index.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { spawnTs, waitForLine } from "../children.ts"
import { alternate, closedLoop, payloadText, type LoopResult } from "../load.ts"
import { median, percentile } from "../stats.ts"
import { benchLogger, duration, rawConnection, rounds } from "../support.ts"
import { halfRounds } from "../compare.ts"
import type { Scenario } from "../types.ts"
import { FLOOD_CONTROL } from "../probes/flood-control.ts"

const BASELINE = "tenant B's asks to the same node with no flood, same run"
const RAW_SUBJECT = "bench.noisy.raw"
/** Where the flood goes in the rounds that measure the machine without the node reading it: no one subscribes. */
const UNHEARD_SUBJECT = "bench.noisy.unheard"

export const noisyNeighbourScenario: Scenario = {
  name: "noisy-neighbour",
  summary: "tenant B's ask p50/p99 while tenant A floods tells at full speed, vs B alone",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const node = await startNode({
      agents: [echo],
      nats: ctx.natsUrl,
      nodeId: "bench-noisy",
      logger: benchLogger(ctx),
      ...(ctx.options.rate ? { limits: { tenantRates: { noisy: { ratePerSec: ctx.options.rate } } } } : {}),
    })
    const callerNc = await rawConnection(ctx.natsUrl, "bench-quiet-caller")
    const responderNc = await rawConnection(ctx.natsUrl, "bench-raw-responder")
    const flooder = spawnTs("bench/probes/flooder.ts", [ctx.natsUrl, agentSubject({ tenant: "noisy", type: "echo", id: "flood", tag: "Say" }), String(ctx.options.payload)])
    try {
      await waitForLine(flooder, (l) => (l === "ready" ? true : undefined), 60_000)
      flooder.stdout?.resume()
      flooder.stderr?.resume()
      // the reference: a plain NATS responder in this same process, asked the same way, with and
      // without the flood: what the machine leaves any responder here (CPU shared with the flooder
      // and the server, the process reading the flood) whatever the node does
      responderNc.subscribe(RAW_SUBJECT, { callback: (_e, m) => void m.respond(m.data) })
      await responderNc.flush()
      const rawBody = new TextEncoder().encode(JSON.stringify({ text }))
      const rawAsk = (ms: number) => closedLoop(1, { durationMs: ms }, () => callerNc.request(RAW_SUBJECT, rawBody, { timeout: 10_000 }))
      const rawAlone: LoopResult[] = []
      const rawFlood: LoopResult[] = []
      const client = createMessaging(callerNc)
      const ref = client.ref(echo, "b1", "quiet")
      const ask = (ms: number) => closedLoop(1, { durationMs: ms }, () => ref.ask("Say", { text }))
      const control = async (cmd: "start" | "stop" | `start ${string}`) => JSON.parse(new TextDecoder().decode((await callerNc.request(FLOOD_CONTROL, cmd, { timeout: 10_000 })).data)) as { on: boolean; sent: number }
      ctx.progress(0.02, "warm-up")
      await ask(300)
      const R = rounds(ctx)
      const D = duration(ctx)
      let sent = 0
      let sentUnheard = 0
      let floodMs = 0
      const before = node.stats().messages.echo?.noisy
      // what the flood left queued (in the node, and on the server for its lane) is disposed of
      // before anything else is measured: else B's next round alone would run under its tail
      const unsettled = () => {
        const now = node.stats().messages.echo?.noisy
        return (now?.inFlight ?? 0) > 0 || (now?.received ?? 0) - (before?.received ?? 0) < sent
      }
      const settle = async (ms: number) => {
        const deadline = Date.now() + ms
        while (Date.now() < deadline && unsettled()) await new Promise((r) => setTimeout(r, 20))
      }
      const res = await alternate<LoopResult>(
        R,
        async () => {
          const r = await ask(D)
          rawAlone.push(await rawAsk(Math.floor(D / 2)))
          return r
        },
        async () => {
          await control("start")
          const t0 = performance.now()
          // let the flood build up before B measures
          await new Promise((r) => setTimeout(r, 200))
          const r = await ask(D)
          rawFlood.push(await rawAsk(Math.floor(D / 2)))
          sent += (await control("stop")).sent
          floodMs += performance.now() - t0
          await settle(ctx.quick ? 5_000 : 15_000)
          return r
        },
        (r) => ctx.progress((0.9 * (r + 1)) / R, `round ${r + 1}/${R}`),
      )
      // wait for the node to dispose of what the flood left queued (in its mailboxes, and on the
      // server for its connections: a flooded partition's lane is still being read)
      await settle(ctx.quick ? 5_000 : 30_000)
      const after = node.stats().messages.echo?.noisy
      // the floor without the node: the flood sent where no one listens, the plain responder asked
      const unheard = await alternate<LoopResult>(
        halfRounds(R),
        () => rawAsk(Math.floor(D / 2)),
        async () => {
          await control(`start ${UNHEARD_SUBJECT}`)
          await new Promise((r) => setTimeout(r, 200))
          const r = await rawAsk(Math.floor(D / 2))
          sentUnheard += (await control("stop")).sent
          return r
        },
        (r) => ctx.progress(0.9 + (0.1 * (r + 1)) / halfRounds(R), `the flood sent to no one, round ${r + 1}/${halfRounds(R)}`),
      )
      const params = { rounds: R, durationMs: D, payload: ctx.options.payload, tenantRate: ctx.options.rate ?? "default" }
      const errors = res.ants.reduce((s, x) => s + x.errors, 0)
      // a round in which B got no answer at all has no latency to take
      const p = (rs: LoopResult[], q: number) => rs.filter((x) => x.latencies.length > 0).map((x) => percentile(x.latencies, q))
      if (p(res.ants, 0.5).length === 0 || p(res.raw, 0.5).length === 0) {
        ctx.skip(`tenant B got no answer in a round (${errors} of its asks failed during the flood; ${res.raw.reduce((s, x) => s + x.errors, 0)} alone)`, "B p99 while A floods")
      } else {
      const latency = (q: number, figure: { readonly metric: string; readonly target?: string; readonly headline?: boolean; readonly note?: string }) =>
        ctx.record({ ...figure, value: median(p(res.ants, q)), baseline: median(p(res.raw, q)), baselineOf: BASELINE, unit: "ms", better: "lower", params })
      latency(0.5, { metric: "B p50 while A floods", note: errors ? `${errors} of B's asks failed during the flood` : undefined })
      latency(0.99, { metric: "B p99 while A floods", target: "ratio <= 1.5", headline: true })
      }
      if (p(rawFlood, 0.99).length > 0 && p(rawAlone, 0.99).length > 0) {
        ctx.record({
          metric: "raw responder p99 while A floods",
          value: median(p(rawFlood, 0.99)),
          baseline: median(p(rawAlone, 0.99)),
          baselineOf: "the same raw requests with no flood, same run",
          unit: "ms",
          better: "lower",
          params,
          note: "a plain NATS responder in the node's process, which reads the flood: what is left to any responder there (B's p99 while A floods is measured the same way)",
        })
      }
      if (p(unheard.ants, 0.99).length > 0 && p(unheard.raw, 0.99).length > 0) {
        ctx.record({
          metric: "raw responder p99 while A floods no one",
          value: median(p(unheard.ants, 0.99)),
          baseline: median(p(unheard.raw, 0.99)),
          baselineOf: "the same raw requests with no flood, same rounds",
          unit: "ms",
          better: "lower",
          params: { ...params, rounds: unheard.ants.length, sent: sentUnheard },
          note: "the flood sent to a subject no one subscribes to: the flooder's and the server's share of the machine, with nothing read by this process (the floor below any node)",
        })
      }
      ctx.record({ metric: "A offered rate", value: floodMs > 0 ? (sent * 1000) / floodMs : 0, unit: "msg/s", better: "higher", params })
      const handled = (after?.handled ?? 0) - (before?.handled ?? 0)
      const refused = (after?.rejected.overloaded ?? 0) - (before?.rejected.overloaded ?? 0)
      const received = (after?.received ?? 0) - (before?.received ?? 0)
      const lanes = node.stats().lanes
      ctx.record({
        metric: "A handled / refused overloaded / received",
        value: handled,
        unit: "msgs",
        better: "higher",
        params: { ...params, refusedOverloaded: refused, received, sent, rejectedByCode: after?.rejected ?? {}, laneMoves: lanes?.moves ?? 0, laneDisconnects: lanes?.disconnects ?? 0, refusedOnLaneThreads: lanes?.refused ?? 0 },
        note: "from the node's own accounting (received = handled + rejected + in flight); tells the server dropped before the node read them are sent - received",
      })
    } finally {
      flooder.kill("SIGKILL")
      await node.drain()
      await responderNc.close()
      await callerNc.close()
    }
  },
}
