/**
 * The router's score of one deployment for one request, 0..100 plus adjustments, a pure
 * function so it can be tested and explained:
 *
 *   capability match  40 × (wanted capabilities the deployment has / wanted capabilities)
 *   cost              30 × (cheapest estimate among candidates / this estimate)   (free = 30)
 *   latency           20 × (fastest latency among candidates / this latency)      (unknown = 10)
 *   success           10 × success rate (moving average, 0..1)
 *   load              −10 when above 80% of its limits, +5 when below 30%
 *
 * Load is the larger of calls in flight / maxConcurrent and calls in the last minute / rpm.
 */

export interface ScoreInput {
  readonly capabilities: ReadonlyArray<string>
  readonly wanted: ReadonlyArray<string>
  readonly estimatedCostUsd: number
  readonly cheapestCostUsd: number
  readonly latencyMs: number | undefined
  readonly fastestLatencyMs: number | undefined
  readonly success: number
  /** 0..1 (may exceed 1 when over the limits). */
  readonly load: number
}

export interface ScoreParts {
  readonly capability: number
  readonly cost: number
  readonly latency: number
  readonly success: number
  readonly load: number
  readonly total: number
}

export const LOAD_HIGH = 0.8
export const LOAD_LOW = 0.3

export function score(i: ScoreInput): ScoreParts {
  const capability = i.wanted.length === 0 ? 40 : (40 * i.wanted.filter((c) => i.capabilities.includes(c)).length) / i.wanted.length
  const cost = i.estimatedCostUsd <= 0 ? 30 : (30 * Math.max(0, i.cheapestCostUsd)) / i.estimatedCostUsd
  const latency = i.latencyMs === undefined || i.fastestLatencyMs === undefined || i.latencyMs <= 0 ? 10 : (20 * i.fastestLatencyMs) / i.latencyMs
  const success = 10 * Math.min(1, Math.max(0, i.success))
  const load = i.load > LOAD_HIGH ? -10 : i.load < LOAD_LOW ? 5 : 0
  return { capability, cost, latency, success, load, total: capability + cost + latency + success + load }
}
