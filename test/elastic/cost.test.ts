/**
 * Lifecycle costs that last, against a real nats-server: the totals per type and per tenant are
 * stored in KV by each node under its own keys, so they are the same after a node restarts and
 * are the sum of what two nodes metered at once; `ants cost` prints them.
 */
import { afterEach, describe, expect, it } from "vitest"
import { costCommand } from "../../runtime/cli/cost-command.ts"
import { flushLifecycleCosts, readLifecycleCosts } from "../../runtime/elastic/cost-meter.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { settleNodes } from "../helpers/settle-nodes.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { napper } from "./fixtures/napper-agent.ts"

const nats = natsPerFile()
const enc = new TextEncoder()
const started: AntsNode[] = []

async function start(nodeId: string): Promise<AntsNode> {
  const n = await startNode({ agents: [napper()], nats: nats.server.url, nodeId, passivateAfterMs: 100, idleAfterMs: 30, logger: () => {}, models: false, memory: false })
  started.push(n)
  return n
}

async function add(tenant: string, id: string): Promise<void> {
  const r = JSON.parse(new TextDecoder().decode((await nats.nc.request(`ants.${tenant}.agent.napper.${id}.Add`, enc.encode('{"n":1}'), { timeout: 10_000 })).data))
  expect(r.ok).toBe(true)
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.drain()))
})

describe("lasting costs", () => {
  it("costs - the totals per type and tenant are the same after the node restarts, and ants cost prints them", async () => {
    const a = await start("cost-a")
    for (let i = 0; i < 5; i++) await add("default", `r${i}`)
    for (let i = 0; i < 2; i++) await add("acme", `r${i}`)
    await waitUntil(() => a.stats().types.napper!.sleeping === 7, { timeoutMs: 20_000, message: "all asleep" })
    await a.drain()
    const before = await readLifecycleCosts(nats.nc)
    expect(before.byType.napper).toMatchObject({ activations: 7, restarts: 0, nodes: 1 })
    expect(before.byTenant.default!.activations).toBe(5)
    expect(before.byTenant.acme!.activations).toBe(2)
    expect(before.byType.napper!.activeMs).toBeGreaterThan(0)
    expect(before.byType.napper!.sleepingMs).toBeGreaterThan(0)
    // with no node running, ants cost still prints what the nodes stored (the flush finds no responders)
    expect(await flushLifecycleCosts(nats.nc, 300)).toBe(0)
    const alone: string[] = []
    expect(await costCommand(["--json", "--timeout", "300"], { nc: nats.nc, json: true, out: (s) => alone.push(s) })).toBe(0)
    expect(JSON.parse(alone[0]!).types.find((t: { type: string }) => t.type === "napper")).toMatchObject({ activations: 7 })

    await start("cost-a")
    expect(await flushLifecycleCosts(nats.nc, 500)).toBe(1)
    expect(await readLifecycleCosts(nats.nc)).toEqual(before)

    const lines: string[] = []
    expect(await costCommand(["--json", "--timeout", "500"], { nc: nats.nc, json: true, out: (s) => lines.push(s) })).toBe(0)
    const report = JSON.parse(lines[0]!)
    expect(report.types.find((t: { type: string }) => t.type === "napper")).toMatchObject({ activations: 7, nodes: 1 })
    expect(report.tenants.find((t: { tenant: string }) => t.tenant === "acme")).toMatchObject({ activations: 2 })
    const text: string[] = []
    expect(await costCommand(["--tenant", "acme", "--timeout", "300"], { nc: nats.nc, json: false, out: (s) => text.push(s) })).toBe(0)
    expect(text.join("\n")).toMatch(/^napper\s+1\s+2\s+0/m)
  })

  it("costs - two nodes metering at once: the totals are the sum of both, nothing lost", async () => {
    const x = await start("cost-x")
    const y = await start("cost-y")
    await settleNodes([x, y])
    const before = (await readLifecycleCosts(nats.nc, { tenant: "beta" })).byType.napper?.activations ?? 0
    const ids = Array.from({ length: 24 }, (_, i) => `s${i}`)
    await Promise.all(ids.map((id) => add("beta", id)))
    await waitUntil(() => x.stats().types.napper!.sleeping + y.stats().types.napper!.sleeping >= 24, { timeoutMs: 20_000, message: "all asleep" })
    expect(await flushLifecycleCosts(nats.nc, 500)).toBe(2)
    const after = await readLifecycleCosts(nats.nc, { tenant: "beta" })
    expect(after.byType.napper!.activations - before).toBe(24)
    expect(after.byType.napper!.nodes).toBe(2)
    // each node booked its own share
    expect(x.stats().types.napper!.activations).toBeGreaterThan(0)
    expect(y.stats().types.napper!.activations).toBeGreaterThan(0)
    expect(after.byType.napper!.activations - before).toBe(x.stats().types.napper!.activations + y.stats().types.napper!.activations)
  })
})
