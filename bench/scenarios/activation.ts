/**
 * activation: the first ask to an actor that is not active, three ways, each timed one ask at
 * a time over M actors (default 200; quick 50; --agents):
 *   - cold: a fresh node, the actor's state in KV (checkpointed by an earlier node);
 *   - sleeping: the actor passivated on this node (state in KV, memory released);
 *   - warm pool: a fresh node whose type keeps the actor pre-activated (lifecycle warm pools).
 * Baseline for cold and sleeping: one raw KV get of the same key plus one raw request/reply,
 * done back to back, which is the least any activation must do. Baseline for the warm pool: an
 * ask to an already active actor of the same pool in the same round (the target is
 * relative to that): the pool is split in halves, one half primed with an untimed ask, and the
 * warm half's first asks and the primed half's asks are timed in an order (and with halves)
 * that alternate between rounds. Rounds alternate baseline and ANTS; p50/p99 are medians over
 * rounds.
 */
import { Kvm } from "@nats-io/kv"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import type { AgentOptions } from "../../runtime/agent/define-agent.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { accountAgent } from "../agents.ts"
import { sleep, waitFor } from "../load.ts"
import { median, percentile, Samples } from "../stats.ts"
import { benchLogger, encoder, importIfPresent, pickFunction, rawConnection, rounds } from "../support.ts"
import type { Scenario, ScenarioContext } from "../types.ts"

const RAW_SUBJECT = "bench.raw.activation"
const RAW_BASELINE = "one raw KV get of the actor's key plus one raw nats.js request/reply, back to back"
const ACTIVE_BASELINE = "an ask to an already active actor of the same pool, same round, order alternating (ANTS)"

async function timeEach(ids: ReadonlyArray<string>, op: (id: string) => Promise<unknown>): Promise<Float64Array> {
  const s = new Samples()
  for (const id of ids) {
    const t = performance.now()
    await op(id)
    s.push(performance.now() - t)
  }
  return s.view().slice()
}

function summarize(xs: Float64Array[]) {
  return { p50: median(xs.map((x) => percentile(x, 0.5))), p99: median(xs.map((x) => percentile(x, 0.99))) }
}

export const activationScenario: Scenario = {
  name: "activation",
  summary: "first ask to a cold, sleeping or warm-pool actor vs raw KV get + raw request",
  async run(ctx: ScenarioContext) {
    const M = ctx.options.agents ?? (ctx.quick ? 50 : 200)
    const R = rounds(ctx, 5, 2)
    const quiet = benchLogger(ctx)
    const cold = accountAgent("bench_cold")
    const sleepy = accountAgent("bench_sleepy", { passivateAfterMs: 100 })
    const ids = Array.from({ length: M }, (_, i) => `a${i}`)
    const callerNc = await rawConnection(ctx.natsUrl, "bench-caller")
    const responderNc = await rawConnection(ctx.natsUrl, "bench-raw-responder")
    const body = encoder.encode("{}")
    const nodes: AntsNode[] = []
    try {
      responderNc.subscribe(RAW_SUBJECT, { callback: (_e, m) => void m.respond(m.data) })
      await responderNc.flush()
      const client = createMessaging(callerNc)

      // warm pools, when the lifecycle module provides them
      const lifecycle = await importIfPresent("runtime/actor/lifecycle-policy.ts")
      const warmPoolIds = pickFunction<(def: unknown) => string[]>(lifecycle, "warmPoolIds")
      const warm = warmPoolIds ? accountAgent("bench_warm", { warmPool: { size: M, prefix: "p" } } as AgentOptions) : undefined
      const poolIds = warm && warmPoolIds ? warmPoolIds(warm) : []
      if (!warm) ctx.skip("warm pools have not landed yet (runtime/actor/lifecycle-policy.ts warmPoolIds)", "warm pool p50")
      // One node at a time, hosting all three types: "cold" then means a node that never held
      // the actor, and no ask is forwarded to another node.
      const agents = warm ? [cold, sleepy, warm] : [cold, sleepy]
      const startOne = (nodeId: string) => startNode({ agents, nats: ctx.natsUrl, nodeId, idleAfterMs: 20, logger: quiet })

      // state in KV for every cold actor: written through a node that then drains
      ctx.progress(0.02, `preparing ${M} actors with state in KV`)
      const prep = await startOne("bench-prep")
      nodes.push(prep)
      await Promise.all(ids.map((id, i) => client.ref(cold, id).ask("Set", { v: i })))
      await prep.drain()
      const kv = await new Kvm(callerNc).open(STATE_BUCKET)

      const rawRuns: Float64Array[] = []
      const coldRuns: Float64Array[] = []
      const sleepRuns: Float64Array[] = []
      const warmRuns: Float64Array[] = []
      const activeRuns: Float64Array[] = []
      const raw = async () => {
        rawRuns.push(
          await timeEach(ids, async (id) => {
            await kv.get(stateKey({ tenant: "default", type: "bench_cold", id }))
            await callerNc.request(RAW_SUBJECT, body, { timeout: 5000 })
          }),
        )
      }
      const antsSide = async (r: number) => {
        const node = await startOne(`bench-activation-${r}`)
        nodes.push(node)
        const types = () => node.stats().types
        if (warm) {
          await waitFor(() => {
            const s = types().bench_warm
            return s !== undefined && s.active + s.idle >= poolIds.length
          }, 30_000)
        }
        // cold: nothing in this node's memory, state in KV
        coldRuns.push(await timeEach(ids, (id) => client.ref(cold, id).ask("Get", {})))
        // sleeping: activated here, then passivated (checkpointed, released)
        await Promise.all(ids.map((id, i) => client.ref(sleepy, id).ask("Set", { v: i })))
        if (!(await waitFor(() => (types().bench_sleepy?.sleeping ?? 0) >= M, 30_000))) {
          ctx.log("not every sleepy actor passivated within 30 s; measuring anyway")
        }
        sleepRuns.push(await timeEach(ids, (id) => client.ref(sleepy, id).ask("Get", {})))
        if (warm) {
          // the sleepy actors just woken passivate again 100 ms after their ask (a checkpoint, a
          // lease release, lifecycle receipts each): not while the warm pool is timed, or the
          // half timed first (warm in two rounds of three) pays for them
          if (!(await waitFor(() => (types().bench_sleepy?.sleeping ?? 0) >= M, 30_000))) {
            ctx.log("not every sleepy actor passivated again within 30 s; measuring the warm pool anyway")
          }
          await sleep(100) // the last releases and receipts go out
          // The pool is split in two halves: one is asked once untimed (active from then on),
          // then the other's first asks (warm) and the first half's next asks (active) are
          // timed, in an order and with halves that alternate between rounds, so neither
          // figure always runs second on the same actors.
          const half = Math.ceil(poolIds.length / 2)
          const [warmIds, activeIds] = r % 2 === 0 ? [poolIds.slice(0, half), poolIds.slice(half)] : [poolIds.slice(half), poolIds.slice(0, half)]
          for (const id of activeIds) await client.ref(warm, id).ask("Get", {})
          const timeWarm = async () => warmRuns.push(await timeEach(warmIds, (id) => client.ref(warm, id).ask("Get", {})))
          const timeActive = async () => activeRuns.push(await timeEach(activeIds, (id) => client.ref(warm, id).ask("Get", {})))
          if (r % 2 === 0) {
            await timeWarm()
            await timeActive()
          } else {
            await timeActive()
            await timeWarm()
          }
        }
        await node.drain()
      }
      // warm-up (JIT, KV bucket, connections)
      for (let i = 0; i < 50; i++) {
        await kv.get(stateKey({ tenant: "default", type: "bench_cold", id: ids[i % M] }))
        await callerNc.request(RAW_SUBJECT, body, { timeout: 5000 })
      }
      for (let r = 0; r < R; r++) {
        if (r % 2 === 0) {
          await raw()
          await antsSide(r)
        } else {
          await antsSide(r)
          await raw()
        }
        ctx.progress(0.1 + (0.9 * (r + 1)) / R, `round ${r + 1}/${R}`)
      }
      const base = summarize(rawRuns)
      const params = { actors: M, rounds: R }
      const warmParams = { ...params, poolHalf: Math.ceil(poolIds.length / 2) }
      const c = summarize(coldRuns)
      ctx.record({ metric: "cold p50", value: c.p50, baseline: base.p50, baselineOf: RAW_BASELINE, unit: "ms", better: "lower", target: "ratio <= 1.5", headline: true, params })
      ctx.record({ metric: "cold p99", value: c.p99, baseline: base.p99, baselineOf: RAW_BASELINE, unit: "ms", better: "lower", params })
      const s = summarize(sleepRuns)
      ctx.record({ metric: "sleeping p50", value: s.p50, baseline: base.p50, baselineOf: RAW_BASELINE, unit: "ms", better: "lower", headline: true, params })
      ctx.record({ metric: "sleeping p99", value: s.p99, baseline: base.p99, baselineOf: RAW_BASELINE, unit: "ms", better: "lower", params })
      if (warm) {
        const w = summarize(warmRuns)
        const a = summarize(activeRuns)
        ctx.record({ metric: "warm pool p50", value: w.p50, baseline: a.p50, baselineOf: ACTIVE_BASELINE, unit: "ms", better: "lower", target: "ratio <= 1.1", headline: true, params: warmParams })
        ctx.record({ metric: "warm pool p99", value: w.p99, baseline: a.p99, baselineOf: ACTIVE_BASELINE, unit: "ms", better: "lower", params: warmParams })
      }
    } finally {
      for (const n of nodes) await n.drain().catch(() => undefined)
      await callerNc.close()
      await responderNc.close()
    }
  },
}
