/**
 * The Markdown report: run header (date, machine, versions, options), the headline table
 * (the figures the issue sets targets for), then every figure by scenario, then what was
 * skipped and why. The headline table is what the README shows.
 */
import type { Figure } from "../types.ts"
import { fmt, fmtRatio, metLabel } from "./format.ts"

export interface RunInfo {
  readonly run: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly machine: string
  readonly natsServer: string
  readonly node: string
  readonly natsUrl: string
  readonly embedded: boolean
  readonly options: Readonly<Record<string, unknown>>
}

const esc = (s: string) => s.replace(/\|/g, "\\|")
const withUnit = (x: number | null, unit: string) => (unit ? `${fmt(x)} ${unit}` : fmt(x))

/** The target with its source when it is not the issue's: `value < 20 (seed)`, `ratio <= 1.5 (ours)`. */
export function targetLabel(f: Pick<Figure, "target" | "targetFrom">): string {
  if (!f.target) return ""
  return f.targetFrom && f.targetFrom !== "issue" ? `${f.target} (${f.targetFrom})` : f.target
}

/** `k=v` pairs; an array joined by `/`, an object (heap readings, say) as its JSON rather than `[object Object]`. */
function describeParams(p: Readonly<Record<string, unknown>>): string {
  const show = (v: unknown) => (Array.isArray(v) ? v.join("/") : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v))
  return Object.entries(p)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(", ")
}

/** The headline table alone (ready to paste into a README). */
export function headlineTable(figures: ReadonlyArray<Figure>, info: Pick<RunInfo, "startedAt" | "machine">): string {
  const rows = figures.filter((f) => f.headline && f.skipped === null)
  const lines = [
    `Measured ${info.startedAt.slice(0, 10)} on ${info.machine}.`,
    "",
    "| scenario | figure | ANTS | baseline | ratio | target | met |",
    "| --- | --- | ---: | ---: | ---: | --- | --- |",
  ]
  for (const f of rows) {
    lines.push(
      `| ${f.scenario} | ${esc(f.metric)} | ${withUnit(f.value, f.unit)} | ${f.baseline === null ? "–" : withUnit(f.baseline, f.unit)} | ${fmtRatio(f.ratio)} | ${esc(targetLabel(f))} | ${metLabel(f.met)} |`,
    )
  }
  const skipped = figures.filter((f) => f.skipped !== null)
  for (const f of skipped) lines.push(`| ${f.scenario} | ${esc(f.metric)} | skipped: ${esc(f.skipped ?? "")} | | | | |`)
  const baselines = new Map<string, string>()
  for (const f of rows) if (f.baselineOf !== null) baselines.set(`${f.scenario}: ${f.baselineOf}`, f.scenario)
  if (baselines.size) {
    lines.push("", "Baselines (measured in the same run):", ...[...baselines.keys()].map((b) => `- ${b}`))
  }
  if (rows.some((f) => f.target && f.targetFrom !== "issue")) {
    lines.push("", "Targets are the benchmark issue's unless marked (seed: from the seed designs; ours: a goal we set where the issue sets none).")
  }
  return lines.join("\n") + "\n"
}

export function markdownReport(figures: ReadonlyArray<Figure>, info: RunInfo): string {
  const out: string[] = []
  out.push(`# ANTS benchmark ${info.run}`, "")
  out.push(`- started ${info.startedAt}, finished ${info.finishedAt}`)
  out.push(`- machine: ${info.machine}`)
  out.push(`- nats-server ${info.natsServer} (${info.embedded ? "embedded, started by the bench" : info.natsUrl}), Node ${info.node}`)
  out.push(`- options: \`${JSON.stringify(info.options)}\``)
  out.push("")
  out.push("Ratios are ANTS / raw NATS measured in the same run (see bench/README.md). For throughput")
  out.push("higher is better; for latency and time lower is better. Targets come from the benchmark issue")
  out.push("unless marked `(seed)` or `(ours)`; the harness reports them and never asserts them.", "")
  out.push("## Headline", "", headlineTable(figures, info))
  const scenarios = [...new Set(figures.map((f) => f.scenario))]
  for (const s of scenarios) {
    out.push(`## ${s}`, "")
    const rows = figures.filter((f) => f.scenario === s)
    const measured = rows.filter((f) => f.skipped === null)
    if (measured.length) {
      out.push("| figure | value | baseline | ratio | target | met | parameters | note |", "| --- | ---: | ---: | ---: | --- | --- | --- | --- |")
      for (const f of measured) {
        out.push(
          `| ${esc(f.metric)} | ${withUnit(f.value, f.unit)} | ${f.baseline === null ? "–" : withUnit(f.baseline, f.unit)} | ${fmtRatio(f.ratio)} | ${esc(targetLabel(f))} | ${metLabel(f.met)} | ${esc(describeParams(f.params))} | ${esc(f.note ?? "")} |`,
        )
      }
      const baselines = [...new Set(measured.map((f) => f.baselineOf).filter((b): b is string => b !== null))]
      if (baselines.length) out.push("", `Baseline: ${baselines.join("; ")}.`)
      out.push("")
    }
    for (const f of rows.filter((r) => r.skipped !== null)) out.push(`- skipped ${f.metric}: ${f.skipped}`)
    if (rows.some((r) => r.skipped !== null)) out.push("")
  }
  return out.join("\n")
}
