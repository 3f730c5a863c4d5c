import { describe, expect, it } from "vitest"
import { createBandit, epsilonGreedy, isMemoryError } from "../../runtime/memory/mod.ts"

/** A repeatable random source: the values given, in turn. */
const sequence = (...values: number[]) => {
  let i = 0
  return () => values[i++ % values.length]!
}

describe("learning", () => {
  it("epsilon-greedy - exploits the best mean reward when the draw is above epsilon", () => {
    const stats = { search: { pulls: 5, mean: 0.2 }, calculator: { pulls: 5, mean: 0.8 }, browser: { pulls: 5, mean: -0.4 } }
    expect(epsilonGreedy(["search", "calculator", "browser"], stats, 0.1, sequence(0.5))).toEqual({ choice: "calculator", explored: false })
  })

  it("epsilon-greedy - explores a uniformly drawn option when the draw is below epsilon", () => {
    const stats = { search: { pulls: 5, mean: 0.2 }, calculator: { pulls: 5, mean: 0.8 }, browser: { pulls: 5, mean: -0.4 } }
    expect(epsilonGreedy(["search", "calculator", "browser"], stats, 0.1, sequence(0.05, 0.9))).toEqual({ choice: "browser", explored: true })
  })

  it("epsilon-greedy - tries every untried option before trusting the means", () => {
    expect(epsilonGreedy(["a", "b"], { a: { pulls: 3, mean: 1 } }, 0.1, sequence(0.5)).choice).toBe("b")
  })

  it("bandit - explores about 10% of the time and learns the best tool from rewards", () => {
    let seed = 42
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const quality: Record<string, number> = { search: 0.1, calculator: 0.7, browser: -0.5 }
    const bandit = createBandit(["search", "calculator", "browser"], { random })
    let explored = 0
    const picks: Record<string, number> = { search: 0, calculator: 0, browser: 0 }
    for (let i = 0; i < 2000; i++) {
      const c = bandit.choose()
      if (c.explored) explored++
      picks[c.choice]!++
      bandit.reward(c.choice, Math.max(-1, Math.min(1, quality[c.choice]! + (random() - 0.5))))
    }
    expect(explored / 2000).toBeGreaterThan(0.07)
    expect(explored / 2000).toBeLessThan(0.13)
    expect(picks.calculator! / 2000).toBeGreaterThan(0.85)
    expect(bandit.stats().calculator!.mean).toBeCloseTo(0.7, 1)
  })

  it("bandit - a reward outside -1..+1 is refused", () => {
    const bandit = createBandit(["a"])
    const e = (() => {
      try {
        bandit.reward("a", 1.5)
      } catch (err) {
        return err
      }
    })()
    expect(isMemoryError(e, "invalid_input")).toBe(true)
    expect(bandit.stats().a).toBeUndefined()
  })
})
