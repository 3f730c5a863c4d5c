/**
 * A circuit breaker, written once and used by the router per deployment and by any agent that
 * wants one around a flaky dependency. Defaults follow the classic pattern: the circuit opens
 * after 5 consecutive failures, and after 60 s it lets one trial call through (half-open); a
 * success closes it, a failure opens it again for another period.
 *
 *   closed ──5 failures──▶ open ──60 s──▶ half_open ──success──▶ closed
 *                            ▲                 │
 *                            └────failure──────┘
 *
 * The clock is injectable, so tests move time instead of sleeping.
 */
import { TaggedError } from "../../subjects/errors.ts"

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))),
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  readonly failureThreshold?: number
  /** How long the circuit stays open before a trial call (default 60 000 ms). */
  readonly resetTimeoutMs?: number
  readonly clock?: Clock
}

export const BREAKER_DEFAULTS = { failureThreshold: 5, resetTimeoutMs: 60_000 } as const

export type CircuitState = "closed" | "open" | "half_open"

/** Thrown by `run` while the circuit is open. */
export class CircuitOpenError extends TaggedError("CircuitOpenError") {
  constructor(readonly retryAtMs: number) {
    super(`circuit open until ${new Date(retryAtMs).toISOString()}`)
  }
}

export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private opened = false
  private trialInFlight = false
  readonly failureThreshold: number
  readonly resetTimeoutMs: number
  private readonly clock: Clock

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold
    this.resetTimeoutMs = options.resetTimeoutMs ?? BREAKER_DEFAULTS.resetTimeoutMs
    this.clock = options.clock ?? systemClock
  }

  get state(): CircuitState {
    if (!this.opened) return "closed"
    return this.clock.now() - this.openedAt >= this.resetTimeoutMs ? "half_open" : "open"
  }

  /** When an open circuit lets its next trial through (epoch ms); 0 when closed. */
  get retryAt(): number {
    return this.opened ? this.openedAt + this.resetTimeoutMs : 0
  }

  /** Whether a call may go through now. In half-open, only one trial at a time. */
  canPass(): boolean {
    const s = this.state
    if (s === "closed") return true
    if (s === "open") return false
    return !this.trialInFlight
  }

  /** Claims the right to call: false when the circuit refuses. Pair with `success` or `failure`. */
  acquire(): boolean {
    if (!this.canPass()) return false
    if (this.state === "half_open") this.trialInFlight = true
    return true
  }

  success(): void {
    this.failures = 0
    this.opened = false
    this.trialInFlight = false
  }

  failure(): void {
    this.trialInFlight = false
    if (this.opened) {
      // A failed trial opens the circuit for another full period.
      this.openedAt = this.clock.now()
      return
    }
    if (++this.failures >= this.failureThreshold) {
      this.opened = true
      this.openedAt = this.clock.now()
    }
  }

  /** Runs `fn` through the breaker: refused with CircuitOpenError while open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.acquire()) throw new CircuitOpenError(this.retryAt)
    try {
      const v = await fn()
      this.success()
      return v
    } catch (e) {
      this.failure()
      throw e
    }
  }
}
