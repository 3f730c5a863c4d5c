/**
 * The agreement matrix and the consensus score, pure (no I/O): what `runConsensus` decides on.
 *
 * Given the votes received, `A[i][j] = agree(answer_i, answer_j)` in [0, 1] (symmetric, 1 on the
 * diagonal); by default two answers agree (1) when they are the same after normalisation
 * (strings trimmed and compared without case, other values as canonical JSON) and disagree (0)
 * otherwise. Each vote weighs its confidence `w_i` (default 1). The support of voter m is
 *
 *   support(m) = Σ_j w_j · A[m][j] / Σ_j w_j
 *
 * the confidence-weighted share of the votes that agree with m. The leader is the voter with the
 * highest support (the first in voter order on a tie), its answer is the outcome, and the
 * consensus score is its support. With exact agreement and full confidence the score is simply
 * the share of votes that gave the leading answer (3 of 4 → 0.75). The backing confidence is the
 * agreement-weighted mean confidence of the leader's supporters: Σ_j A[m][j]·w_j / Σ_j A[m][j].
 */

/** How much two answers agree, from 0 (not at all) to 1 (the same). */
export type Agreement = (a: unknown, b: unknown) => number

export interface Ballot {
  readonly voter: string
  readonly answer: unknown
  /** In [0, 1]; default 1. */
  readonly confidence?: number
}

export interface Tally {
  /** Voters in the order of the rows and columns of `matrix`. */
  readonly voters: ReadonlyArray<string>
  /** Pairwise agreement, symmetric, 1 on the diagonal. */
  readonly matrix: ReadonlyArray<ReadonlyArray<number>>
  /** Each voter's confidence-weighted share of agreeing votes. */
  readonly support: ReadonlyArray<number>
  /** Index of the leading voter. */
  readonly leader: number
  /** The leading answer. */
  readonly answer: unknown
  /** The consensus score: the leader's support, in [0, 1]. */
  readonly score: number
  /** Agreement-weighted mean confidence of the leader's supporters. */
  readonly confidence: number
}

/** Canonical JSON: object keys sorted, so `{a,b}` and `{b,a}` are the same answer. */
export function canonical(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.trim().toLowerCase())
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/** The default agreement: 1 when the answers are the same after normalisation, else 0. */
export const sameAnswer: Agreement = (a, b) => (canonical(a) === canonical(b) ? 1 : 0)

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0
}

/** Builds the matrix and scores it; undefined when there is no ballot. */
export function tally(ballots: ReadonlyArray<Ballot>, agree: Agreement = sameAnswer): Tally | undefined {
  const n = ballots.length
  if (n === 0) return undefined
  const w = ballots.map((b) => clamp01(b.confidence ?? 1))
  const matrix: number[][] = ballots.map(() => new Array<number>(n).fill(0))
  for (let i = 0; i < n; i++) {
    matrix[i]![i] = 1
    for (let j = i + 1; j < n; j++) {
      let a: number
      try {
        a = clamp01(agree(ballots[i]!.answer, ballots[j]!.answer))
      } catch {
        a = 0 // an agreement function that throws on odd answers counts them as disagreeing
      }
      matrix[i]![j] = a
      matrix[j]![i] = a
    }
  }
  const total = w.reduce((s, x) => s + x, 0)
  const support = matrix.map((row) => (total === 0 ? 0 : row.reduce((s, a, j) => s + a * w[j]!, 0) / total))
  let leader = 0
  for (let m = 1; m < n; m++) if (support[m]! > support[leader]!) leader = m
  const row = matrix[leader]!
  const agreeing = row.reduce((s, a) => s + a, 0)
  const confidence = agreeing === 0 ? 0 : row.reduce((s, a, j) => s + a * w[j]!, 0) / agreeing
  return { voters: ballots.map((b) => b.voter), matrix, support, leader, answer: ballots[leader]!.answer, score: support[leader]!, confidence }
}

export type DecisionReason = "below_threshold" | "low_confidence" | "no_quorum"

export interface DecisionRule {
  /** Minimum score to decide (default 0.75). */
  readonly threshold: number
  /** Minimum backing confidence to decide (default 0.7). */
  readonly minConfidence: number
  /** Minimum number of valid votes (default: more than half of those asked). */
  readonly quorum: number
}

/** Sums of weights are not exact: 3 × 0.7 / 3 must still meet a 0.7 minimum. */
const EPSILON = 1e-9

/** The decision on a tally: decided, or escalated with the first reason that applies. */
export function decide(t: Tally | undefined, received: number, rule: DecisionRule): { readonly decided: boolean; readonly reason?: DecisionReason } {
  if (t === undefined || received < rule.quorum) return { decided: false, reason: "no_quorum" }
  if (t.score < rule.threshold - EPSILON) return { decided: false, reason: "below_threshold" }
  if (t.confidence < rule.minConfidence - EPSILON) return { decided: false, reason: "low_confidence" }
  return { decided: true }
}

/** More than half of those asked. */
export function majorityOf(asked: number): number {
  return Math.floor(asked / 2) + 1
}
