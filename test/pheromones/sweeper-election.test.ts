/**
 * One sweeper per tenant across the swarm (runtime/stigmergy/sweeper-election.ts): three nodes'
 * stigmergy on one real nats-server elect one sweeper for a tenant, expired trails still
 * evaporate for a watcher that does not sweep, and the sweeping moves on when the elected node
 * stops (it gives the entry up) or goes silent (its entry stops moving).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { createStigmergy, type Stigmergy } from "../../runtime/actor/artifact-delivery.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { sweeperElector } from "../../runtime/stigmergy/sweeper-election.ts"
import type { Evaporation } from "../../runtime/stigmergy/trail.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
const conns: NatsConnection[] = []

beforeAll(async () => {
  server = await natsFixture()
})

afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)))
  await server?.stop()
})

interface Node {
  id: string
  nc: NatsConnection
  st: Stigmergy
}

async function node(id: string, tenant: string, renewMs = 150): Promise<Node> {
  const nc = await rawConnect(server.url)
  conns.push(nc)
  const st = createStigmergy(nc, { sweeperElection: sweeperElector(nc, { nodeId: id, renewMs }) })
  st.pheromones(tenant, `${tenant}/agent/${id}`)
  return { id, nc, st }
}

const sweepingNodes = (nodes: Node[], tenant: string) => nodes.filter((n) => n.st.sweepers().get(tenant) === true).map((n) => n.id)

/** Once one node sweeps `tenant`: that node and the others. */
async function elected(nodes: Node[], tenant: string): Promise<{ leader: Node; others: Node[] }> {
  const [id] = await waitUntil(() => {
    const s = sweepingNodes(nodes, tenant)
    return s.length === 1 ? s : undefined
  }, { message: `one node sweeps ${tenant}` })
  return { leader: nodes.find((n) => n.id === id)!, others: nodes.filter((n) => n.id !== id) }
}

/** A watcher that never sweeps hears the expiry of a short trail: some node swept it. */
async function expiryHeard(tenant: string, location: string): Promise<void> {
  const heard: Evaporation[] = []
  const ph = createPheromones(conns[0]!, { tenant })
  const w = await ph.watch({ evaporated: (e) => void heard.push(e) }, { location, sweep: false })
  const t = await ph.deposit({ type: "load", location, ttlMs: 200 })
  await waitUntil(() => heard.some((e) => e.key === t.key && e.reason === "expired"), { message: `the expiry of ${t.key} heard` })
  await w.stop()
}

describe("sweeper election", () => {
  it("sweeper election - three nodes using a tenant elect one sweeper, and expired trails still evaporate", async () => {
    const nodes = await Promise.all(["e1", "e2", "e3"].map((id) => node(id, "elect")))
    await elected(nodes, "elect")
    // it stays one over several renewals
    await new Promise((r) => setTimeout(r, 1000))
    expect(sweepingNodes(nodes, "elect")).toHaveLength(1)
    await expiryHeard("elect", "zone")
    await Promise.all(nodes.map((n) => n.st.close()))
  })

  it("sweeper election - the elected node stops: another takes the tenant over", async () => {
    const { leader: leaving, others: [staying] } = await elected(await Promise.all(["s1", "s2"].map((id) => node(id, "handover"))), "handover")
    await leaving.st.close()
    await waitUntil(() => staying.st.sweepers().get("handover") === true, { message: `${staying.id} sweeps once ${leaving.id} stopped` })
    await expiryHeard("handover", "zone")
    await staying.st.close()
  })

  it("sweeper election - the elected node goes silent: its entry stops moving and another takes over", async () => {
    const { leader: silent, others: [other] } = await elected(await Promise.all(["q1", "q2"].map((id) => node(id, "silent"))), "silent")
    // its connection goes (a crash, a cut): no renewal, no giving up
    expect(other.st.sweepers().has("silent")).toBe(false)
    await silent.nc.close()
    await waitUntil(() => other.st.sweepers().get("silent") === true, { message: `${other.id} takes over from the silent ${silent.id}` })
    await expiryHeard("silent", "zone")
    await other.st.close()
    await silent.st.close()
  })
})
