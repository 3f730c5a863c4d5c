/**
 * fast-check parameters shared by the property tests. fast-check prints the seed and path of
 * a failing run; replay it with `FC_SEED=<seed> [FC_PATH=<path>] npx vitest run test/supervisors`.
 * `FC_RUNS` raises or lowers the number of runs.
 */
import type { Parameters } from "fast-check"

export function fcParams<T>(numRuns = 1000): Parameters<T> {
  const seed = process.env.FC_SEED
  const path = process.env.FC_PATH
  const runs = process.env.FC_RUNS
  return {
    numRuns: runs ? Number(runs) : numRuns,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
    verbose: 1,
  }
}
