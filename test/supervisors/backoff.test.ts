import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { backoffCap, backoffDelay, defineBackoff } from "../../supervisors/mod.ts"
import { fcParams } from "./fc-params.ts"

describe("backoff", () => {
  it("backoff - grows exponentially from initialMs and is capped at maxMs", () => {
    const b = defineBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 })
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(b, n, 0.5))).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it("backoff - jitter only shortens: random 0 gives the cap, random 1 takes off the jitter share", () => {
    const b = defineBackoff({ initialMs: 1000, maxMs: 1000, multiplier: 2, jitter: 0.25 })
    expect(backoffDelay(b, 0, 0)).toBe(1000)
    expect(backoffDelay(b, 0, 1)).toBe(750)
    expect(backoffDelay(b, 0, 0.5)).toBe(875)
  })

  it("backoff - huge attempts do not overflow past maxMs", () => {
    const b = defineBackoff({ initialMs: 1, maxMs: 60_000, multiplier: 10, jitter: 0 })
    expect(backoffCap(b, 10_000)).toBe(60_000)
    expect(backoffDelay(b, 10_000, 0)).toBe(60_000)
  })

  it("backoff - an initialMs of 0 restarts at once", () => {
    expect(backoffDelay(defineBackoff({ initialMs: 0 }), 7, 0.3)).toBe(0)
  })

  it("backoff - every delay is an integer within [cap * (1 - jitter), cap] and never above maxMs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (initialMs, extra, multiplier, jitter, attempt, random) => {
          const b = defineBackoff({ initialMs, maxMs: initialMs + extra, multiplier, jitter })
          const cap = backoffCap(b, attempt)
          const d = backoffDelay(b, attempt, random)
          expect(Number.isInteger(d)).toBe(true)
          expect(d).toBeLessThanOrEqual(b.maxMs)
          expect(d).toBeLessThanOrEqual(cap)
          expect(d).toBeGreaterThanOrEqual(Math.floor(cap * (1 - jitter)) - 1)
          // with the same random draw, later attempts never wait less
          expect(backoffDelay(b, attempt + 1, random)).toBeGreaterThanOrEqual(d)
        },
      ),
      fcParams(),
    )
  })
})
