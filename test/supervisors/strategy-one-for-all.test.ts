import { describe, expect, it } from "vitest"
import { oneForAll, strategyFor } from "../../supervisors/mod.ts"
import { kids } from "./child-states.ts"

describe("one_for_all", () => {
  it("one_for_all - stops every sibling in reverse start order, then restarts every child in start order", () => {
    expect(oneForAll(kids("a b c d"), "b")).toEqual({ stop: ["d", "c", "a"], restart: ["a", "b", "c", "d"], remove: [] })
  })

  it("one_for_all - stops temporary siblings and forgets them instead of restarting them", () => {
    expect(oneForAll(kids("a b:temporary c"), "a")).toEqual({ stop: ["c", "b"], restart: ["a", "c"], remove: ["b"] })
  })

  it("one_for_all - starts again a transient sibling that had exited normally, without stopping it", () => {
    const children = kids("a b:transient c", { b: "stopped" })
    expect(oneForAll(children, "c")).toEqual({ stop: ["a"], restart: ["a", "b", "c"], remove: [] })
  })

  it("one_for_all - never touches removed children", () => {
    const children = kids("a b:temporary c", { b: "removed" })
    expect(oneForAll(children, "c")).toEqual({ stop: ["a"], restart: ["a", "c"], remove: [] })
  })

  it("one_for_all - is what strategyFor names", () => {
    expect(strategyFor("one_for_all")).toBe(oneForAll)
  })
})
