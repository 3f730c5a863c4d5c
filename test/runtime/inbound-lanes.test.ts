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
    // active before the flood (a flood meeting an actor still loading its state fills its mailbox)
    await node.client.ref(seq, "s1", "lanes").ask("Get", {})
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
