/**
 * Learning from outcomes: an epsilon-greedy choice among options (tools, strategies) by their
 * mean reward, rewards from +1 (approved) to -1 (failed, a human had to step in), and step
 * sequences stored as procedures whose success rates the outcomes keep up to date, so any
 * agent of the tenant can find the procedure that worked best for a task like its own.
 */
import { checkReward } from "./validate.ts"
import type { ScopedMemory } from "./scoped-memory.ts"
import type { MemoryItem, Metadata } from "./types.ts"
import { MemoryError } from "./errors.ts"

/** The share of choices that explore instead of taking the best known option. */
export const DEFAULT_EPSILON = 0.1
/** Named rewards at the ends and middle of the scale. */
export const REWARD = { approved: 1, neutral: 0, failed: -1 } as const

export interface ArmStats {
  readonly pulls: number
  /** Mean reward, -1..1 (0 before the first reward). */
  readonly mean: number
}

export interface Choice<T extends string> {
  readonly choice: T
  readonly explored: boolean
}

/**
 * Epsilon-greedy: with probability epsilon a uniformly random option, otherwise the one with
 * the highest mean reward; options never tried count as the best (each gets tried once).
 * `random` is injectable so that tests and simulations are repeatable.
 */
export function epsilonGreedy<T extends string>(options: ReadonlyArray<T>, stats: Readonly<Partial<Record<T, ArmStats>>>, epsilon = DEFAULT_EPSILON, random: () => number = Math.random): Choice<T> {
  if (options.length === 0) throw new MemoryError("invalid_input", "epsilonGreedy needs at least one option")
  if (!(epsilon >= 0 && epsilon <= 1)) throw new MemoryError("invalid_input", `epsilon is a probability, 0..1 (got ${epsilon})`)
  if (random() < epsilon) return { choice: options[Math.min(options.length - 1, Math.floor(random() * options.length))]!, explored: true }
  let best = options[0]!
  let bestValue = -Infinity
  for (const o of options) {
    const s = stats[o]
    const value = s === undefined || s.pulls === 0 ? Infinity : s.mean
    if (value > bestValue) {
      best = o
      bestValue = value
    }
  }
  return { choice: best, explored: false }
}

/** A learner over named options: `choose()` then `reward(option, r)`; `stats()` to persist or show. */
export interface Bandit<T extends string> {
  choose(options?: ReadonlyArray<T>): Choice<T>
  reward(option: T, reward: number): ArmStats
  stats(): Readonly<Partial<Record<T, ArmStats>>>
}

export function createBandit<T extends string>(options: ReadonlyArray<T>, config: { epsilon?: number; random?: () => number; initial?: Partial<Record<T, ArmStats>> } = {}): Bandit<T> {
  const stats: Partial<Record<T, ArmStats>> = { ...config.initial }
  return {
    choose: (among = options) => epsilonGreedy(among, stats, config.epsilon ?? DEFAULT_EPSILON, config.random),
    reward: (option, r) => {
      checkReward(r)
      const s = stats[option] ?? { pulls: 0, mean: 0 }
      const pulls = s.pulls + 1
      const next = { pulls, mean: s.mean + (r - s.mean) / pulls }
      stats[option] = next
      return next
    },
    stats: () => ({ ...stats }),
  }
}

export interface ProcedureInput {
  /** What the procedure is for, in words (this is what other agents search by). */
  readonly task: string
  readonly steps: ReadonlyArray<string>
  /** The outcome of this run, -1..+1. */
  readonly reward: number
  readonly metadata?: Metadata
}

export interface Procedure {
  readonly id: string
  readonly task: string
  readonly steps: ReadonlyArray<string>
  readonly successRate: number | null
  readonly uses: number
  /** Similarity of its task to the one asked about. */
  readonly score: number
  /** Who learned it. */
  readonly type: string
}

const procedureText = (task: string, steps: ReadonlyArray<string>) => `${task}\nsteps: ${steps.join(" -> ")}`

/**
 * Stores a run's step sequence as a procedure with its outcome. The same task and steps from
 * the same agent type are one procedure: each run adds to its success rate.
 */
export async function recordProcedure(memory: ScopedMemory, input: ProcedureInput): Promise<MemoryItem> {
  if (!Array.isArray(input.steps) || input.steps.length === 0 || input.steps.some((s) => typeof s !== "string" || s === "")) {
    throw new MemoryError("invalid_input", "a procedure has at least one step, each a non-empty string")
  }
  return await memory.remember({
    kind: "procedural",
    text: procedureText(input.task, input.steps),
    data: { task: input.task, steps: [...input.steps] },
    outcome: input.reward,
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
  })
}

/**
 * The procedures of the tenant (every agent's) for tasks like `task`, best first: by
 * similarity times success rate, where an untried procedure counts as 0.5.
 */
export async function bestProcedures(memory: ScopedMemory, task: string, options: { k?: number; minScore?: number; minSuccessRate?: number } = {}): Promise<Procedure[]> {
  const found = await memory.recall({ query: task, kind: "procedural", scope: "tenant", k: Math.max(20, (options.k ?? 3) * 4), minScore: options.minScore })
  return found
    .filter((m) => Array.isArray((m.data as { steps?: unknown } | null)?.steps))
    .filter((m) => options.minSuccessRate === undefined || (m.successRate ?? 0) >= options.minSuccessRate)
    .map((m) => ({ id: m.id, task: String((m.data as { task?: unknown }).task ?? m.text), steps: (m.data as { steps: string[] }).steps, successRate: m.successRate, uses: m.uses, score: m.score, type: m.type }))
    .sort((a, b) => b.score * (b.successRate ?? 0.5) - a.score * (a.successRate ?? 0.5))
    .slice(0, options.k ?? 3)
}
