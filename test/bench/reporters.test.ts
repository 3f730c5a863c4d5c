/**
 * The bench's pure parts: the progress bar and the reporters (JSON lines, Markdown, SVG), fed
 * with hand-made figures. No server is needed; the quick run in quick.test.ts covers the rest.
 */
import { describe, expect, it } from "vitest"
import { createProgress } from "../../bench/progress.ts"
import { fmt, fmtRatio } from "../../bench/reporters/format.ts"
import { toJsonLine, toJsonLines } from "../../bench/reporters/jsonl.ts"
import { headlineTable, markdownReport, targetLabel, type RunInfo } from "../../bench/reporters/markdown.ts"
import { svgChart } from "../../bench/reporters/svg.ts"
import type { Figure } from "../../bench/types.ts"

const info: RunInfo = {
  run: "2026-12-01T18-00-00Z",
  startedAt: "2026-12-01T18:00:00.000Z",
  finishedAt: "2026-12-01T18:05:00.000Z",
  machine: "test-box: 2 cores, Node 20.20, nats-server 2.9.10",
  natsServer: "2.9.10",
  node: "v20.20.2",
  natsUrl: "embedded",
  embedded: true,
  options: { quick: false },
}

function figure(over: Partial<Figure>): Figure {
  return {
    run: info.run,
    scenario: "ask",
    metric: "throughput c=1",
    value: 900,
    unit: "msg/s",
    baseline: 1000,
    baselineOf: "raw request/reply",
    ratio: 0.9,
    better: "higher",
    target: "ratio >= 0.8",
    targetFrom: "issue",
    met: true,
    headline: true,
    params: { concurrency: 1 },
    note: null,
    skipped: null,
    natsServer: "2.9.10",
    node: "v20.20.2",
    machine: info.machine,
    options: {},
    at: info.startedAt,
    ...over,
  }
}

const figures: Figure[] = [
  figure({}),
  figure({ scenario: "pheromones", metric: "detect among 1000", value: 15, unit: "ms", baseline: 10, ratio: 1.5, better: "lower", target: "ratio <= 1.5", targetFrom: "ours", met: true, baselineOf: "kv.watch <last values>" }),
  figure({ scenario: "tell", metric: "throughput", value: 200, baseline: 1000, ratio: 0.2, target: "ratio >= 0.7", met: false }),
  figure({ scenario: "swarm", metric: "agent idle time", value: 25, unit: "%", baseline: null, baselineOf: null, ratio: null, better: "lower", target: "value < 20", targetFrom: "seed", met: false }),
  figure({ scenario: "ask", metric: "p99 c=1", value: 0.3, unit: "ms", baseline: 0.25, ratio: 1.2, better: "lower", target: null, targetFrom: null, met: null, headline: false }),
  figure({ scenario: "memory", metric: "all", value: null, unit: "", baseline: null, baselineOf: null, ratio: null, better: null, target: null, targetFrom: null, met: null, headline: false, skipped: "probe crashed" }),
]

describe("bench progress", () => {
  it("progress - on a terminal redraws one bar in place with the overall percentage", () => {
    const out: string[] = []
    const p = createProgress((s) => out.push(s), true, 10)
    p.update("ask", 1, 4, 0.5, "round 1/5")
    expect(out).toHaveLength(1)
    expect(out[0].startsWith("\r\x1b[2K")).toBe(true)
    // (1 + 0.5) / 4 = 37.5% -> 4 of 10 cells filled
    expect(out[0]).toContain("████░░░░░░")
    expect(out[0]).toContain(" 38% [2/4] ask: round 1/5")
    expect(out[0]).not.toContain("\n")
  })

  it("progress - a line clears the bar first, done clears it, nothing is cleared twice", () => {
    const out: string[] = []
    const p = createProgress((s) => out.push(s), true, 10)
    p.update("ask", 0, 1, 0, "starting")
    p.line("[ask] something happened")
    expect(out.slice(1)).toEqual(["\r\x1b[2K", "[ask] something happened\n"])
    p.done()
    expect(out).toHaveLength(3) // the bar was already cleared by the line
    p.update("ask", 0, 1, 1, "done")
    p.done()
    expect(out[out.length - 1]).toBe("\r\x1b[2K")
  })

  it("progress - clamps fractions outside 0..1", () => {
    const out: string[] = []
    const p = createProgress((s) => out.push(s), true, 10)
    p.update("ask", 0, 1, 7, "overshoot")
    expect(out[0]).toContain("██████████ 100%")
    p.update("ask", 0, 1, -3, "undershoot")
    expect(out[1]).toContain("░░░░░░░░░░   0%")
  })

  it("progress - without a terminal prints whole lines, one per label change", () => {
    const out: string[] = []
    const p = createProgress((s) => out.push(s), false)
    p.update("tell", 1, 2, 0.5, "round 1/5")
    p.update("tell", 1, 2, 0.6, "round 1/5")
    p.update("tell", 1, 2, 0.7, "round 2/5")
    expect(out).toHaveLength(2)
    expect(out[0]).toMatch(/^\[bench 2\/2 75% \d+s\] tell: round 1\/5\n$/)
    expect(out[1]).toMatch(/^\[bench 2\/2 85% \d+s\] tell: round 2\/5\n$/)
    p.line("a message")
    p.done()
    expect(out.slice(2)).toEqual(["a message\n"])
    expect(out.every((s) => !s.includes("\x1b"))).toBe(true)
  })
})

describe("bench reporters", () => {
  it("jsonl - one parseable line per figure, every field kept", () => {
    const text = toJsonLines(figures)
    const lines = text.trimEnd().split("\n")
    expect(lines).toHaveLength(figures.length)
    expect(text.endsWith("\n")).toBe(true)
    expect(JSON.parse(lines[1])).toEqual(figures[1])
    expect(toJsonLine(figures[0])).not.toContain("\n")
    expect(toJsonLines([])).toBe("")
  })

  it("format - numbers and ratios", () => {
    expect(fmt(25510)).toBe("25,510")
    expect(fmt(136.4)).toBe("136")
    expect(fmt(13.74)).toBe("13.7")
    expect(fmt(0.192)).toBe("0.19")
    expect(fmt(null)).toBe("–")
    expect(fmtRatio(0.857)).toBe("0.86x")
    expect(fmtRatio(Number.NaN)).toBe("–")
  })

  it("markdown - the headline table has the headline figures with ratios, targets and their source", () => {
    const t = headlineTable(figures, info)
    expect(t).toContain(`Measured 2026-12-01 on ${info.machine}.`)
    expect(t).toContain("| ask | throughput c=1 | 900 msg/s | 1,000 msg/s | 0.90x | ratio >= 0.8 | yes |")
    expect(t).toContain("| pheromones | detect among 1000 | 15 ms | 10 ms | 1.50x | ratio <= 1.5 (ours) | yes |")
    expect(t).toContain("| tell | throughput | 200 msg/s | 1,000 msg/s | 0.20x | ratio >= 0.7 | no |")
    expect(t).toContain("| swarm | agent idle time | 25 % | – | – | value < 20 (seed) | no |")
    expect(t).not.toContain("p99 c=1") // not a headline figure
    expect(t).toContain("| memory | all | skipped: probe crashed |")
    expect(t).toContain("- pheromones: kv.watch <last values>")
    expect(t).toMatch(/unless marked \(seed: .*; ours: /)
  })

  it("markdown - the report has the run header, every measured figure by scenario and what was skipped", () => {
    const r = markdownReport(figures, info)
    expect(r.startsWith(`# ANTS benchmark ${info.run}\n`)).toBe(true)
    expect(r).toContain("- nats-server 2.9.10 (embedded, started by the bench), Node v20.20.2")
    for (const s of ["ask", "pheromones", "tell", "swarm", "memory"]) expect(r).toContain(`## ${s}\n`)
    expect(r).toContain("| p99 c=1 | 0.30 ms | 0.25 ms | 1.20x |  |  | concurrency=1 |  |")
    expect(r).toContain("- skipped all: probe crashed")
    // parameters that are objects (heap readings) are shown as JSON, lists joined
    const withObjects = markdownReport([figure({ params: { heap: { before: 1, after: 2 }, levels: [1, 16] } })], info)
    expect(withObjects).toContain('heap={"before":1,"after":2}, levels=1/16')
    expect(withObjects).not.toContain("[object Object]")
  })

  it("markdown - target labels name a source other than the issue", () => {
    expect(targetLabel({ target: "ratio >= 0.8", targetFrom: "issue" })).toBe("ratio >= 0.8")
    expect(targetLabel({ target: "value < 20", targetFrom: "seed" })).toBe("value < 20 (seed)")
    expect(targetLabel({ target: null, targetFrom: null })).toBe("")
  })

  it("svg - one bar per headline ratio, coloured by the target, labels escaped", () => {
    const svg = svgChart(figures, "ANTS <vs> raw & co")
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg).toContain("ANTS &lt;vs&gt; raw &amp; co")
    // three headline figures have a ratio; the idle time has none, p99 is not a headline
    expect(svg.match(/<rect x=/g)).toHaveLength(3)
    expect(svg).toContain("ask · throughput c=1 (higher better)")
    expect(svg).toContain("pheromones · detect among 1000 (lower better)")
    expect(svg).not.toContain("agent idle time")
    expect(svg).not.toContain("p99 c=1")
    for (const r of ["0.90x", "1.50x", "0.20x"]) expect(svg).toContain(`>${r}<`)
    expect(svg.match(/fill="#2f9e44"/g)).toHaveLength(2) // met
    expect(svg.match(/fill="#f08c00"/g)).toHaveLength(1) // not met
  })

  it("svg - says so when no ratio was measured", () => {
    const svg = svgChart([figures[3], figures[5]], "empty")
    expect(svg).toContain("no headline ratio was measured")
    expect(svg).not.toMatch(/<rect x=/)
  })
})
