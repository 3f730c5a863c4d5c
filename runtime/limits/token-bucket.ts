/**
 * Rate limits as token buckets: one small module with one configuration type, so the node's
 * per-tenant and per-agent limits and a tenant's quota (messages per second) are the same
 * thing configured in different places.
 *
 * A bucket holds up to `burst` tokens and gains `ratePerSec` tokens a second; taking a token
 * when none is left is refused, and the caller answers `overloaded`. Refill is computed from
 * the clock on each take (no timers), so a million idle buckets cost only their memory.
 * `RateLimiter` keeps one bucket per key (a tenant, a `<tenant>/<type>/<id>` actor) with
 * per-key overrides, and forgets buckets that are full again (they would behave exactly like a
 * new one), so its size follows the keys active in the last `burst / ratePerSec` seconds.
 */

/** A rate: `ratePerSec` sustained, `burst` at once. `Infinity` as the rate turns the limit off. */
export interface RateLimit {
  readonly ratePerSec: number
  /** Tokens available at once (and the bucket's size). Default: one second's worth, at least 1. */
  readonly burst?: number
}

export class TokenBucket {
  private tokens: number
  private last: number
  readonly burst: number

  constructor(
    readonly limit: RateLimit,
    now = Date.now(),
  ) {
    this.burst = limit.burst ?? Math.max(1, limit.ratePerSec)
    this.tokens = this.burst
    this.last = now
  }

  /** Takes `n` tokens; false (taking nothing) when there are fewer. */
  take(n = 1, now = Date.now()): boolean {
    if (this.limit.ratePerSec === Number.POSITIVE_INFINITY) return true
    this.refill(now)
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** Takes up to `max` tokens (whole ones) and says how many; `max` itself when the limit is off. */
  takeUpTo(max: number, now = Date.now()): number {
    if (this.limit.ratePerSec === Number.POSITIVE_INFINITY) return max
    this.refill(now)
    const n = Math.min(max, Math.floor(this.tokens))
    if (n > 0) this.tokens -= n
    return n
  }

  /** Puts back `n` tokens taken and not used (up to the bucket's size). */
  giveBack(n: number): void {
    this.tokens = Math.min(this.burst, this.tokens + n)
  }

  /** Tokens available now. */
  available(now = Date.now()): number {
    this.refill(now)
    return this.tokens
  }

  /** Whether the bucket is full (indistinguishable from a new one). */
  full(now = Date.now()): boolean {
    return this.available(now) >= this.burst
  }

  private refill(now: number): void {
    const elapsed = now - this.last
    if (elapsed <= 0) return
    this.last = now
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.limit.ratePerSec) / 1000)
  }
}

export interface RateLimiterConfig {
  /** The limit of every key without an override. Undefined: no limit. */
  readonly limit?: RateLimit
  /** Limits of particular keys (a tenant's quota, a busy agent's allowance). */
  readonly overrides?: Readonly<Record<string, RateLimit>>
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()
  private refused = 0
  private sweptAt = 0

  constructor(private config: RateLimiterConfig) {}

  /** Replaces the configuration (a tenant's quota changed); existing buckets start over. */
  configure(config: RateLimiterConfig): void {
    this.config = config
    this.buckets.clear()
  }

  limitOf(key: string): RateLimit | undefined {
    return this.config.overrides?.[key] ?? this.config.limit
  }

  /** Takes a token for `key`; false when its rate is exceeded. */
  take(key: string, now = Date.now()): boolean {
    const b = this.buckets.get(key) ?? this.newBucket(key, now)
    if (b === undefined || b.take(1, now)) return true
    this.refused++
    return false
  }

  /** A bucket for `key`, kept; undefined when the key has no limit. */
  private newBucket(key: string, now: number): TokenBucket | undefined {
    const limit = this.limitOf(key)
    if (limit === undefined || limit.ratePerSec === Number.POSITIVE_INFINITY) return undefined
    // a node's per-actor buckets: swept once a second past a thousand, so an activation burst
    // of a hundred thousand actors leaves buckets only for the ones asked in the last burst/rate seconds
    if (this.buckets.size >= 1_024 && now - this.sweptAt > 1_000) this.sweep(now)
    const b = new TokenBucket(limit, now)
    this.buckets.set(key, b)
    return b
  }

  /**
   * Takes up to `max` tokens of `key` at once, at most a hundredth of a second's worth (for a
   * lane's reader thread, which spends them on the key's next messages); `max` when the key has
   * no limit. 0 counts as a refusal.
   */
  takeUpTo(key: string, max: number, now = Date.now()): number {
    const b = this.buckets.get(key) ?? this.newBucket(key, now)
    if (b === undefined) return max
    const n = b.takeUpTo(Math.min(max, Math.max(1, Math.ceil(b.limit.ratePerSec / 100))), now)
    if (n === 0) this.refused++
    return n
  }

  /** Puts back tokens of `key` taken by `takeUpTo` and not used. */
  giveBack(key: string, n: number): void {
    this.buckets.get(key)?.giveBack(n)
  }

  /** How long until `key` has a token again (0 without a limit). */
  refillMs(key: string): number {
    const limit = this.limitOf(key)
    return limit === undefined || limit.ratePerSec === Number.POSITIVE_INFINITY ? 0 : 1000 / limit.ratePerSec
  }

  /** Buckets kept now (keys seen lately that are not back to full). */
  get size(): number {
    return this.buckets.size
  }

  /** Takes refused since the start. */
  get refusals(): number {
    return this.refused
  }

  private sweep(now: number): void {
    this.sweptAt = now
    for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k)
  }
}
