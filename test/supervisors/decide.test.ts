import { describe, expect, it } from "vitest"
import { decide, defineSupervisor, initialState, type SupervisorSpecInput, type SupervisorState } from "../../supervisors/mod.ts"

const boom = { error: new Error("boom") }

function state(input: SupervisorSpecInput): SupervisorState {
  return initialState(defineSupervisor(input))
}

describe("decide", () => {
  it("decide - a permanent child is restarted after an error, a normal exit and a shutdown", () => {
    for (const reason of [boom, "normal", "shutdown"] as const) {
      const s = state({ intensity: 5, children: [{ id: "a" }] })
      const { decision, nextState } = decide(s, { childId: "a", reason }, 0, 0)
      expect(decision.directive).toBe("restart")
      expect(decision.restart).toEqual(["a"])
      expect(decision.restarts).toBe(1)
      expect(nextState.window).toEqual([0])
    }
  })

  it("decide - a transient child is restarted only after an abnormal exit", () => {
    const s = state({ children: [{ id: "a", restart: "transient" }] })
    expect(decide(s, { childId: "a", reason: boom }, 0, 0).decision.restart).toEqual(["a"])
    for (const reason of ["normal", "shutdown"] as const) {
      const { decision, nextState } = decide(s, { childId: "a", reason }, 0, 0)
      expect(decision.directive).toBe("stop")
      expect(decision.restart).toEqual([])
      expect(decision.restarts).toBe(0)
      expect(nextState.children[0].status).toBe("stopped")
      expect(nextState.window).toEqual([])
    }
  })

  it("decide - a temporary child is never restarted and is forgotten", () => {
    const s = state({ strategy: "one_for_all", children: [{ id: "a" }, { id: "t", restart: "temporary" }] })
    const { decision, nextState } = decide(s, { childId: "t", reason: boom }, 0, 0)
    expect(decision).toMatchObject({ directive: "stop", stop: [], restart: [], remove: ["t"], escalate: false })
    expect(nextState.children.map((c) => c.status)).toEqual(["running", "removed"])
  })

  it("decide - one_for_all restarts every child in start order after stopping siblings in reverse order", () => {
    const s = state({ strategy: "one_for_all", intensity: 3, children: [{ id: "a" }, { id: "b" }, { id: "c" }] })
    const { decision } = decide(s, { childId: "b", reason: boom }, 0, 0)
    expect(decision.stop).toEqual(["c", "a"])
    expect(decision.restart).toEqual(["a", "b", "c"])
  })

  it("decide - one restart is counted per exit, however many children the strategy cycles", () => {
    const s = state({ strategy: "one_for_all", intensity: 1, children: [{ id: "a" }, { id: "b" }, { id: "c" }] })
    const first = decide(s, { childId: "a", reason: boom }, 0, 0)
    expect(first.decision.restarts).toBe(1)
    expect(first.decision.directive).toBe("restart")
    const second = decide(first.nextState, { childId: "c", reason: boom }, 100, 0)
    expect(second.decision.directive).toBe("escalate")
  })

  it("decide - beyond the intensity within the period the supervisor stops all children in reverse order and escalates", () => {
    const s0 = state({ intensity: 1, periodMs: 5000, children: [{ id: "a" }, { id: "b" }, { id: "c", restart: "temporary" }] })
    const s1 = decide(s0, { childId: "b", reason: boom }, 1000, 0).nextState
    const { decision, nextState } = decide(s1, { childId: "b", reason: boom }, 5999, 0)
    expect(decision).toMatchObject({ directive: "escalate", escalate: true, stop: ["c", "a"], restart: [], restarts: 2 })
    expect(decision.reason).toMatch(/max restart intensity \(1 in 5000 ms\)/)
    expect(nextState.status).toBe("gave_up")
    expect(nextState.children.map((c) => c.status)).toEqual(["stopped", "stopped", "removed"])
  })

  it("decide - a restart once the period has passed is allowed again", () => {
    const s0 = state({ intensity: 1, periodMs: 5000, children: [{ id: "a" }] })
    const s1 = decide(s0, { childId: "a", reason: boom }, 1000, 0).nextState
    const { decision } = decide(s1, { childId: "a", reason: boom }, 6000, 0)
    expect(decision.directive).toBe("restart")
    expect(decision.restarts).toBe(1)
  })

  it("decide - intensity 0 escalates on the first restart", () => {
    const s = state({ intensity: 0, children: [{ id: "a" }] })
    expect(decide(s, { childId: "a", reason: boom }, 0, 0).decision.directive).toBe("escalate")
  })

  it("decide - exits after giving up, of unknown children or of stopped children are ignored", () => {
    const s = state({ intensity: 0, children: [{ id: "a" }, { id: "b", restart: "transient" }] })
    expect(decide(s, { childId: "zz", reason: boom }, 0, 0).decision.ignored).toBe(true)
    const stopped = decide(s, { childId: "b", reason: "normal" }, 0, 0).nextState
    const again = decide(stopped, { childId: "b", reason: boom }, 0, 0)
    expect(again.decision.ignored).toBe(true)
    expect(again.nextState).toBe(stopped)
    const gaveUp = decide(s, { childId: "a", reason: boom }, 0, 0).nextState
    expect(decide(gaveUp, { childId: "b", reason: boom }, 0, 0).decision).toMatchObject({ ignored: true, restart: [], stop: [] })
  })

  it("decide - backoff grows with the restarts inside the window", () => {
    let s = state({ intensity: 10, backoff: { initialMs: 100, maxMs: 1000, jitter: 0 }, children: [{ id: "a" }] })
    const delays: number[] = []
    for (let i = 0; i < 6; i++) {
      const r = decide(s, { childId: "a", reason: boom }, i, 0.5)
      delays.push(r.decision.backoffMs)
      s = r.nextState
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it("decide - is pure: the input state is not modified", () => {
    const s = state({ strategy: "one_for_all", intensity: 2, children: [{ id: "a" }, { id: "b", restart: "temporary" }] })
    const copy = JSON.parse(JSON.stringify(s))
    decide(s, { childId: "a", reason: boom }, 0, 0)
    expect(JSON.parse(JSON.stringify(s))).toEqual(copy)
  })

  it("decide - the reason names the child, the exit and the strategy", () => {
    const s = state({ strategy: "rest_for_one", children: [{ id: "a" }, { id: "b" }] })
    expect(decide(s, { childId: "a", reason: boom }, 0, 0).decision.reason).toBe(
      'child "a" exited (Error: boom); rest_for_one restarts "a", "b"',
    )
  })
})
