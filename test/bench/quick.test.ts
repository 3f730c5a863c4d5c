import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { benchCommand } from "../../runtime/cli/bench-command.ts"
import { gini, percentile } from "../../bench/stats.ts"
import { parseBenchArgs } from "../../bench/options.ts"
import { evaluateTarget } from "../../bench/runner.ts"
import { fmtRatio } from "../../bench/reporters/format.ts"

const FIELDS = [
  "run",
  "scenario",
  "metric",
  "value",
  "unit",
  "baseline",
  "baselineOf",
  "ratio",
  "better",
  "target",
  "targetFrom",
  "met",
  "headline",
  "params",
  "note",
  "skipped",
  "natsServer",
  "node",
  "machine",
  "options",
  "at",
] as const

const SCENARIOS = ["ask", "ask-auth", "tell", "activation", "memory", "scale", "pheromones", "tasks", "swarm", "failover", "models", "llm-swarm", "noisy-neighbour", "task-failover", "tracing", "tools"]

const out = mkdtempSync(join(tmpdir(), "ants-bench-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe("bench", () => {
  it("bench - stats: percentile, gini", () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3)
    expect(gini([1, 1, 1, 1])).toBe(0)
    expect(gini([0, 0, 0, 4])).toBeCloseTo(0.75)
  })

  it("bench - options: flags and refusals", () => {
    const o = parseBenchArgs(["ask", "--quick", "--concurrency", "1,8", "--payload=128", "--nodes", "2", "--tasks", "50", "--duration=700"])
    expect(o.scenarios).toEqual(["ask"])
    expect(o.tasks).toBe(50)
    expect(o.durationMs).toBe(700)
    expect(() => parseBenchArgs(["--tasks", "-1"])).toThrow(/--tasks/)
    expect(o.quick).toBe(true)
    expect(o.concurrency).toEqual([1, 8])
    expect(o.payload).toBe(128)
    expect(o.nodes).toBe(2)
    expect(() => parseBenchArgs(["--agents", "zero"])).toThrow(/--agents/)
    expect(() => parseBenchArgs(["--bogus"])).toThrow(/unknown option/)
  })

  it("bench - targets are evaluated, never asserted", () => {
    expect(evaluateTarget("ratio >= 0.8", 10, 0.9)).toBe(true)
    expect(evaluateTarget("ratio <= 1.25", 10, 1.3)).toBe(false)
    expect(evaluateTarget("value < 0.2", 0.1, null)).toBe(true)
    expect(evaluateTarget(undefined, 1, 1)).toBe(null)
  })

  it("bench - --help prints the usage with every option and runs nothing", async () => {
    const outs: string[] = []
    const code = await benchCommand(["--help"], { json: false, out: (s) => outs.push(s), err: () => {} })
    expect(code).toBe(0)
    const text = outs.join("\n")
    for (const flag of ["--quick", "--nats", "--agents", "--nodes", "--duration", "--tasks", "--rounds", "--rate", "--payload", "--concurrency", "--out", "--json"]) {
      expect(text).toContain(flag)
    }
    for (const s of SCENARIOS) expect(text).toContain(s)
  })

  it("bench - an unknown scenario is a usage error", async () => {
    const errs: string[] = []
    const code = await benchCommand(["nosuch"], { json: false, out: () => {}, err: (s) => errs.push(s) })
    expect(code).toBe(2)
    expect(errs.join("\n")).toMatch(/unknown scenario "nosuch"/)
  })

  it(
    "bench - --quick runs every scenario and writes valid JSON lines with every field",
    async () => {
      const lines: string[] = []
      const code = await benchCommand(["--quick", "--out", out], { json: true, out: (s) => lines.push(s), err: () => {} })
      expect(code).toBe(0)
      const fromFile = readFileSync(join(out, "figures.jsonl"), "utf8").trim().split("\n")
      expect(fromFile).toEqual(lines)
      const figures = fromFile.map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(figures.length).toBeGreaterThan(0)
      // every capability has landed: a skipped line means a scenario (or part of one) is broken
      const skipped = figures.filter((f) => f.skipped !== null).map((f) => `${f.scenario}/${f.metric}: ${f.skipped}`)
      expect(skipped, "skipped or failed scenarios").toEqual([])
      for (const f of figures) {
        const name = `${f.scenario}/${f.metric}`
        for (const k of FIELDS) expect(f, `${name} lacks ${k}`).toHaveProperty(k)
        expect(typeof f.scenario).toBe("string")
        expect(typeof f.metric).toBe("string")
        expect(typeof f.natsServer === "string" && f.natsServer.length > 0, `${name} natsServer`).toBe(true)
        expect(typeof f.node === "string" && (f.node as string).startsWith("v"), `${name} node ${f.node}`).toBe(true)
        expect(typeof f.machine === "string" && f.machine.length > 0, `${name} machine`).toBe(true)
        expect(Number.isFinite(f.value), `${name} value ${f.value}`).toBe(true)
        expect(typeof f.unit).toBe("string")
        expect(["higher", "lower"]).toContain(f.better)
        if (f.baseline !== null) {
          expect(Number.isFinite(f.baseline), `${name} baseline`).toBe(true)
          expect(typeof f.baselineOf === "string" && f.baselineOf.length > 0, `${name} baselineOf`).toBe(true)
          if (f.baseline !== 0) {
            // value and baseline are rounded to 4 significant digits, the ratio is taken before
            const expected = (f.value as number) / (f.baseline as number)
            expect(Number.isFinite(f.ratio), `${name} ratio`).toBe(true)
            expect(Math.abs((f.ratio as number) - expected) / Math.max(Math.abs(expected), 1e-6), `${name} ratio ${f.ratio} vs ${expected}`).toBeLessThan(2e-3)
          }
        } else {
          expect(f.ratio).toBe(null)
        }
        if (f.target !== null) {
          expect(["issue", "seed", "ours"]).toContain(f.targetFrom)
          expect(typeof f.met, `${name} met`).toBe("boolean")
        } else {
          expect(f.targetFrom).toBe(null)
          expect(f.met).toBe(null)
        }
      }
      // every scenario measured something
      for (const s of SCENARIOS) expect(figures.some((f) => f.scenario === s && f.skipped === null), `scenario ${s}`).toBe(true)
      // the report and the chart are written and show the headline figures
      const report = readFileSync(join(out, "report.md"), "utf8")
      const headline = readFileSync(join(out, "headline.md"), "utf8")
      const svg = readFileSync(join(out, "chart.svg"), "utf8")
      expect(report).toMatch(/# ANTS benchmark/)
      expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/)
      const heads = figures.filter((f) => f.headline)
      expect(heads.length).toBeGreaterThan(0)
      for (const f of heads) {
        const row = `| ${f.scenario} | ${f.metric} |`
        expect(report, `report.md has ${row}`).toContain(row)
        expect(headline, `headline.md has ${row}`).toContain(row)
        if (f.ratio !== null) {
          const ratio = fmtRatio(f.ratio as number)
          expect(report).toContain(`| ${ratio} |`)
          expect(svg, `chart.svg has ${f.scenario} · ${f.metric}`).toContain(`${f.scenario} · ${f.metric}`)
          expect(svg).toContain(`>${ratio}`)
        }
      }
    },
    // a dozen scenarios, some starting node processes (failover, task-failover), a flooder, a
    // PostgreSQL store (recall) or 50 assistants (llm-swarm); on 2 shared cores that is minutes
    600_000,
  )
})
