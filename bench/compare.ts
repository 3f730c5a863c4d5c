/**
 * The steps every scenario repeats around `alternate` (load.ts): warm both sides up, run a
 * reference comparison at half the rounds, and record a figure as the median of the ANTS
 * rounds against the median of the raw rounds measured in the same run.
 */
import { alternate, type LoopResult } from "./load.ts"
import { median } from "./stats.ts"
import type { FigureInput, ScenarioContext } from "./types.ts"

/** Runs the raw side and the ANTS side once briefly (JIT, connections, every actor activated). */
export async function warmUp(ctx: ScenarioContext, raw: (ms: number) => Promise<unknown>, ants: (ms: number) => Promise<unknown>, ms = 300): Promise<void> {
  ctx.progress(0.02, "warm-up")
  await raw(ms)
  await ants(ms)
}

/** Rounds of a reference comparison beside the headline one. */
export function halfRounds(rounds: number): number {
  return Math.max(1, Math.ceil(rounds / 2))
}

/** Records `pick` of the ANTS rounds (median) against `pick` of the raw rounds (median) as one figure. */
export function recordVsRaw<T>(ctx: ScenarioContext, res: { readonly raw: ReadonlyArray<T>; readonly ants: ReadonlyArray<T> }, pick: (x: T) => number, figure: Omit<FigureInput, "value" | "baseline">): void {
  ctx.record({ ...figure, value: median(res.ants.map(pick)), baseline: median(res.raw.map(pick)) })
}

/**
 * The closed-loop comparison at each concurrency level: warms both sides up at the highest
 * level, then alternates `rounds` rounds of raw and ANTS at each level; `each` records.
 */
export async function atEachLevel(
  ctx: ScenarioContext,
  o: {
    readonly levels: ReadonlyArray<number>
    readonly rounds: number
    readonly durationMs: number
    readonly raw: (concurrency: number, ms: number) => Promise<LoopResult>
    readonly ants: (concurrency: number, ms: number) => Promise<LoopResult>
  },
  each: (concurrency: number, res: { raw: LoopResult[]; ants: LoopResult[] }) => void,
): Promise<void> {
  const { levels, rounds: R, durationMs: D, raw, ants } = o
  const maxC = Math.max(...levels)
  await warmUp(ctx, (ms) => raw(maxC, ms), (ms) => ants(maxC, ms))
  for (let li = 0; li < levels.length; li++) {
    const c = levels[li]!
    const res = await alternate<LoopResult>(R, () => raw(c, D), () => ants(c, D), (r) => ctx.progress((li + (r + 1) / R) / levels.length, `concurrency ${c}, round ${r + 1}/${R}`))
    each(c, res)
  }
}

/** The note of a figure whose ANTS rounds had failures. */
export function failedNote(res: { readonly ants: ReadonlyArray<LoopResult> }, what = "ANTS asks"): string | undefined {
  const errors = res.ants.reduce((s, x) => s + x.errors, 0)
  return errors ? `${errors} ${what} failed` : undefined
}
