import { describe, expect, it } from "vitest"
import { EMPTY_WINDOW, decideActor, defineTypePolicy, type ActorFailureInput, type TypePolicyInput } from "../../supervisors/mod.ts"

function input(policy: TypePolicyInput, over: Partial<ActorFailureInput> = {}): ActorFailureInput {
  return {
    policy: defineTypePolicy(policy),
    instanceWindow: undefined,
    typeWindow: EMPTY_WINDOW,
    typeGaveUp: false,
    error: new Error("boom"),
    now: 0,
    random: 0,
    ...over,
  }
}

describe("type supervisor", () => {
  it("type supervisor - restarts a failed instance from its checkpoint after a backoff by default", () => {
    const { decision, instanceWindow } = decideActor(input({ backoff: { initialMs: 50, jitter: 0 } }))
    expect(decision).toMatchObject({ directive: "restart", published: "restart", backoffMs: 50, restarts: 1, escalated: false, typeGaveUp: false })
    expect(instanceWindow).toEqual([0])
  })

  it("type supervisor - an instance beyond its intensity is stopped and escalates one failure", () => {
    const policy = { intensity: 2, periodMs: 1000 }
    let w: ReadonlyArray<number> | undefined
    for (let t = 0; t < 2; t++) {
      const r = decideActor(input(policy, { instanceWindow: w, now: t }))
      expect(r.decision.directive).toBe("restart")
      w = r.instanceWindow
    }
    const r = decideActor(input(policy, { instanceWindow: w, now: 2 }))
    expect(r.decision).toMatchObject({ directive: "stop", published: "escalate", escalated: true, restarts: 3, escalations: 1, typeGaveUp: false })
    expect(r.instanceWindow).toBeUndefined()
    expect(r.typeWindow).toEqual([2])
  })

  it("type supervisor - the type gives up beyond typeIntensity escalations within typePeriodMs", () => {
    const policy = { intensity: 0, typeIntensity: 2, typePeriodMs: 60_000 }
    let typeWindow: ReadonlyArray<number> = EMPTY_WINDOW
    for (let i = 0; i < 2; i++) {
      const r = decideActor(input(policy, { typeWindow, now: i * 1000 }))
      expect(r.decision).toMatchObject({ directive: "stop", escalated: true, typeGaveUp: false, escalations: i + 1 })
      typeWindow = r.typeWindow
    }
    const r = decideActor(input(policy, { typeWindow, now: 2000 }))
    expect(r.decision).toMatchObject({ directive: "stop", escalated: true, typeGaveUp: true, escalations: 3 })
    expect(r.decision.reason).toMatch(/gives up/)
  })

  it("type supervisor - escalations older than the type period no longer count", () => {
    const policy = { intensity: 0, typeIntensity: 1, typePeriodMs: 60_000 }
    const first = decideActor(input(policy, { now: 0 }))
    expect(decideActor(input(policy, { typeWindow: first.typeWindow, now: 59_999 })).decision.typeGaveUp).toBe(true)
    expect(decideActor(input(policy, { typeWindow: first.typeWindow, now: 60_000 })).decision.typeGaveUp).toBe(false)
  })

  it("type supervisor - resume keeps the instance and counts nothing", () => {
    const r = decideActor(input({ decider: () => "resume" }, { instanceWindow: [5] , now: 6 }))
    expect(r.decision).toMatchObject({ directive: "resume", published: "resume", backoffMs: 0, restarts: 1, escalated: false })
    expect(r.instanceWindow).toEqual([5])
  })

  it("type supervisor - stop stops the instance without escalating and forgets its window", () => {
    const r = decideActor(input({ decider: () => "stop" }, { instanceWindow: [5] }))
    expect(r.decision).toMatchObject({ directive: "stop", published: "stop", escalated: false })
    expect(r.instanceWindow).toBeUndefined()
    expect(r.typeWindow).toEqual([])
  })

  it("type supervisor - a decider's escalate stops the instance and counts at the type", () => {
    const r = decideActor(input({ decider: () => "escalate" }))
    expect(r.decision).toMatchObject({ directive: "stop", published: "escalate", escalated: true, escalations: 1 })
  })

  it("type supervisor - the decider sees the error, and one that throws or answers nonsense means restart", () => {
    const seen: unknown[] = []
    const err = { _tag: "RateLimited" }
    decideActor(input({ decider: (e) => (seen.push(e), "resume") }, { error: err }))
    expect(seen).toEqual([err])
    const threw = decideActor(input({ decider: () => { throw new Error("bad decider") } }))
    expect(threw.decision.directive).toBe("restart")
    expect(threw.decision.reason).toMatch(/decider threw Error: bad decider/)
    const nonsense = decideActor(input({ decider: () => "explode" as never }))
    expect(nonsense.decision.directive).toBe("restart")
  })

  it("type supervisor - once the type gave up every failure is a stop", () => {
    const r = decideActor(input({}, { typeGaveUp: true, instanceWindow: [0] }))
    expect(r.decision).toMatchObject({ directive: "stop", published: "stop", typeGaveUp: true, escalated: false })
  })
})
