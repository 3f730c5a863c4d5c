/**
 * Property tests of the tree driver over random failure sequences. A failing run prints its
 * seed and path; replay with `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/supervisors`.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import {
  RESTART_TYPES,
  STRATEGIES,
  SupervisionTree,
  defaultNodeTree,
  type ChildSpecInput,
  type Directive,
  type SupervisorSpecInput,
} from "../../supervisors/mod.ts"
import { fcParams } from "./fc-params.ts"
import { recorder } from "./recorder.ts"

describe("SupervisionTree properties", () => {
  it("SupervisionTree - per-instance restarts never exceed the intensity and a type gives up exactly when its escalations do", () => {
    const failureArb = fc.record({
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 30_000 })),
      actor: fc.integer({ min: 0, max: 5 }),
      directive: fc.constantFrom<Directive>("restart", "restart", "restart", "resume", "stop", "escalate"),
    })
    fc.assert(
      fc.property(
        fc.record({
          intensity: fc.integer({ min: 0, max: 4 }),
          periodMs: fc.integer({ min: 1, max: 20_000 }),
          typeIntensity: fc.integer({ min: 0, max: 6 }),
          typePeriodMs: fc.integer({ min: 1, max: 120_000 }),
        }),
        fc.array(failureArb, { maxLength: 100, size: "max" }),
        (policy, failures) => {
          const cb = recorder()
          const tree = new SupervisionTree(
            defaultNodeTree(["t"], { policy: { ...policy, decider: (e) => (e as { directive: Directive }).directive } }),
            cb,
          )
          const windows = new Map<number, number[]>()
          // restart times per incarnation: a stopped instance comes back with a clean slate
          const restartsOf = new Map<string, number[]>()
          const incarnation = new Map<number, number>()
          const key = (actor: number) => `${actor}#${incarnation.get(actor) ?? 0}`
          const forget = (actor: number) => {
            windows.delete(actor)
            incarnation.set(actor, (incarnation.get(actor) ?? 0) + 1)
          }
          let escalations: number[] = []
          let gaveUp = false
          for (const f of failures) {
            cb.clock += f.dt
            const t = cb.clock
            const before = cb.events().length
            const r = tree.actorFailed("t", `a${f.actor}`, { directive: f.directive })
            if (gaveUp) {
              expect(r).toMatchObject({ directive: "stop", typeGaveUp: true, escalation: [] })
              continue
            }
            let escalate = f.directive === "escalate"
            if (f.directive === "resume") expect(r.directive).toBe("resume")
            if (f.directive === "stop") {
              expect(r).toMatchObject({ directive: "stop", escalated: false })
              forget(f.actor)
            }
            if (f.directive === "restart") {
              const live = (windows.get(f.actor) ?? []).filter((x) => x > t - policy.periodMs)
              if (live.length + 1 > policy.intensity) escalate = true
              else {
                expect(r.directive).toBe("restart")
                windows.set(f.actor, [...live, t])
                restartsOf.set(key(f.actor), [...(restartsOf.get(key(f.actor)) ?? []), t])
              }
            }
            if (escalate) {
              expect(r).toMatchObject({ directive: "stop", escalated: true, published: "escalate" })
              forget(f.actor)
              const live = escalations.filter((x) => x > t - policy.typePeriodMs)
              if (live.length + 1 > policy.typeIntensity) {
                gaveUp = true
                expect(r.typeGaveUp).toBe(true)
                expect(r.escalation.map((d) => [d.supervisor, d.directive])).toEqual([["root", "stop"]])
                expect(tree.typeStatus("t")).toMatchObject({ unavailable: true })
              } else {
                expect(r.typeGaveUp).toBe(false)
                escalations = [...live, t]
              }
            }
            // one event per failure, plus the root's decision when the type gives up
            expect(cb.events().length - before).toBe(gaveUp && r.escalated ? 2 : 1)
            if (!gaveUp) expect(tree.typeStatus("t")).toBe("available")
          }
          // the restarts made for any one incarnation of an actor: no window of periodMs holds more than intensity
          for (const times of restartsOf.values()) {
            for (const end of times) {
              expect(times.filter((x) => x > end - policy.periodMs && x <= end).length).toBeLessThanOrEqual(policy.intensity)
            }
          }
        },
      ),
      fcParams(2000),
    )
  })

  // A random two-level tree: workers and nested supervisors with random flags.
  const leafArb = fc.record({ restart: fc.constantFrom(...RESTART_TYPES) })
  const flagsArb = fc.record({
    strategy: fc.constantFrom(...STRATEGIES),
    intensity: fc.integer({ min: 0, max: 4 }),
    periodMs: fc.integer({ min: 1, max: 5000 }),
  })
  const treeArb: fc.Arbitrary<SupervisorSpecInput> = fc
    .record({
      root: flagsArb,
      kids: fc.array(
        fc.oneof(
          leafArb.map((l) => ({ ...l, sub: undefined })),
          fc.record({ restart: fc.constantFrom(...RESTART_TYPES), sub: fc.record({ flags: flagsArb, leaves: fc.array(leafArb, { minLength: 1, maxLength: 4 }) }) }),
        ),
        { minLength: 1, maxLength: 5 },
      ),
    })
    .map(({ root, kids }) => ({
      ...root,
      children: kids.map((k, i): ChildSpecInput =>
        k.sub === undefined
          ? { id: `w${i}`, restart: k.restart }
          : {
              id: `s${i}`,
              kind: "supervisor",
              restart: k.restart,
              spec: { ...k.sub.flags, children: k.sub.leaves.map((l, j) => ({ id: `w${j}`, restart: l.restart })) },
            },
      ),
    }))

  it("SupervisionTree - callbacks never stop a stopped leaf nor restart a running one, and every decision is published once", () => {
    fc.assert(
      fc.property(
        treeArb,
        fc.array(
          fc.record({
            dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 6000 })),
            pick: fc.nat(),
            reason: fc.constantFrom<"normal" | "shutdown" | "error">("normal", "shutdown", "error", "error"),
          }),
          { maxLength: 60, size: "max" },
        ),
        (spec, steps) => {
          const cb = recorder()
          const tree = new SupervisionTree(spec, cb)
          const leaves: string[] = []
          for (const c of spec.children ?? []) {
            if (c.kind === "supervisor") for (const l of c.spec!.children ?? []) leaves.push(`${c.id}/${l.id}`)
            else leaves.push(c.id)
          }
          const up = new Set(leaves)
          for (const step of steps) {
            const running = leaves.filter((l) => up.has(l))
            if (running.length === 0) break
            const leaf = running[step.pick % running.length]
            cb.clock += step.dt
            cb.clear()
            up.delete(leaf)
            const decisions = tree.childExited(leaf.split("/"), step.reason === "error" ? { error: "boom" } : step.reason)
            expect(cb.events().length).toBe(decisions.length)
            expect(decisions.length).toBeGreaterThan(0)
            for (const call of cb.calls) {
              if (call.op === "stop" && call.kind === "worker") {
                expect(up.has(call.path), `stop of ${call.path} which is not running`).toBe(true)
                up.delete(call.path)
              }
              if (call.op === "restart" && call.kind === "worker") {
                expect(up.has(call.path), `restart of ${call.path} which is running`).toBe(false)
                up.add(call.path)
              }
            }
            // escalation climbs at most to the root
            expect(decisions.length).toBeLessThanOrEqual(2)
            for (let k = 0; k + 1 < decisions.length; k++) expect(decisions[k].directive).toBe("escalate")
          }
        },
      ),
      fcParams(2000),
    )
  })
})
