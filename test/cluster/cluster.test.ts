/**
 * Cluster behaviour with several nodes in one process against one server: ownership, join and
 * leave, forwarding, leases, durable mail, inspection. The multi-process failover tests (kill -9,
 * three servers) are in failover.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { counter, echo } from "../../actors/examples/index.ts"
import { actorsCommand, nodesCommand } from "../../runtime/cli/cluster-commands.ts"
import { listActors, listNodes } from "../../runtime/cluster/inspect-client.ts"
import { Leases, isLeaseHeldError } from "../../runtime/cluster/leases.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { Kvm } from "@nats-io/kv"
import { INTEREST_GRACE_MS } from "../../runtime/cluster/releasing.ts"
import { MAIL_CONSUMER, MAIL_DEAD_STREAM, MAIL_STREAM, MEMBERS_BUCKET, routeSubject } from "../../subjects/cluster.ts"
import { PARTITIONS } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { settleNodes } from "../helpers/settle-nodes.ts"
import { tally } from "./fixtures/tally-agent.ts"
import { where } from "./fixtures/where-agent.ts"

let server: NatsServer
let nc: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()
const agents = [echo, counter, where, tally]
const quiet = () => {}

async function rawAsk(subject: string, body = "{}"): Promise<any> {
  const r = await nc.request(subject, enc.encode(body), { timeout: 5000 })
  return JSON.parse(dec.decode(r.data))
}

/** Every node a test started; drained after each test whatever happened. */
const started: AntsNode[] = []
const start = async (nodeId: string) => {
  const n = await startNode({ agents, nats: server.url, nodeId, logger: process.env.DBG ? (l, m) => console.log(nodeId, l, m) : quiet, cluster: { mail: { ackWaitMs: 2_000 } } })
  started.push(n)
  return n
}

/** Every node sees every other node and the partitions are split between them, each exactly once. */
const settled = (nodes: AntsNode[]) => settleNodes(nodes, 10_000)

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.drain()))
})

afterAll(async () => {
  await nc?.close()
  await server?.stop()
})

describe("cluster (one process)", () => {
  it("cluster - nodes split the partitions by rendezvous; a joining node takes only its share; leaving gives it back", async () => {
    const a = await start("ca")
    const b = await start("cb")
    try {
      await settled([a, b])
      const beforeA = new Set(a.cluster.partitions())
      expect(beforeA.size).toBeGreaterThan(10)
      expect(b.cluster.partitions().length).toBeGreaterThan(10)
      const c = await start("cc")
      await settled([a, b, c])
      // minimal movement: nothing moved between a and b
      for (const p of a.cluster.partitions()) expect(beforeA.has(p)).toBe(true)
      expect(c.cluster.partitions().length).toBeGreaterThan(5)
      // every node agrees on every owner
      for (const id of ["x1", "x2", "x3", "x4"]) {
        expect(new Set([a, b, c].map((n) => n.cluster.ownerOf("where", id))).size).toBe(1)
      }
      await c.drain()
      await settled([a, b])
      expect(new Set(a.cluster.partitions())).toEqual(beforeA)
    } finally {
      await Promise.all([a.drain(), b.drain()])
    }
  })

  it("cluster - a losing node keeps a partition until a grace after the gaining node serves it (so its interest reaches every server first)", async () => {
    const a = await start("ga")
    await settled([a])
    // the members bucket as an outsider sees it: when each node's entry first showed it serving, or no longer serving, a partition
    const kv = await new Kvm(nc).open(MEMBERS_BUCKET)
    const seen = new Map<string, number>()
    const watch = await kv.watch()
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== "PUT") continue
        const r = e.json<{ node: string; serving: number[] }>()
        const at = performance.now()
        for (const p of r.serving) if (!seen.has(`${r.node} serves ${p}`)) seen.set(`${r.node} serves ${p}`, at)
        for (let p = 0; p < PARTITIONS; p++) if (!r.serving.includes(p) && seen.has(`${r.node} serves ${p}`) && !seen.has(`${r.node} left ${p}`)) seen.set(`${r.node} left ${p}`, at)
      }
    })()
    const b = await start("gb")
    await settled([a, b])
    const moved = b.cluster.partitions()
    expect(moved.length).toBeGreaterThan(10)
    // the nodes settled on what they hold; this watch may still be on its way to the entries that say so
    await waitUntil(() => moved.every((p) => seen.has(`ga left ${p}`) && seen.has(`gb serves ${p}`)), { timeoutMs: 10_000, message: "the members watch shows every moved partition served by gb and left by ga" })
    watch.stop()
    // a's entry showed each moved partition gone no sooner than the grace after b's showed it served
    // (both read off one watch, in the bucket's order; half the grace allows for how they arrived)
    const gaps = moved.map((p) => seen.get(`ga left ${p}`)! - seen.get(`gb serves ${p}`)!)
    expect(gaps.every((g) => Number.isFinite(g))).toBe(true)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTEREST_GRACE_MS / 2)
  })

  it("cluster - a message sent to a node that does not own the actor is forwarded and answered once, by the owner", async () => {
    const a = await start("fa")
    const b = await start("fb")
    try {
      await settled([a, b])
      // an actor a owns, addressed at b's route subject
      let id = "f0"
      for (let i = 0; a.cluster.ownerOf("where", id) !== "fa"; i++) id = `f${i}`
      const subject = routeSubject("fb", partitionOf("where", id), { tenant: "default", type: "where", id, tag: "Hit" })
      const inbox = nc.subscribe("_INBOX.fwdtest.>")
      const replies: any[] = []
      void (async () => {
        for await (const m of inbox) replies.push(JSON.parse(dec.decode(m.data)))
      })()
      nc.publish(subject, enc.encode("{}"), { reply: "_INBOX.fwdtest.1" })
      await waitUntil(() => replies.length === 1)
      await new Promise((r) => setTimeout(r, 200))
      inbox.unsubscribe()
      expect(replies).toEqual([{ ok: true, value: { node: "fa", count: 1 } }])
      // the public subject reaches the same single activation
      expect(await rawAsk(`ants.default.agent.where.${id}.Hit`)).toEqual({ ok: true, value: { node: "fa", count: 2 } })
    } finally {
      await Promise.all([a.drain(), b.drain()])
    }
  })

  it("cluster - a lease held by a live node refuses a second activation; a dead holder's lease is taken over", async () => {
    const live = new Set(["la", "lb"])
    const log = () => {}
    const la = new Leases(nc, { nodeId: "la", incarnation: "1", isLive: (n) => live.has(n), log })
    const lb = new Leases(nc, { nodeId: "lb", incarnation: "1", isLive: (n) => live.has(n), log })
    await la.start()
    await lb.start()
    const actor = { tenant: "default", type: "where", id: "leased" }
    // each node's activation is an object of its own (a lease is kept on its holder)
    const onB = { ...actor }
    let lostOnA = ""
    await la.acquire(actor, (r) => (lostOnA = r))
    const refused = await lb.acquire(onB, () => {}).catch((e) => e)
    expect(isLeaseHeldError(refused) && refused.holder).toBe("la")
    // la dies (no longer a member): lb takes the lease over, fenced by revision
    live.delete("la")
    await lb.acquire(onB, () => {})
    expect(lb.takeovers).toBe(1)
    // la finds out when it checks, and its release does not remove lb's lease
    expect(await la.verifyAll()).toBe(1)
    expect(lostOnA).toContain("taken over")
    la.release(actor)
    await la.settled()
    live.add("la")
    const again = await la.acquire(actor, () => {}).catch((e) => e)
    expect(isLeaseHeldError(again) && again.holder).toBe("lb")
    lb.release(onB)
    await lb.settled()
    await la.acquire(actor, () => {})
    la.release(actor)
    await la.settled()
    la.stop()
    lb.stop()
  })

  it("cluster - graceful leave under a stream of asks: every ask succeeds, no actor answers from two nodes, no count is lost", async () => {
    const a = await start("ga")
    const b = await start("gb")
    await settled([a, b])
    const ids = Array.from({ length: 12 }, (_, i) => `g${i}`)
    const seen = new Map<string, Array<{ node: string; count: number }>>()
    const failures: string[] = []
    let stop = false
    const worker = async (id: string) => {
      while (!stop) {
        try {
          const r = await rawAsk(`ants.default.agent.where.${id}.Hit`)
          if (!r.ok) failures.push(`${id}: ${r.error.code} ${r.error.message}`)
          else (seen.get(id) ?? seen.set(id, []).get(id)!).push(r.value)
        } catch (e) {
          failures.push(`${id}: ${(e as Error).message}`)
        }
      }
    }
    const running = ids.map(worker)
    try {
      await waitUntil(() => ids.every((id) => (seen.get(id)?.length ?? 0) >= 3))
      const c = await start("gc")
      await settled([a, b, c])
      await waitUntil(() => ids.every((id) => (seen.get(id)?.length ?? 0) >= 10))
      await b.drain()
      await settled([a, c])
      const counts = new Map(ids.map((id) => [id, seen.get(id)!.length]))
      await waitUntil(() => ids.every((id) => seen.get(id)!.length >= counts.get(id)! + 5))
      stop = true
      await Promise.all(running)
      expect(failures).toEqual([])
      for (const id of ids) {
        const s = seen.get(id)!
        // one activation at a time: counts go 1, 2, 3, ... with no repeat and no gap
        expect(s.map((x) => x.count)).toEqual(s.map((_, i) => i + 1))
      }
      // some actors really moved
      expect(ids.some((id) => new Set(seen.get(id)!.map((x) => x.node)).size > 1)).toBe(true)
      await c.drain()
    } finally {
      stop = true
      await Promise.all(running)
      await a.drain()
    }
  })

  it("cluster - durable tells are delivered at least once, de-duplicated by msgId; hopeless ones are dead-lettered with the reason", async () => {
    const a = await start("da")
    const b = await start("db")
    try {
      await settled([a, b])
      const ref = a.client.ref(counter, "durable-1")
      const r1 = await ref.tellDurable("Add", { n: 2 }, { msgId: "m-1" })
      const r2 = await ref.tellDurable("Add", { n: 2 }, { msgId: "m-1" })
      expect(r2.duplicate).toBe(true)
      expect(r2.seq).toBe(r1.seq)
      await b.client.tellDurable({ agent: "counter", id: "durable-1" }, "Add", { n: 3 }, { msgId: "m-2" })
      // a plain client: JetStream publish with Nats-Msg-Id on the documented subject
      const h = (await import("@nats-io/nats-core")).headers()
      h.set("Nats-Msg-Id", "m-3")
      await nc.request("ants.default.mail.counter.durable-1.Add", enc.encode('{"n":5}'), { headers: h, timeout: 5000 })
      await waitUntil(async () => (await rawAsk("ants.default.agent.counter.durable-1.Get")).value.total === 10, { timeoutMs: 10_000 })
      // a message that can never fit: dead-lettered at once with its code
      await a.client.tellDurable({ agent: "counter", id: "durable-1" }, "Add", { n: "not a number" }, { msgId: "bad-1" })
      const jsm = await jetstreamManager(nc)
      await waitUntil(async () => (await jsm.streams.info(MAIL_DEAD_STREAM)).state.messages === 1, { timeoutMs: 10_000 })
      const dead = await jsm.streams.getMessage(MAIL_DEAD_STREAM, { seq: (await jsm.streams.info(MAIL_DEAD_STREAM)).state.first_seq })
      expect(dead?.subject).toBe("ants._sys.dead.mail.default.counter.durable-1.Add")
      expect(dead?.header.get("Ants-Dead-Code")).toBe("invalid_message")
      // and it is done with in the mail stream (not redelivered after every ack wait)
      await waitUntil(async () => {
        const ci = await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)
        return ci.num_ack_pending === 0 && ci.num_pending === 0
      }, { timeoutMs: 10_000, message: "no durable message is left unacked" })
      expect((await rawAsk("ants.default.agent.counter.durable-1.Get")).value.total).toBe(10)
    } finally {
      await Promise.all([a.drain(), b.drain()])
    }
  })

  it("cluster - a durable tell whose handler outlasts the ack wait is delivered once (the node reports it is working)", async () => {
    const a = await start("sa")
    try {
      await settled([a])
      const jsm = await jetstreamManager(nc)
      const before = (await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)).delivered.consumer_seq
      // ack wait is 2 s here (start()); the handler takes 3 s
      const h = (await import("@nats-io/nats-core")).headers()
      h.set("Nats-Msg-Id", "slow-1")
      await nc.request("ants.default.mail.tally.slow.Add", enc.encode('{"n":5,"delayMs":3000}'), { headers: h, timeout: 5000 })
      await waitUntil(
        async () => {
          const ci = await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)
          return ci.num_pending === 0 && ci.num_ack_pending === 0 && ci.delivered.consumer_seq > before
        },
        { timeoutMs: 15_000, message: "the slow durable tell is acked" },
      )
      const ci = await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)
      expect(ci.delivered.consumer_seq - before).toBe(1)
      expect((await rawAsk("ants.default.agent.tally.slow.Get")).value.total).toBe(5)
    } finally {
      await a.drain()
    }
  })

  it("cluster - nodes hosting different types: each type's actors live on the nodes that host it", async () => {
    const ha = await startNode({ agents: [where], nats: server.url, nodeId: "ha", logger: quiet })
    const hb = await startNode({ agents: [counter], nats: server.url, nodeId: "hb", logger: quiet })
    started.push(ha, hb)
    try {
      await waitUntil(() => ha.cluster.members().length === 2 && hb.cluster.members().length === 2)
      // both serve every partition (each is the only host of its type); a message that lands on the wrong one is forwarded
      await waitUntil(() => ha.cluster.partitions().length === PARTITIONS && hb.cluster.partitions().length === PARTITIONS)
      await Promise.all([ha.nc.flush(), hb.nc.flush()])
      for (let i = 0; i < 20; i++) {
        expect(await rawAsk(`ants.default.agent.where.h${i}.Hit`)).toEqual({ ok: true, value: { node: "ha", count: 1 } })
        expect(await rawAsk(`ants.default.agent.counter.h${i}.Add`, '{"n":2}')).toEqual({ ok: true, value: { total: 2 } })
      }
      expect(hb.stats().types.where).toBeUndefined()
      expect((await rawAsk("ants.default.agent.echo.h1.Say", '{"text":"x"}')).error.code).toBe("unknown_type")
    } finally {
      await Promise.all([ha.drain(), hb.drain()])
    }
  })

  it("cluster - without the server's partition mapping, nodes still place actors by owner (forwarding)", async () => {
    const plain = await natsFixture({ config: null })
    const a = await startNode({ agents, nats: plain.url, nodeId: "pa", logger: quiet })
    const b = await startNode({ agents, nats: plain.url, nodeId: "pb", logger: quiet })
    const pnc = await rawConnect(plain.url)
    try {
      expect(a.routing).toBe("direct")
      await waitUntil(() => a.cluster.members().length === 2 && b.cluster.members().length === 2)
      await Promise.all([a.nc.flush(), b.nc.flush()])
      for (let i = 0; i < 20; i++) {
        const r = JSON.parse(dec.decode((await pnc.request(`ants.default.agent.where.p${i}.Hit`, enc.encode("{}"), { timeout: 5000 })).data))
        expect(r).toEqual({ ok: true, value: { node: a.cluster.ownerOf("where", `p${i}`), count: 1 } })
      }
    } finally {
      await pnc.close()
      await Promise.all([a.drain(), b.drain()])
      await plain.stop()
    }
  })

  it("cluster - nodes and actors are answered by every node and printed by the CLI functions", async () => {
    const a = await start("ia")
    const b = await start("ib")
    try {
      await settled([a, b])
      for (let i = 0; i < 6; i++) await rawAsk(`ants.default.agent.where.i${i}.Hit`)
      const nodes = await listNodes(nc)
      expect(nodes.map((n) => n.node)).toEqual(["ia", "ib"])
      expect(nodes.reduce((s, n) => s + n.partitions.length, 0)).toBe(PARTITIONS)
      const { actors } = await listActors(nc, { type: "where" })
      expect(actors.map((x) => x.id).sort()).toEqual(["i0", "i1", "i2", "i3", "i4", "i5"])
      for (const x of actors) expect(x.node).toBe(a.cluster.ownerOf("where", x.id))
      const out: string[] = []
      expect(await nodesCommand([], { nc, json: false, out: (s) => out.push(s) })).toBe(0)
      expect(out.join("\n")).toMatch(/ia\s+up/)
      expect(out.join("\n")).toContain("64/64 partitions served")
      const jsonOut: string[] = []
      expect(await actorsCommand(["--type", "where"], { nc, json: true, out: (s) => jsonOut.push(s) })).toBe(0)
      expect(JSON.parse(jsonOut[0]).actors).toHaveLength(6)
      const table: string[] = []
      await actorsCommand(["--type", "where"], { nc, json: false, out: (s) => table.push(s) })
      expect(table.join("\n")).toMatch(/default\s+where\s+i0\s+(active|idle)\s+i[ab]/)
      expect(await actorsCommand([], { nc, json: false, out: () => {}, err: () => {} })).toBe(2)
      const errs: string[] = []
      expect(await nodesCommand(["--timeout", "soon"], { nc, json: false, out: () => {}, err: (s) => errs.push(s) })).toBe(2)
      expect(await actorsCommand(["--type", "where", "--limit", "0"], { nc, json: false, out: () => {}, err: (s) => errs.push(s) })).toBe(2)
      expect(errs.join("\n")).toContain('--timeout must be a whole number of at least 1, got "soon"')
      expect(errs.join("\n")).toContain("--limit must be a whole number")
      // a single server: replicas default to 1 and the node says what that means
      expect(nodes[0].guarantees).toMatchObject({ replicas: 1, survivesServerLoss: false })
      // the only warnings on a single server: the published vulnerabilities of its version, if any
      expect(nodes[0].guarantees.warnings.filter((w) => !w.includes("CVE-"))).toEqual([])
      expect(nodes[0].guarantees.statements[0]).toContain("single server, runtime buckets R1")
    } finally {
      await Promise.all([a.drain(), b.drain()])
    }
  })
})
