/**
 * The tenant kill switch across two nodes: `ants tenant suspend` stops every actor of the tenant
 * on both nodes within 5 s (state checkpointed), its messages are answered `forbidden` with the
 * reason, other tenants go on, a node started later knows it (stored in KV), its tasks wait, and
 * `ants tenant resume` wakes the stopped actors with their state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { counter } from "../../actors/examples/index.ts"
import { main } from "../../runtime/cli/main.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { taskStatusSubject } from "../../subjects/tasks.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { settledNodes } from "../cluster/fixtures/node-processes.ts"

let server: NatsServer
let nc: NatsConnection
const nodes: AntsNode[] = []
const enc = new TextEncoder()
const dec = new TextDecoder()
const IDS = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]
const ask = async (tenant: string, id: string, tag: string, body: unknown) =>
  JSON.parse(dec.decode((await nc.request(agentSubject({ tenant, type: "counter", id, tag }), enc.encode(JSON.stringify(body)), { timeout: 10_000 })).data))
const cli = async (...argv: string[]) => {
  let out = ""
  let err = ""
  const code = await main([...argv, "--nats", server.url], { out: (s) => void (out += s), err: (s) => void (err += s) })
  return { code, out, err }
}
const activeOf = (tenant: string) => nodes.map((n) => n.stats().tenants[tenant] ?? 0)
const start = (id: string) => startNode({ agents: [counter], nats: server.url, nodeId: id, logger: () => {}, tasks: { workerDefaults: { idlePollMs: 500 } } })

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  nodes.push(await start("ks-a"), await start("ks-b"))
  await settledNodes(nc, ["ks-a", "ks-b"])
})

afterAll(async () => {
  for (const n of nodes) await n.drain()
  await nc?.close()
  await server?.stop()
})

describe("kill switch", () => {
  it("kill switch - suspend stops the tenant's actors on both nodes within 5 s, refuses its messages with the reason, and spares other tenants", async () => {
    for (const id of IDS) expect(await ask("acme", id, "Add", { n: 2 })).toEqual({ ok: true, value: { total: 2 } })
    expect(await ask("globex", "c1", "Add", { n: 1 })).toEqual({ ok: true, value: { total: 1 } })
    // both nodes host some of acme's actors
    expect(activeOf("acme").every((n) => n > 0)).toBe(true)

    const r = await cli("tenant", "suspend", "acme", "--reason", "invoice unpaid")
    expect(r.code).toBe(0)
    expect(r.out).toContain("SUSPENDED")
    await waitUntil(() => activeOf("acme").every((n) => n === 0), { timeoutMs: 5_000, message: "every acme actor stopped on both nodes" })

    const refused = await ask("acme", "c1", "Get", {})
    expect(refused).toMatchObject({ ok: false, error: { code: "forbidden" } })
    expect(refused.error.message).toBe('tenant "acme" is suspended: invoice unpaid')
    expect(await ask("globex", "c1", "Get", {})).toEqual({ ok: true, value: { total: 1 } })
    expect(nodes.every((n) => n.stats().suspended.acme?.reason === "invoice unpaid")).toBe(true)
  })

  it("kill switch - a node started after the suspension knows it (stored), and the tenant's tasks wait", async () => {
    const late = await start("ks-c")
    try {
      expect(late.stats().suspended.acme).toMatchObject({ reason: "invoice unpaid" })
      const served: string[] = []
      const w = await late.tasks!.serveCapability("orders.ship", async (p) => void served.push(JSON.stringify(p)), { tenant: "acme" })
      const t = await submitTask(nc, { capability: "orders.ship", payload: { n: 1 } }, { tenant: "acme" })
      const state = async () => JSON.parse(dec.decode((await nc.request(taskStatusSubject("acme", t.id), new Uint8Array(), { timeout: 2000 })).data)).value?.state
      await waitUntil(async () => (await state()) === "scheduled", { message: "the suspended tenant's task parked as scheduled" })
      expect(served).toEqual([])
      await w.stop()
    } finally {
      await late.drain()
    }
  })

  it("kill switch - resume wakes the stopped actors with their checkpointed state and lets messages through", async () => {
    const r = await cli("tenant", "resume", "acme")
    expect(r.code).toBe(0)
    await waitUntil(() => activeOf("acme").reduce((a, b) => a + b, 0) === IDS.length, { message: "the actors the suspension stopped are awake again" })
    for (const id of IDS) expect(await ask("acme", id, "Get", {})).toEqual({ ok: true, value: { total: 2 } })
    const shown = await cli("tenant", "show", "acme", "--json")
    expect(JSON.parse(shown.out).record.suspended).toBeUndefined()
  })
})
