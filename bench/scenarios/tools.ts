/**
 * tools: a small JSON tool called in a warm sandbox (runtime/sandbox: an isolated-vm isolate of
 * the `restricted` level, arguments in and result out as JSON, the CPU watchdog and wall timer
 * armed) against the same function called directly in this process, closed loop at concurrency
 * 1, rounds alternating. Figures: p50 of each side and the time the sandbox adds per call (the
 * difference of the medians of the rounds' p50s); cold creation p50 (a tenant's first run: a
 * new isolate, its context and prelude, the module compiled and evaluated, the call); sandboxed
 * calls per second per core (4 tenants at once, completed calls over this process's CPU time,
 * the isolates' threads included).
 */
import { createSandbox, isSandboxError } from "../../runtime/sandbox/mod.ts"
import { alternate, closedLoop } from "../load.ts"
import { median, percentile } from "../stats.ts"
import { duration, rounds } from "../support.ts"
import { recordVsRaw } from "../compare.ts"
import type { Scenario } from "../types.ts"

const SOURCE = `export default async ({ a, b, items }) => ({ sum: a + b, count: items.length, first: items[0] ?? null })`
const direct = async ({ a, b, items }: { a: number; b: number; items: string[] }) => ({ sum: a + b, count: items.length, first: items[0] ?? null })
const ARGS = { a: 20, b: 22, items: ["alpha", "beta", "gamma"] }
const BASELINE = "the same async function called directly in this process, same arguments, closed loop at concurrency 1"

export const toolsScenario: Scenario = {
  name: "tools",
  summary: "a small JSON tool in a warm sandbox (isolated-vm, restricted) vs the same function called directly: added time per call, cold creation, calls per core-second",
  async run(ctx) {
    const flag = process.execArgv.includes("--no-node-snapshot") || (process.env.NODE_OPTIONS ?? "").includes("--no-node-snapshot")
    const note = flag ? undefined : "node ran without --no-node-snapshot (isolated-vm asks for it on Node 20+)"
    const sandbox = createSandbox({ maxIsolates: 256, maxIsolatesPerTenant: 4 })
    try {
      try {
        await sandbox.run({ tenant: "bench", level: "restricted", source: SOURCE, args: ARGS })
      } catch (e) {
        if (isSandboxError(e) && e.code === "unavailable") return ctx.skip(e.message)
        throw e
      }
      const sandboxed = () => sandbox.run({ tenant: "bench", level: "restricted", source: SOURCE, args: ARGS })
      ctx.progress(0.05, "warm-up")
      await closedLoop(1, { durationMs: 300 }, () => direct(ARGS))
      await closedLoop(1, { durationMs: 300 }, sandboxed)

      const R = rounds(ctx)
      const D = duration(ctx)
      const res = await alternate(
        R,
        () => closedLoop(1, { durationMs: D }, () => direct(ARGS)),
        () => closedLoop(1, { durationMs: D }, sandboxed),
        (r) => ctx.progress(0.1 + (0.5 * (r + 1)) / R, `warm calls, round ${r + 1}/${R}`),
      )
      const params = { concurrency: 1, rounds: R, durationMs: D, level: "restricted" }
      const p50 = (x: { latencies: Float64Array }) => percentile(x.latencies, 0.5)
      recordVsRaw(ctx, res, p50, { metric: "p50 warm call", baselineOf: BASELINE, unit: "ms", better: "lower", params, note })
      ctx.record({
        metric: "added per call p50",
        value: median(res.ants.map(p50)) - median(res.raw.map(p50)),
        unit: "ms",
        better: "lower",
        target: "value <= 0.5",
        params,
        note,
      })

      // cold: a tenant's first run makes its isolate
      const n = ctx.quick ? 10 : 40
      const cold: number[] = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        await sandbox.run({ tenant: `cold-${i}`, level: "restricted", source: SOURCE, args: ARGS })
        cold.push(performance.now() - t0)
        ctx.progress(0.6 + (0.2 * (i + 1)) / n, `cold creations ${i + 1}/${n}`)
      }
      ctx.record({ metric: "cold sandbox creation p50", value: percentile(cold, 0.5), unit: "ms", better: "lower", params: { creations: n, level: "restricted" }, note })

      // throughput per core: 4 tenants calling at once; CPU time of the process (isolate threads included)
      const tenants = 4
      const c0 = process.cpuUsage()
      const loop = await closedLoop(tenants, { durationMs: D }, (w) => sandbox.run({ tenant: `tput-${w}`, level: "restricted", source: SOURCE, args: ARGS }))
      const cpu = process.cpuUsage(c0)
      const cpuSeconds = (cpu.user + cpu.system) / 1e6
      ctx.progress(1, "calls per core")
      ctx.record({
        metric: "sandboxed calls per core-second",
        value: loop.ops / Math.max(1e-6, cpuSeconds),
        unit: "calls/s",
        better: "higher",
        params: { tenants, durationMs: D, calls: loop.ops, cpuSeconds: Math.round(cpuSeconds * 1000) / 1000, wallThroughput: Math.round(loop.throughput) },
        note: loop.errors ? `${loop.errors} calls failed` : note,
      })
    } finally {
      await sandbox.close()
    }
  },
}
