/**
 * Isolation the server enforces inside a node: with an auth folder, a node's actors act through
 * their tenant's connection. A handler of acme that reaches past the API for globex (the
 * context's internals, the connection it acts through) is refused by the server, while its
 * own tenant works and globex's state is untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { counter } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { getTaskStatus } from "../../runtime/tasks/status.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { prober } from "./fixtures/prober-agent.ts"

let auth: AuthConf
let server: NatsServer
let node: AntsNode
let acme: NatsConnection
let globex: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()
const ask = async (nc: NatsConnection, tenant: string, type: string, id: string, tag: string, body: unknown) =>
  JSON.parse(dec.decode((await nc.request(agentSubject({ tenant, type, id, tag }), enc.encode(JSON.stringify(body)), { timeout: 10_000 })).data))

beforeAll(async () => {
  auth = confWithTenants(["acme", "globex"])
  server = await natsFixture({ config: auth.config })
  node = await startNode({ agents: [counter, prober], nats: server.url, credentials: { nkey: auth.seed("node") }, authDir: auth.authDir, logger: () => {} })
  acme = await connect({ servers: server.url, ...auth.as("acme") })
  globex = await connect({ servers: server.url, ...auth.as("globex") })
})

afterAll(async () => {
  await acme?.close()
  await globex?.close()
  await node?.drain()
  await server?.stop()
})

describe("tenant isolation", () => {
  it("tenant isolation - a handler that reaches past the API for another tenant is refused by the server", async () => {
    expect(await ask(globex, "globex", "counter", "c1", "Add", { n: 5 })).toEqual({ ok: true, value: { total: 5 } })
    const r = await ask(acme, "acme", "prober", "p1", "Reach", { victim: "globex" })
    expect(r.ok).toBe(true)
    const got = Object.fromEntries((r.value.outcomes as Array<{ attempt: string; result: string }>).map((o) => [o.attempt, o.result]))
    // the node and the cell are not reachable through the context
    expect(got["ctx.hostNode"]).toBe("undefined")
    expect(got["ctx.cell"]).toBe("undefined")
    // the API refuses in-process; the connection behind it is refused by the server
    expect(got["ctx.ask (the API)"]).toMatch(/^refused: forbidden/)
    expect(got["scope.messaging.tellDurable"]).toMatch(/refused: .*Permissions Violation/i)
    expect(got["scope.nc.request topic"]).toMatch(/refused: .*Permissions Violation/i)
    expect(got["scope.stigmergy().pheromones deposit"]).toMatch(/refused: .*Permissions Violation/i)
    expect(got["scope.nc.request state forge"]).toMatch(/refused: .*Permissions Violation/i)
    // an ask is checked after the partition mapping: no answer ever comes
    expect(got["scope.messaging.ask (mapped subject)"]).toMatch(/^refused: /)
    // globex's counter is untouched, and acme's own tenant works from the same handler code
    expect(await ask(globex, "globex", "counter", "c1", "Get", {})).toEqual({ ok: true, value: { total: 5 } })
    expect(await ask(acme, "acme", "prober", "p1", "Own", {})).toEqual({ ok: true, value: { total: 0 } })
    expect([...node.stats().tenantConnections].sort()).toEqual(["acme", "globex"])
  })

  it("tenant isolation - a task handler that reaches past its context for another tenant is refused by the server", async () => {
    expect(await ask(globex, "globex", "counter", "c1", "Get", {})).toEqual({ ok: true, value: { total: 5 } })
    const operator = await connect({ servers: server.url, ...auth.as("operator") })
    try {
      for (const capability of ["probe.reach", "probe.market"]) {
        // submitted by acme's own principal (it may not manage streams; the node made them)
        const { id } = await submitTask(acme, { capability, payload: { victim: "globex" } }, { tenant: "acme" })
        const rec = await waitUntil(async () => {
          const r = await getTaskStatus(operator, id, { tenant: "acme" })
          return r?.state === "completed" ? r : undefined
        }, { timeoutMs: 20_000, message: `${capability} task completed` })
        const got = Object.fromEntries(((rec.result as { outcomes: Array<{ attempt: string; result: string }> }).outcomes).map((o) => [o.attempt, o.result]))
        expect(got["ctx.nc"], capability).toBe("undefined")
        expect(got["ctx.ask (the API)"], capability).toMatch(/^refused: forbidden/)
        expect(got["scope.messaging.tellDurable"], capability).toMatch(/refused: .*Permissions Violation/i)
        expect(got["scope.nc.request topic"], capability).toMatch(/refused: .*Permissions Violation/i)
        expect(got["scope.stigmergy().pheromones deposit"], capability).toMatch(/refused: .*Permissions Violation/i)
        expect(got["scope.nc.request state forge"], capability).toMatch(/refused: .*Permissions Violation/i)
        expect(got["scope.nc.request task status forge"], capability).toMatch(/refused: .*Permissions Violation/i)
        expect(got["scope.messaging.ask (mapped subject)"], capability).toMatch(/^refused: /)
        // its own tenant works through the same context
        expect(got["own ctx.ask"], capability).toMatch(/^succeeded: \{"total":\d+\}/)
        expect(got["own ctx.pheromones deposit"], capability).toMatch(/^succeeded/)
      }
    } finally {
      await operator.close()
    }
    expect(await ask(globex, "globex", "counter", "c1", "Get", {})).toEqual({ ok: true, value: { total: 5 } })
  })

  it("tenant isolation - a node pinned to tenants answers the other tenants forbidden", async () => {
    const other = await natsFixture({ config: auth.config })
    const pinned = await startNode({ agents: [counter], nats: other.url, credentials: { nkey: auth.seed("node") }, authDir: auth.authDir, tenants: ["acme"], logger: () => {} })
    const a = await connect({ servers: other.url, ...auth.as("acme") })
    const g = await connect({ servers: other.url, ...auth.as("globex") })
    try {
      expect(await ask(a, "acme", "counter", "c1", "Add", { n: 1 })).toEqual({ ok: true, value: { total: 1 } })
      const r = await ask(g, "globex", "counter", "c1", "Add", { n: 1 })
      expect(r).toMatchObject({ ok: false, error: { code: "forbidden" } })
      expect(r.error.message).toContain(`serves tenants acme only, not "globex"`)
      expect(pinned.stats().tenantConnections).toEqual(["acme"])
    } finally {
      await a.close()
      await g.close()
      await pinned.drain()
      await other.stop()
    }
  })
})
