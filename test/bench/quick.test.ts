import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { benchCommand } from "../../runtime/cli/bench-command.ts"
import { gini, percentile } from "../../bench/stats.ts"
import { parseBenchArgs } from "../../bench/options.ts"
import { evaluateTarget } from "../../bench/runner.ts"

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

const SCENARIOS = ["ask", "tell", "activation", "memory", "pheromones", "tasks", "swarm", "failover"]

const out = mkdtempSync(join(tmpdir(), "ants-bench-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe("bench", () => {
  it("bench - stats: percentile, gini", () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3)
    expect(gini([1, 1, 1, 1])).toBe(0)
    expect(gini([0, 0, 0, 4])).toBeCloseTo(0.75)
  })

  it("bench - options: flags and refusals", () => {
    const o = parseBenchArgs(["ask", "--quick", "--concurrency", "1,8", "--payload=128", "--nodes", "2"])
    expect(o.scenarios).toEqual(["ask"])
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
      for (const f of figures) {
        for (const k of FIELDS) expect(f, `${f.scenario}/${f.metric} lacks ${k}`).toHaveProperty(k)
        expect(typeof f.scenario).toBe("string")
        expect(typeof f.metric).toBe("string")
        if (f.skipped !== null) {
          expect(typeof f.skipped).toBe("string")
          continue
        }
        expect(Number.isFinite(f.value), `${f.scenario}/${f.metric} value ${f.value}`).toBe(true)
        expect(typeof f.unit).toBe("string")
        if (f.baseline !== null) {
          expect(Number.isFinite(f.baseline)).toBe(true)
          if (f.baseline !== 0) expect(Number.isFinite(f.ratio), `${f.scenario}/${f.metric} ratio`).toBe(true)
        } else {
          expect(f.ratio).toBe(null)
        }
      }
      // every scenario reported something (a figure or a reason it was skipped)
      for (const s of SCENARIOS) expect(figures.some((f) => f.scenario === s), `scenario ${s}`).toBe(true)
      // the report and the chart are written
      expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(/# ANTS benchmark/)
      expect(readFileSync(join(out, "chart.svg"), "utf8")).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    },
    180_000,
  )
})
