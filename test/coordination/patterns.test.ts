import { describe, expect, it } from "vitest"
import { fanOut, fanOutAsks, fanOutTasks, handOff, refine, refineWithAgents, type FanIn } from "../../runtime/coordination/mod.ts"
import { coordinationNode } from "./fixtures/node.ts"
import { clerk, critic, judge, writer } from "./fixtures/agents.ts"

const fx = coordinationNode()

describe("patterns", () => {
  it("fan-out - asks to four agents with one failing: three values and one failure, in branch order", async () => {
    const ids = ["strict-1", "broken-1", "lenient-1", "strict-2"]
    const fan = await fanOutAsks(fx.node.client, ids.map((id) => ({ agent: judge, id })), "Vote", { round: "f", question: "ok?", context: { amount: 3000 }, deadline: Date.now() + 5000 })
    expect(fan.results.map((r) => r.ok)).toEqual([true, false, true, true])
    expect(fan.failures[0]!.error).toContain("out of order")
    expect(fan.values.map((v) => (v as { answer: string }).answer)).toEqual(["reject", "approve", "reject"])
    // fan-in with a minimum: 3 of 4 is not enough when all four are needed
    const err = await fanOutAsks(fx.node.client, ids.map((id) => ({ agent: judge, id })), "Vote", { round: "f", question: "ok?", context: { amount: 1 }, deadline: 0 }, { minSuccesses: 4 }).catch((e) => e)
    expect(err).toMatchObject({ _tag: "CoordinationError", code: "failed" })
    expect((err.details as FanIn<unknown>).values).toHaveLength(3)
  })

  it("fan-out - durable tasks to a capability, one dead-lettered: its reason is the branch's failure", async () => {
    const fan = await fanOutTasks(fx.node.tasks!, "calc.square", [{ n: 2 }, { n: -1 }, { n: 5 }], { key: "squares", timeoutMs: 30_000 })
    expect(fan.results.map((r) => r.ok)).toEqual([true, false, true])
    expect(fan.values).toEqual([4, 25])
    expect(fan.failures[0]!.error).toMatch(/dead_lettered.*negative/)
  })

  it("fan-out - concurrency bounds the branches running at once; a slow branch times out", async () => {
    let running = 0
    let most = 0
    const branch = (ms: number) => async () => {
      most = Math.max(most, ++running)
      await new Promise((r) => setTimeout(r, ms))
      running--
      return ms
    }
    const fan = await fanOut([branch(30), branch(30), branch(30), branch(30), branch(2000)], { concurrency: 2, timeoutMs: 500 })
    expect(most).toBe(2)
    expect(fan.values).toEqual([30, 30, 30, 30])
    expect(fan.failures[0]).toMatchObject({ index: 4, ok: false })
  })

  it("hand-off - each agent gets the previous one's reply; a failing stage is named with the trail so far", async () => {
    const { output, trail } = await handOff(fx.node.client, { text: "the quick brown fox" }, [
      { agent: clerk, id: "c1", tag: "Upper" },
      { agent: clerk, id: "c2", tag: "Count" },
    ])
    expect(output).toEqual({ text: "THE QUICK BROWN FOX", words: 4 })
    expect(trail.map((l) => `${l.agent}/${l.id}`)).toEqual(["clerk/c1", "clerk/c2"])
    const err = await handOff(fx.node.client, { text: "x" }, [
      { agent: clerk, id: "c1", tag: "Upper" },
      { agent: clerk, id: "c3", tag: "Fail" },
      { agent: clerk, id: "c2", tag: "Count" },
    ]).catch((e) => e)
    expect(err).toMatchObject({ _tag: "CoordinationError", code: "failed" })
    expect(err.message).toContain("stage 2 of 3 (clerk/c3 Fail)")
    expect(err.details.trail).toHaveLength(1)
  })

  it("refinement - a writer revises until the critic accepts, every round kept; the rounds can run out", async () => {
    const brief = { required: ["alpha", "beta", "gamma"] }
    const done = await refineWithAgents(fx.node.client, { writer: { agent: writer, id: "w1" }, reviewer: { agent: critic, id: "k1" }, brief, maxRounds: 5 })
    expect(done).toMatchObject({ accepted: true, rounds: 3, result: "draft alpha beta gamma" })
    expect(done.history.map((h) => h.feedback)).toEqual([["beta", "gamma"], ["gamma"], []])
    expect(done.history.map((h) => h.score?.toFixed(2))).toEqual(["0.33", "0.67", "1.00"])
    const short = await refineWithAgents(fx.node.client, { writer: { agent: writer, id: "w1" }, reviewer: { agent: critic, id: "k1" }, brief, maxRounds: 2 })
    expect(short).toMatchObject({ accepted: false, rounds: 2, result: "draft alpha beta" })
    await expect(refine({ draft: () => 1, review: () => ({ accept: true }), revise: (d) => d, maxRounds: 0 })).rejects.toMatchObject({ code: "invalid_input" })
  })
})
