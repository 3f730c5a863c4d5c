import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { POOL_ID, poolSpreadSubject, poolSubject, typeLoadLocation } from "../../subjects/elastic.ts"
import { startTaskEngine } from "../../runtime/tasks/engine.ts"
import { readAuditStream, verifyAudit, viewReceipts } from "../../runtime/governance/mod.ts"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const ctx = natsPerFile()
const dec = new TextDecoder()
const enc = new TextEncoder()
const quiet = () => {}

/** Work the test holds until it opens the gate: the load is the test's to control. */
let gate = Promise.resolve()
let openGate: () => void = () => undefined
const closeGate = () => {
  gate = new Promise<void>((r) => (openGate = r))
}

const pooled = (type: string, warmPool: { min: number; max: number; prefix?: string; scaleDownAfterMs?: number; cooldownMs?: number }) =>
  defineAgent({
    type,
    protocol: {
      Work: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Struct({ n: Schema.Number, by: Schema.String }) },
      Ping: { message: Empty, reply: Schema.String },
    },
    warmPool,
    handlers: {
      Work: async ({ n }, c) => {
        await gate
        return { n, by: c.self.id }
      },
      Ping: (_m, c) => c.self.id,
    },
  })

async function ask(subject: string, body: unknown = {}): Promise<any> {
  const r = await ctx.nc.request(subject, enc.encode(JSON.stringify(body)), { timeout: 20_000 })
  return JSON.parse(dec.decode(r.data))
}

const inspectPool = async (tenant: string, type: string) => (await ask(poolSubject({ tenant, type, tag: "_Inspect" }))).value
const awake = (nodes: AntsNode[], type: string, tenant = "default") =>
  nodes.reduce((s, n) => s + n.cluster.actors({ type, tenant }).actors.filter((a) => a.state === "active" || a.state === "idle").length, 0)

describe("elastic pools", () => {
  it("pools - a pool grows on demand up to its max, routes to idle members and shrinks back to its min when idle", async () => {
    const type = "elastic_grow"
    const receipts: Array<{ tenant: string; kind: string; detail: Record<string, unknown> }> = []
    const node = await startNode({
      agents: [pooled(type, { min: 1, max: 3, prefix: "w-", scaleDownAfterMs: 400 })],
      nats: ctx.server.url,
      idleAfterMs: 50,
      logger: quiet,
      elastic: { tickMs: 50, loadIntervalMs: false, record: async (tenant, kind, detail) => void receipts.push({ tenant, kind, detail }) },
    })
    try {
      await waitUntil(() => awake([node], type) === 1, { message: "the minimum is warm from the start" })
      closeGate()
      const replies = Array.from({ length: 5 }, (_, n) => ask(poolSubject({ tenant: "default", type, tag: "Work" }), { n }))
      // three members (the max), the other two messages wait in members' mailboxes
      await waitUntil(async () => (await inspectPool("default", type)).size === 3, { message: "the pool grew to its max" })
      await waitUntil(() => awake([node], type) === 3, { message: "three members awake" })
      const busy = await inspectPool("default", type)
      expect(busy.max).toBe(3)
      expect(busy.members.map((m: { id: string }) => m.id)).toEqual(["w-0", "w-1", "w-2"])
      expect(busy.idle).toBe(0)
      openGate()
      const done = await Promise.all(replies)
      expect(done.every((r) => r.ok)).toBe(true)
      expect(done.map((r) => r.value.n).sort()).toEqual([0, 1, 2, 3, 4])
      expect(new Set(done.map((r) => r.value.by))).toEqual(new Set(["w-0", "w-1", "w-2"]))
      // idle: back to the minimum, the members let go are passivated
      await waitUntil(async () => (await inspectPool("default", type)).size === 1, { timeoutMs: 20_000, message: "the pool shrank to its min" })
      await waitUntil(() => awake([node], type) === 1, { timeoutMs: 20_000, message: "members above the min passivated" })
      const ups = receipts.filter((r) => r.kind === "pool_scaled_up")
      const downs = receipts.filter((r) => r.kind === "pool_scaled_down")
      expect(ups.map((r) => r.detail.to as number).sort()).toEqual([2, 3])
      expect(downs.map((r) => r.detail.to)).toEqual([2, 1])
      for (const u of ups) expect(typeof u.detail.scaleUpMs).toBe("number")
      // an idle pool serves from its idle member without growing
      const r = await ask(poolSubject({ tenant: "default", type, tag: "Ping" }))
      expect(r).toEqual({ ok: true, value: "w-0" })
      expect((await inspectPool("default", type)).size).toBe(1)
    } finally {
      openGate()
      await node.drain()
    }
  })

  it("pools - critical load pheromones grow a pool without messages; the growth is timed; a tenant has its own pool", async () => {
    const type = "elastic_signal"
    const node = await startNode({
      agents: [pooled(type, { min: 0, max: 2, scaleDownAfterMs: 300, cooldownMs: 100 })],
      nats: ctx.server.url,
      idleAfterMs: 50,
      logger: quiet,
      elastic: { tickMs: 50, loadIntervalMs: false, pools: { acme: { [type]: { min: 2, max: 4 } } } },
    })
    const ph = createPheromones(ctx.nc, { tenant: "default", emitter: "test" })
    try {
      // tenant acme's pool is configured for it: its minimum of 2 is warm, default's (0) is not
      await waitUntil(() => awake([node], type, "acme") === 2, { message: "acme's minimum warm" })
      expect(awake([node], type)).toBe(0)
      // the test deposits the load a node would: critical at the type's load location
      await ph.deposit({ type: "load", location: typeLoadLocation(type), id: "some-node", strength: 1, ttlMs: 60_000, decay: "linear" })
      await waitUntil(async () => (await inspectPool("default", type)).size === 2, { message: "grew on the load signal" })
      await waitUntil(() => awake([node], type) === 2, { message: "the new members woke" })
      const grown = await inspectPool("default", type)
      expect(grown.load).toBeGreaterThanOrEqual(0.9)
      expect(grown.events.filter((e: { direction: string }) => e.direction === "up").length).toBe(2)
      await waitUntil(async () => (await inspectPool("default", type)).events.every((e: { scaleUpMs?: number; direction: string }) => e.direction !== "up" || typeof e.scaleUpMs === "number"), {
        message: "each growth timed to its member's answer",
      })
      // the max holds under load
      await new Promise((r) => setTimeout(r, 300))
      expect((await inspectPool("default", type)).size).toBe(2)
      // the load goes: back to 0 members
      await ph.evaporate({ location: typeLoadLocation(type), id: "some-node" })
      await waitUntil(async () => (await inspectPool("default", type)).size === 0, { timeoutMs: 20_000, message: "shrank to min 0" })
      expect((await inspectPool("acme", type)).size).toBe(2)
    } finally {
      await ph.close()
      await node.drain()
    }
  })

  it("pools - a durable task's handler hands its work to an idle member of the type's pool", async () => {
    const type = "elastic_tasked"
    const byMember: string[] = []
    const def = defineAgent({
      type,
      protocol: { Work: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Struct({ n: Schema.Number, by: Schema.String }) } },
      warmPool: { min: 1, max: 2 },
      capabilities: {
        "elastic.work": async (payload: { n: number }, c) => {
          const r = (await c.ask({ agent: type, id: POOL_ID }, "Work", payload)) as { by: string }
          byMember.push(r.by)
          return r
        },
      },
      handlers: { Work: ({ n }, c) => ({ n, by: c.self.id }) },
    })
    const node = await startNode({ agents: [def], nats: ctx.server.url, logger: quiet, elastic: { tickMs: 50, loadIntervalMs: false } })
    const engine = await startTaskEngine(ctx.nc)
    try {
      for (let n = 0; n < 4; n++) await engine.submit({ capability: "elastic.work", payload: { n } })
      await waitUntil(() => byMember.length === 4, { timeoutMs: 30_000, message: "every task done by a pool member" })
      expect(byMember.every((id) => id === `${type}-0` || id === `${type}-1`)).toBe(true)
    } finally {
      await engine.stop()
      await node.drain()
    }
  })

  it("pools - without a record port, scaling steps are receipts of the tenant's audit chain", async () => {
    const type = "elastic_audited"
    const keys = mkdtempSync(join(tmpdir(), "ants-elastic-audit-"))
    const node = await startNode({
      agents: [pooled(type, { min: 0, max: 1, scaleDownAfterMs: 200 })],
      nats: ctx.server.url,
      idleAfterMs: 50,
      logger: quiet,
      governance: { keyFile: join(keys, "node-key.pem"), lifecycle: false },
      elastic: { tickMs: 50, loadIntervalMs: false },
    })
    try {
      expect((await ask(poolSubject({ tenant: "default", type, tag: "Ping" }))).value).toBe(`${type}-0`)
      const kinds = async () =>
        viewReceipts((await readAuditStream(ctx.nc, "default")).messages)
          .flatMap((v) => ("kind" in v && (v.detail as { type?: string }).type === type ? [v.kind] : []))
      await waitUntil(async () => (await kinds()).includes("pool_scaled_down"), { timeoutMs: 20_000, message: "growth and shrink recorded" })
      expect(await kinds()).toEqual(["pool_scaled_up", "pool_scaled_down"])
      expect((await verifyAudit(ctx.nc, "default")).ok).toBe(true)
    } finally {
      await node.drain()
      rmSync(keys, { recursive: true, force: true })
    }
  })

  it("pools - members are placed across the nodes of a cluster and the pool address works from either", async () => {
    const type = "elastic_spread"
    const def = pooled(type, { min: 8, max: 8 })
    // fixed node ids: a member is placed on the owner of its partition (rendezvous over the node
    // ids), so with ids made afresh each run all eight landed on one node about one run in a
    // hundred (the CI dry run of 9b60bbf waited 30 s for a split that could not come); with these
    // the placement is the same every run, some on each node
    const a = await startNode({ agents: [def], nats: ctx.server.url, logger: quiet, nodeId: "spread-a", elastic: { tickMs: 50, loadIntervalMs: false } })
    const b = await startNode({ agents: [def], nats: ctx.server.url, logger: quiet, nodeId: "spread-b", elastic: { tickMs: 50, loadIntervalMs: false } })
    try {
      await waitUntil(() => awake([a], type) > 0 && awake([b], type) > 0 && awake([a, b], type) === 8, { timeoutMs: 30_000, message: "members split between the nodes" })
      const by = new Set<string>()
      for (let i = 0; i < 16; i++) {
        const r = await ask(poolSubject({ tenant: "default", type, tag: "Ping" }))
        expect(r.ok).toBe(true)
        by.add(r.value)
      }
      // an idle pool spreads work over its idle members in turn
      expect(by.size).toBe(8)
      const bad = await ask(poolSubject({ tenant: "default", type: "nopool", tag: "Ping" }))
      expect(bad.ok).toBe(false)
    } finally {
      await b.drain()
      await a.drain()
    }
  })

  it("pools - the spread address is routed by every node hosting the type, each to members idle across both nodes, and by the other alone when one leaves", async () => {
    const type = "elastic_routed"
    const def = pooled(type, { min: 8, max: 8 })
    const opts = { agents: [def], nats: ctx.server.url, logger: quiet, elastic: { tickMs: 50, loadIntervalMs: false as const } }
    // fixed node ids: the members' placement (rendezvous) is the same every run, some on each node
    const a = await startNode({ ...opts, nodeId: "route-a" })
    let b: AntsNode | undefined = await startNode({ ...opts, nodeId: "route-b" })
    try {
      await waitUntil(() => awake([a], type) > 0 && awake([b!], type) > 0 && awake([a, b!], type) === 8, { timeoutMs: 30_000, message: "members split between the nodes" })
      const spread = (tag: string) => poolSpreadSubject({ tenant: "default", type, tag })
      for (let i = 0; i < 40; i++) expect((await ask(spread("Ping"))).ok).toBe(true)
      // both nodes routed: the queue group shares the address, no node stands between caller and pool
      const routers = new Map<string, { served: number; router: string }>()
      await waitUntil(async () => {
        const st = (await ask(spread("_Inspect"))).value
        routers.set(st.router, st)
        return routers.size === 2
      }, { timeoutMs: 20_000, message: "both routers answer _Inspect" })
      expect([...routers.values()].every((r) => r.served > 0)).toBe(true)
      expect([...routers.values()].reduce((n, r) => n + r.served, 0)).toBeGreaterThanOrEqual(40)

      // eight held asks, each sent once the one before reached its member: two routers, and every ask finds an idle member
      closeGate()
      const inFlight = () => [a, b!].reduce((n, node) => n + (node.stats().messages[type]?.default?.inFlight ?? 0), 0)
      const held: Array<Promise<any>> = []
      for (let k = 1; k <= 8; k++) {
        held.push(ask(spread("Work"), { n: k }))
        await waitUntil(() => inFlight() >= k, { timeoutMs: 20_000, message: `ask ${k} reaches a member` })
      }
      openGate()
      const done = await Promise.all(held)
      expect(done.every((r) => r.ok)).toBe(true)
      // routing across nodes is best effort (a router knows its own node's members exactly, the
      // other node's from its own relays), so two asks may meet on one member; what holds is that
      // the asks spread over more members than either node runs alone
      const onOneNode = Math.max(awake([a], type), awake([b!], type))
      expect(new Set(done.map((r) => r.value.by)).size).toBeGreaterThan(onOneNode)

      // one node leaves: the other routes the address alone, to the members it now runs
      await b.drain()
      b = undefined
      for (let i = 0; i < 10; i++) expect((await ask(spread("Ping"))).ok).toBe(true)
      // a type no node hosts has no one to take its spread address
      await expect(ask(poolSpreadSubject({ tenant: "default", type: "nopool", tag: "Ping" }))).rejects.toThrow(/no responders/i)
    } finally {
      openGate()
      await b?.drain()
      await a.drain()
    }
  })
})
