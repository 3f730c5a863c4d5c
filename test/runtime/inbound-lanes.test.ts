/**
 * Inbound lanes (runtime/node/inbound-lanes.ts): a flooded partition moves to a connection of
 * its own, so its backlog no longer sits in front of other partitions' messages on the node's
 * main connection; a move loses nothing; a partition that calms down moves back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import type { NatsConnection } from "@nats-io/nats-core"
import { chaos, echo } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { freePort } from "../../runtime/server/nats-server.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { createInboundLanes } from "../../runtime/node/inbound-lanes.ts"
import { natsLink } from "../../runtime/node/lane-thread.ts"

/** Counts the numbers it is sent (and those out of sequence, which a move may cause: not asserted). */
const seq = defineAgent({
  type: "seq",
  protocol: {
    Next: { message: Schema.Struct({ n: Schema.Number }), reply: Empty, description: "The next number of the sequence." },
    Get: { message: Empty, reply: Schema.Struct({ last: Schema.Number, seen: Schema.Number, outOfOrder: Schema.Number }), description: "What was seen." },
  },
  initialState: () => ({ last: 0, seen: 0, outOfOrder: 0 }),
  checkpoint: "never",
  handlers: {
    Next: ({ n }, ctx) => {
      if (n !== ctx.state.last + 1) ctx.state.outOfOrder++
      ctx.state.last = n
      ctx.state.seen++
      return {}
    },
    Get: (_m, ctx) => ({ ...ctx.state }),
  },
})

const enc = new TextEncoder()
const unlimited = { ratePerSec: Number.POSITIVE_INFINITY }
let server: NatsServer
let node: AntsNode
let pub: NatsConnection

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({
    agents: [seq, chaos, echo],
    nats: server.url,
    logger: () => {},
    lanes: { hotRate: 1_000, coolMs: 3_000 },
    limits: { tenantRate: unlimited, agentRate: unlimited },
    // these tests are about lanes: a machine so loaded that the loop stalls for a second must not
    // make the node refuse work as out of touch with the swarm (the accounting test covers that)
    cluster: { heartbeatMs: 1_000, expiryMs: 10_000 },
  })
  expect(node.routing).toBe("partitioned")
  pub = await rawConnect(server.url)
})

afterAll(async () => {
  await pub?.close()
  await node?.drain()
  await server?.stop()
})

describe("inbound lanes", () => {
  it("inbound lanes - a flooded partition moves to a connection of its own, and nothing is lost in the move", async () => {
    const N = 40_000
    const subject = agentSubject({ tenant: "lanes", type: "seq", id: "s1", tag: "Next" })
    // active before the flood (a flood meeting an actor still loading its state fills its mailbox),
    // and the lane opened with the node ready (its reader thread takes a moment to start)
    await node.client.ref(seq, "s1", "lanes").ask("Get", {})
    await waitUntil(() => node.stats().lanes?.ready === 1, { timeoutMs: 30_000, message: "the first lane ready" })
    for (let n = 1; n <= N; n++) {
      pub.publish(subject, enc.encode(`{"n":${n}}`))
      if (n % 2_000 === 0) await pub.flush()
    }
    await pub.flush()
    const seen = await waitUntil(async () => {
      const r = await node.client.ref(seq, "s1", "lanes").ask("Get", {})
      return r.seen === N ? r : undefined
    }, { timeoutMs: 60_000, message: "every Next handled" })
    expect(node.stats().lanes?.hot).toContain(partitionOf("seq", "s1"))
    expect(seen.seen).toBe(N)
    // the node's accounting: every tell (and each Get) received and handled, none refused
    const c = node.stats().messages.seq.lanes
    expect(c.received).toBeGreaterThan(N)
    expect(c.rejected).toEqual({})
    expect(c.handled + c.inFlight).toBe(c.received)
  })

  it("inbound lanes - another partition's ask is answered while a flooded partition's backlog still waits on its lane", async () => {
    const flood = agentSubject({ tenant: "lanes", type: "chaos", id: "flood", tag: "Spin" })
    const part = partitionOf("chaos", "flood")
    expect(partitionOf("echo", "quiet")).not.toBe(part)
    await node.client.ref(chaos, "flood", "lanes").ask("Get", {})
    const handled = () => node.stats().messages.chaos.lanes.handled - 1
    // make the partition hot first
    for (let i = 0; i < 2_000; i++) pub.publish(flood, enc.encode('{"ms":0}'))
    await pub.flush()
    await waitUntil(() => node.stats().lanes?.hot.includes(part) && handled() === 2_000, { timeoutMs: 30_000, message: "the flooded partition on a lane" })
    // a backlog of slow messages (1 ms each, 2 KB each so a socket chunk holds few) on the lane
    const K = 1_000
    const slow = enc.encode(JSON.stringify({ ms: 1, pad: "p".repeat(2_000) }))
    for (let i = 0; i < K; i++) pub.publish(flood, slow)
    await pub.flush()
    const reply = await node.client.ref(echo, "quiet", "lanes").ask("Say", { text: "hi" }, { timeoutMs: 30_000 })
    const handledWhenAnswered = handled() - 2_000
    expect(reply.text).toBe("hi")
    // on one connection the ask would have waited behind all K
    expect(handledWhenAnswered).toBeLessThan(K / 2)
    await waitUntil(() => handled() === 2_000 + K, { timeoutMs: 60_000, message: "the backlog handled" })
  })

  it("inbound lanes - a partition that calms down moves back to the main connection", async () => {
    await waitUntil(() => node.stats().lanes?.hot.length === 0, { timeoutMs: 30_000, message: "every partition back on the main connection" })
    const lanes = node.stats().lanes!
    expect(lanes.moves).toBeGreaterThanOrEqual(4)
    expect(lanes.lanes).toBeGreaterThanOrEqual(1)
    expect(lanes.disconnects).toBe(0)
    // and it still serves
    const r = await node.client.ref(seq, "s1", "lanes").ask("Get", {})
    expect(r.seen).toBe(40_000)
  })
})

describe("a lane's reader thread", () => {
  it("reader thread - what is over an actor's rate is refused on the lane's own thread, asks answered overloaded with the reason, and every message accounted for", async () => {
    // a node and a server of its own (alone in its swarm): an actor's rate of 2,000 a second, so
    // most of a flood is over it
    const own = await natsFixture()
    const pub = await rawConnect(own.url)
    const n = await startNode({
      agents: [echo],
      nats: own.url,
      logger: () => {},
      lanes: { hotRate: 1_000, coolMs: 60_000 },
      limits: { tenantRate: unlimited, agentRate: { ratePerSec: 2_000, burst: 2_000 } },
      cluster: { heartbeatMs: 1_000, expiryMs: 10_000 },
    })
    try {
      const ref = n.client.ref(echo, "loud", "reader")
      await ref.ask("Say", { text: "first" })
      await waitUntil(() => n.stats().lanes?.ready === 1, { timeoutMs: 30_000, message: "the first lane ready" })
      const subject = agentSubject({ tenant: "reader", type: "echo", id: "loud", tag: "Say" })
      const body = enc.encode('{"text":"x"}')
      const flood = async (count: number) => {
        for (let i = 1; i <= count; i++) {
          pub.publish(subject, body)
          if (i % 2_000 === 0) await pub.flush()
        }
        await pub.flush()
      }
      // the partition made hot first, then flooded on its lane, asks among the flood
      const [F, N] = [5_000, 60_000]
      await flood(F)
      await waitUntil(() => n.stats().lanes?.hot.includes(partitionOf("echo", "loud")), { timeoutMs: 30_000, message: "the flooded partition on a lane" })
      await flood(N)
      const asks = await Promise.all(Array.from({ length: 50 }, () => pub.request(subject, body, { timeout: 10_000 }).then((m) => JSON.parse(new TextDecoder().decode(m.data)) as { ok: boolean; error?: { code: string; message: string } })))
      const refusedAsks = asks.filter((a) => !a.ok)
      for (const a of refusedAsks) {
        expect(a.error?.code).toBe("overloaded")
        expect(a.error?.message).toMatch(/echo\/loud is over its rate of 2000 messages\/s/)
      }
      const c = await waitUntil(() => {
        const x = n.stats().messages.echo?.reader
        return x !== undefined && x.inFlight === 0 && x.received === 1 + F + N + 50 ? x : undefined
      }, { timeoutMs: 60_000, message: "every message received and settled" })
      // the reader thread refused most of the flood: the main thread never dispatched those
      const lanes = n.stats().lanes!
      expect(lanes.refused).toBeGreaterThan(N / 2)
      expect(lanes.disconnects).toBe(0)
      expect(c.rejected.overloaded).toBeGreaterThanOrEqual(lanes.refused)
      expect(c.handled + (c.rejected.overloaded ?? 0)).toBe(c.received)
      expect(Object.keys(c.rejected)).toEqual(["overloaded"])
      // and the actor still answers once its rate allows
      await new Promise((r) => setTimeout(r, 1_100))
      expect((await ref.ask("Say", { text: "after" })).text).toBe("after")
    } finally {
      await pub.close()
      await n.drain()
      await own.stop()
    }
  })
})

describe("a lane that ends by itself", () => {
  it("lost lane - its partitions go back to the main connection, and what is published after still arrives", async () => {
    // a server of its own: the file's node subscribes every partition in the same queue groups
    const own = await natsFixture()
    const pub = await rawConnect(own.url)
    const main = await rawConnect(own.url)
    const second = await rawConnect(own.url)
    let lose: ((why: string) => void) | undefined
    const logs: string[] = []
    const lanes = createInboundLanes(
      main,
      async (name) => {
        // a lane whose end the test decides (as a reader thread's death would)
        const link = natsLink(second, name)
        return { ...link, onLost: (l: (why: string) => void) => void (lose = l) }
      },
      (_l, m) => void logs.push(m),
      { hotRate: 100, coolMs: 60_000 },
    )
    const p = partitionOf("echo", "x")
    const got: string[] = []
    const sub = lanes.subscribe(p, (m) => void got.push(m.string()))
    try {
      await main.flush()
      const subject = agentSubject({ tenant: "lost", type: "echo", id: "x", tag: "Say" })
      for (let i = 0; i < 500; i++) pub.publish(subject, enc.encode(`a${i}`))
      await pub.flush()
      await waitUntil(() => lanes.stats().hot.includes(p) && got.length === 500, { timeoutMs: 10_000, message: "the partition on its lane, every message there" })
      // the lane ends: its connection goes, and the partition returns to the main connection
      await second.close()
      lose!("test")
      expect(lanes.stats().hot).toEqual([])
      expect(lanes.stats().disconnects).toBe(1)
      expect(logs).toContain(`inbound lane-1 ended (test); its partitions ${p} go back to the main connection`)
      await main.flush()
      for (let i = 0; i < 100; i++) pub.publish(subject, enc.encode(`b${i}`))
      await pub.flush()
      await waitUntil(() => got.length === 600, { timeoutMs: 10_000, message: "what was published after the loss" })
      expect(got.slice(500)).toEqual(Array.from({ length: 100 }, (_, i) => `b${i}`))
    } finally {
      sub.unsubscribe()
      await lanes.close()
      await main.close()
      await pub.close()
      await own.stop()
    }
  })
})

describe("a node's connections", () => {
  it("connections - on a server that authenticates, membership heartbeats get a connection of their own, and a lane is ready", async () => {
    const monitor = await freePort()
    const auth = await natsFixture({ authenticate: true, args: ["-m", String(monitor)] })
    const logs: string[] = []
    const n = await startNode({ agents: [echo], nats: auth.url, credentials: auth.credentials, nodeId: "conns", logger: (_l, m) => void logs.push(m) })
    try {
      const names = await waitUntil(async () => {
        const connz = (await (await fetch(`http://127.0.0.1:${monitor}/connz`)).json()) as { connections: Array<{ name?: string }> }
        const found = connz.connections.map((c) => c.name ?? "")
        return found.includes("ants-conns-lane-1") ? found : undefined
      }, { timeoutMs: 10_000, message: "the node's connections listed" })
      expect(names).toContain("ants-conns")
      expect(names).toContain("ants-conns-control")
      expect(logs.filter((m) => /no control connection|cannot be paced/.test(m))).toEqual([])
    } finally {
      await n.drain()
      await auth.stop()
    }
  })
})
