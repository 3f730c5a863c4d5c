import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import type { NatsConnection } from "@nats-io/nats-core"
import { counter, echo } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { isAskError } from "../../runtime/client/messaging.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

/**
 * Records, for each message, its arrival sequence and whether another handler of the same actor
 * was running meanwhile. The handler awaits a delay that varies per message, so a runtime that
 * ran two at once, or out of order, would be seen.
 */
const sequencer = defineAgent({
  type: "sequencer",
  protocol: {
    Step: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Struct({ n: Schema.Number, seq: Schema.Number, overlapped: Schema.Boolean }) },
    Report: { message: Empty, reply: Schema.Struct({ order: Schema.Array(Schema.Number), overlaps: Schema.Number }) },
  },
  checkpoint: "never",
  initialState: () => ({ running: 0, seen: 0, order: [] as number[], overlaps: 0 }),
  handlers: {
    Step: async ({ n }, ctx) => {
      const s = ctx.state
      s.running++
      const overlapped = s.running > 1
      if (overlapped) s.overlaps++
      const seq = s.seen++
      await new Promise((r) => setTimeout(r, (n * 7) % 4))
      await Promise.resolve()
      s.order.push(n)
      s.running--
      return { n, seq, overlapped }
    },
    Report: (_m, ctx) => ({ order: ctx.state.order, overlaps: ctx.state.overlaps }),
  },
})

/** Listens to topics: one declared binding, and one subscription made by a handler. */
const listener = defineAgent({
  type: "listener",
  protocol: {
    Listen: { message: Empty, reply: Schema.Null },
    Heard: { message: Schema.Struct({ word: Schema.String }), reply: Schema.Null },
    Words: { message: Empty, reply: Schema.Array(Schema.String) },
  },
  checkpoint: "never",
  topics: [{ pattern: "declared.*", tag: "Heard", to: "l1" }],
  initialState: () => ({ words: [] as string[] }),
  handlers: {
    Listen: (_m, ctx) => {
      ctx.subscribe("dynamic.*", "Heard")
      return null
    },
    Heard: ({ word }, ctx) => {
      ctx.state.words.push(word)
      return null
    },
    Words: (_m, ctx) => ctx.state.words,
  },
})

let server: NatsServer
let node: AntsNode
let nc: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

async function rawAsk(subject: string, body: string): Promise<any> {
  const r = await nc.request(subject, enc.encode(body), { timeout: 5000 })
  return JSON.parse(dec.decode(r.data))
}

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [echo, counter, sequencer, listener], nats: server.url, logger: () => {} })
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
})

describe("runtime node", () => {
  it("node - routes through the server's partition mapping", () => {
    expect(node.routing).toBe("partitioned")
  })

  it("node - answers a plain NATS request with the ok envelope", async () => {
    expect(await rawAsk("ants.default.agent.echo.e1.Say", '{"text":"hi"}')).toEqual({ ok: true, value: { text: "hi" } })
  })

  it("node - keeps state per id and activates actors on their first message", async () => {
    await rawAsk("ants.default.agent.counter.a.Add", '{"n":2}')
    await rawAsk("ants.default.agent.counter.a.Add", '{"n":3}')
    await rawAsk("ants.default.agent.counter.b.Add", '{"n":10}')
    expect(await rawAsk("ants.default.agent.counter.a.Get", "{}")).toEqual({ ok: true, value: { total: 5 } })
    expect(await rawAsk("ants.default.agent.counter.b.Get", "")).toEqual({ ok: true, value: { total: 10 } })
  })

  it("node - tenants are separate actors", async () => {
    await rawAsk("ants.acme.agent.counter.a.Add", '{"n":1}')
    expect(await rawAsk("ants.acme.agent.counter.a.Get", "{}")).toEqual({ ok: true, value: { total: 1 } })
  })

  it("node - handles one message at a time, in arrival order", async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, () => rawAsk("ants.default.agent.counter.order.Add", '{"n":1}')))
    const totals = replies.map((r) => r.value.total).sort((a, b) => a - b)
    expect(totals).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })

  it("node - a tell (no reply subject) is processed", async () => {
    nc.publish("ants.default.agent.counter.told.Add", enc.encode('{"n":7}'))
    await waitUntil(async () => (await rawAsk("ants.default.agent.counter.told.Get", "{}")).value.total === 7)
  })

  it("node - typed refs from the node's client", async () => {
    const ref = node.client.ref(counter, "typed")
    expect(await ref.ask("Add", { n: 4 })).toEqual({ total: 4 })
    const err = await ref.ask("Fail", {}).catch((e) => e)
    expect(isAskError(err) && err.code).toBe("handler_failed")
  })

  it("node - bad input gets the right error codes and the node keeps serving", async () => {
    expect((await rawAsk("ants.default.agent.nosuch.x.Say", "{}")).error.code).toBe("unknown_type")
    expect((await rawAsk("ants.default.agent.echo.x.Shout", "{}")).error.code).toBe("unknown_tag")
    expect((await rawAsk("ants.default.agent.echo.x.Say", "not json")).error.code).toBe("invalid_message")
    const bad = await rawAsk("ants.default.agent.echo.x.Say", '{"text":42}')
    expect(bad.error.code).toBe("invalid_message")
    expect(bad.error.details[0].path).toEqual(["text"])
    expect((await rawAsk("ants.default.agent.echo.x.lowercase", "{}")).error.code).toBe("invalid_subject")
    expect((await rawAsk("ants.default.agent.echo.x.Say", '{"text":"still here"}')).value.text).toBe("still here")
  })

  it("node - a bad tell is counted and recorded, not silently dropped", async () => {
    const before = node.stats().rejected.invalid_message ?? 0
    const sub = nc.subscribe(`ants._sys.node.${node.id}.rejected`, { max: 1 })
    nc.publish("ants.default.agent.echo.x.Say", enc.encode('{"text":1}'))
    for await (const m of sub) {
      const rec = JSON.parse(dec.decode(m.data))
      expect(rec.code).toBe("invalid_message")
      expect(rec.subject).toBe("ants.default.agent.echo.x.Say")
    }
    expect(node.stats().rejected.invalid_message).toBe(before + 1)
    expect(node.stats().recentRejections.at(-1)?.code).toBe("invalid_message")
  })

  it("node - a handler that throws answers handler_failed and the actor keeps serving", async () => {
    await rawAsk("ants.default.agent.counter.f.Add", '{"n":1}')
    const failed = await rawAsk("ants.default.agent.counter.f.Fail", '{"reason":"boom"}')
    expect(failed.error.code).toBe("handler_failed")
    expect(failed.error.message).toContain("boom")
    expect((await rawAsk("ants.default.agent.counter.f.Add", '{"n":1}')).ok).toBe(true)
  })

  it("node - an async handler runs one message at a time, in arrival order", async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, (_, n) => rawAsk("ants.default.agent.sequencer.s1.Step", JSON.stringify({ n }))))
    // one connection publishes in call order, so arrival order is 0..99
    replies.forEach((r, i) => {
      expect(r.ok).toBe(true)
      expect(r.value).toEqual({ n: i, seq: i, overlapped: false })
    })
    for (let n = 100; n < 150; n++) nc.publish("ants.default.agent.sequencer.s1.Step", enc.encode(JSON.stringify({ n })))
    await waitUntil(async () => (await rawAsk("ants.default.agent.sequencer.s1.Report", "{}")).value.order.length === 150)
    const report = (await rawAsk("ants.default.agent.sequencer.s1.Report", "{}")).value
    expect(report.overlaps).toBe(0)
    expect(report.order).toEqual(Array.from({ length: 150 }, (_, i) => i))
  })

  it("node - subjects with the wrong number of tokens get invalid_subject, not no responders", async () => {
    for (const subject of ["ants.default.agent.echo.Say", "ants.default.agent.echo.e1.Say.extra", "ants.default.agent", "ants.default.agent.echo"]) {
      const r = await rawAsk(subject, '{"text":"hi"}')
      expect(r.ok, subject).toBe(false)
      expect(r.error.code, subject).toBe("invalid_subject")
      expect(r.error.message, subject).toContain("ants.<tenant>.agent.<type>.<id>.<Tag>")
    }
  })

  it("node - a malformed tell is counted and recorded with the subject the sender used", async () => {
    const before = node.stats().rejected.invalid_subject ?? 0
    const sub = nc.subscribe(`ants._sys.node.${node.id}.rejected`, { max: 2 })
    const records: any[] = []
    const got = (async () => {
      for await (const m of sub) records.push(JSON.parse(dec.decode(m.data)))
    })()
    await nc.flush()
    nc.publish("ants.default.agent.echo.Say", enc.encode("{}"))
    nc.publish("ants.default.agent.echo.e1.say", enc.encode("{}"))
    await got
    expect(records.map((r) => [r.code, r.subject])).toEqual([
      ["invalid_subject", "ants.default.agent.echo.Say"],
      ["invalid_subject", "ants.default.agent.echo.e1.say"],
    ])
    expect(node.stats().rejected.invalid_subject).toBe(before + 2)
  })

  it("node - an ask to the runtime's _sys space gets a clear error instead of a timeout", async () => {
    const r = await rawAsk("ants._sys.agent.echo.e1.Say", '{"text":"hi"}')
    expect(r.error.code).toBe("invalid_subject")
    expect(r.error.message).toContain("reserved for the runtime")
    // the runtime's own probe subject too, when someone asks it
    expect((await rawAsk("ants._sys.agent.probe.x1.Probe", "{}")).error.code).toBe("invalid_subject")
  })

  it("node - an over-long token is refused with invalid_subject and the connection survives", async () => {
    const r = await rawAsk(`ants.default.agent.echo.${"x".repeat(300)}.Say`, '{"text":"hi"}')
    expect(r.error.code).toBe("invalid_subject")
    expect(r.error.message).toContain("at most 128")
    const err = await node.client.ref(echo, "y".repeat(5000)).ask("Say", { text: "hi" }).catch((e) => e)
    expect(err._tag).toBe("SubjectError")
    expect(err.code).toBe("invalid_subject")
    expect(node.nc.isClosed()).toBe(false)
    expect(await node.client.ref(echo, "after").ask("Say", { text: "still up" })).toEqual({ text: "still up" })
  })

  it("node - topic events that cannot be delivered are counted in the node's stats", async () => {
    await rawAsk("ants.default.agent.listener.l2.Listen", "{}")
    await node.nc.flush()
    const before = node.stats()
    nc.publish("ants.default.topic.declared.x", enc.encode("not json"))
    nc.publish("ants.default.topic.dynamic.x", enc.encode("not json"))
    nc.publish("ants.default.topic.dynamic.x", enc.encode('{"word":42}'))
    nc.publish("ants.default.topic.declared.x", enc.encode('{"word":"ok"}'))
    nc.publish("ants.default.topic.dynamic.x", enc.encode('{"word":"fine"}'))
    await waitUntil(() => node.stats().rejectedEvents === before.rejectedEvents + 3)
    expect(node.stats().rejected.invalid_message).toBe((before.rejected.invalid_message ?? 0) + 3)
    expect(node.stats().recentRejections.slice(-3).map((r) => r.subject).sort()).toEqual([
      "ants.default.topic.declared.x",
      "ants.default.topic.dynamic.x",
      "ants.default.topic.dynamic.x",
    ])
    await waitUntil(async () => (await rawAsk("ants.default.agent.listener.l1.Words", "{}")).value.includes("ok"))
    await waitUntil(async () => (await rawAsk("ants.default.agent.listener.l2.Words", "{}")).value.includes("fine"))
  })

  it("node - counter refuses numbers JSON cannot carry back", async () => {
    const r = await rawAsk("ants.default.agent.counter.inf.Add", '{"n":1e309}')
    expect(r.error.code).toBe("invalid_message")
    await rawAsk("ants.default.agent.counter.inf.Add", '{"n":1e308}')
    const overflow = await rawAsk("ants.default.agent.counter.inf.Add", '{"n":1e308}')
    expect(overflow.error.code).toBe("handler_failed")
    expect(overflow.error.message).toContain("overflows")
    expect(await rawAsk("ants.default.agent.counter.inf.Get", "{}")).toEqual({ ok: true, value: { total: 1e308 } })
  })

  it("node - startNode refuses a mailbox that is not an integer >= 1, saying what to do", async () => {
    for (const mailbox of [0, -1, 1.5, Number.NaN]) {
      const err = await startNode({ agents: [echo], nats: server.url, mailbox, logger: () => {} }).catch((e) => e)
      expect(err).toBeInstanceOf(Error)
      expect(err.message).toContain("mailbox must be an integer >= 1")
      expect(err.message).toContain("leave it out for the default")
    }
  })

  it("node - drain finishes when the NATS server is gone", async () => {
    const lonely = await natsFixture()
    const warnings: string[] = []
    const n = await startNode({ agents: [counter], nats: lonely.url, logger: (level, m) => void (level !== "info" && warnings.push(m)) })
    expect(await n.client.ref(counter, "gone").ask("Add", { n: 1 })).toEqual({ total: 1 })
    await lonely.kill()
    await n.drain()
    await n.closed
    expect(warnings.some((w) => w.includes("the NATS connection is gone"))).toBe(true)
    await lonely.stop()
  }, 60_000)
})
