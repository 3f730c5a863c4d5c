/**
 * scale: one node with 100,000 active actors and 1,000,000 sleeping ones (quick: 1,000 and
 * 10,000; --agents sets the active count, the sleeping count is ten times it). Measured in a
 * child process (bench/probes/scale-probe.ts) started with --expose-gc and a 4 GiB old space,
 * holding one runtime node and nothing else:
 *   - heap per idle active actor (forced collections before and after activating them);
 *   - heap per actor that passivated on the node (a sample of 20,000; quick 500: a full cycle
 *     is three KV writes and a read, about 200 a second here, so a million would take an hour);
 *   - heap for the million asleep in KV: written as the checkpoints a passivating node writes, by
 *     another process (bench/probes/sleeper-seeder.ts), so the node has never seen them, which is what it holds for any sleeping actor whose
 *     partition it serves (its state is in KV, nothing on the node);
 *   - the first ask to a random sleeping actor with the node loaded, against the first ask to
 *     an actor whose state is in KV on the same node before it was loaded (cold activation);
 *   - the node's ask rate (16 callers, 64 active actors) loaded against unloaded, once the node
 *     answers again after the bulk write (how long that took is `recoverMs`).
 * The baselines are the same node's own figures before it was loaded, in the same run.
 */
import { spawnTs } from "../children.ts"
import { heapVerdict } from "../heap-figures.ts"
import { probeResult } from "../probe-output.ts"
import type { FigureInput, Scenario } from "../types.ts"

interface Latency {
  p50: number
  p99: number
  failed: number
}
interface ProbeResult {
  gc: boolean
  active: number
  activated: number
  activeBytes: number
  passivated: number
  sleepingBytes: number
  seeded: number
  seedMs: number
  seededBytes: number
  recoverMs: number
  unloadedRate: number
  loadedRate: number
  cold: Latency
  wake: Latency
  wakeHere: Latency
  nodeActive: number
  nodeSleeping: number
  totalMs: number
  /** The readings (heapUsed + arrayBuffers) and their two parts, before, with the active actors, after passivating, after seeding. */
  heap: Record<string, number>
  heapParts: Record<string, { heapUsed: number; arrayBuffers: number; spaces: Record<string, number> }>
}

/** The probe's old space: a million sleeping actors' KV writes and 100,000 cells need more than the default. */
export const SCALE_PROBE_HEAP_MB = 4096

export const scaleScenario: Scenario = {
  name: "scale",
  summary: "one node with 100,000 active and 1,000,000 sleeping actors: heap per actor, waking a random sleeper vs a cold activation, ask rate loaded vs unloaded",
  async run(ctx) {
    const active = ctx.options.agents ?? (ctx.quick ? 1_000 : 100_000)
    const sleeping = active * 10
    const passivate = ctx.quick ? 500 : 20_000
    const samples = ctx.quick ? 60 : 300
    const windowMs = ctx.options.durationMs ?? (ctx.quick ? 200 : 2_000)
    const child = spawnTs("bench/probes/scale-probe.ts", [ctx.natsUrl, String(active), String(sleeping), String(passivate), String(samples), String(windowMs)], ["--expose-gc", "--no-flush-bytecode", `--max-old-space-size=${SCALE_PROBE_HEAP_MB}`])
    // the full run: 100,000 activations at a few hundred a second, 20,000 passivations, a million KV writes
    const r = await probeResult<ProbeResult>(ctx, child, 1_500_000)
    const note = r.gc ? undefined : "no forced collection in the probe: heap figures include uncollected garbage"
    const params = { active, sleeping, passivated: r.passivated, activated: r.activated, samples, windowMs, seedMs: r.seedMs, recoverMs: r.recoverMs, totalMs: r.totalMs }
    const full = "`ants bench scale` (100,000 active, 20,000 passivated, 1,000,000 in KV)"
    const h = r.heap
    const activeV = heapVerdict(ctx, { target: 512, count: active, heapBytes: h.active!, full, note })
    const passivatedV = heapVerdict(ctx, { target: 64, count: r.passivated, heapBytes: h.passivated!, full, note })
    const seededV = heapVerdict(ctx, { target: 64, count: r.seeded, heapBytes: h.seeded!, full, note })
    ctx.record({ metric: "heap per idle active actor", value: r.activeBytes, unit: "bytes", better: "lower", headline: true, params, ...activeV })
    ctx.record({ metric: "heap per sleeping actor (passivated here)", value: r.sleepingBytes, unit: "bytes", better: "lower", headline: true, params: { ...params, heap: r.heap, heapParts: r.heapParts }, ...passivatedV })
    ctx.record({ metric: "heap per sleeping actor (asleep in KV)", value: r.seededBytes, unit: "bytes", better: "lower", params, ...seededV })
    const coldOf = "the first ask to an actor whose state is in KV, same node before it was loaded"
    // a figure whose every first ask failed is skipped with the reason, not recorded as a number
    const latency = (metric: string, l: Latency, p: "p50" | "p99", extra: Partial<FigureInput>) => {
      if (!Number.isFinite(l[p]) || l.failed >= samples) return ctx.skip(`${l.failed} of ${samples} first asks failed (the node refused them: see the log)`, metric)
      ctx.record({ metric, value: l[p], unit: "ms", baseline: r.cold[p], baselineOf: coldOf, better: "lower", params: { ...params, failed: l.failed }, ...extra })
    }
    latency("wake a random sleeper p50", r.wake, "p50", { target: "ratio <= 1.3", headline: true })
    latency("wake a random sleeper p99", r.wake, "p99", {})
    latency("wake one passivated here p50", r.wakeHere, "p50", {})
    ctx.record({ metric: "ask rate loaded", value: r.loadedRate, unit: "ops/s", baseline: r.unloadedRate, baselineOf: "the same node's ask rate before it was loaded", better: "higher", target: "ratio >= 0.8", headline: true, params })
    if (r.activated < active || r.passivated < passivate) ctx.log(`only ${r.activated} of ${active} activated and ${r.passivated} of ${passivate} passivated when measured`)
  },
}
