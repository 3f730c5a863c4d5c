import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { counter } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { isAskError } from "../../runtime/client/messaging.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

/** Asks a counter on behalf of its caller, tells another, publishes and subscribes to topics. */
const relay = defineAgent({
  type: "relay",
  protocol: {
    AddVia: { message: Schema.Struct({ counter: Schema.String, n: Schema.Number }), reply: Schema.Number },
    TellVia: { message: Schema.Struct({ counter: Schema.String, n: Schema.Number }), reply: Schema.Null },
    CrossTenant: { message: Empty, reply: Schema.Null },
    Listen: { message: Schema.Struct({ pattern: Schema.String }), reply: Schema.Null },
    Heard: { message: Schema.Struct({ word: Schema.String }), reply: Schema.Null },
    Shout: { message: Schema.Struct({ topic: Schema.String, word: Schema.String }), reply: Schema.Null },
    Words: { message: Empty, reply: Schema.Array(Schema.String) },
  },
  initialState: () => ({ words: [] as string[] }),
  checkpoint: "never",
  handlers: {
    AddVia: async ({ counter: id, n }, ctx) => (await ctx.ref(counter, id).ask("Add", { n })).total,
    TellVia: ({ counter: id, n }, ctx) => {
      ctx.tell({ agent: "counter", id }, "Add", { n })
      return null
    },
    CrossTenant: async (_m, ctx) => {
      await ctx.ask({ agent: "counter", id: "x", tenant: "other" }, "Get", {})
      return null
    },
    Listen: ({ pattern }, ctx) => {
      ctx.subscribe(pattern, "Heard")
      return null
    },
    Heard: ({ word }, ctx) => {
      ctx.state.words.push(word)
      return null
    },
    Shout: ({ topic, word }, ctx) => {
      ctx.publish(topic, { word })
      return null
    },
    Words: (_m, ctx) => ctx.state.words,
  },
})

let server: NatsServer
let node: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [relay, counter], nats: server.url, logger: () => {} })
})

afterAll(async () => {
  await node?.drain()
  await server?.stop()
})

describe("actor context", () => {
  it("context - an actor asks and tells another actor", async () => {
    const r = node.client.ref(relay, "r1")
    expect(await r.ask("AddVia", { counter: "k", n: 2 })).toBe(2)
    await r.ask("TellVia", { counter: "k", n: 3 })
    await waitUntil(async () => (await node.client.ref(counter, "k").ask("Get", {})).total === 5)
  })

  it("context - an actor cannot address another tenant", async () => {
    const err = await node.client.ref(relay, "r1").ask("CrossTenant", {}).catch((e) => e)
    expect(isAskError(err) && err.code).toBe("handler_failed")
    expect(err.message).toContain("may not address tenant")
  })

  it("context - actors publish to and subscribe to topics of their tenant", async () => {
    const listener = node.client.ref(relay, "listener")
    await listener.ask("Listen", { pattern: "news.*" })
    await node.nc.flush()
    await node.client.ref(relay, "shouter").ask("Shout", { topic: "news.today", word: "hello" })
    await node.client.ref(relay, "other-tenant", "elsewhere").ask("Shout", { topic: "news.today", word: "not for you" })
    await waitUntil(async () => (await listener.ask("Words", {})).length === 1)
    expect(await listener.ask("Words", {})).toEqual(["hello"])
  })

  it("context - the protocol gives the JSON Schema of each message", () => {
    const js = counter.protocol.jsonSchema()
    expect(js.Add.message).toMatchObject({ type: "object", required: ["n"], properties: { n: { type: "number" } } })
    expect(js.Get.reply).toMatchObject({ type: "object", required: ["total"] })
  })

  it("context - a full mailbox answers overloaded", async () => {
    const slow = defineAgent({
      type: "slow",
      protocol: { Wait: { message: Empty, reply: Schema.Null } },
      mailbox: 2,
      checkpoint: "never",
      handlers: { Wait: () => new Promise<null>((r) => setTimeout(() => r(null), 200)) },
    })
    const own = await natsFixture()
    const n2 = await startNode({ agents: [slow], nats: own.url, logger: () => {} })
    try {
      const ref = n2.client.ref(slow, "s")
      const results = await Promise.all(Array.from({ length: 6 }, () => ref.ask("Wait", {}).then(() => "ok", (e) => (isAskError(e) ? e.code : "other"))))
      expect(results.filter((r) => r === "overloaded").length).toBeGreaterThan(0)
      expect(results.filter((r) => r === "ok").length).toBeGreaterThan(0)
    } finally {
      await n2.drain()
      await own.stop()
    }
  })
})
