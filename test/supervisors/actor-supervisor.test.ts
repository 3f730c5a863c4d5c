import { describe, expect, it } from "vitest"
import { SupervisionTree, actorSupervisor, defaultNodeTree } from "../../supervisors/mod.ts"
import { recorder } from "./recorder.ts"

describe("actorSupervisor", () => {
  it("actorSupervisor - answers restart with a backoff, then stop, then the type's give-up reason once", () => {
    const cb = recorder()
    const tree = new SupervisionTree(
      defaultNodeTree(["billing"], { policy: { intensity: 1, typeIntensity: 0, backoff: { initialMs: 50, jitter: 0 } } }),
      cb,
    )
    const sup = actorSupervisor(tree)
    const actor = { tenant: "acme", type: "billing", id: "inv-1" }
    expect(sup.actorFailed("billing", actor, new Error("x"))).toEqual({ directive: "restart", backoffMs: 50, supervisor: "root/billing" })
    const gaveUp = sup.actorFailed("billing", actor, new Error("x"))
    expect(gaveUp.directive).toBe("stop")
    expect(gaveUp.typeGaveUp).toMatch(/gives up/)
    expect(sup.actorFailed("billing", actor, new Error("x"))).toEqual({ directive: "stop", supervisor: "root/billing" })
    expect(cb.calls.filter((c) => c.op === "publish").map((c) => c.op === "publish" && c.target)).toContainEqual({
      kind: "actor",
      type: "billing",
      id: "inv-1",
      tenant: "acme",
      path: ["billing"],
    })
  })
})
