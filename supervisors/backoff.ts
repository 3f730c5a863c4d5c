/**
 * The one exponential backoff of ANTS, pure: randomness is injected. Supervisors space restarts
 * with it; task retries, durable-mail redeliveries, membership's JetStream retries and the
 * pheromone CAS loop use the same shape (`Backoff`) with their own figures.
 *
 * `delay(attempt) = floor(cap * (1 - jitter * random))`, `cap = min(maxMs, initialMs * multiplier^attempt)`,
 * with `random` in [0, 1]. Promises: the delay is an integer in `[floor(cap * (1 - jitter)), floor(cap)]`,
 * so it never exceeds `maxMs`; with a fixed `random` it never decreases as `attempt` grows.
 * Jitter only shortens, never lengthens, so `maxMs` is a hard bound an operator can rely on.
 * `retrying` is the one settling loop on that shape (its only side effect is a timer): JetStream
 * after a create or a leader change, used where buckets are created and first written.
 */
import type { Backoff } from "./spec.ts"

export type { Backoff } from "./spec.ts"

/** The un-jittered delay for the n-th attempt (n from 0). */
export function backoffCap(backoff: Backoff, attempt: number): number {
  const n = Math.max(0, Math.floor(attempt))
  const raw = backoff.initialMs * Math.pow(backoff.multiplier, n)
  // multiplier^n overflows to Infinity for large n; the cap still applies.
  return Number.isFinite(raw) ? Math.min(backoff.maxMs, raw) : backoff.maxMs
}

/** The jittered delay in ms for the n-th attempt; `random` is clamped to [0, 1]. */
export function backoffDelay(backoff: Backoff, attempt: number, random: number): number {
  const cap = backoffCap(backoff, attempt)
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0
  return Math.max(0, Math.floor(cap * (1 - backoff.jitter * r)))
}

/** Fills a partial backoff from `defaults` (no validation: callers' options are typed). */
export function withBackoff(defaults: Backoff, input: Partial<Backoff> | undefined): Backoff {
  return input === undefined ? defaults : { ...defaults, ...input }
}

/** 50 ms, doubling, at most 1 s. */
const SETTLE_BACKOFF: Backoff = { initialMs: 50, maxMs: 1_000, multiplier: 2, jitter: 0 }

/** Runs `f` until it succeeds or `withinMs` passed (JetStream settling after a create or a leader change). */
export async function retrying<T>(f: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs
  for (let attempt = 0; ; attempt++) {
    const wait = backoffCap(SETTLE_BACKOFF, attempt)
    try {
      return await f()
    } catch (e) {
      if (Date.now() + wait > deadline) throw e
      await new Promise((r) => setTimeout(r, wait))
    }
  }
}
