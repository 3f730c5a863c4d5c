/**
 * Child process of the memory scenario (run with `node --expose-gc --import tsx`), so that the
 * heap it measures holds nothing but one runtime node and the actors it is asked to keep.
 *
 *   node --expose-gc --import tsx bench/probes/memory-probe.ts <nats-url> <actors>
 *
 * Prints progress lines `progress <fraction> <label>` and, last, one line
 * `result {"activeBytes":…,"sleepingBytes":…,"gc":true,…}` (bytes of heap per actor).
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { connect } from "@nats-io/transport-node"
import { askEach } from "../ask-each.ts"
import { canCollect, settledHeap } from "./heap.ts"

const [url, nArg] = process.argv.slice(2)
const N = Number(nArg)
const touch = {
  Touch: { message: Empty, reply: Empty, description: "Activates the actor." },
} as const
const handlers = {
  Touch: (_m: unknown, ctx: { state: { n: number } }) => {
    ctx.state.n++
    return {}
  },
}
// Stays active for the whole probe.
const keeper = defineAgent({ type: "bench_keeper", protocol: touch, initialState: () => ({ n: 0 }), checkpoint: "on-passivate", passivateAfterMs: 3_600_000, handlers })
// Passivates 300 ms after its message, checkpointing its state to KV.
const dozer = defineAgent({ type: "bench_dozer", protocol: { Touch: { message: Schema.Struct({}), reply: Empty } }, initialState: () => ({ n: 0 }), checkpoint: "on-passivate", passivateAfterMs: 300, handlers })

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const say = (s: string) => process.stdout.write(s + "\n")


/**
 * Asks `Touch` of N actors (256 in flight; a refusal is asked again, bench/ask-each.ts), with a
 * progress line every half second; bounded: what did not answer in 5 minutes is reported.
 */
async function touchAll(ask: (i: number) => Promise<unknown>, target: number, label: string, from: number, to: number): Promise<number> {
  say(`progress ${from.toFixed(3)} ${label}`)
  const r = await askEach(target, ask, {
    concurrency: 256,
    deadlineMs: 300_000,
    progress: (n) => say(`progress ${(from + ((to - from) * n) / target).toFixed(3)} ${label}: ${n}/${target} answered`),
  })
  if (r.missing > 0) say(`note ${label}: ${r.missing} of ${target} actors did not answer within 5 minutes (last error: ${r.lastError})`)
  return r.answered
}

const node = await startNode({ agents: [keeper, dozer], nats: url, nodeId: "bench-memory", idleAfterMs: 100, logger: () => {} })
const nc = await connect({ servers: url.split(",") })
const client = createMessaging(nc)
const t0 = Date.now()

// warm-up: code paths compiled, KV bucket open, before the first heap reading
await touchAll((i) => client.ask({ agent: "bench_keeper", id: `warm${i}` }, "Touch", {}, { timeoutMs: 20_000 }), 200, "warming up", 0, 0)
// the passivation path too (checkpoint on passivate, lease release, the sleeping store), so the
// code it compiles is not read as the cost of the actors passivated below
await touchAll((i) => client.ask({ agent: "bench_dozer", id: `warm${i}` }, "Touch", {}, { timeoutMs: 20_000 }), 200, "warming up passivation", 0, 0)
for (let t = Date.now(); node.stats().types.bench_dozer.sleeping < 200 && Date.now() - t < 30_000; ) await sleep(100)
/** Dozers asleep before the measured ones (the warm-up's). */
const warmAsleep = node.stats().types.bench_dozer.sleeping

const h0 = await settledHeap()
await touchAll((i) => client.ask({ agent: "bench_keeper", id: `k${i}` }, "Touch", {}, { timeoutMs: 20_000 }), N, `activating ${N} actors`, 0, 0.45)
say(`progress 0.45 waiting for the heap to settle`)
const h1 = await settledHeap()
const activeMs = Date.now() - t0

const dozers = await touchAll((i) => client.ask({ agent: "bench_dozer", id: `d${i}` }, "Touch", {}, { timeoutMs: 20_000 }), N, `activating ${N} actors to passivate`, 0.45, 0.7)
// bounded: until every activated dozer sleeps, or 60 s pass without one more going to sleep
let last = -1
let lastChange = Date.now()
let lastReport = 0
for (;;) {
  const t = node.stats().types.bench_dozer
  const s = { ...t, sleeping: t.sleeping - warmAsleep }
  if (s.sleeping >= dozers) break
  if (s.sleeping !== last) [last, lastChange] = [s.sleeping, Date.now()]
  if (Date.now() - lastChange > 60_000) {
    say(`note passivation stalled: ${dozers - s.sleeping} of ${dozers} idle actors still awake after 60 s without progress (active ${s.active}, idle ${s.idle}, warming ${s.warming}, checkpoint failures ${s.checkpointFailures})`)
    break
  }
  if (Date.now() - lastReport > 500) {
    lastReport = Date.now()
    say(`progress ${(0.7 + (0.28 * s.sleeping) / N).toFixed(3)} passivating: ${s.sleeping}/${dozers} sleeping`)
  }
  await sleep(100)
}
say(`progress 0.98 waiting for the heap to settle`)
const h2 = await settledHeap()
const st = node.stats().types
say(
  `result ${JSON.stringify({
    actors: N,
    gc: canCollect(),
    activeBytes: (h1 - h0) / N,
    // the dozers' heap on top of the keepers' (still active), over those asleep when measured
    sleepingBytes: (h2 - h1) / Math.max(1, st.bench_dozer.sleeping - warmAsleep),
    active: st.bench_keeper.active + st.bench_keeper.idle,
    sleeping: st.bench_dozer.sleeping - warmAsleep,
    heapBefore: h0,
    heapActive: h1,
    heapSleeping: h2,
    activeMs,
    totalMs: Date.now() - t0,
  })}`,
)
await nc.close()
await node.drain()
process.exit(0)
