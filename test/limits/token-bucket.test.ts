import { describe, expect, it } from "vitest"
import { RateLimiter, TokenBucket } from "../../runtime/limits/token-bucket.ts"

describe("token buckets", () => {
  it("token bucket - allows the burst at once, then the rate", () => {
    const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, 0)
    expect([1, 2, 3, 4, 5, 6].map(() => b.take(1, 0))).toEqual([true, true, true, true, true, false])
    expect(b.take(1, 50)).toBe(false) // half a token
    expect(b.take(1, 100)).toBe(true)
    expect(b.take(1, 100)).toBe(false)
    expect(b.available(10_000)).toBe(5) // never more than the burst
  })

  it("token bucket - an infinite rate never refuses", () => {
    const b = new TokenBucket({ ratePerSec: Number.POSITIVE_INFINITY }, 0)
    for (let i = 0; i < 1000; i++) expect(b.take(1, 0)).toBe(true)
  })

  it("rate limiter - keys are limited apart, overrides win, refusals are counted", () => {
    const r = new RateLimiter({ limit: { ratePerSec: 1, burst: 2 }, overrides: { vip: { ratePerSec: 1, burst: 4 } } })
    const take = (k: string) => [0, 0, 0, 0].map(() => r.take(k, 0))
    expect(take("a")).toEqual([true, true, false, false])
    expect(take("b")).toEqual([true, true, false, false])
    expect(take("vip")).toEqual([true, true, true, true])
    expect(r.refusals).toBe(4)
  })

  it("rate limiter - takeUpTo takes a hundredth of a second's worth at most, what the bucket holds, and gives back what was not used", () => {
    const r = new RateLimiter({ limit: { ratePerSec: 2_000, burst: 50 }, overrides: { open: { ratePerSec: Number.POSITIVE_INFINITY } } })
    expect(r.takeUpTo("a", Number.POSITIVE_INFINITY, 0)).toBe(20) // 2,000/s: 20 in 10 ms
    expect(r.takeUpTo("a", 5, 0)).toBe(5)
    expect(r.takeUpTo("a", 100, 0)).toBe(20)
    expect(r.takeUpTo("a", 100, 0)).toBe(5) // 50 - 45 left
    expect(r.takeUpTo("a", 100, 0)).toBe(0)
    expect(r.refusals).toBe(1)
    r.giveBack("a", 3)
    expect(r.takeUpTo("a", 100, 0)).toBe(3)
    expect(r.take("a", 0)).toBe(false)
    expect(r.takeUpTo("a", 100, 5)).toBe(10) // 5 ms later: 10 tokens
    expect(r.refillMs("a")).toBe(0.5)
    // no limit: whatever is asked, and nothing kept
    expect(r.takeUpTo("open", Number.POSITIVE_INFINITY, 0)).toBe(Number.POSITIVE_INFINITY)
    expect(r.refillMs("open")).toBe(0)
    expect(r.size).toBe(1)
  })

  it("rate limiter - without a limit nothing is kept and nothing refused", () => {
    const r = new RateLimiter({})
    for (let i = 0; i < 100; i++) expect(r.take(`k${i}`, 0)).toBe(true)
    expect(r.size).toBe(0)
  })

  it("rate limiter - full buckets are forgotten, so memory follows the active keys", () => {
    const r = new RateLimiter({ limit: { ratePerSec: 1000, burst: 1000 } })
    for (let i = 0; i < 10_000; i++) r.take(`k${i}`, 0)
    expect(r.size).toBe(10_000)
    r.take("late", 5_000)
    expect(r.size).toBe(1)
  })
})
