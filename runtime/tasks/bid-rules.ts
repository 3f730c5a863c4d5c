/**
 * The marketplace's pure rules (seed "Task marketplace and queues"): how strong a task's
 * pheromone is, how a bidder scores itself, how long it waits before claiming, and how well a
 * capability pattern covers a capability. No I/O: runtime/tasks/marketplace.ts applies them.
 */

/** A deadline this far away or more counts as not urgent (0.1); no deadline is 0.5. */
export const URGENCY_HORIZON_MS = 3_600_000

export function taskUrgency(deadline: number | undefined, now: number): number {
  if (deadline === undefined) return 0.5
  return clamp(1 - (deadline - now) / URGENCY_HORIZON_MS, 0.1, 1)
}

/** The seed's formula: priority/10 × urgency × 1/attempts, within [0.01, 1]. */
export function taskPheromoneStrength(t: { priority: number; attempt: number; deadline?: number; now: number }): number {
  return clamp((t.priority / 10) * taskUrgency(t.deadline, t.now) * (1 / Math.max(1, t.attempt)), 0.01, 1)
}

export const BID_WEIGHTS = { capability: 0.35, idle: 0.25, success: 0.25, strength: 0.15 } as const

/** A bid in [0, 1]: capability match (1 exact, 0.7 by pattern), 1 − load, success rate, pheromone strength. */
export function bidScore(b: { capabilityMatch: number; load: number; successRate: number; strength: number }): number {
  return clamp(
    BID_WEIGHTS.capability * clamp(b.capabilityMatch, 0, 1) +
      BID_WEIGHTS.idle * (1 - clamp(b.load, 0, 1)) +
      BID_WEIGHTS.success * clamp(b.successRate, 0, 1) +
      BID_WEIGHTS.strength * clamp(b.strength, 0, 1),
    0,
    1,
  )
}

/**
 * How long a bidder waits before claiming: `windowMs × (1 − score / best)`, where `best` is what
 * a perfect bidder would score on the same call (exact match, idle, never failed, the same
 * trail). The order of the bidders is that of their scores, and a perfect bidder claims at once:
 * measured from 1 − score, an ideal agent still waited 7.5 to 14 ms a call (the trail's part of
 * the score is rarely near 1), a fifth of a 50 ms task, idle.
 */
export function bidDelayMs(parts: { capabilityMatch: number; load: number; successRate: number; strength: number }, windowMs: number): number {
  const best = bidScore({ capabilityMatch: 1, load: 0, successRate: 1, strength: parts.strength })
  return Math.round(windowMs * clamp(1 - bidScore(parts) / best, 0, 1))
}

/** How well `pattern` (tokens, `*` one token, trailing `>` the rest) covers `capability`: 1, 0.7 or 0. */
export function capabilityMatch(pattern: string, capability: string): number {
  if (pattern === capability) return 1
  // a pattern without wildcards matches only itself (every bidder tries every call: no splitting)
  if (!pattern.includes("*") && !pattern.includes(">")) return 0
  const p = pattern.split(".")
  const c = capability.split(".")
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">" && i === p.length - 1) return c.length > i ? 0.7 : 0
    if (i >= c.length) return 0
    if (p[i] !== "*" && p[i] !== c[i]) return 0
  }
  return p.length === c.length ? 0.7 : 0
}

function clamp(x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : lo
}
