import { describe, expect, it } from "vitest"
import { oneForOne, strategyFor } from "../../supervisors/mod.ts"
import { kids } from "./child-states.ts"

describe("one_for_one", () => {
  it("one_for_one - restarts only the failed child and stops nobody", () => {
    expect(oneForOne(kids("a b c d"), "c")).toEqual({ stop: [], restart: ["c"], remove: [] })
  })

  it("one_for_one - leaves stopped and temporary siblings alone", () => {
    const children = kids("a:temporary b:transient c", { b: "stopped" })
    expect(oneForOne(children, "c")).toEqual({ stop: [], restart: ["c"], remove: [] })
  })

  it("one_for_one - is what strategyFor names", () => {
    expect(strategyFor("one_for_one")).toBe(oneForOne)
  })
})
