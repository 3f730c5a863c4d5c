import { describe, expect, it } from "vitest"
import { restForOne, strategyFor } from "../../supervisors/mod.ts"
import { kids } from "./child-states.ts"

describe("rest_for_one", () => {
  it("rest_for_one - stops the children started after the failed one in reverse order, restarts them in start order", () => {
    expect(restForOne(kids("a b c d"), "b")).toEqual({ stop: ["d", "c"], restart: ["b", "c", "d"], remove: [] })
  })

  it("rest_for_one - the last child restarts alone", () => {
    expect(restForOne(kids("a b c"), "c")).toEqual({ stop: [], restart: ["c"], remove: [] })
  })

  it("rest_for_one - the first child takes everyone down, like one_for_all", () => {
    expect(restForOne(kids("a b c"), "a")).toEqual({ stop: ["c", "b"], restart: ["a", "b", "c"], remove: [] })
  })

  it("rest_for_one - later temporary children are stopped and forgotten", () => {
    expect(restForOne(kids("a b c:temporary d"), "b")).toEqual({ stop: ["d", "c"], restart: ["b", "d"], remove: ["c"] })
  })

  it("rest_for_one - an unknown child gives an empty plan", () => {
    expect(restForOne(kids("a b"), "zz")).toEqual({ stop: [], restart: [], remove: [] })
  })

  it("rest_for_one - is what strategyFor names", () => {
    expect(strategyFor("rest_for_one")).toBe(restForOne)
  })
})
