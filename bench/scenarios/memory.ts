/**
 * memory: heap held per idle active actor and per sleeping actor, with 100,000 actors
 * (quick: 5,000; --agents). Measured in a child process started with --expose-gc
 * (bench/probes/memory-probe.ts) that holds one runtime node and nothing else:
 * process.memoryUsage() heapUsed + arrayBuffers after forced collections, before and after activating N
 * actors that then sit idle, and again after N more actors were activated and passivated (over
 * those asleep when measured). No raw-NATS baseline exists for this one; the targets (<= 1 KiB
 * per idle actor, <= 64 B per sleeping actor) are absolute.
 */
import { spawnTs } from "../children.ts"
import { heapVerdict } from "../heap-figures.ts"
import { probeResult } from "../probe-output.ts"
import type { Scenario } from "../types.ts"

interface ProbeResult {
  actors: number
  gc: boolean
  activeBytes: number
  sleepingBytes: number
  active: number
  sleeping: number
  activeMs: number
  totalMs: number
  heapActive: number
  heapSleeping: number
}

export const memoryScenario: Scenario = {
  name: "memory",
  summary: "heap per idle active actor and per sleeping actor with 100,000 actors (absolute, no baseline)",
  async run(ctx) {
    const N = ctx.options.agents ?? (ctx.quick ? 5_000 : 100_000)
    const child = spawnTs("bench/probes/memory-probe.ts", [ctx.natsUrl, String(N)], ["--expose-gc"])
    const result = await probeResult<ProbeResult>(ctx, child, 600_000)
    const note = result.gc ? undefined : "no forced collection in the probe: figures include uncollected garbage"
    const params = { actors: N, active: result.active, sleeping: result.sleeping, activateMs: result.activeMs }
    const full = "`ants bench memory` (100,000 actors)"
    const active = heapVerdict(ctx, { target: 1024, count: N, heapBytes: result.heapActive, full, note })
    const sleeping = heapVerdict(ctx, { target: 64, count: result.sleeping, heapBytes: result.heapSleeping, full, note })
    ctx.record({ metric: "heap per idle active actor", value: result.activeBytes, unit: "bytes", better: "lower", headline: true, params, ...active })
    ctx.record({ metric: "heap per sleeping actor", value: result.sleepingBytes, unit: "bytes", better: "lower", headline: true, params, ...sleeping })
    if (result.active < N || result.sleeping < N) {
      ctx.log(`only ${result.active} active and ${result.sleeping} sleeping of ${N} when measured`)
    }
  },
}
