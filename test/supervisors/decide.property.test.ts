/**
 * Property tests over thousands of random crash sequences (random times, children, reasons,
 * restart types, strategies, intensities and periods). A failing run prints its seed and
 * path; replay with `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/supervisors`.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import {
  RESTART_TYPES,
  STRATEGIES,
  decide,
  defineSupervisor,
  initialState,
  type ExitReason,
  type RestartType,
  type Strategy,
  type SupervisorSpec,
} from "../../supervisors/mod.ts"
import { fcParams } from "./fc-params.ts"

const reasonArb: fc.Arbitrary<ExitReason> = fc.oneof(
  fc.constant("normal" as const),
  fc.constant("shutdown" as const),
  fc.record({ error: fc.string({ maxLength: 8 }) }),
  fc.record({ error: fc.string({ maxLength: 8 }) }),
)

const specArb: fc.Arbitrary<SupervisorSpec> = fc
  .record({
    strategy: fc.constantFrom<Strategy>(...STRATEGIES),
    // small intensities give up early; large ones let long sequences run through the strategies
    intensity: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 30 })),
    periodMs: fc.integer({ min: 1, max: 10_000 }),
    initialMs: fc.integer({ min: 0, max: 1000 }),
    extraMs: fc.integer({ min: 0, max: 30_000 }),
    multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    restarts: fc.array(fc.constantFrom<RestartType>(...RESTART_TYPES), { minLength: 1, maxLength: 6 }),
  })
  .map((s) =>
    defineSupervisor({
      strategy: s.strategy,
      intensity: s.intensity,
      periodMs: s.periodMs,
      backoff: { initialMs: s.initialMs, maxMs: s.initialMs + s.extraMs, multiplier: s.multiplier, jitter: s.jitter },
      children: s.restarts.map((restart, i) => ({ id: `c${i}`, restart })),
    }),
  )

const eventArb = fc.record({
  // bursts (0 ms apart) and pauses (beyond most periods) are both likely
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 12_000 })),
  child: fc.nat({ max: 7 }),
  reason: reasonArb,
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
})

type Status = "running" | "stopped" | "removed"

/** An independent model of OTP's rules, index-based, to compare `decide` against. */
function expected(spec: SupervisorSpec, statuses: Status[], restartTimes: number[], i: number, reason: ExitReason, t: number) {
  const n = spec.children.length
  const restartOf = (j: number) => spec.children[j].restart
  const abnormal = typeof reason === "object"
  const wants = restartOf(i) === "permanent" || (restartOf(i) === "transient" && abnormal)
  if (!wants) return { kind: "stop" as const, stop: [], restart: [] }
  const inWindow = restartTimes.filter((r) => r > t - spec.periodMs).length
  const others = (js: number[]) => js.filter((j) => j !== i && statuses[j] === "running").reverse()
  const all = [...Array(n).keys()]
  if (inWindow + 1 > spec.intensity) return { kind: "escalate" as const, stop: others(all), restart: [] }
  const group = spec.strategy === "one_for_one" ? [i] : spec.strategy === "one_for_all" ? all : all.slice(i)
  const restart = group.filter((j) => statuses[j] !== "removed" && (j === i || restartOf(j) !== "temporary"))
  return { kind: "restart" as const, stop: others(group), restart, group }
}

describe("decide properties", () => {
  it("decide - over random crash sequences each strategy stops and restarts exactly the children OTP would, and never exceeds the intensity", () => {
    fc.assert(
      fc.property(specArb, fc.array(eventArb, { maxLength: 80, size: "max" }), (spec, events) => {
        let state = initialState(spec)
        const n = spec.children.length
        const statuses: Status[] = spec.children.map(() => "running")
        const restartTimes: number[] = []
        let gaveUp = false
        let t = 1_000_000
        for (const ev of events) {
          t += ev.dt
          // one id in eight is unknown to the supervisor
          const i = ev.child < n ? ev.child : -1
          const childId = i < 0 ? `x${ev.child}` : `c${i}`
          const { decision, nextState } = decide(state, { childId, reason: ev.reason }, t, ev.random)
          if (gaveUp || i < 0 || statuses[i] !== "running") {
            expect(decision.ignored).toBe(true)
            expect(nextState).toBe(state)
            continue
          }
          expect(decision.ignored).toBe(false)
          const want = expected(spec, statuses, restartTimes, i, ev.reason, t)
          const ids = (js: number[]) => js.map((j) => `c${j}`)
          expect(decision.directive).toBe(want.kind)
          expect(decision.stop).toEqual(ids(want.stop))
          expect(decision.restart).toEqual(ids(want.restart))
          expect(decision.escalate).toBe(want.kind === "escalate")
          expect(decision.backoffMs).toBeGreaterThanOrEqual(0)
          expect(decision.backoffMs).toBeLessThanOrEqual(spec.backoff.maxMs)
          expect(Number.isInteger(decision.backoffMs)).toBe(true)
          // short of giving up, every stopped child comes back unless it is temporary (then it is forgotten)
          if (want.kind === "restart") {
            for (const id of decision.stop) expect(decision.restart.includes(id) || decision.remove.includes(id)).toBe(true)
          }
          if (want.kind === "stop") {
            statuses[i] = spec.children[i].restart === "temporary" ? "removed" : "stopped"
          } else if (want.kind === "escalate") {
            expect(decision.restarts).toBe(spec.intensity + 1)
            gaveUp = true
            for (let j = 0; j < n; j++) statuses[j] = spec.children[j].restart === "temporary" ? "removed" : "stopped"
          } else {
            restartTimes.push(t)
            expect(decision.restarts).toBeLessThanOrEqual(spec.intensity)
            for (const j of want.group) {
              if (want.restart.includes(j)) statuses[j] = "running"
              else if (statuses[j] !== "removed") statuses[j] = "removed"
            }
          }
          expect(nextState.children.map((c) => c.status)).toEqual(statuses)
          expect(nextState.status).toBe(gaveUp ? "gave_up" : "running")
          state = nextState
        }
        // the restarts actually made: no window of periodMs ever holds more than intensity
        for (const end of restartTimes) {
          expect(restartTimes.filter((r) => r > end - spec.periodMs && r <= end).length).toBeLessThanOrEqual(spec.intensity)
        }
      }),
      fcParams(3000),
    )
  })

  it("decide - escalates exactly when one more restart would exceed the intensity within the period", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 40, size: "max" }),
        (intensity, periodMs, gaps) => {
          let state = initialState(defineSupervisor({ intensity, periodMs, children: [{ id: "a" }] }))
          const times: number[] = []
          let t = 0
          for (const gap of gaps) {
            t += gap
            const { decision, nextState } = decide(state, { childId: "a", reason: { error: "x" } }, t, 0)
            const recent = times.filter((r) => r > t - periodMs).length
            if (recent + 1 > intensity) {
              expect(decision.directive).toBe("escalate")
              return
            }
            expect(decision.directive).toBe("restart")
            times.push(t)
            state = nextState
          }
        },
      ),
      fcParams(3000),
    )
  })
})
