/** The history checker on hand-made histories (no server): each rule finds what it must and nothing else. */
import { describe, expect, it } from "vitest"
import { checkActivations, checkCounters, checkHistory, checkTasks, longestGaps, type AddOp, type Op } from "../../bench/chaos/history-checker.ts"

let t = 0
const add = (actor: string, outcome: AddOp["outcome"], o: Partial<AddOp> = {}): AddOp => {
  const invokeAt = o.invokeAt ?? (t += 10)
  return { kind: "add", client: "c1", actor, n: 1, invokeAt, completeAt: o.completeAt ?? invokeAt + 5, outcome, node: "n1", act: "a1", ...o }
}
const read = (actor: string, total: number, at = (t += 10)): Op => ({ kind: "read", actor, at, total })

describe("history checker", () => {
  it("history checker - a total equal to the acknowledged increments is clean", () => {
    const v = checkHistory([add("c", "ok"), add("c", "ok"), read("c", 2), read("c", 2)])
    expect(v.ok).toBe(true)
    expect(v.lostAcknowledged).toBe(0)
  })

  it("history checker - unknown outcomes may or may not have been applied", () => {
    const ops = [add("c", "ok"), add("c", "unknown"), add("c", "fail")]
    expect(checkHistory([...ops, read("c", 1)]).ok).toBe(true)
    expect(checkHistory([...ops, read("c", 3)]).ok).toBe(true)
  })

  it("history checker - a total below the acknowledged increments is a loss", () => {
    const v = checkHistory([add("c", "ok"), add("c", "ok"), add("c", "ok"), add("c", "unknown"), read("c", 1)])
    expect(v.lostAcknowledged).toBe(2)
    expect(v.ok).toBe(false)
    expect(v.problems[0]).toMatch(/2 acknowledged increment\(s\) lost/)
  })

  it("history checker - an in-flight window admits only the last acknowledgements of a replaced activation", () => {
    const ops = [
      add("c", "ok", { act: "x", node: "n1", invokeAt: 0, completeAt: 10 }),
      add("c", "ok", { act: "x", node: "n1", invokeAt: 400, completeAt: 410 }),
      add("c", "ok", { act: "x", node: "n1", invokeAt: 500, completeAt: 510 }),
      add("c", "ok", { act: "y", node: "n2", invokeAt: 2000, completeAt: 2010 }),
    ]
    // the last two of x (within 200 ms of its end) may be lost, not the first
    const within = checkHistory([...ops, read("c", 2)], { inFlightMs: 200 })
    expect(within.ok).toBe(true)
    expect(within.lostInFlight).toBe(2)
    expect(within.lostAcknowledged).toBe(0)
    const beyond = checkHistory([...ops, read("c", 1)], { inFlightMs: 200 })
    expect(beyond.ok).toBe(false)
    expect(beyond.lostAcknowledged).toBe(1)
    // without a window nothing may be lost
    expect(checkHistory([...ops, read("c", 2)]).lostAcknowledged).toBe(2)
  })

  it("history checker - an activation that acknowledged last has ended too when another answers the final read", () => {
    const ops = [
      add("c", "ok", { act: "x", invokeAt: 0, completeAt: 10 }),
      add("c", "ok", { act: "x", invokeAt: 400, completeAt: 410 }),
      add("c", "ok", { act: "x", invokeAt: 500, completeAt: 510 }),
    ]
    const fresh: Op = { kind: "read", actor: "c", at: 5000, total: 1, act: "z" }
    expect(checkHistory([...ops, fresh], { inFlightMs: 200 }).ok).toBe(true)
    // the same activation still answering: nothing it acknowledged may be missing
    const same: Op = { kind: "read", actor: "c", at: 5000, total: 1, act: "x" }
    expect(checkHistory([...ops, same], { inFlightMs: 200 }).lostAcknowledged).toBe(2)
  })

  it("history checker - a total above every possible increment is a double application", () => {
    const v = checkCounters([add("c", "ok"), add("c", "unknown"), read("c", 3)])
    expect(v[0].extra).toBe(1)
    expect(v[0].lost).toBe(0)
  })

  it("history checker - final reads that differ are reported", () => {
    const v = checkHistory([add("c", "ok"), read("c", 1), read("c", 0)])
    expect(v.counters[0].readsDisagree).toBe(true)
    expect(v.counters[0].lost).toBe(1)
  })

  it("history checker - a counter never read loses everything acknowledged", () => {
    expect(checkCounters([add("c", "ok")])[0].lost).toBe(1)
  })

  it("history checker - activations one after the other do not overlap", () => {
    const ops = [
      add("c", "ok", { act: "x", node: "n1", invokeAt: 0, completeAt: 10 }),
      add("c", "ok", { act: "x", node: "n1", invokeAt: 20, completeAt: 30 }),
      // the next activation's first write was sent before the last answer came back: not a proof of overlap
      add("c", "ok", { act: "y", node: "n2", invokeAt: 25, completeAt: 40 }),
      add("c", "ok", { act: "y", node: "n2", invokeAt: 50, completeAt: 60 }),
    ]
    expect(checkActivations(ops)).toEqual([])
  })

  it("history checker - two activations acknowledging writes at the same time overlap", () => {
    const ops = [
      add("c", "ok", { act: "x", node: "n1", invokeAt: 0, completeAt: 10 }),
      add("c", "ok", { act: "y", node: "n2", invokeAt: 15, completeAt: 20 }),
      add("c", "ok", { act: "x", node: "n1", invokeAt: 30, completeAt: 40 }),
    ]
    const o = checkActivations(ops)
    expect(o).toHaveLength(1)
    expect(o[0].actor).toBe("c")
    expect([o[0].a.node, o[0].b.node].sort()).toEqual(["n1", "n2"])
    expect(checkHistory([...ops, read("c", 3)]).ok).toBe(false)
  })

  it("history checker - failed writes do not make an activation", () => {
    const ops = [
      add("c", "ok", { act: "x", invokeAt: 0, completeAt: 10 }),
      add("c", "unknown", { act: undefined, node: undefined, invokeAt: 15, completeAt: 20 }),
      add("c", "ok", { act: "x", invokeAt: 30, completeAt: 40 }),
    ]
    expect(checkActivations(ops)).toEqual([])
  })

  it("history checker - tasks must run at least once and be recorded exactly once", () => {
    const sub = (task: string, outcome: AddOp["outcome"] = "ok"): Op => ({ kind: "submit", client: "c1", task, invokeAt: 0, completeAt: 1, outcome })
    const v = checkTasks([
      sub("t1"),
      sub("t2"),
      sub("t3"),
      sub("t4", "unknown"),
      { kind: "run", task: "t1", worker: "w1", at: 2 },
      { kind: "run", task: "t1", worker: "w2", at: 3 },
      { kind: "run", task: "t3", worker: "w1", at: 2 },
      { kind: "record", task: "t1", records: 1 },
      { kind: "record", task: "t3", records: 2 },
    ])
    expect(v.submitted).toBe(3)
    expect(v.neverRun).toEqual(["t2"])
    expect(v.notRecordedOnce).toEqual([
      { task: "t2", records: 0 },
      { task: "t3", records: 2 },
    ])
    expect(v.ranMoreThanOnce).toBe(1)
  })

  it("history checker - the longest gap is per actor, between acknowledgements and to the last try", () => {
    const ops = [
      add("c", "ok", { invokeAt: 0, completeAt: 10 }),
      add("c", "unknown", { invokeAt: 10, completeAt: 2010 }),
      add("c", "ok", { invokeAt: 2010, completeAt: 2020 }),
      add("c", "fail", { invokeAt: 2020, completeAt: 2500 }),
      // another actor answering meanwhile does not hide the gap of the first
      add("e", "ok", { invokeAt: 500, completeAt: 510 }),
      add("e", "ok", { invokeAt: 1000, completeAt: 1010 }),
      add("d", "ok", { client: "c2", invokeAt: 0, completeAt: 100 }),
    ]
    expect(longestGaps(ops)).toEqual({ c1: 2010, c2: 100 })
  })
})
