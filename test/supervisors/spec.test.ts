import { describe, expect, it } from "vitest"
import {
  DEFAULT_BACKOFF,
  DEFAULT_TYPE_POLICY,
  SupervisorSpecError,
  defineSupervisor,
  defineTypePolicy,
  type SupervisorSpecInput,
} from "../../supervisors/mod.ts"

function specError(input: unknown): SupervisorSpecError {
  try {
    defineSupervisor(input as SupervisorSpecInput)
  } catch (e) {
    expect((e as { _tag?: string })._tag).toBe("SupervisorSpecError")
    return e as SupervisorSpecError
  }
  throw new Error("expected a SupervisorSpecError")
}

describe("defineSupervisor", () => {
  it("defineSupervisor - fills OTP defaults: one_for_one, 1 restart in 5000 ms, worker shutdown 5000 ms, permanent", () => {
    const spec = defineSupervisor({ children: [{ id: "a" }] })
    expect(spec).toEqual({
      strategy: "one_for_one",
      intensity: 1,
      periodMs: 5000,
      backoff: { initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 0.2 },
      children: [{ id: "a", kind: "worker", restart: "permanent", shutdownMs: 5000 }],
    })
    expect(spec.backoff).toEqual(DEFAULT_BACKOFF)
  })

  it("defineSupervisor - an empty call gives a supervisor with no children", () => {
    expect(defineSupervisor().children).toEqual([])
  })

  it("defineSupervisor - supervisors default to shutdown infinity (as in OTP), types to 5000 ms per actor", () => {
    const spec = defineSupervisor({
      children: [
        { id: "sub", kind: "supervisor", spec: { children: [{ id: "w", shutdownMs: 0 }] } },
        { id: "billing", kind: "type" },
      ],
    })
    expect(spec.children[0].shutdownMs).toBe("infinity")
    expect(spec.children[0].spec?.children[0]).toEqual({ id: "w", kind: "worker", restart: "permanent", shutdownMs: 0 })
    expect(spec.children[0].spec?.intensity).toBe(1)
    expect(spec.children[1].shutdownMs).toBe(5000)
    expect(spec.children[1].policy).toEqual(DEFAULT_TYPE_POLICY)
  })

  it("defineSupervisor - keeps given values and partial backoff", () => {
    const spec = defineSupervisor({ strategy: "rest_for_one", intensity: 3, periodMs: 1000, backoff: { initialMs: 5 } })
    expect(spec.strategy).toBe("rest_for_one")
    expect(spec.intensity).toBe(3)
    expect(spec.periodMs).toBe(1000)
    expect(spec.backoff).toEqual({ initialMs: 5, maxMs: 10_000, multiplier: 2, jitter: 0.2 })
  })

  it("defineSupervisor - is idempotent on a resolved spec", () => {
    const spec = defineSupervisor({ children: [{ id: "a", kind: "type" }, { id: "s", kind: "supervisor", spec: {} }] })
    expect(defineSupervisor(spec)).toEqual(spec)
  })

  it("defineSupervisor - rejects duplicate child ids", () => {
    const e = specError({ children: [{ id: "a" }, { id: "a" }] })
    expect(e.where).toBe("children[1].id")
    expect(e.message).toMatch(/duplicate child id "a"/)
  })

  it("defineSupervisor - rejects a negative or fractional intensity", () => {
    expect(specError({ intensity: -1 }).where).toBe("intensity")
    expect(specError({ intensity: 1.5 }).message).toMatch(/integer/)
  })

  it("defineSupervisor - rejects an unknown strategy, restart type or kind", () => {
    expect(specError({ strategy: "all_for_one" }).message).toMatch(/unknown value "all_for_one".*one_for_one/)
    expect(specError({ children: [{ id: "a", restart: "sometimes" }] }).where).toBe("children[0].restart")
    expect(specError({ children: [{ id: "a", kind: "daemon" }] }).where).toBe("children[0].kind")
  })

  it("defineSupervisor - rejects bad periods, backoffs and shutdowns", () => {
    expect(specError({ periodMs: 0 }).where).toBe("periodMs")
    expect(specError({ periodMs: Number.NaN }).where).toBe("periodMs")
    expect(specError({ backoff: { jitter: 1.5 } }).where).toBe("backoff.jitter")
    expect(specError({ backoff: { multiplier: 0.5 } }).where).toBe("backoff.multiplier")
    expect(specError({ backoff: { initialMs: 500, maxMs: 100 } }).where).toBe("backoff.maxMs")
    expect(specError({ children: [{ id: "a", shutdownMs: -1 }] }).where).toBe("children[0].shutdownMs")
  })

  it("defineSupervisor - a worker may run a singleton actor; only workers take one, with token fields", () => {
    const spec = defineSupervisor({ children: [{ id: "w", actor: { type: "ledger", id: "main" } }] })
    expect(spec.children[0]).toEqual({ id: "w", kind: "worker", restart: "permanent", shutdownMs: 5000, actor: { type: "ledger", id: "main", tenant: "default" } })
    expect(defineSupervisor(spec)).toEqual(spec)
    expect(specError({ children: [{ id: "t", kind: "type", actor: { type: "x", id: "y" } }] }).where).toBe("children[0].actor")
    expect(specError({ children: [{ id: "w", actor: { type: "x.y", id: "y" } }] }).where).toBe("children[0].actor.type")
    expect(specError({ children: [{ id: "w", actor: { type: "x" } }] }).where).toBe("children[0].actor.id")
    expect(specError({ children: [{ id: "w", actor: "x/y" }] }).where).toBe("children[0].actor")
  })

  it("defineSupervisor - rejects ids that are not subject tokens", () => {
    expect(specError({ children: [{ id: "a.b" }] }).where).toBe("children[0].id")
    expect(specError({ children: [{ id: "" }] }).where).toBe("children[0].id")
  })

  it("defineSupervisor - a supervisor child needs a spec, and only it takes one", () => {
    expect(specError({ children: [{ id: "s", kind: "supervisor" }] }).where).toBe("children[0].spec")
    expect(specError({ children: [{ id: "w", spec: {} }] }).where).toBe("children[0].spec")
    expect(specError({ children: [{ id: "w", policy: {} }] }).where).toBe("children[0].policy")
  })

  it("defineSupervisor - names the nested field at fault", () => {
    const e = specError({
      children: [{ id: "s", kind: "supervisor", spec: { children: [{ id: "x" }, { id: "x" }] } }],
    })
    expect(e.where).toBe("children[0].spec.children[1].id")
    expect(e.message).toContain("children[0].spec.children[1].id")
  })
})

describe("defineTypePolicy", () => {
  it("defineTypePolicy - defaults: 3 restarts per instance in 10 s, type gives up beyond 10 escalations in 60 s", () => {
    expect(defineTypePolicy()).toEqual({
      intensity: 3,
      periodMs: 10_000,
      backoff: DEFAULT_BACKOFF,
      typeIntensity: 10,
      typePeriodMs: 60_000,
    })
  })

  it("defineTypePolicy - keeps a decider and rejects a non-function one", () => {
    const decider = () => "resume" as const
    expect(defineTypePolicy({ decider }).decider).toBe(decider)
    expect(() => defineTypePolicy({ decider: 3 as never })).toThrow(/decider/)
  })

  it("defineTypePolicy - rejects a negative type intensity", () => {
    try {
      defineTypePolicy({ typeIntensity: -2 })
      expect.unreachable()
    } catch (e) {
      expect((e as SupervisorSpecError)._tag).toBe("SupervisorSpecError")
      expect((e as SupervisorSpecError).where).toBe("policy.typeIntensity")
    }
  })
})
