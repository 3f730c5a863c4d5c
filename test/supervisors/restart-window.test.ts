import { describe, expect, it } from "vitest"
import { EMPTY_WINDOW, prune, recordRestart, restartsWithin } from "../../supervisors/mod.ts"

describe("restart window", () => {
  it("restart window - allows intensity restarts within the period and refuses one more", () => {
    let w = EMPTY_WINDOW
    for (let i = 0; i < 3; i++) {
      const r = recordRestart(w, 1000 + i, 3, 5000)
      expect(r.exceeded).toBe(false)
      expect(r.count).toBe(i + 1)
      w = r.window
    }
    const r = recordRestart(w, 1003, 3, 5000)
    expect(r.exceeded).toBe(true)
    expect(r.count).toBe(4)
    expect(r.window).toEqual([1000, 1001, 1002])
  })

  it("restart window - restarts older than the period no longer count", () => {
    const w = recordRestart(EMPTY_WINDOW, 0, 1, 5000).window
    expect(recordRestart(w, 4999, 1, 5000).exceeded).toBe(true)
    // exactly one period later the old restart is out of the window
    const r = recordRestart(w, 5000, 1, 5000)
    expect(r.exceeded).toBe(false)
    expect(r.window).toEqual([5000])
  })

  it("restart window - intensity 0 refuses every restart", () => {
    expect(recordRestart(EMPTY_WINDOW, 0, 0, 5000)).toEqual({ window: [], count: 1, exceeded: true })
  })

  it("restart window - a clock stepping back counts as the last restart's time", () => {
    const w = recordRestart(EMPTY_WINDOW, 10_000, 5, 5000).window
    const r = recordRestart(w, 2_000, 5, 5000)
    expect(r.window).toEqual([10_000, 10_000])
  })

  it("restart window - prune and restartsWithin see only the live part", () => {
    const w = [1, 2, 3, 4000, 4500]
    expect(prune(w, 5000, 4000)).toEqual([4000, 4500])
    expect(restartsWithin(w, 5000, 4000)).toBe(2)
    expect(restartsWithin(w, 100_000, 4000)).toBe(0)
    expect(prune(w, 4500, 10_000)).toBe(w)
    // an earlier clock reads as the last restart's time
    expect(prune(w, 3, 4000)).toEqual([4000, 4500])
  })
})
