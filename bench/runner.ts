/**
 * Runs benchmark scenarios and writes their results. Each scenario gets its own embedded
 * `nats-server` (fresh store, the project's nats.conf) unless `--nats` names a server, so one
 * scenario's streams and buckets never slow the next. Figures are appended to
 * `figures.jsonl` as they are measured (a crash keeps what was measured); the Markdown report
 * and the SVG chart are written at the end. A scenario that throws is recorded as a
 * `skipped: "failed: ..."` line and the run goes on: the harness reports, it never asserts.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, hostname } from "node:os"
import { resolve } from "node:path"
import { connect } from "@nats-io/transport-node"
import { natsServerVersion, startNatsServer, type NatsServer } from "../runtime/server/nats-server.ts"
import { killChildren } from "./children.ts"
import { optionsRecord } from "./options.ts"
import { createProgress } from "./progress.ts"
import { toJsonLine } from "./reporters/jsonl.ts"
import { headlineTable, markdownReport, type RunInfo } from "./reporters/markdown.ts"
import { svgChart } from "./reporters/svg.ts"
import { SCENARIOS } from "./scenarios/index.ts"
import { round } from "./stats.ts"
import type { BenchOptions, Figure, FigureInput, Scenario, ScenarioContext } from "./types.ts"

export interface BenchIo {
  /** Print figures as JSON lines on stdout (instead of the summary table). */
  readonly json: boolean
  readonly out: (s: string) => void
  readonly err: (s: string) => void
  /** Draw a progress bar (stderr is a terminal). */
  readonly tty?: boolean
}

export interface BenchResult {
  readonly dir: string
  readonly figures: Figure[]
  readonly info: RunInfo
}

/** Names in registry order; throws on an unknown name. */
export function selectScenarios(names: ReadonlyArray<string>): Scenario[] {
  if (names.length === 0) return [...SCENARIOS]
  const known = new Map(SCENARIOS.map((s) => [s.name, s]))
  for (const n of names) {
    if (!known.has(n)) throw new Error(`unknown scenario "${n}" (known: ${SCENARIOS.map((s) => s.name).join(", ")})`)
  }
  return SCENARIOS.filter((s) => names.includes(s.name))
}

/** Evaluates a target expression (`ratio >= 0.8`, `value <= 1024`) against a figure. */
export function evaluateTarget(target: string | undefined, value: number, ratio: number | null): boolean | null {
  if (!target) return null
  const m = /^(ratio|value)\s*(>=|<=|<|>)\s*(-?[0-9.]+)$/.exec(target.trim())
  if (!m) return null
  const x = m[1] === "ratio" ? ratio : value
  if (x === null || !Number.isFinite(x)) return null
  const t = Number(m[3])
  switch (m[2]) {
    case ">=":
      return x >= t
    case "<=":
      return x <= t
    case "<":
      return x < t
    default:
      return x > t
  }
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")
}

function machineName(nats: string): string {
  if (process.env.ANTS_BENCH_MACHINE) return process.env.ANTS_BENCH_MACHINE
  const v = process.versions.node.split(".").slice(0, 2).join(".")
  return `${hostname()}: ${cpus().length} cores, Node ${v}, nats-server ${nats}`
}

async function serverVersionAt(url: string): Promise<string> {
  const nc = await connect({ servers: url.split(","), name: "ants-bench-probe" })
  try {
    return nc.info?.version ?? "unknown"
  } finally {
    await nc.close()
  }
}

export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchResult> {
  const scenarios = selectScenarios(options.scenarios)
  const started = new Date()
  const run = timestamp(started)
  const dir = resolve(options.out ?? `bench-results/${run}`)
  mkdirSync(dir, { recursive: true })
  const jsonlPath = resolve(dir, "figures.jsonl")
  writeFileSync(jsonlPath, "")

  const natsVersion = options.nats ? await serverVersionAt(options.nats) : natsServerVersion()
  const machine = machineName(natsVersion)
  const opts = optionsRecord(options)
  const figures: Figure[] = []
  const progress = createProgress(io.err, io.tty ?? false)

  const emit = (f: Figure) => {
    figures.push(f)
    const line = toJsonLine(f)
    appendFileSync(jsonlPath, line + "\n")
    if (io.json) io.out(line)
  }
  const env = () => ({ natsServer: natsVersion, node: process.version, machine, options: opts, at: new Date().toISOString() })

  const cleanup = () => killChildren()
  process.once("exit", cleanup)
  try {
    for (let index = 0; index < scenarios.length; index++) {
      const scenario = scenarios[index]
      let server: NatsServer | undefined
      let recorded = 0
      const ctx: ScenarioContext = {
        options,
        quick: options.quick,
        natsUrl: options.nats ?? "",
        natsVersion,
        record(input: FigureInput) {
          recorded++
          const baseline = input.baseline !== undefined && Number.isFinite(input.baseline) ? input.baseline : null
          const ratio = baseline !== null && baseline !== 0 ? round(input.value / baseline) : null
          emit({
            run,
            scenario: scenario.name,
            metric: input.metric,
            value: round(input.value),
            unit: input.unit,
            baseline: baseline === null ? null : round(baseline),
            baselineOf: baseline === null ? null : (input.baselineOf ?? null),
            ratio,
            better: input.better,
            target: input.target ?? null,
            targetFrom: input.target ? (input.targetFrom ?? "issue") : null,
            met: evaluateTarget(input.target, input.value, ratio),
            headline: input.headline ?? false,
            params: input.params ?? {},
            note: input.note ?? null,
            skipped: null,
            ...env(),
          })
        },
        skip(reason: string, metric = "all") {
          recorded++
          emit({
            run,
            scenario: scenario.name,
            metric,
            value: null,
            unit: "",
            baseline: null,
            baselineOf: null,
            ratio: null,
            better: null,
            target: null,
            targetFrom: null,
            met: null,
            headline: false,
            params: {},
            note: null,
            skipped: reason,
            ...env(),
          })
        },
        progress(fraction, label) {
          progress.update(scenario.name, index, scenarios.length, fraction, label)
        },
        log(message) {
          progress.line(`[${scenario.name}] ${message}`)
        },
      }
      progress.update(scenario.name, index, scenarios.length, 0, "starting")
      try {
        if (!options.nats) {
          server = await startNatsServer()
          ;(ctx as { natsUrl: string }).natsUrl = server.url
        }
        await scenario.run(ctx)
        if (recorded === 0) ctx.skip("the scenario recorded nothing")
      } catch (e) {
        const err = e as Error
        ctx.log(`failed: ${err.stack ?? err.message}`)
        ctx.skip(`failed: ${err.message}`)
      } finally {
        killChildren()
        await server?.stop().catch(() => undefined)
      }
      progress.update(scenario.name, index, scenarios.length, 1, "done")
    }
  } finally {
    progress.done()
    process.removeListener("exit", cleanup)
  }

  const info: RunInfo = {
    run,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    natsServer: natsVersion,
    node: process.version,
    natsUrl: options.nats ?? "embedded",
    embedded: !options.nats,
    options: opts,
  }
  writeFileSync(resolve(dir, "report.md"), markdownReport(figures, info))
  writeFileSync(resolve(dir, "headline.md"), headlineTable(figures, info))
  writeFileSync(resolve(dir, "chart.svg"), svgChart(figures, `ANTS vs raw NATS — ${info.startedAt.slice(0, 10)} — ${machine}`))
  return { dir, figures, info }
}
