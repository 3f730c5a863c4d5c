import { describe, expect, it } from "vitest"
import { heapVerdict } from "../../bench/heap-figures.ts"
import type { ScenarioContext } from "../../bench/types.ts"

const ctxOf = (quick: boolean) => ({ quick }) as ScenarioContext

describe("per-actor heap figures", () => {
  it("heap verdict - a full run judges the figure against its target; a smoke run says why it does not and by how much the readings move it", () => {
    const full = heapVerdict(ctxOf(false), { target: 64, count: 100_000, heapBytes: 80 * 2 ** 20, full: "`ants bench memory`" })
    expect(full).toEqual({ target: "value <= 64" })

    const smoke = heapVerdict(ctxOf(true), { target: 64, count: 5_000, heapBytes: 36 * 2 ** 20, full: "`ants bench memory`", note: "no forced collection" })
    expect(smoke.target).toBeUndefined()
    // 0.5% of 36 MiB over 5,000 actors: 37.7 B
    expect(smoke.note).toContain("up to 38 B")
    expect(smoke.note).toContain("5,000 actors")
    expect(smoke.note).toContain("`ants bench memory` measures it")
    expect(smoke.note).toMatch(/; no forced collection$/)
  })
})
