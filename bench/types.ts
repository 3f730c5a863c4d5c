/**
 * The vocabulary of the benchmark harness: options, the figures scenarios record, and the
 * narrow context a scenario runs in. A scenario measures and records; it never asserts. Every
 * figure that has a raw-NATS counterpart carries it as `baseline`, measured in the same run.
 */

export interface BenchOptions {
  /** Scenario names to run, in the registry's order; empty means all. */
  readonly scenarios: ReadonlyArray<string>
  readonly quick: boolean
  /** Use this NATS server (URL list) instead of an embedded one. */
  readonly nats: string | undefined
  /** Actors or agents per scenario (memory: actors; swarm: agents; activation/failover: actors). Scenario default when undefined. */
  readonly agents: number | undefined
  /** Node processes for multi-process scenarios (swarm, failover). */
  readonly nodes: number | undefined
  /**
   * Measuring window of one round, in ms, for the scenarios that measure rates over a time
   * window: ask, tell, pheromone deposit and reinforce. The others measure fixed amounts of
   * work (activation: --agents actors; detect: 1,000 and 10,000 trails; tasks and swarm:
   * --tasks; memory: --agents actors; failover: --rounds kills).
   */
  readonly durationMs: number | undefined
  /** Tasks per round: tasks (default 4000; quick 400) and swarm (default 2000; quick 120). */
  readonly tasks: number | undefined
  /** Offered rate, per second (tell publish rate, swarm task submission, failover ask load); undefined = as fast as flow control allows. */
  readonly rate: number | undefined
  /** Payload size in bytes (the text of ask/tell messages, task payload padding). */
  readonly payload: number
  /** Concurrency levels for ask (and the in-flight window of rate scenarios). */
  readonly concurrency: ReadonlyArray<number>
  /** Results folder; `bench-results/<timestamp>/` when undefined. */
  readonly out: string | undefined
  /** Baseline/ANTS alternation rounds (medians are taken over these). */
  readonly rounds: number | undefined
}

/** Which direction is good for a figure. */
export type Better = "higher" | "lower"

/** Where a target comes from (see FigureInput.targetFrom). */
export type TargetSource = "issue" | "seed" | "ours"

/** What a scenario hands to `record`. */
export interface FigureInput {
  readonly metric: string
  readonly value: number
  readonly unit: string
  /** The raw figure measured in the same run, when there is one. */
  readonly baseline?: number
  /** What the baseline measured ("raw nats.js request/reply", ...). */
  readonly baselineOf?: string
  readonly better: Better
  /**
   * The goal from the benchmark issue, as `ratio >= 0.8`, `ratio <= 1.25`, `value <= 1024` or
   * `value < 0.2`. Reported, never asserted.
   */
  readonly target?: string
  /**
   * Whose goal `target` is: `issue` (the benchmark issue's targets, the default), `seed` (a
   * figure from the original designs) or `ours` (a goal we set ourselves where the
   * issue sets none). Reports show the source next to the target.
   */
  readonly targetFrom?: TargetSource
  /** Drawn in the SVG chart of headline ratios. */
  readonly headline?: boolean
  /** Scenario parameters behind this figure (concurrency, trails, repeats...). */
  readonly params?: Readonly<Record<string, unknown>>
  /** A short remark (e.g. "--expose-gc unavailable: heap figures include garbage"). */
  readonly note?: string
}

/** One JSON line of the results. Every field is always present (null when it does not apply). */
export interface Figure {
  readonly run: string
  readonly scenario: string
  readonly metric: string
  /** null only on a `skipped` line. */
  readonly value: number | null
  readonly unit: string
  readonly baseline: number | null
  readonly baselineOf: string | null
  /** value / baseline (null without a baseline). */
  readonly ratio: number | null
  readonly better: Better | null
  readonly target: string | null
  /** `issue`, `seed` or `ours` when there is a target, else null. */
  readonly targetFrom: TargetSource | null
  /** Whether the target is met (null without a target). The harness reports, never asserts. */
  readonly met: boolean | null
  readonly headline: boolean
  readonly params: Readonly<Record<string, unknown>>
  readonly note: string | null
  /** Present (a reason) when the scenario could not run; value is null then. */
  readonly skipped: string | null
  readonly natsServer: string
  readonly node: string
  readonly machine: string
  readonly options: Readonly<Record<string, unknown>>
  readonly at: string
}

export interface ScenarioContext {
  readonly options: BenchOptions
  readonly quick: boolean
  /** The NATS server URL(s) every connection of the run uses. */
  readonly natsUrl: string
  /** nats-server version of the server in use. */
  readonly natsVersion: string
  record(figure: FigureInput): void
  /** Records that the scenario (or one part of it, named by `metric`) could not run, and why. */
  skip(reason: string, metric?: string): void
  /** Reports progress of this scenario, 0..1, with a short label. */
  progress(fraction: number, label: string): void
  /** A line for the operator (stderr). */
  log(message: string): void
}

export interface Scenario {
  readonly name: string
  /** One line: what is measured against what. */
  readonly summary: string
  run(ctx: ScenarioContext): Promise<void>
}
