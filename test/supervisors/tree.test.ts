import { describe, expect, it } from "vitest"
import { SupervisionTree, defaultNodeTree, placedTypes, workerActors, type SupervisorSpecInput } from "../../supervisors/mod.ts"
import { recorder } from "./recorder.ts"

const boom = new Error("boom")
const fast = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 }

function tree(spec: SupervisorSpecInput, node = "n1") {
  const cb = recorder()
  return { cb, tree: new SupervisionTree(spec, cb, { node }) }
}

describe("SupervisionTree", () => {
  it("SupervisionTree - restarts a failed worker after the backoff and publishes the decision", () => {
    const { cb, tree: t } = tree({ backoff: fast, children: [{ id: "a" }, { id: "b" }] })
    const decisions = t.childFailed(["b"], boom)
    expect(decisions).toHaveLength(1)
    expect(decisions[0]).toMatchObject({ supervisor: "root", path: ["b"], directive: "restart", restart: ["b"] })
    expect(cb.actions()).toEqual(["restart b +100"])
    expect(cb.events()).toEqual([
      {
        directive: "restart",
        reason: 'child "b" exited (Error: boom); one_for_one restarts "b"',
        restarts: 1,
        node: "n1",
        at: "2026-01-01T00:00:00.000Z",
        supervisor: "root",
        backoffMs: 100,
      },
    ])
    const publish = cb.calls.find((c) => c.op === "publish")
    expect(publish).toMatchObject({ target: { kind: "child", path: ["b"], childKind: "worker" } })
  })

  it("SupervisionTree - one_for_all stops siblings children-first in reverse order, then restarts parent-first in start order", () => {
    const { cb, tree: t } = tree({
      strategy: "one_for_all",
      backoff: fast,
      children: [
        { id: "db" },
        { id: "svc", kind: "supervisor", spec: { children: [{ id: "x" }, { id: "y" }] } },
        { id: "web" },
      ],
    })
    t.childFailed(["db"], boom)
    expect(cb.actions()).toEqual([
      "stop web",
      "stop svc/y",
      "stop svc/x",
      "stop svc",
      "restart db +100",
      "restart svc +100",
      "restart svc/x +100",
      "restart svc/y +100",
      "restart web +100",
    ])
  })

  it("SupervisionTree - escalation climbs: a nested supervisor that gives up is restarted by its parent with a fresh window", () => {
    const { cb, tree: t } = tree({
      intensity: 5,
      backoff: fast,
      children: [
        { id: "svc", kind: "supervisor", spec: { intensity: 1, periodMs: 5000, backoff: fast, children: [{ id: "x" }, { id: "y" }] } },
      ],
    })
    t.childFailed(["svc", "x"], boom)
    cb.clock += 10
    cb.clear()
    const decisions = t.childFailed(["svc", "x"], boom)
    expect(decisions.map((d) => [d.supervisor, d.directive])).toEqual([
      ["root/svc", "escalate"],
      ["root", "restart"],
    ])
    expect(decisions[1].reason).toMatch(/SupervisorGaveUpError: supervisor root\/svc gave up/)
    expect(cb.actions()).toEqual(["stop svc/y", "restart svc +100", "restart svc/x +100", "restart svc/y +100"])
    expect(t.restartsOf(["svc"])).toBe(0)
    expect(t.restartsOf()).toBe(1)
    // the restarted supervisor has a fresh window: one more failure is a plain restart
    cb.clear()
    expect(t.childFailed(["svc", "y"], boom).map((d) => d.directive)).toEqual(["restart"])
  })

  it("SupervisionTree - when the root gives up it stops everything, reports it and stays put", () => {
    const { cb, tree: t } = tree({ intensity: 0, children: [{ id: "a" }, { id: "billing", kind: "type" }] })
    const decisions = t.childFailed(["a"], boom)
    expect(decisions.map((d) => d.directive)).toEqual(["escalate"])
    expect(cb.actions()).toEqual(["stop billing"])
    expect(cb.calls.filter((c) => c.op === "rootGaveUp")).toHaveLength(1)
    expect(cb.events()[0]).toMatchObject({ directive: "escalate", supervisor: "root", restarts: 1 })
    const status = t.typeStatus("billing")
    expect(status).toMatchObject({ unavailable: true })
    expect(typeof status === "object" && status.reason).toMatch(/max restart intensity/)
    // later exits are not decisions any more
    cb.clear()
    expect(t.childFailed(["a"], boom)).toEqual([])
    expect(cb.calls).toEqual([])
    t.reset()
    expect(t.typeStatus("billing")).toBe("available")
  })

  it("SupervisionTree - a transient worker that exits normally stays down and nothing is restarted", () => {
    const { cb, tree: t } = tree({ children: [{ id: "job", restart: "transient" }] })
    expect(t.childExited(["job"], "normal").map((d) => d.directive)).toEqual(["stop"])
    expect(cb.actions()).toEqual([])
    expect(cb.events()[0]).not.toHaveProperty("backoffMs")
    // its exit again is ignored and not published
    cb.clear()
    expect(t.childExited(["job"], { error: boom })).toEqual([])
    expect(cb.calls).toEqual([])
  })

  it("SupervisionTree - an unknown path is ignored", () => {
    const { cb, tree: t } = tree({ children: [{ id: "a" }] })
    expect(t.childFailed(["nope"], boom)).toEqual([])
    expect(t.childFailed([], boom)).toEqual([])
    expect(cb.calls).toEqual([])
  })

  it("SupervisionTree - rejects a type that appears twice in the tree", () => {
    expect(
      () =>
        new SupervisionTree(
          { children: [{ id: "billing", kind: "type" }, { id: "s", kind: "supervisor", spec: { children: [{ id: "billing", kind: "type" }] } }] },
          recorder(),
        ),
    ).toThrow(/type "billing" appears twice/)
  })

  it("SupervisionTree - a callback that throws is reported and the tree carries on", () => {
    const cb = recorder()
    const errors: string[] = []
    const t = new SupervisionTree({ intensity: 5, children: [{ id: "a" }] }, {
      ...cb,
      publish: () => {
        throw new Error("nats down")
      },
      onError: (e, where) => errors.push(`${where}: ${(e as Error).message}`),
    })
    expect(t.childFailed(["a"], boom).map((d) => d.directive)).toEqual(["restart"])
    expect(errors).toEqual(["publish: nats down"])
    expect(t.restartsOf()).toBe(1)
  })
})

describe("SupervisionTree actors", () => {
  function typeTree(policy: object = {}) {
    const cb = recorder()
    const t = new SupervisionTree(
      defaultNodeTree(["billing", "fraud"], { policy: { backoff: fast, ...policy } }),
      cb,
      { node: "n1" },
    )
    return { cb, t }
  }

  it("SupervisionTree actors - a failed actor is restarted with a backoff, and the event targets that actor", () => {
    const { cb, t } = typeTree()
    const r = t.actorFailed("billing", "inv-1", boom, { tenant: "acme" })
    expect(r).toMatchObject({ type: "billing", actorId: "inv-1", directive: "restart", backoffMs: 100, restarts: 1, typeGaveUp: false })
    expect(cb.calls).toEqual([
      {
        op: "publish",
        event: {
          directive: "restart",
          reason: "handler failed (Error: boom); restarting from the last checkpoint",
          restarts: 1,
          node: "n1",
          at: "2026-01-01T00:00:00.000Z",
          supervisor: "root/billing",
          backoffMs: 100,
        },
        target: { kind: "actor", type: "billing", id: "inv-1", tenant: "acme", path: ["billing"] },
      },
    ])
  })

  it("SupervisionTree actors - each instance has its own restart window", () => {
    const { t } = typeTree({ intensity: 1 })
    expect(t.actorFailed("billing", "a", boom).directive).toBe("restart")
    expect(t.actorFailed("billing", "b", boom).directive).toBe("restart")
    expect(t.actorFailed("billing", "a", boom, { tenant: "other" }).directive).toBe("restart")
    const r = t.actorFailed("billing", "a", boom)
    expect(r).toMatchObject({ directive: "stop", published: "escalate", escalated: true, escalations: 1 })
    // the stopped instance starts afresh
    expect(t.actorFailed("billing", "a", boom).directive).toBe("restart")
  })

  it("SupervisionTree actors - a type gives up beyond its escalation intensity: instances stopped, type unavailable, other types unaffected", () => {
    const { cb, t } = typeTree({ intensity: 0, typeIntensity: 2 })
    t.actorFailed("billing", "a", boom)
    t.actorFailed("billing", "b", boom)
    cb.clear()
    const r = t.actorFailed("billing", "c", boom)
    expect(r).toMatchObject({ directive: "stop", typeGaveUp: true, escalations: 3 })
    expect(r.escalation.map((d) => [d.supervisor, d.directive, d.path])).toEqual([["root", "stop", ["billing"]]])
    expect(cb.actions()).toEqual(["stop billing"])
    expect(cb.events().map((e) => [e.supervisor, e.directive])).toEqual([
      ["root/billing", "escalate"],
      ["root", "stop"],
    ])
    const status = t.typeStatus("billing")
    expect(status).toMatchObject({ unavailable: true })
    expect(typeof status === "object" && status.reason).toMatch(/gives up/)
    expect(t.typeStatus("fraud")).toBe("available")
    // further failures of that type are stops, with nothing more escalated
    cb.clear()
    expect(t.actorFailed("billing", "d", boom)).toMatchObject({ directive: "stop", typeGaveUp: true, escalation: [] })
    expect(cb.actions()).toEqual([])
    // the root did not count it: temporary types never take the node down
    expect(t.restartsOf()).toBe(0)
    t.reset(["billing"])
    expect(t.typeStatus("billing")).toBe("available")
    expect(t.actorFailed("billing", "a", boom).directive).toBe("stop") // intensity 0 still applies
    expect(t.typeStatus("billing")).toBe("available")
  })

  it("SupervisionTree actors - with typeRestart permanent the root restarts a type that gave up, unavailable only during the backoff", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      defaultNodeTree(["billing"], { typeRestart: "permanent", root: { backoff: { initialMs: 2000, jitter: 0 } }, policy: { intensity: 0, typeIntensity: 0 } }),
      cb,
    )
    const r = t.actorFailed("billing", "a", boom)
    expect(r.escalation.map((d) => d.directive)).toEqual(["restart"])
    expect(cb.actions()).toEqual(["stop billing", "restart billing +2000"])
    expect(t.typeStatus("billing")).toEqual({ unavailable: true, reason: "root/billing restarting in 2000 ms" })
    cb.clock += 2000
    expect(t.typeStatus("billing")).toBe("available")
  })

  it("SupervisionTree actors - a type under a supervisor that gave up is unavailable", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      {
        children: [
          {
            id: "finance",
            kind: "supervisor",
            restart: "temporary",
            spec: { intensity: 0, children: [{ id: "ledger" }, { id: "billing", kind: "type" }] },
          },
        ],
      },
      cb,
    )
    t.childFailed(["finance", "ledger"], boom)
    expect(cb.actions()).toEqual(["stop finance/billing"])
    expect(t.typeStatus("billing")).toMatchObject({ unavailable: true })
    expect(t.actorFailed("billing", "x", boom)).toMatchObject({ directive: "stop", typeGaveUp: true })
  })

  it("SupervisionTree actors - unknown types are unavailable and their failures are stops", () => {
    const { t } = typeTree()
    expect(t.typeStatus("nope")).toEqual({ unavailable: true, reason: 'type "nope" is not supervised on this node' })
    expect(t.actorFailed("nope", "a", boom)).toMatchObject({ directive: "stop", typeGaveUp: true })
    expect(t.supervisedTypes()).toEqual(["billing", "fraud"])
  })

  it("SupervisionTree actors - forgetActor drops an instance's window", () => {
    const { t } = typeTree({ intensity: 1 })
    t.actorFailed("billing", "a", boom)
    t.forgetActor("billing", "a")
    expect(t.actorFailed("billing", "a", boom).directive).toBe("restart")
  })

  it("SupervisionTree actors - windows of 100,000 actors that failed once are swept once they expire", () => {
    const { cb, t } = typeTree({ intensity: 1, periodMs: 1000 })
    for (let i = 0; i < 100_000; i++) t.actorFailed("billing", `a${i}`, boom)
    cb.clock += 1000
    // the sweep runs every few thousand failures; a burst elsewhere triggers it
    for (let i = 0; i < 5000; i++) t.actorFailed("fraud", `f${i}`, boom)
    const instances = (t as unknown as { types: Map<string, { instances: Map<string, unknown> }> }).types
    expect(instances.get("billing")!.instances.size).toBe(0)
  })
})

describe("defaultNodeTree", () => {
  it("defaultNodeTree - puts every hosted type under a one_for_one root as a temporary type child", () => {
    const spec = defaultNodeTree(["billing", "fraud"])
    expect(spec.strategy).toBe("one_for_one")
    expect(spec.intensity).toBe(1)
    expect(spec.periodMs).toBe(5000)
    expect(spec.children.map((c) => [c.id, c.kind, c.restart, c.shutdownMs])).toEqual([
      ["billing", "type", "temporary", 5000],
      ["fraud", "type", "temporary", 5000],
    ])
    expect(spec.children[0].policy).toMatchObject({ intensity: 3, periodMs: 10_000, typeIntensity: 10, typePeriodMs: 60_000 })
  })

  it("defaultNodeTree - applies overrides: root flags, policy for all, per type, extra children first", () => {
    const spec = defaultNodeTree(["billing", "fraud"], {
      root: { intensity: 4 },
      policy: { intensity: 5, backoff: { maxMs: 20_000 } },
      types: { fraud: { typeIntensity: 1, backoff: { initialMs: 7 } } },
      children: [{ id: "metrics" }],
    })
    expect(spec.intensity).toBe(4)
    expect(spec.children.map((c) => c.id)).toEqual(["metrics", "billing", "fraud"])
    expect(spec.children[1].policy).toMatchObject({ intensity: 5, typeIntensity: 10, backoff: { initialMs: 100, maxMs: 20_000 } })
    expect(spec.children[2].policy).toMatchObject({ intensity: 5, typeIntensity: 1, backoff: { initialMs: 7, maxMs: 20_000 } })
  })

  it("defaultNodeTree - a type placed under a user supervisor is not added to the root again and gets the type's policy", () => {
    const children = [
      {
        id: "pair",
        kind: "supervisor" as const,
        spec: {
          strategy: "one_for_all" as const,
          children: [
            { id: "ledger-main", actor: { type: "ledger", id: "main" } },
            { id: "billing", kind: "type" as const, policy: { typeIntensity: 2 } },
          ],
        },
      },
    ]
    expect(placedTypes(children)).toEqual(["billing"])
    const spec = defaultNodeTree(["billing", "fraud", "ledger"], { policy: { intensity: 5 }, children })
    expect(spec.children.map((c) => c.id)).toEqual(["pair", "fraud", "ledger"])
    const billing = spec.children[0].spec!.children[1]
    expect(billing).toMatchObject({ kind: "type", restart: "permanent", policy: { intensity: 5, typeIntensity: 2 } })
    // a tree that uses it works: no "appears twice"
    expect(() => new SupervisionTree(spec, recorder())).not.toThrow()
    expect(workerActors(spec)).toEqual([{ path: ["pair", "ledger-main"], actor: { type: "ledger", id: "main", tenant: "default" } }])
  })

  it("defaultNodeTree - rejects a type name that is not a subject token", () => {
    expect(() => defaultNodeTree(["bad.type"])).toThrow(/children\[0\]\.id/)
  })
})

describe("SupervisionTree inspect", () => {
  it("SupervisionTree inspect - shows statuses, restart counts and reasons as plain data", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      defaultNodeTree(["billing", "fraud"], {
        policy: { intensity: 0, typeIntensity: 0 },
        children: [{ id: "svc", kind: "supervisor", spec: { intensity: 3, backoff: fast, children: [{ id: "x" }] } }],
      }),
      cb,
    )
    t.childFailed(["svc", "x"], boom)
    t.actorFailed("billing", "a", boom)
    const snap = t.inspect()!
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap)
    expect(snap).toMatchObject({ name: "root", kind: "supervisor", status: "running", restarts: 0 })
    expect(snap.children!.map((c) => [c.name, c.status, c.restarts])).toEqual([
      ["root/svc", "running", 1],
      ["root/billing", "gave_up", 0],
      ["root/fraud", "running", 0],
    ])
    expect(snap.children![0].children![0]).toMatchObject({ name: "root/svc/x", status: "restarting", reason: "restarting in 100 ms" })
    expect(snap.children![1].reason).toMatch(/gives up/)
    expect(t.inspect(["fraud"])).toMatchObject({ kind: "type", failingInstances: 0 })
    expect(t.inspect(["nope"])).toBeUndefined()
  })
})

describe("SupervisionTree startChild", () => {
  it("SupervisionTree startChild - adds a type late, last in start order, supervised like the others", () => {
    const cb = recorder()
    const t = new SupervisionTree(defaultNodeTree(["billing"]), cb)
    t.startChild({ id: "fraud", kind: "type", restart: "temporary", policy: { intensity: 0, typeIntensity: 0 } })
    expect(t.supervisedTypes()).toEqual(["billing", "fraud"])
    expect(t.spec.children.map((c) => c.id)).toEqual(["billing", "fraud"])
    expect(t.typeStatus("fraud")).toBe("available")
    expect(t.actorFailed("fraud", "a", boom)).toMatchObject({ typeGaveUp: true })
    expect(t.typeStatus("fraud")).toMatchObject({ unavailable: true })
    expect(t.typeStatus("billing")).toBe("available")
  })

  it("SupervisionTree startChild - adds under a nested supervisor, which restarts it with its siblings", () => {
    const cb = recorder()
    const t = new SupervisionTree({ children: [{ id: "svc", kind: "supervisor", spec: { strategy: "one_for_all", intensity: 5, backoff: fast, children: [{ id: "x" }] } }] }, cb)
    t.startChild({ id: "y" }, ["svc"])
    t.childFailed(["svc", "x"], boom)
    expect(cb.actions()).toEqual(["stop svc/y", "restart svc/x +100", "restart svc/y +100"])
  })

  it("SupervisionTree startChild - rejects duplicates and leaves the tree untouched", () => {
    const t = new SupervisionTree(defaultNodeTree(["billing"], { children: [{ id: "svc", kind: "supervisor", spec: {} }] }), recorder())
    expect(() => t.startChild({ id: "billing" })).toThrow(/duplicate child id "billing"/)
    expect(() => t.startChild({ id: "billing", kind: "type" }, ["svc"])).toThrow(/appears twice/)
    expect(() => t.startChild({ id: "x" }, ["nope"])).toThrow(/no supervisor at path/)
    expect(t.spec.children.map((c) => c.id)).toEqual(["svc", "billing"])
    expect(t.inspect(["svc"])!.children).toEqual([])
  })
})

describe("SupervisionTree escalation", () => {
  it("SupervisionTree escalation - a nested give-up that exceeds the root's intensity makes the root give up too", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      {
        intensity: 0,
        children: [
          { id: "billing", kind: "type" },
          { id: "svc", kind: "supervisor", spec: { intensity: 0, children: [{ id: "x" }, { id: "y" }] } },
        ],
      },
      cb,
      { node: "n7" },
    )
    const decisions = t.childFailed(["svc", "y"], boom)
    expect(decisions.map((d) => [d.supervisor, d.directive, d.path.join("/")])).toEqual([
      ["root/svc", "escalate", "svc/y"],
      ["root", "escalate", "svc"],
    ])
    expect(cb.actions()).toEqual(["stop svc/x", "stop billing"])
    const gaveUp = cb.calls.filter((c) => c.op === "rootGaveUp")
    expect(gaveUp).toHaveLength(1)
    expect(cb.events().every((e) => e.node === "n7")).toBe(true)
    expect(t.typeStatus("billing")).toMatchObject({ unavailable: true })
    expect(t.inspect()).toMatchObject({ status: "gave_up" })
  })

  it("SupervisionTree escalation - a transient nested supervisor that gives up is restarted (giving up is abnormal)", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      { intensity: 3, backoff: fast, children: [{ id: "svc", kind: "supervisor", restart: "transient", spec: { intensity: 0, children: [{ id: "x" }] } }] },
      cb,
    )
    expect(t.childFailed(["svc", "x"], boom).map((d) => d.directive)).toEqual(["escalate", "restart"])
    expect(cb.actions()).toEqual(["restart svc +100", "restart svc/x +100"])
  })

  it("SupervisionTree escalation - a temporary nested supervisor that gives up stays down and is forgotten", () => {
    const cb = recorder()
    const t = new SupervisionTree(
      { children: [{ id: "w" }, { id: "svc", kind: "supervisor", restart: "temporary", spec: { intensity: 0, children: [{ id: "x" }, { id: "y" }] } }] },
      cb,
    )
    expect(t.childFailed(["svc", "x"], boom).map((d) => d.directive)).toEqual(["escalate", "stop"])
    expect(cb.actions()).toEqual(["stop svc/y"])
    expect(t.inspect(["svc"])).toMatchObject({ status: "gave_up" })
    expect(t.childFailed(["svc", "y"], boom)).toEqual([])
    t.reset(["svc"])
    expect(t.inspect(["svc"])).toMatchObject({ status: "running" })
    expect(t.childFailed(["svc", "y"], boom).map((d) => d.directive)).toEqual(["escalate", "stop"])
  })
})
