import { describe, expect, it } from "vitest"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { createMarketplace } from "../../runtime/tasks/marketplace.ts"
import { serveCapability } from "../../runtime/tasks/worker.ts"
import { startTaskEngine } from "../../runtime/tasks/engine.ts"
import { capabilityBacklogs, capabilityLoads } from "../../runtime/elastic/load-capabilities.ts"
import { startLoadReporter } from "../../runtime/elastic/load-reporter.ts"
import { decideRecruitment, startRecruiter } from "../../runtime/elastic/recruit.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const ctx = natsPerFile()
const quiet = () => {}

describe("recruitment", () => {
  it("recruitment - an idle agent joins the most loaded critical capability it can do, a busy one does not, and it leaves when the load falls", () => {
    const loads = new Map([
      ["billing.refunds", 1],
      ["billing.invoices", 0.95],
      ["support.chat", 0.99],
    ])
    expect(decideRecruitment(loads, { canDo: ["billing.*"], joined: new Set(), idle: true }).join).toEqual({ capability: "billing.refunds", load: 1 })
    expect(decideRecruitment(loads, { canDo: ["billing.>"], joined: new Set(), idle: false }).join).toBeUndefined()
    expect(decideRecruitment(loads, { canDo: ["search"], joined: new Set(), idle: true }).join).toBeUndefined()
    expect(decideRecruitment(new Map([["billing.refunds", 0.8]]), { canDo: ["billing.*"], joined: new Set(), idle: true }).join).toBeUndefined()
    const after = decideRecruitment(new Map([["billing.refunds", 0.3]]), { canDo: ["billing.*"], joined: new Set(["billing.refunds"]), idle: true })
    expect(after.leave).toEqual(["billing.refunds"])
    // one capability at a time by default: a recruit that still helps does not take on another
    expect(decideRecruitment(loads, { canDo: ["billing.*", "support.*"], joined: new Set(["billing.refunds"]), idle: true })).toEqual({ leave: [] })
  })

  it("recruitment - a backlog on one capability recruits an idle agent of another, which takes some of the work and goes back once it is done", async () => {
    const nc = ctx.nc
    const ph = createPheromones(nc, { emitter: "test-node" })
    const engine = await startTaskEngine(nc)
    const market = createMarketplace(nc, { pheromones: ph })
    const done: Record<string, number> = { specialist: 0, helper: 0 }
    const brokers: Array<{ stop(o?: { graceMs?: number }): Promise<void> }> = []
    const helperCaps: string[] = ["rx.cold"]
    let helperRunning = 0
    const helperBrokers = new Map<string, { stop(o?: { graceMs?: number }): Promise<void> }>()
    const work = (who: string) => async () => {
      await new Promise((r) => setTimeout(r, 60))
      done[who]++
      return who
    }
    // the specialist holds its first task until the helper has finished one: the backlog cannot
    // drain before recruitment, however slow the machine (without a recruit, "every task done" fails)
    let heldFirst = false
    const specialist = await market.bid({
      agentId: "specialist",
      capabilities: ["rx.hot"],
      handle: async () => {
        if (!heldFirst) {
          heldFirst = true
          await waitUntil(() => done.helper > 0, { timeoutMs: 55_000, intervalMs: 50, message: "the recruited helper finishes a task" })
        }
        return work("specialist")()
      },
    })
    const helper = await market.bid({
      agentId: "helper",
      capabilities: helperCaps,
      handle: async () => {
        helperRunning++
        try {
          return await work("helper")()
        } finally {
          helperRunning--
        }
      },
    })
    brokers.push(await serveCapability(nc, "rx.hot", market.handler(), { concurrency: 1 }))
    brokers.push(await serveCapability(nc, "rx.cold", market.handler(), { concurrency: 1 }))
    // one agent serves each capability: a backlog of one task per agent is full load
    const reporter = startLoadReporter({ nodeId: "test-node", pheromones: () => ph, intervalMs: 100, log: quiet, sample: async () => capabilityLoads("default", await capabilityBacklogs(nc, "default"), () => 1) })
    const recruiter = startRecruiter({
      pheromones: ph,
      intervalMs: 100,
      recruits: [
        {
          id: "helper",
          canDo: ["rx.*"],
          isIdle: () => helperRunning === 0,
          // the recruit bids on the capability and brings a broker slot of its own for it
          join: (cap) => {
            helperCaps.push(cap)
            void serveCapability(nc, cap, market.handler(), { concurrency: 1 }).then((b) => helperBrokers.set(cap, b))
          },
          leave: (cap) => {
            helperCaps.splice(helperCaps.indexOf(cap), 1)
            void helperBrokers.get(cap)?.stop({ graceMs: 5_000 })
            helperBrokers.delete(cap)
          },
        },
      ],
    })
    try {
      for (let i = 0; i < 30; i++) await engine.submit({ capability: "rx.hot", payload: { i } })
      await waitUntil(() => done.specialist + done.helper >= 30, { timeoutMs: 60_000, message: "every task done" })
      expect(done.helper).toBeGreaterThan(0)
      expect(recruiter.stats().recruited).toBeGreaterThanOrEqual(1)
      // the backlog is gone: the helper goes back to its own work
      await waitUntil(() => recruiter.joined().helper.length === 0, { timeoutMs: 20_000, message: "the helper left rx.hot" })
      expect(helperCaps).toEqual(["rx.cold"])
    } finally {
      recruiter.stop()
      reporter.stop()
      await Promise.all([...brokers, ...helperBrokers.values()].map((b) => b.stop({ graceMs: 1000 }).catch(() => undefined)))
      await specialist.stop({ graceMs: 1000 })
      await helper.stop({ graceMs: 1000 })
      await market.stop()
      await engine.stop()
      await ph.close()
    }
  })
})
