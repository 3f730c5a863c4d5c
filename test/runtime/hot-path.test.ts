/**
 * The message hot path keeps its promises while it takes shortcuts: subjects parsed once, an
 * idle actor handling a message without a mailbox, a tell's reply checked but not encoded.
 * Also: a node forgets the sleeping actors whose partition another node took over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { INBOUND_MEMO_SIZE, inboundMemoSize, parseInboundOnce } from "../../subjects/inbound.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { parseInbound, PARTITIONS, SubjectError } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

/** Records the order in which it handles `Quick` (synchronous) and `Slow` (asynchronous) messages. */
const recorder = defineAgent({
  type: "recorder",
  protocol: {
    Quick: { message: Schema.Struct({ n: Schema.Number }), reply: Empty },
    Slow: { message: Schema.Struct({ n: Schema.Number }), reply: Empty },
    Seen: { message: Empty, reply: Schema.Array(Schema.Number) },
    /** Returns a reply that does not fit its schema. */
    Wrong: { message: Empty, reply: Schema.Struct({ ok: Schema.Boolean }) },
  },
  initialState: () => ({ seen: [] as number[] }),
  checkpoint: "never",
  handlers: {
    Quick: ({ n }, ctx) => {
      ctx.state.seen.push(n)
      return {}
    },
    Slow: async ({ n }, ctx) => {
      await new Promise((r) => setTimeout(r, 1))
      ctx.state.seen.push(n)
      return {}
    },
    Seen: (_m, ctx) => ctx.state.seen,
    Wrong: () => ({ ok: "yes" }) as never,
  },
})

const sleepy = defineAgent({
  type: "sleepy",
  protocol: { Touch: { message: Empty, reply: Empty } },
  initialState: () => ({ n: 0 }),
  checkpoint: "on-passivate",
  handlers: {
    Touch: (_m, ctx) => {
      ctx.state.n++
      return {}
    },
  },
})

const quiet = () => {}
let server: NatsServer
let nc: NatsConnection
let node: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  node = await startNode({ agents: [recorder], nats: server.url, logger: quiet })
})

afterAll(async () => {
  await node?.drain()
  await nc?.close()
  await server?.stop()
})

describe("hot path", () => {
  it("hot path - tells and asks to one actor are handled one at a time in arrival order, idle or busy", async () => {
    const client = node.client
    const ref = client.ref(recorder, "order")
    // from one connection NATS keeps the order; slow handlers make later messages queue, quick
    // ones find the actor idle and skip the mailbox
    const sent: number[] = []
    for (let n = 0; n < 300; n++) {
      sent.push(n)
      if (n % 7 === 3) ref.tell("Slow", { n })
      else if (n % 50 === 10) await ref.ask("Quick", { n })
      else ref.tell("Quick", { n })
    }
    const seen = await waitUntil(async () => {
      const s = await ref.ask("Seen", {})
      return s.length === sent.length ? s : undefined
    }, { timeoutMs: 10_000, message: "every message handled" })
    expect(seen).toEqual(sent)
  })

  it("hot path - a tell whose handler returns a reply that does not fit its schema counts as a handler failure", async () => {
    const before = node.stats().types.recorder
    node.client.ref(recorder, "wrong").tell("Wrong", {})
    await waitUntil(() => node.stats().types.recorder.handlerFailures === before.handlerFailures + 1, { message: "the failure counted" })
    // the ask gets the error; the tell above was checked the same way, just not answered
    const reply = await nc.request("ants.default.agent.recorder.wrong.Wrong", new TextEncoder().encode("{}"), { timeout: 5000 })
    expect(JSON.parse(new TextDecoder().decode(reply.data)).error.code).toBe("handler_failed")
    expect(node.stats().types.recorder.handlerFailures).toBe(before.handlerFailures + 2)
  })
})

describe("inbound", () => {
  it("inbound - a remembered subject parses as parseInbound does, and bad subjects are not remembered", () => {
    const subject = "ants._part.7.acme.recorder.r-1.Quick"
    const first = parseInboundOnce(subject)
    const again = parseInboundOnce(subject)
    expect(again).toBe(first)
    expect(first).toEqual({ ...(parseInbound(subject) as object), key: "acme\u0000r-1", typeKey: "recorder\u0000acme\u0000r-1", part: 7 })
    // an unmapped subject (a server without the mapping) gets the partition the server would compute
    expect(parseInboundOnce("ants.acme.agent.recorder.r-1.Quick")).toMatchObject({ partition: -1, part: partitionOf("recorder", "r-1") })
    expect(parseInboundOnce("ants.default.agent.recorder.r 1.Quick")).toBeInstanceOf(SubjectError)
    expect(parseInboundOnce("ants.default.agent.recorder.r1.quick")).toBeInstanceOf(SubjectError)
    const size = inboundMemoSize()
    parseInboundOnce("ants.default.agent.recorder.r1.quick")
    expect(inboundMemoSize()).toBe(size)
  })

  it("inbound - the memo stays bounded whatever the number of subjects", () => {
    for (let i = 0; i < INBOUND_MEMO_SIZE * 2 + 10; i++) {
      const p = parseInboundOnce(`ants._part.${i % PARTITIONS}.default.recorder.a${i}.Quick`)
      expect(p).toMatchObject({ id: `a${i}`, key: `default\u0000a${i}` })
      expect(inboundMemoSize()).toBeLessThanOrEqual(INBOUND_MEMO_SIZE)
    }
  })
})

describe("sleeping actors", () => {
  it("sleeping actors - a node forgets those whose partition moves to another node, booking their sleep so far", async () => {
    const opts = { agents: [sleepy], nats: server.url, passivateAfterMs: 60, idleAfterMs: 20, logger: quiet }
    const a = await startNode({ ...opts, nodeId: "sleep-a" })
    let b: AntsNode | undefined
    try {
      const ids = Array.from({ length: 24 }, (_, i) => `s${i}`)
      for (const id of ids) await a.client.ref(sleepy, id).ask("Touch", {})
      await waitUntil(() => a.stats().types.sleepy.sleeping === ids.length, { message: "all asleep on a" })
      b = await startNode({ ...opts, nodeId: "sleep-b" })
      const nodeB = b
      // once the partitions are split, a keeps only the sleepers it still owns
      await waitUntil(
        () => {
          const mine = ids.filter((id) => a.cluster.ownerOf("sleepy", id) === a.id)
          return mine.length < ids.length && a.cluster.partitions().length + nodeB.cluster.partitions().length === PARTITIONS && a.stats().types.sleepy.sleeping === mine.length
        },
        { timeoutMs: 15_000, message: "a forgets the sleepers that moved" },
      )
      const stats = a.stats().types.sleepy
      expect(stats.sleeping).toBeLessThan(ids.length)
      expect(stats.sleepingMs).toBeGreaterThan(0)
      // a moved sleeper wakes on its new node with its state
      const moved = ids.find((id) => a.cluster.ownerOf("sleepy", id) === nodeB.id)!
      await a.client.ref(sleepy, moved).ask("Touch", {})
      await waitUntil(() => nodeB.stats().types.sleepy.activations >= 1, { message: "woken on b" })
    } finally {
      await b?.drain()
      await a.drain()
    }
  })
})
