import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { Kvm } from "@nats-io/kv"
import { rawConnect, type NatsServer } from "../helpers/nats.ts"
import { DEFAULT_PRIORITY, TASK_CLAIMS_BUCKET, taskClaimKey } from "../../subjects/tasks.ts"
import type { TaskEngine } from "../../runtime/tasks/engine.ts"
import { createMarketplace, pheromoneSignals, type BidderHandle } from "../../runtime/tasks/marketplace.ts"
import type { BidReason } from "../../runtime/tasks/assignment-receipt.ts"
import { taskPheromoneStrength } from "../../runtime/tasks/bid-rules.ts"
import { createPheromones } from "../../runtime/stigmergy/mod.ts"
import { capabilityFor, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(() => stopTaskFixture({ server, nc, engine }))

describe("marketplace", () => {
  it("marketplace - exactly one of several bidders claims and runs each task; pheromones mark the outcome", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ph = createPheromones(nc, { tenant: "default", emitter: "broker" })
    const market = createMarketplace(nc, { signals: pheromoneSignals(ph), bidWindowMs: 50 })
    const runs = new Map<string, string[]>()
    const conns: NatsConnection[] = []
    const bidders: BidderHandle[] = []
    for (let i = 0; i < 4; i++) {
      const c = await rawConnect(server.url)
      conns.push(c)
      const m = createMarketplace(c, { bidWindowMs: 50 })
      bidders.push(
        await m.bid({
          agentId: `agent-${i}`,
          capabilities: [i % 2 ? cap : "t.>"],
          maxConcurrent: 2,
          handle: async (_p, ctx) => {
            runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.agentId])
            await new Promise((r) => setTimeout(r, 10))
            return { by: ctx.agentId }
          },
        }),
      )
    }
    const broker = await engine.serveCapability(cap, market.handler(), { concurrency: 8 })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push((await engine.submit({ capability: cap, payload: { i }, priority: i % 3 ? "normal" : "critical" })).id)
    const claims = await new Kvm(nc).open(TASK_CLAIMS_BUCKET)
    for (const id of ids) {
      const rec = await engine.waitForStatus(id, { timeoutMs: 20_000 })
      expect(rec.state).toBe("completed")
      expect(runs.get(id)?.length).toBe(1)
      const winner = runs.get(id)![0]
      expect(rec.result).toEqual({ by: winner })
      expect((await claims.get(taskClaimKey("default", id, 1)))?.string()).toBe(winner)
    }
    const won = bidders.map((b) => b.stats().won).reduce((a, b) => a + b, 0)
    expect(won).toBe(20)
    expect(bidders.map((b) => b.stats().lost).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    const success = await ph.detect({ types: ["success"], location: cap })
    expect(success.length).toBeGreaterThan(0)
    expect(await ph.detect({ types: ["task"], location: cap })).toEqual([])
    await broker.stop()
    for (const b of bidders) await b.stop()
    for (const c of conns) await c.close()
    await ph.close()
  })

  it("marketplace - the bidders of one marketplace share one subscription and one claim per call, and no trail is read for a fresh call", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ph = createPheromones(nc, { tenant: "default", emitter: "broker" })
    const c = await rawConnect(server.url)
    const agents = createMarketplace(c, { pheromones: createPheromones(c, { tenant: "default", emitter: "agents" }), bidWindowMs: 30 })
    // what the agents' connection sends: claim writes and trail reads, counted by a spy
    const spy = await rawConnect(server.url)
    const seen = { claims: 0, trailReads: 0 }
    spy.subscribe(`$KV.${TASK_CLAIMS_BUCKET}.>`, { callback: () => void seen.claims++ })
    spy.subscribe("$JS.API.DIRECT.GET.KV_ants_pheromones.>", { callback: (_e, m) => void (m.subject.includes(cap) && seen.trailReads++) })
    await spy.flush()
    const runs = new Map<string, string[]>()
    const bidders: BidderHandle[] = []
    for (let i = 0; i < 6; i++) {
      // six agents equally able: their waits run out together, so each call had six claim attempts
      bidders.push(
        await agents.bid({
          agentId: `same-${i}`,
          capabilities: [cap],
          handle: async (_p, ctx) => void runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.agentId]),
        }),
      )
    }
    const broker = await engine.serveCapability(cap, createMarketplace(nc, { signals: pheromoneSignals(ph) }).handler(), { concurrency: 1 })
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      const r = await engine.submit({ capability: cap, payload: { i } })
      ids.push(r.id)
      expect(await engine.waitForStatus(r.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", attempts: 1 })
    }
    await spy.flush()
    for (const id of ids) expect(runs.get(id)?.length).toBe(1)
    expect(seen.claims).toBe(ids.length)
    // none: the agents' calls were fresh (a call's strength is its trail's as deposited), and the
    // broker clears the trail it deposited at the revision it remembers
    expect(seen.trailReads).toBe(0)
    expect(bidders.map((b) => b.stats().won).reduce((a, b) => a + b, 0)).toBe(ids.length)
    expect(bidders.map((b) => b.stats().lost).reduce((a, b) => a + b, 0)).toBe(ids.length * 5)
    await broker.stop()
    await agents.stop()
    await Promise.all([c.close(), spy.close(), ph.close()])
  })

  it("marketplace - a broker's offers share one subscription for their winners' reports, each report reaching its own offer", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const agents = createMarketplace(nc, { bidWindowMs: 10 })
    const bidders: BidderHandle[] = []
    for (let i = 0; i < 4; i++) bidders.push(await agents.bid({ agentId: `a${i}`, capabilities: [cap], handle: async (p: { i: number }) => ({ doubled: p.i * 2 }) }))
    // the broker's connection, its subscriptions counted
    const bc = await rawConnect(server.url)
    const made: Array<{ isClosed(): boolean }> = []
    const subscribe = bc.subscribe.bind(bc)
    bc.subscribe = ((subject: string, opts?: object) => {
      const sub = subscribe(subject, opts)
      made.push(sub)
      return sub
    }) as typeof bc.subscribe
    const market = createMarketplace(bc)
    const broker = await engine.serveCapability(cap, market.handler(), { concurrency: 4 })
    const ids = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await engine.submit({ capability: cap, payload: { i } })).id))
    for (const [i, id] of ids.entries()) expect(await engine.waitForStatus(id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", attempts: 1, result: { doubled: i * 2 } })
    // one subscription for twelve offers, four at a time (one each before)
    expect(made.length).toBe(1)
    await broker.stop()
    await market.stop()
    expect(made[0]!.isClosed()).toBe(true)
    await Promise.all(bidders.map((b) => b.stop()))
    await bc.close()
  })

  it("marketplace - an idle agent with the exact capability outbids a loaded one matching by pattern", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const market = createMarketplace(nc, { bidWindowMs: 400 })
    const winners: string[] = []
    const busy = await market.bid({ agentId: "busy", capabilities: ["t.*"], load: () => 0.9, handle: async (_p, c) => winners.push(c.agentId) })
    const idle = await market.bid({ agentId: "idle", capabilities: [cap], load: () => 0, handle: async (_p, c) => winners.push(c.agentId) })
    const broker = await engine.serveCapability(cap, market.handler(), { concurrency: 1 })
    for (let i = 0; i < 3; i++) {
      const r = await engine.submit({ capability: cap, payload: {} })
      await engine.waitForStatus(r.id)
    }
    expect(winners).toEqual(["idle", "idle", "idle"])
    await broker.stop()
    await busy.stop()
    await idle.stop()
  })

  it("marketplace - an agent runs one task at a time (maxConcurrent 1) and the calls heard meanwhile stay open: it takes them one after another, no attempt fails for want of a bidder", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const market = createMarketplace(nc, { noBidTimeoutMs: 2_000 })
    const ran: number[] = []
    let running = 0
    let peak = 0
    const one = await market.bid({
      agentId: "only",
      capabilities: [cap],
      handle: async (p: { i: number }) => {
        ran.push(p.i)
        peak = Math.max(peak, ++running)
        await new Promise((r) => setTimeout(r, 300))
        running--
      },
    })
    // three auctions at once for one agent, and no second attempt: a call left unclaimed for its
    // no-bid timeout would dead-letter its task
    const broker = await engine.serveCapability(cap, market.handler(), { concurrency: 3, maxAttempts: 1 })
    const ids = await Promise.all([0, 1, 2].map(async (i) => (await engine.submit({ capability: cap, payload: { i } })).id))
    const recs = await Promise.all(ids.map((id) => engine.waitForStatus(id, { timeoutMs: 10_000 })))
    expect(recs.map((r) => [r.state, r.attempts])).toEqual([
      ["completed", 1],
      ["completed", 1],
      ["completed", 1],
    ])
    expect([...ran].sort()).toEqual([0, 1, 2])
    expect(peak, "tasks the agent ran at once").toBe(1)
    expect(one.stats()).toMatchObject({ won: 3, completed: 3 })
    await broker.stop()
    await one.stop()
  })

  it("marketplace - a fresh call is bid on with the strength it carries; a call left open past the fresh window reads its trail's decayed strength", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ph = createPheromones(nc, { tenant: "default", emitter: "broker" })
    const c = await rawConnect(server.url)
    const agents = createMarketplace(c, { pheromones: createPheromones(c, { tenant: "default", emitter: "agents" }) })
    // one agent busy 700 ms a task: the second call waits open past the 500 ms fresh window
    const one = await agents.bid({ agentId: "only", capabilities: [cap], handle: async () => void (await new Promise((r) => setTimeout(r, 700))) })
    const why: Record<string, BidReason> = {}
    const market = createMarketplace(nc, { signals: pheromoneSignals(ph), onAssign: (_t, r) => void (why[r.task] = r.why as BidReason) })
    const broker = await engine.serveCapability(cap, market.handler(), { concurrency: 2, maxAttempts: 1 })
    const first = (await engine.submit({ capability: cap, payload: {} })).id
    await new Promise((r) => setTimeout(r, 100))
    const second = (await engine.submit({ capability: cap, payload: {} })).id
    for (const id of [first, second]) expect(await engine.waitForStatus(id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", attempts: 1 })
    // both announced at the same strength (the default priority, first attempt, no deadline):
    // the first bid with it exactly (a trail read, even at once, gives a hair less)
    const announced = taskPheromoneStrength({ priority: DEFAULT_PRIORITY, attempt: 1, now: Date.now() })
    expect(why[first]!.strength).toBe(announced)
    // the second, read from its trail after about 600 ms of a 10-minute linear fade
    expect(why[second]!.strength).toBeLessThan(announced)
    expect(why[second]!.strength).toBeGreaterThan(announced * 0.998)
    await broker.stop()
    await one.stop()
    await Promise.all([c.close(), ph.close()])
  })

  it("marketplace - a call another node's agent claimed is closed by its broker: a busy agent that heard it does not try it once idle", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const a = await rawConnect(server.url)
    const b = await rawConnect(server.url)
    const spy = await rawConnect(server.url)
    let claims = 0
    spy.subscribe(`$KV.${TASK_CLAIMS_BUCKET}.>`, { callback: () => void claims++ })
    await spy.flush()
    let started!: () => void
    const busy = new Promise<void>((r) => (started = r))
    const onA = await createMarketplace(a).bid({
      agentId: "slow",
      capabilities: [cap],
      handle: async () => {
        started()
        await new Promise((r) => setTimeout(r, 500))
      },
    })
    const broker = await engine.serveCapability(cap, createMarketplace(nc).handler(), { concurrency: 2 })
    const first = await engine.submit({ capability: cap, payload: {} })
    await busy
    // node B's agent arrives while A's is busy: it takes the second call, which A heard and holds open
    const onB = await createMarketplace(b).bid({ agentId: "quick", capabilities: [cap], handle: async () => "done" })
    const second = await engine.submit({ capability: cap, payload: {} })
    expect(await engine.waitForStatus(second.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", claimedBy: "quick" })
    expect(await engine.waitForStatus(first.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", claimedBy: "slow" })
    await new Promise((r) => setTimeout(r, 200))
    await spy.flush()
    expect(onA.stats()).toMatchObject({ won: 1, lost: 0 })
    expect(claims, "claim writes").toBe(2)
    await broker.stop()
    await Promise.all([onA.stop(), onB.stop()])
    await Promise.all([a.close(), b.close(), spy.close()])
  })

  it("marketplace - a task nobody bids for ends dead-lettered with reason no_handler", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const market = createMarketplace(nc, { noBidTimeoutMs: 200 })
    const broker = await engine.serveCapability(cap, market.handler(), { maxAttempts: 2 })
    const r = await engine.submit({ capability: cap, payload: {} })
    const rec = await engine.waitForStatus(r.id, { timeoutMs: 10_000 })
    expect(rec).toMatchObject({ state: "dead_lettered", reason: "no_handler", attempts: 2 })
    await broker.stop()
  })

  it("marketplace - a resubmitted dead letter is auctioned and claimed again (the claim key names the generation)", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const market = createMarketplace(nc, { bidWindowMs: 20, noBidTimeoutMs: 300 })
    let healthy = false
    const agent = await market.bid({
      agentId: "a1",
      capabilities: [cap],
      handle: async () => {
        if (!healthy) throw new Error("down")
        return "ok"
      },
    })
    const broker = await engine.serveCapability(cap, market.handler(), { maxAttempts: 2 })
    const r = await engine.submit({ capability: cap, payload: {} })
    expect(await engine.waitForStatus(r.id, { timeoutMs: 10_000 })).toMatchObject({ state: "dead_lettered", reason: "max_attempts", attempts: 2 })
    healthy = true
    await engine.deadLetters.resubmit(r.id)
    expect(await engine.waitForStatus(r.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", result: "ok", attempts: 1, resubmits: 1, claimedBy: "a1" })
    const claims = await new Kvm(nc).open(TASK_CLAIMS_BUCKET)
    expect((await claims.get(taskClaimKey("default", r.id, 1, 0)))?.string()).toBe("a1")
    expect((await claims.get(taskClaimKey("default", r.id, 1, 1)))?.string()).toBe("a1")
    expect(agent.stats()).toMatchObject({ won: 3, completed: 1, failed: 2 })
    await broker.stop()
    await agent.stop()
  })

  it("marketplace - given a pheromone API it deposits task, success and danger trails without being told to", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ph = createPheromones(nc, { tenant: "default", emitter: "broker" })
    const market = createMarketplace(nc, { pheromones: ph, bidWindowMs: 20 })
    let seen: number | undefined
    const agent = await market.bid({
      agentId: "p1",
      capabilities: [cap],
      handle: async (p: { fail?: boolean }, ctx) => {
        seen = (await ph.get({ location: cap, id: ctx.id }))?.current
        if (p.fail) throw new Error("no luck")
        return "done"
      },
    })
    const broker = await engine.serveCapability(cap, market.handler(), { maxAttempts: 1 })
    const ok = await engine.submit({ capability: cap, payload: {}, priority: "high" })
    expect(await engine.waitForStatus(ok.id)).toMatchObject({ state: "completed", claimedBy: "p1" })
    expect(seen).toBeGreaterThan(0) // the task trail was there while it ran
    expect(await ph.get({ location: cap, id: ok.id })).toBeUndefined()
    expect((await ph.detect({ types: ["success"], location: cap })).length).toBe(1)
    const bad = await engine.submit({ capability: cap, payload: { fail: true } })
    expect(await engine.waitForStatus(bad.id)).toMatchObject({ state: "dead_lettered", reason: "max_attempts" })
    expect((await ph.detect({ types: ["danger"], location: cap })).length).toBe(1)
    // the last attempt failed: no task trail is left to lure agents
    expect(await ph.get({ location: cap, id: bad.id })).toBeUndefined()
    await broker.stop()
    await agent.stop()
    await ph.close()
  })

  it("marketplace - a failed attempt deposits danger and is retried by a fresh auction", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ph = createPheromones(nc, { tenant: "default", emitter: "broker" })
    const market = createMarketplace(nc, { signals: pheromoneSignals(ph), bidWindowMs: 20 })
    const attempts: number[] = []
    const agent = await market.bid({
      agentId: "flaky",
      capabilities: [cap],
      handle: async (_p, ctx) => {
        attempts.push(ctx.attempt)
        if (ctx.attempt === 1) throw new Error("tool timed out")
        return "second time lucky"
      },
    })
    const broker = await engine.serveCapability(cap, market.handler())
    const r = await engine.submit({ capability: cap, payload: {} })
    expect(await engine.waitForStatus(r.id)).toMatchObject({ state: "completed", attempts: 2, result: "second time lucky" })
    expect(attempts).toEqual([1, 2])
    const danger = await ph.detect({ types: ["danger"], location: cap })
    expect(danger.length).toBe(1)
    await broker.stop()
    await agent.stop()
    await ph.close()
  })
})
