import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { jetstreamManager } from "@nats-io/jetstream"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { ArtifactDelivery } from "../../runtime/actor/artifact-delivery.ts"
import { createPheromones, createWorkspace, DEFAULT_SWEEP_INTERVAL_MS, type Evaporation } from "../../runtime/stigmergy/mod.ts"
import { PHEROMONE_BUCKET } from "../../subjects/pheromones.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import type { NatsConnection } from "@nats-io/nats-core"

/** Reviews artifacts that need review, then marks them done and leaves a success trail. */
const reviewer = defineAgent({
  type: "reviewer",
  protocol: {
    Review: { message: ArtifactDelivery, reply: Schema.Null },
    Reviewed: { message: Empty, reply: Schema.Number },
  },
  initialState: () => ({ reviewed: 0 }),
  interests: [{ statuses: ["needs_review"], claim: "in_review", tag: "Review", to: "r" }],
  handlers: {
    Review: async ({ artifact }, ctx) => {
      // fenced by the claimed revision: a delivery whose lease ran out cannot finish twice
      await ctx.workspace.transition(artifact.id, { to: "done", revision: artifact.revision, data: { ...(artifact.data as object), reviewedBy: ctx.self.id } })
      await ctx.pheromones.deposit({ type: "success", location: "reviews", strength: "high", data: { artifact: artifact.id } })
      ctx.state.reviewed++
      return null
    },
    Reviewed: (_m, ctx) => ctx.state.reviewed,
  },
})

/** Overruns its lease on the first delivery; the fenced transition keeps the work done once. */
const slowRuns: Array<{ revision: number; outcome?: string }> = []
const slowpoke = defineAgent({
  type: "slowpoke",
  protocol: { Review: { message: ArtifactDelivery, reply: Schema.Null } },
  initialState: () => null,
  interests: [{ statuses: ["slow_review"], claim: "slow_claimed", tag: "Review", to: "p", timeoutMs: 1000, tenants: ["slow"] }],
  handlers: {
    Review: async ({ artifact }, ctx) => {
      const run: { revision: number; outcome?: string } = { revision: artifact.revision }
      slowRuns.push(run)
      if (slowRuns.length === 1) await new Promise((r) => setTimeout(r, 1500)) // slow work, past its lease
      try {
        await ctx.workspace.transition(artifact.id, { to: "done", revision: artifact.revision })
        run.outcome = "done"
      } catch (e) {
        run.outcome = (e as { code?: string }).code
      }
      return null
    },
  },
})

/** What scouts' watches heard, by actor id (test bookkeeping outside the actors). */
const heardBy = new Map<string, string[]>()
const Place = Schema.Struct({ location: Schema.String })
const scoutProtocol = {
  Watch: { message: Place, reply: Schema.Null },
  Close: { message: Empty, reply: Schema.Null },
  Mark: { message: Schema.Struct({ location: Schema.String, ttlMs: Schema.Number }), reply: Schema.String },
} as const
const scoutHandlers = {
  Watch: async ({ location }: { location: string }, ctx: { self: { id: string }; pheromones: ReturnType<typeof createPheromones> }) => {
    const heard = heardBy.get(ctx.self.id) ?? []
    heardBy.set(ctx.self.id, heard)
    await ctx.pheromones.watch({ deposited: (t) => void heard.push(t.key) }, { location, sweep: false })
    return null
  },
  Close: async (_m: unknown, ctx: { pheromones: ReturnType<typeof createPheromones> }) => {
    await ctx.pheromones.close()
    return null
  },
  Mark: async ({ location, ttlMs }: { location: string; ttlMs: number }, ctx: { pheromones: ReturnType<typeof createPheromones> }) =>
    (await ctx.pheromones.deposit({ type: "coordination", location, ttlMs })).key,
}
const scout = defineAgent({ type: "scout", protocol: scoutProtocol, initialState: () => null, handlers: scoutHandlers })
/** The same, passivated soon after it goes idle. */
const napper = defineAgent({ type: "napper", protocol: scoutProtocol, initialState: () => null, passivateAfterMs: 300, handlers: scoutHandlers })

let server: NatsServer
let nc: NatsConnection
let a: AntsNode
let b: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  a = await startNode({ agents: [reviewer, scout, napper, slowpoke], nats: server.url, logger: () => {} })
  b = await startNode({ agents: [reviewer, scout, napper, slowpoke], nats: server.url, logger: () => {} })
})

afterAll(async () => {
  await a?.drain()
  await b?.drain()
  await nc?.close()
  await server?.stop()
})

/** How many consumers of the pheromone stream read exactly this key filter. */
async function consumersOn(filter: string): Promise<number> {
  const jsm = await jetstreamManager(nc)
  const all = await jsm.consumers.list(`KV_${PHEROMONE_BUCKET}`).next()
  return all.filter((c) => c.config.filter_subject === `$KV.${PHEROMONE_BUCKET}.${filter}`).length
}

describe("stigmergy in the runtime", () => {
  it("stigmergy - an artifact needing review is delivered once to the interested type, and its trail is left", async () => {
    const ws = createWorkspace(nc, { actor: "writer" })
    for (let i = 0; i < 5; i++) await ws.create({ id: `reports.r${i}`, kind: "report", status: "needs_review", data: { n: i } })
    await waitUntil(async () => (await ws.list({ statuses: ["done"] })).length === 5, { timeoutMs: 20_000 })
    const done = await ws.list({ statuses: ["done"] })
    expect(done.every((d) => (d.data as { reviewedBy: string }).reviewedBy === "r")).toBe(true)
    // exactly once across both nodes: the one actor "r" reviewed each artifact once
    expect(await a.client.ref(reviewer, "r").ask("Reviewed", {})).toBe(5)
    const trails = await createPheromones(nc).detect({ location: "reviews", types: ["success"] })
    expect(trails.length).toBe(5)
    expect(trails[0].emitter).toBe("default/reviewer/r")
    await ws.close()
  })

  it("stigmergy - an interest that lists no tenants serves every tenant", async () => {
    const ws = createWorkspace(nc, { tenant: "acme-reviews", actor: "writer" })
    await ws.create({ id: "reports.a1", status: "needs_review" })
    await waitUntil(async () => (await ws.get("reports.a1"))?.status === "done", { timeoutMs: 20_000, message: "reviewed in tenant acme-reviews" })
    expect((await ws.get("reports.a1"))?.updatedBy).toBe("acme-reviews/reviewer/r")
    expect(await a.client.ref(reviewer, "r", "acme-reviews").ask("Reviewed", {})).toBe(1)
    const trails = await createPheromones(nc, { tenant: "acme-reviews" }).detect({ location: "reviews" })
    expect(trails.map((t) => t.emitter)).toEqual(["acme-reviews/reviewer/r"])
  })

  it("stigmergy - an actor closing its view stops only its own watches; the node's sweeper reports evaporations", async () => {
    await a.client.ref(scout, "s1").ask("Watch", { location: "zone" })
    await a.client.ref(scout, "s2").ask("Watch", { location: "zone" })
    expect(await consumersOn("default.zone.>")).toBe(2)
    await a.client.ref(scout, "s1").ask("Close", {})
    await waitUntil(async () => (await consumersOn("default.zone.>")) === 1, { message: "only s1's watch is gone" })
    // a plain watcher that never sweeps: only a node's sweeper can delete the expired trail
    const heard: Array<Evaporation & { at: number }> = []
    const w = await createPheromones(nc).watch({ evaporated: (e) => void heard.push({ ...e, at: Date.now() }) }, { location: "zone", sweep: false })
    const key = (await a.client.ref(scout, "s1").ask("Mark", { location: "zone", ttlMs: 300 })) as string
    const trail = await createPheromones(nc).get(key)
    await waitUntil(() => heard.some((e) => e.key === key), { message: "evaporated from the node's sweeper" })
    expect(heard[0]).toMatchObject({ key, reason: "expired", type: "coordination" })
    // the documented bound, loosely: within the sweep interval (plus slack for a loaded machine) of the TTL's end
    expect(heard[0].at - (trail!.depositedAt + trail!.ttlMs)).toBeLessThan(DEFAULT_SWEEP_INTERVAL_MS + 3000)
    // s2's watch went on
    await waitUntil(() => heardBy.get("s2")?.includes(key), { message: "s2 still hears deposits" })
    await w.stop()
  })

  it("stigmergy - watches an actor opens stop when its activation ends", async () => {
    await a.client.ref(napper, "n1").ask("Watch", { location: "nap" })
    expect(await consumersOn("default.nap.>")).toBe(1)
    // idle for passivateAfterMs: the actor sleeps, and its watch's consumer is deleted
    await waitUntil(async () => (await consumersOn("default.nap.>")) === 0, { timeoutMs: 15_000, message: "the watch stopped with the activation" })
  })

  it("stigmergy - a delivery that overruns its timeout goes back when its lease ends and is finished once", async () => {
    const ws = createWorkspace(nc, { tenant: "slow", actor: "writer" })
    await ws.create({ id: "reports.big", status: "slow_review" })
    await waitUntil(async () => (await ws.get("reports.big"))?.status === "done", { timeoutMs: 20_000, message: "finished by a later delivery" })
    await waitUntil(() => slowRuns[0]?.outcome !== undefined, { message: "the overrunning run ended" })
    // the first run's lease ran out: the artifact was delivered again (not released early), and
    // the late run's fenced transition was refused, so the work was done exactly once
    expect(slowRuns.length).toBeGreaterThanOrEqual(2)
    expect(slowRuns[0].outcome).toBe("conflict")
    expect(slowRuns.filter((r) => r.outcome === "done")).toHaveLength(1)
    expect(slowRuns[1].revision).toBeGreaterThan(slowRuns[0].revision)
  })
})
