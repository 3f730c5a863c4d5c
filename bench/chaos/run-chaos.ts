// Runs chaos scenarios (scenarios.ts) on hosts built on this machine (netns.ts) and reports, per
// scenario, run and checkpoint policy: how long clients went unanswered (the unavailability
// window), acknowledged increments lost (goal 0; after-change's in-flight window counted apart),
// increments applied twice, double activations (goal 0), tasks, and any other problem found.
// Scenarios that need nothing special share one swarm; `split` and `clock-skew` get their own.
import { NetCluster } from "./net-cluster.ts"
import { netnsSupport } from "./netns.ts"
import { CHAOS_SCENARIOS, type ChaosScenario, type Pace } from "./scenarios.ts"
import { runScenario, type ScenarioOutcome } from "./scenario.ts"

export { NetCluster }

export interface ChaosRow {
  readonly scenario: string
  readonly run: number
  readonly fault: string
  /** The checkpoint policy of the counters this row checks. */
  readonly policy: string | null
  /** How long the fault lasted (ms). */
  readonly faultMs: number | null
  /** Per client: the longest time one of its counters went unanswered while it kept asking (ms). */
  readonly unavailableMs: Record<string, number>
  readonly acknowledged: number
  /** Acknowledged increments lost beyond the in-flight window (goal 0). */
  readonly lostAcknowledged: number
  /** Lost inside after-change's documented in-flight window (admitted). */
  readonly lostInFlight: number
  /** Increments applied beyond what was sent (goal 0). */
  readonly appliedTwice: number
  /** Two activations of one actor acknowledging writes at overlapping times (goal 0). */
  readonly doubleActivations: number
  readonly tasks: { submitted: number; neverRun: number; notRecordedOnce: number; ranTwice: number } | null
  readonly problems: string[]
  /** The history and node logs, when kept. */
  readonly kept: string | null
  /** Why the scenario did not run (this machine lacks something). */
  readonly skipped: string | null
  readonly ok: boolean
}

export interface ChaosOptions {
  readonly scenarios: ReadonlyArray<ChaosScenario>
  readonly pace: Pace
  readonly runs: number
  /** Keep every history (a failed run's is always kept). */
  readonly keep: boolean
  /** Progress lines (scenario started, swarm up). */
  readonly progress: (line: string) => void
  /** Each row as soon as it is known. */
  readonly row?: (row: ChaosRow) => void
}

/** Why this machine cannot build hosts (not root, no iproute2...), or undefined when it can. */
export function chaosUnsupported(): string | undefined {
  const s = netnsSupport()
  return s.ok ? undefined : s.reason
}

export function selectChaosScenarios(names: ReadonlyArray<string>): ChaosScenario[] {
  if (names.length === 0) return [...CHAOS_SCENARIOS]
  const unknown = names.filter((n) => !CHAOS_SCENARIOS.some((s) => s.name === n))
  if (unknown.length > 0) throw new Error(`unknown chaos scenario ${unknown.map((n) => `"${n}"`).join(", ")}; the scenarios are ${CHAOS_SCENARIOS.map((s) => s.name).join(", ")}`)
  return CHAOS_SCENARIOS.filter((s) => names.includes(s.name))
}

/** Three servers and two nodes (n1 on a, with its clock moved by `clockOffset` if given; n2 on b). */
export async function startSwarm(clockOffset?: string): Promise<NetCluster> {
  const c = new NetCluster()
  try {
    await c.startServers()
    await c.startNode("n1", "n1", "a", clockOffset ? { clockOffset } : {})
    await c.startNode("n2", "n2", "b")
    return c
  } catch (e) {
    await c.stop()
    throw e
  }
}

function rows(s: ChaosScenario, run: number, pace: Pace, r: ScenarioOutcome, extra: string[]): ChaosRow[] {
  return r.types.map((t, i) => {
    const v = t.verdict
    const problems = [...v.problems, ...(i === 0 ? extra : [])]
    const tasks = i === 0 && v.tasks.submitted > 0 ? { submitted: v.tasks.submitted, neverRun: v.tasks.neverRun.length, notRecordedOnce: v.tasks.notRecordedOnce.length, ranTwice: v.tasks.ranMoreThanOnce } : null
    return {
      scenario: s.name,
      run,
      fault: s.fault(pace),
      policy: t.policy,
      faultMs: r.healedAt - r.faultAt,
      unavailableMs: v.longestGapMs,
      acknowledged: v.counters.reduce((n, c) => n + c.acknowledged, 0),
      lostAcknowledged: v.lostAcknowledged,
      lostInFlight: v.lostInFlight,
      appliedTwice: v.extraApplied,
      doubleActivations: v.overlaps.length,
      tasks,
      problems,
      kept: t.kept ?? null,
      skipped: null,
      ok: problems.length === 0,
    }
  })
}

function failedRow(s: ChaosScenario, run: number, pace: Pace, why: { skipped?: string; error?: string }): ChaosRow {
  return {
    scenario: s.name,
    run,
    fault: s.fault(pace),
    policy: null,
    faultMs: null,
    unavailableMs: {},
    acknowledged: 0,
    lostAcknowledged: 0,
    lostInFlight: 0,
    appliedTwice: 0,
    doubleActivations: 0,
    tasks: null,
    problems: why.error ? [why.error] : [],
    kept: null,
    skipped: why.skipped ?? null,
    ok: why.error === undefined,
  }
}

/** One run of one scenario on a swarm that is up: its report rows, and what was recorded. */
export async function runChaosScenario(c: NetCluster, s: ChaosScenario, pace: Pace, o: { run?: number; keep?: boolean } = {}): Promise<{ rows: ChaosRow[]; outcome: ScenarioOutcome }> {
  const outcome = await runScenario(c, { name: s.name, ...s.plan(c, pace) }, o.keep ?? false)
  return { rows: rows(s, o.run ?? 1, pace, outcome, s.verify?.(c, outcome) ?? []), outcome }
}

/** Runs the scenarios `runs` times each; every swarm it built is gone when it returns. */
export async function runChaos(o: ChaosOptions): Promise<ChaosRow[]> {
  const out: ChaosRow[] = []
  const emit = (r: ChaosRow) => {
    out.push(r)
    o.row?.(r)
  }
  let shared: NetCluster | undefined
  try {
    for (const s of o.scenarios) {
      const missing = s.missing?.()
      if (missing) {
        emit(failedRow(s, 1, o.pace, { skipped: missing }))
        continue
      }
      const own = s.clockOffset !== undefined || s.name === "split"
      for (let run = 1; run <= o.runs; run++) {
        o.progress(`${s.name}${o.runs > 1 ? ` (run ${run} of ${o.runs})` : ""}: ${s.fault(o.pace)}`)
        let c: NetCluster | undefined
        try {
          if (own) c = await startSwarm(s.clockOffset)
          else c = shared ??= await startSwarm(undefined)
          for (const row of (await runChaosScenario(c, s, o.pace, { run, keep: o.keep })).rows) emit(row)
        } catch (e) {
          emit(failedRow(s, run, o.pace, { error: `the run failed: ${(e as Error).message.slice(0, 2_000)}` }))
          // a swarm that failed mid-run is not reused
          if (c === shared) shared = undefined
          await c?.stop()
        } finally {
          if (own) await c?.stop()
        }
      }
    }
  } finally {
    await shared?.stop()
  }
  return out
}

/** The report as a table: one line per scenario, run and policy. */
export function chaosTable(rows: ReadonlyArray<ChaosRow>): string {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const head = ["scenario", "policy", "unavailable (longest, per client)", "lost acked", "in-flight", "applied twice", "double activations", "tasks", "ok"]
  const body = rows.map((r) => [
    r.run > 1 || rows.some((x) => x.scenario === r.scenario && x.run > 1) ? `${r.scenario} #${r.run}` : r.scenario,
    r.policy ?? "-",
    r.skipped ? `skipped: ${r.skipped}` : Object.entries(r.unavailableMs).map(([c, ms]) => `${c} ${sec(ms)}`).join(", ") || "-",
    String(r.lostAcknowledged),
    String(r.lostInFlight),
    String(r.appliedTwice),
    String(r.doubleActivations),
    r.tasks ? `${r.tasks.submitted} acked, ${r.tasks.neverRun} never ran, ${r.tasks.notRecordedOnce} not recorded once` : "-",
    r.skipped ? "skipped" : r.ok ? "yes" : "NO",
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  const faults = [...new Map(rows.map((r) => [r.scenario, r.fault])).entries()].map(([s, f]) => `  ${s}: ${f}`)
  const problems = rows.flatMap((r) => r.problems.map((p) => `  ${r.scenario}${r.policy ? ` (${r.policy})` : ""}: ${p}`))
  const kept = rows.flatMap((r) => (r.kept ? [`  ${r.scenario} (${r.policy}): ${r.kept}`] : []))
  return [
    line(head),
    ...body.map(line),
    "",
    "faults:",
    ...faults,
    ...(problems.length > 0 ? ["", "problems:", ...problems] : []),
    ...(kept.length > 0 ? ["", "histories and node logs kept:", ...kept] : []),
  ].join("\n")
}
