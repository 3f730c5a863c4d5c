/**
 * Tool statistics as a pure fold over run outcomes, and the status they earn (the seed: a tool
 * is promoted from testing to active after 10 successful runs with a success rate of at least
 * 0.9). The success rate is a moving average: the share of successes among the last
 * `STATS_WINDOW` runs, so an old failure stops counting and a recent streak shows. Promotion is
 * kept once reached (a later failure shows in the rate, not in the status); a new version
 * starts over in testing.
 */
import type { ToolHead, ToolStats, ToolStatus } from "./types.ts"

export const PROMOTION = { minSuccesses: 10, minSuccessRate: 0.9 } as const

/** How many of the last runs the success rate averages. */
export const STATS_WINDOW = 20

export function emptyStats(version: number): ToolStats {
  return { version, runs: 0, successes: 0, failures: 0, window: "", successRate: 0, meanDurationMs: 0 }
}

/** The statistics after one more run. */
export function withOutcome(s: ToolStats, ok: boolean, durationMs: number, at: Date): ToolStats {
  const runs = s.runs + 1
  const successes = s.successes + (ok ? 1 : 0)
  const window = (s.window + (ok ? "1" : "0")).slice(-STATS_WINDOW)
  const successRate = [...window].filter((c) => c === "1").length / window.length
  const meanDurationMs = s.meanDurationMs + (Math.max(0, durationMs) - s.meanDurationMs) / runs
  const promote = s.promotedAt === undefined && successes >= PROMOTION.minSuccesses && successRate >= PROMOTION.minSuccessRate
  return {
    ...s,
    runs,
    successes,
    failures: s.failures + (ok ? 0 : 1),
    window,
    successRate,
    meanDurationMs,
    lastUsedAt: at.toISOString(),
    ...(promote ? { promotedAt: at.toISOString() } : {}),
  }
}

export function statusOf(head: ToolHead, stats: ToolStats | undefined): ToolStatus {
  if (head.deprecated) return "deprecated"
  return stats?.version === head.version && stats.promotedAt !== undefined ? "active" : "testing"
}
