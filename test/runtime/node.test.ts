import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { counter, echo } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node.ts"
import { isAskError } from "../../runtime/client.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

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
  node = await startNode({ agents: [echo, counter], nats: server.url, logger: () => {} })
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
})
