/** Small statistics used by every scenario: percentiles, medians, Gini. Pure functions. */

/** The q-quantile (0..1) of `xs` by nearest rank on a sorted copy; NaN when empty. */
export function percentile(xs: ArrayLike<number>, q: number): number {
  const n = xs.length
  if (n === 0) return Number.NaN
  const sorted = Float64Array.from(xs as ArrayLike<number>).sort()
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))
  return sorted[rank]
}

export function median(xs: ArrayLike<number>): number {
  const n = xs.length
  if (n === 0) return Number.NaN
  const s = Float64Array.from(xs as ArrayLike<number>).sort()
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]
  return s / xs.length
}

export function max(xs: ArrayLike<number>): number {
  let m = Number.NEGATIVE_INFINITY
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i]
  return xs.length === 0 ? Number.NaN : m
}

/**
 * Gini coefficient of non-negative amounts: 0 when everyone did the same work, approaching 1
 * when one did everything. Zero total gives 0.
 */
export function gini(xs: ArrayLike<number>): number {
  const n = xs.length
  if (n === 0) return 0
  const s = Float64Array.from(xs as ArrayLike<number>).sort()
  let total = 0
  let weighted = 0
  for (let i = 0; i < n; i++) {
    total += s[i]
    weighted += (i + 1) * s[i]
  }
  if (total === 0) return 0
  return (2 * weighted) / (n * total) - (n + 1) / n
}

/** Rounds to `digits` significant digits (keeps JSON and tables readable). */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x
  const d = Math.ceil(Math.log10(Math.abs(x)))
  const f = 10 ** (digits - d)
  return Math.round(x * f) / f
}

/** A growable buffer of latency samples in milliseconds. */
export class Samples {
  private buf = new Float64Array(1024)
  length = 0
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = x
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length)
  }
}
