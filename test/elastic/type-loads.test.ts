/**
 * The load a node reports for its types (runtime/elastic/load-reporter.ts `typeLoads`): actors per
 * tenant counted as cells come and go (runtime/actor/actor-cells.ts), busy actors and queued mail
 * read from the cells at work only. A real node reports; the test reads its load trails.
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent } from "../../runtime/agent/define-agent.ts"
import { ActorCells } from "../../runtime/actor/actor-cells.ts"
import type { ActorCell } from "../../runtime/actor/cell.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { typeLoadLocation } from "../../subjects/elastic.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const ctx = natsPerFile()

let gate = Promise.resolve()
let openGate: () => void = () => undefined

const type = "load_counted"
const counted = defineAgent({
  type,
  protocol: {
    Ping: { message: Schema.Struct({}), reply: Schema.Struct({}) },
    Hold: { message: Schema.Struct({}), reply: Schema.Struct({}) },
  },
  initialState: () => ({}),
  handlers: {
    Ping: () => ({}),
    Hold: async () => {
      await gate
      return {}
    },
  },
})

describe("type loads", () => {
  it("counts live actors per tenant as they come and go", () => {
    const cells = new ActorCells()
    const cell = (tenant: string, id: string) => ({ tenant, id }) as unknown as ActorCell
    const a1 = cell("a", "1")
    cells.set("a.1", a1)
    cells.set("a.2", cell("a", "2"))
    cells.set("b.1", cell("b", "1"))
    cells.set("a.1", a1) // the same cell again
    expect(Object.fromEntries(cells.perTenant)).toEqual({ a: 2, b: 1 })
    cells.set("a.2", cell("b", "2")) // replaced by another tenant's cell
    expect(Object.fromEntries(cells.perTenant)).toEqual({ a: 1, b: 2 })
    expect(cells.delete("b.1")).toBe(true)
    expect(cells.delete("b.1")).toBe(false)
    expect(cells.delete("a.1")).toBe(true)
    expect(Object.fromEntries(cells.perTenant)).toEqual({ b: 1 })
    cells.clear()
    expect(cells.perTenant.size).toBe(0)
  })

  it("reports each tenant's actors, the busy ones and their queued mail, read from the actors at work", async () => {
    const node = await startNode({ agents: [counted], nats: ctx.server.url, nodeId: "loads", idleAfterMs: 50, logger: () => {}, elastic: { loadIntervalMs: 100 } })
    const client = createMessaging(ctx.nc)
    const trail = async (tenant: string) => {
      const found = await createPheromones(ctx.nc, { tenant }).detect({ types: ["load"], location: typeLoadLocation(type) })
      return found.find((t) => t.id === "loads")?.data as { actors: number; busy: number; queued: number; load: number } | undefined
    }
    try {
      // 40 actors of one tenant and 10 of another, all gone idle
      await Promise.all(Array.from({ length: 40 }, (_, i) => client.ask({ agent: type, id: `d${i}` }, "Ping", {})))
      await Promise.all(Array.from({ length: 10 }, (_, i) => client.ask({ agent: type, id: `a${i}`, tenant: "acme" }, "Ping", {})))
      await waitUntil(() => node.stats().types[type].idle === 50, { message: "all 50 idle" })
      // three busy in the first tenant, one of them with two more queued; one busy in the second
      gate = new Promise<void>((r) => (openGate = r))
      const held = [
        ...["d0", "d1", "d2", "d2", "d2"].map((id) => client.ask({ agent: type, id }, "Hold", {}, { timeoutMs: 30_000 })),
        client.ask({ agent: type, id: "a0", tenant: "acme" }, "Hold", {}, { timeoutMs: 30_000 }),
      ]
      await waitUntil(async () => (await trail("default"))?.queued === 2 && (await trail("acme"))?.busy === 1, { message: "the load of both tenants reported" })
      // load: the larger of busy / actors and queued / actors
      expect(await trail("default")).toMatchObject({ type, node: "loads", actors: 40, busy: 3, queued: 2, load: 0.075 })
      expect(await trail("acme")).toMatchObject({ type, node: "loads", actors: 10, busy: 1, queued: 0, load: 0.1 })
      openGate()
      await Promise.all(held)
      // back to no load: the trails are removed
      await waitUntil(async () => (await trail("default")) === undefined && (await trail("acme")) === undefined, { message: "the trails removed once idle" })
    } finally {
      openGate()
      await node.drain()
    }
  })
})
