/**
 * Nothing lost silently: every message a node receives is handled, forwarded, or rejected with
 * a reason, or still in flight, per type and tenant, at every moment, also while the node is
 * flooded, stalled by a handler, out of touch with the swarm, or out of mailbox bytes; and a
 * flooding tenant is held to its rate without starving the others.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { chaos, counter, echo } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { isAskError } from "../../runtime/client/messaging.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

interface Counts {
  received: number
  handled: number
  forwarded: number
  inFlight: number
  rejected: Record<string, number>
}

let server: NatsServer
let node: AntsNode
let nc: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

async function messages(): Promise<Record<string, Record<string, Counts>>> {
  const r = await nc.request(`ants._sys.node.${node.id}.stats`, undefined, { timeout: 10_000 })
  return JSON.parse(dec.decode(r.data)).value.messages
}

function balances(c: Counts): boolean {
  const rejected = Object.values(c.rejected).reduce((a, b) => a + b, 0)
  return c.received === c.handled + c.forwarded + rejected + c.inFlight
}

/** An ask retried while the node answers `unavailable` (out of touch after a stall: "retry"). */
async function askRetry<T>(ask: () => Promise<T>): Promise<T> {
  return await waitUntil(async () => {
    try {
      return { value: await ask() }
    } catch (e) {
      if (isAskError(e) && e.code === "unavailable") return undefined
      throw e
    }
  }, { timeoutMs: 30_000, intervalMs: 100 }).then((r) => r.value)
}

function rejectedTotal(c: Counts): number {
  return Object.values(c.rejected).reduce((a, b) => a + b, 0)
}

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({
    agents: [echo, counter, chaos],
    nats: server.url,
    logger: () => {},
    limits: {
      mailboxBytes: 3 * 1024 * 1024,
      tenantRates: { noisy: { ratePerSec: 1_000, burst: 1_000 } },
    },
  })
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
})

describe("every message accounted for", () => {
  it("accounting - received = handled + rejected + in flight, exactly, under a flood and a stall", async () => {
    // stall the node for longer than the membership expiry: it is out of touch meanwhile
    nc.publish(agentSubject({ tenant: "acct", type: "chaos", id: "staller", tag: "Spin" }), enc.encode('{"ms":2500}'))
    const add = agentSubject({ tenant: "acct", type: "counter", id: "c1", tag: "Add" })
    const bad = agentSubject({ tenant: "acct", type: "counter", id: "c2", tag: "Add" })
    for (let i = 0; i < 100; i++) nc.publish(add, enc.encode('{"n":1}'))
    for (let i = 0; i < 5_000; i++) nc.publish(bad, enc.encode("{bad"))
    for (let i = 0; i < 20_000; i++) nc.publish(add, enc.encode('{"n":1}'))
    await nc.flush()
    // in flight: the identity holds at every moment, not only at the end
    const during = await messages()
    for (const byTenant of Object.values(during)) for (const c of Object.values(byTenant)) expect(balances(c)).toBe(true)
    const done = await waitUntil(async () => {
      const m = await messages()
      const c = m.counter?.acct
      return c && c.received === 25_100 && c.inFlight === 0 ? m : undefined
    }, { timeoutMs: 60_000, message: "every tell to the counter settled" })
    const c = done.counter.acct
    expect(balances(c)).toBe(true)
    // refused while out of touch (unavailable, when the stall outlasted the membership expiry)
    // or for the bad body (invalid_message): counted either way, nothing vanished
    expect((c.rejected.invalid_message ?? 0) + (c.rejected.unavailable ?? 0)).toBeGreaterThanOrEqual(5_000)
    expect(c.handled + rejectedTotal(c)).toBe(25_100)
    // what was counted handled really was: the total is the number of Adds handled
    const total = await askRetry(() => node.client.ref(counter, "c1", "acct").ask("Get", {}))
    expect(total.total).toBe(c.handled)
    expect(balances(done.chaos.acct)).toBe(true)
  })

  it("mailbox - bounded by bytes per actor: large tells behind a slow handler are refused overloaded, and counted", async () => {
    const ref = node.client.ref(chaos, "slow")
    // the node may still be out of touch after the stall above: wait until it serves again
    await askRetry(() => ref.ask("Get", {}))
    // long enough that all eight large asks arrive while it runs, even on a loaded machine
    const slow = ref.ask("Sleep", { ms: 6_000 }, { timeoutMs: 30_000 })
    const pad = "p".repeat(900_000)
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => ref.ask("Sleep", { ms: 0, pad }, { timeoutMs: 30_000 }).then(() => "ok", (e) => (isAskError(e) ? e.code : String(e)))),
    )
    await slow
    expect(replies.filter((r) => r === "overloaded").length).toBeGreaterThanOrEqual(1)
    expect(replies.filter((r) => r === "ok").length).toBeGreaterThanOrEqual(1)
    const m = await messages()
    expect(m.chaos.default.rejected.overloaded).toBe(replies.filter((r) => r === "overloaded").length)
    expect(balances(m.chaos.default)).toBe(true)
  })

  it("fairness - a tenant flooding past its rate is refused overloaded and counted; another tenant is served", async () => {
    const flood = agentSubject({ tenant: "noisy", type: "echo", id: "n1", tag: "Say" })
    const body = enc.encode('{"text":"flood"}')
    for (let i = 0; i < 5_000; i++) nc.publish(flood, body)
    const quiet = await Promise.all(Array.from({ length: 20 }, (_, i) => askRetry(() => node.client.ref(echo, `q${i}`, "quiet").ask("Say", { text: "hi" }))))
    expect(quiet.every((r) => r.text === "hi")).toBe(true)
    const m = await waitUntil(async () => {
      const s = await messages()
      return s.echo?.noisy?.received === 5_000 && s.echo.noisy.inFlight === 0 ? s : undefined
    }, { timeoutMs: 60_000 })
    // a burst of 1,000 and 1,000/s: most of 5,000 sent at once are refused
    expect(m.echo.noisy.rejected.overloaded).toBeGreaterThan(2_000)
    expect(balances(m.echo.noisy)).toBe(true)
    expect(m.echo.quiet.rejected.overloaded ?? 0).toBe(0)
  })
})
