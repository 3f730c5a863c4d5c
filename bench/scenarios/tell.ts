/**
 * tell: fire-and-forget to actors (`bench_tally.Count`, whose handler counts the delivery)
 * against raw nats.js publish to a raw subscription that counts. Throughput is what the
 * receiver counted divided by the time from the first publish to the last delivery. Both
 * sides use the same flow control: at most `window` messages published and not yet counted
 * (ANTS mailboxes are bounded, and so is any real subscriber's buffer), and the same offered
 * rate when --rate is given. ANTS tells are spread round-robin over 64 actors.
 *
 * The headline baseline publishes one pre-encoded body and its subscriber never reads it: the
 * fastest NATS can move these bytes. ANTS does more per message than that by contract (the
 * caller encodes each message to JSON, the actor gets it parsed and validated). A second,
 * non-headline figure compares with a raw client doing the JSON part itself (`JSON.stringify`
 * per publish, `msg.json()` per delivery), so what is left is the runtime's own overhead.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { benchTally, tally, Tally } from "../agents.ts"
import { alternate, payloadText, sleep } from "../load.ts"
import { median } from "../stats.ts"
import { benchLogger, duration, encoder, rawConnection, rounds } from "../support.ts"
import { halfRounds, recordVsRaw, warmUp } from "../compare.ts"
import type { Scenario } from "../types.ts"

const RAW_SUBJECT = "bench.raw.tell"
const RAW_JSON_SUBJECT = "bench.raw.tell-json"
const BASELINE = "raw nats.js publish to a counting raw subscription, same process, payload, window and rate"
const BASELINE_JSON = "raw nats.js publish of JSON.stringify(message) to a raw subscription that parses each delivery (msg.json()) and counts, same process, payload, window and rate"
const ACTORS = 64
const UNLIMITED = { ratePerSec: Number.MAX_SAFE_INTEGER, burst: Number.MAX_SAFE_INTEGER }

interface PumpResult {
  readonly sent: number
  readonly delivered: number
  readonly elapsedMs: number
  readonly throughput: number
}

/**
 * Publishes for `durationMs` (keeping at most `window` undelivered), then waits until every
 * message was counted or deliveries stall for a second.
 */
async function pump(
  durationMs: number,
  window: number,
  rate: number | undefined,
  publish: (i: number) => void,
  counted: Tally,
  nc: NatsConnection,
): Promise<PumpResult> {
  const start = counted.count
  const got = () => counted.count - start
  const t0 = performance.now()
  let last = t0
  let seen = 0
  const noteProgress = () => {
    const g = got()
    if (g !== seen) {
      seen = g
      last = performance.now()
    }
  }
  let sent = 0
  const batch = 128
  while (performance.now() - t0 < durationMs) {
    for (let k = 0; k < batch; k++) publish(sent++)
    if (rate !== undefined) {
      const ahead = t0 + (sent * 1000) / rate - performance.now()
      if (ahead > 1) await sleep(ahead)
    }
    // a full window: wait until deliveries free a quarter of it, woken by the count (spinning the
    // event loop with setImmediate cost this process more CPU per message than a raw delivery
    // takes, and took it from the side whose window fills more often)
    while (sent - got() >= window) {
      await counted.reach(start + sent - window + window / 4, 250)
      noteProgress()
      if (performance.now() - last > 1000) break
    }
  }
  await nc.flush()
  noteProgress()
  while (got() < sent && performance.now() - last < 1000) {
    await new Promise<void>((r) => setTimeout(r, 1))
    noteProgress()
  }
  const elapsedMs = Math.max(1e-3, last - t0)
  return { sent, delivered: got(), elapsedMs, throughput: (got() * 1000) / elapsedMs }
}

export const tellScenario: Scenario = {
  name: "tell",
  summary: "tell actors (receiver counts) vs raw nats.js publish/subscribe: throughput and losses",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const body = encoder.encode(JSON.stringify({ text }))
    const receiverNc = await rawConnection(ctx.natsUrl, "bench-raw-receiver")
    const senderNc = await rawConnection(ctx.natsUrl, "bench-sender")
    // The tenant's rate quota (default 50,000 messages/s per tenant on a node, runtime/limits)
    // is a policy, not a cost: with it on, this would measure the quota. Lifted here; the
    // per-actor rate stays at its default.
    const node = await startNode({ agents: [benchTally], nats: ctx.natsUrl, nodeId: "bench-tell", logger: benchLogger(ctx), limits: { tenantRate: UNLIMITED } })
    try {
      const rawCount = new Tally()
      receiverNc.subscribe(RAW_SUBJECT, { callback: () => rawCount.add() })
      const jsonCount = new Tally()
      receiverNc.subscribe(RAW_JSON_SUBJECT, {
        callback: (_e, m) => {
          m.json() // parsed, as a handler gets it
          jsonCount.add()
        },
      })
      await receiverNc.flush()
      const client = createMessaging(senderNc)
      const refs = Array.from({ length: ACTORS }, (_, i) => client.ref(benchTally, `t${i}`))
      const window = 4096
      const rate = ctx.options.rate
      const raw = (ms: number) => pump(ms, window, rate, () => senderNc.publish(RAW_SUBJECT, body), rawCount, senderNc)
      const rawJson = (ms: number) => pump(ms, window, rate, () => senderNc.publish(RAW_JSON_SUBJECT, JSON.stringify({ text })), jsonCount, senderNc)
      const ants = (ms: number) => pump(ms, window, rate, (i) => refs[i % ACTORS].tell("Count", { text }), tally, senderNc)
      // the same tells from an untyped client (no schema encoding at the caller): how much of
      // the gap is the caller's and how much the node's
      const untyped = (ms: number) => pump(ms, window, rate, (i) => client.tell({ agent: benchTally.type, id: `t${i % ACTORS}` }, "Count", { text }), tally, senderNc)

      await warmUp(ctx, raw, ants)
      const R = rounds(ctx)
      const D = duration(ctx)
      const res = await alternate<PumpResult>(
        R,
        () => raw(D),
        () => ants(D),
        (r) => ctx.progress((r + 1) / R, `round ${r + 1}/${R}`),
      )
      const params = { rounds: R, durationMs: D, payload: ctx.options.payload, window, actors: ACTORS, rate: rate ?? "max" }
      recordVsRaw(ctx, res, (x) => x.throughput, {
        metric: "throughput",
        baselineOf: BASELINE,
        unit: "msg/s",
        better: "higher",
        target: "ratio >= 0.7",
        headline: true,
        params,
      })
      const plain = await alternate<PumpResult>(
        halfRounds(R),
        () => raw(D),
        () => untyped(D),
      )
      recordVsRaw(ctx, plain, (x) => x.throughput, {
        metric: "throughput, untyped caller",
        baselineOf: BASELINE,
        unit: "msg/s",
        better: "higher",
        params: { ...params, rounds: plain.ants.length },
        note: "messaging.tell by type name: JSON only, no schema encoding at the caller",
      })
      const json = await alternate<PumpResult>(
        halfRounds(R),
        () => rawJson(D),
        () => ants(D),
      )
      recordVsRaw(ctx, json, (x) => x.throughput, {
        metric: "throughput vs raw JSON pub/sub",
        baselineOf: BASELINE_JSON,
        unit: "msg/s",
        better: "higher",
        params: { ...params, rounds: json.ants.length },
        note: "the raw client encodes and parses the same JSON messages; the gap is routing, validation and actor dispatch",
      })
      const lost = (xs: PumpResult[]) => xs.reduce((s, x) => s + (x.sent - x.delivered), 0)
      const sentAnts = res.ants.reduce((s, x) => s + x.sent, 0)
      ctx.record({
        metric: "lost",
        value: lost(res.ants),
        baseline: lost(res.raw),
        baselineOf: BASELINE,
        unit: "msgs",
        better: "lower",
        params: { ...params, sent: sentAnts },
        note: node.stats().rejected.overloaded ? `${node.stats().rejected.overloaded} tells refused as overloaded` : undefined,
      })
    } finally {
      await node.drain()
      await senderNc.close()
      await receiverNc.close()
    }
  },
}
