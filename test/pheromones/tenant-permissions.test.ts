/**
 * Tenant isolation at the server: the shipped nats.conf with principals from `ants auth init` lets tenant A
 * use pheromones and the workspace on its own keys, and the server refuses A's reads and writes
 * of tenant B's keys even when A bypasses the library.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { createInbox, headers, nanos, nuid } from "@nats-io/nats-core"
import { confWithTenants } from "../helpers/nats-conf.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { createWorkspace } from "../../runtime/stigmergy/workspace.ts"
import { createStigmergy } from "../../runtime/actor/artifact-delivery.ts"
import { sweeperElector } from "../../runtime/stigmergy/sweeper-election.ts"
import type { Evaporation } from "../../runtime/stigmergy/trail.ts"
import { PHEROMONE_BUCKET, pheromoneSubject } from "../../subjects/pheromones.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let runtime: NatsConnection
let acme: NatsConnection
let globex: NatsConnection
const STREAM = `KV_${PHEROMONE_BUCKET}`

beforeAll(async () => {
  const auth = confWithTenants()
  server = await natsFixture({ config: auth.config })
  runtime = await connect({ servers: server.url, ...auth.as("node") })
  acme = await connect({ servers: server.url, ...auth.as("acme") })
  globex = await connect({ servers: server.url, ...auth.as("globex") })
})

afterAll(async () => {
  await acme?.close()
  await globex?.close()
  await runtime?.close()
  await server?.stop()
})

/** Resolves to the error a promise rejects with, or fails the test if it resolves. */
async function refused(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  )
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.v)}`)
  expect(String((r.e as Error).message)).toMatch(/Permissions Violation/)
  return r.e as Error
}

/** A runtime node creates the buckets; tenant users may only open them. */
const createBuckets = async () => {
  await createPheromones(runtime).ready()
  await createWorkspace(runtime).list()
}

describe("stigmergy sweeper", () => {
  it("stigmergy sweeper - a sweeper that fails to start is retried until it runs, and then sweeps", async () => {
    // The bucket does not exist yet and a tenant user may not create it: the start fails.
    const logged: string[] = []
    const st = createStigmergy(acme, { sweeperRetryMs: 50, log: (_l, m) => void logged.push(m) })
    const ph = st.pheromones("acme", "acme/agent/a1")
    expect(st.sweepers().get("acme")).toBe(false)
    await waitUntil(() => logged.length >= 2, { message: "failed starts are logged and retried" })
    expect(logged[0]).toMatch(/pheromone sweeper of tenant "acme" did not start \(.*\); retrying in 50 ms/)
    expect(logged[1]).toMatch(/retrying in 100 ms/)
    expect(st.sweepers().get("acme")).toBe(false)
    await createBuckets()
    await waitUntil(() => st.sweepers().get("acme") === true, { message: "the sweeper started once it could" })
    // it sweeps: a watcher that does not sweep hears the expiry
    const heard: Evaporation[] = []
    const w = await createPheromones(acme, { tenant: "acme" }).watch({ evaporated: (e) => void heard.push(e) }, { location: "swept", sweep: false })
    const t = await ph.deposit({ type: "load", location: "swept", ttlMs: 200 })
    await waitUntil(() => heard.some((e) => e.key === t.key && e.reason === "expired"), { message: "the retried sweeper swept" })
    await w.stop()
    await st.close()
  })

  it("stigmergy sweeper - a connection that may not use the election's bucket sweeps its tenants itself, and says so", async () => {
    await createBuckets()
    const logged: string[] = []
    const log = (_l: string, m: string) => void logged.push(m)
    const st = createStigmergy(acme, { sweeperElection: sweeperElector(acme, { nodeId: "acme-node", renewMs: 100, log }), log })
    st.pheromones("acme", "acme/agent/a2")
    await waitUntil(() => st.sweepers().get("acme") === true, { message: "the tenant is swept without an election" })
    expect(logged.some((m) => /pheromone sweeper of tenant "acme": the election in ants_sweepers failed \(.*\); this node sweeps meanwhile/.test(m))).toBe(true)
    await st.close()
  })
})

describe("tenant permissions", () => {
  beforeAll(createBuckets)

  it("tenant permissions - a tenant user deposits, detects, watches and works on its own keys", async () => {
    const ph = createPheromones(acme, { tenant: "acme", emitter: "acme/agent/a1" })
    const heard: string[] = []
    const w = await ph.watch({ deposited: (t) => void heard.push(t.id), evaporated: (e) => void heard.push(`-${e.id}`) })
    const t = await ph.deposit({ type: "danger", location: "integrations.stripe", id: "d1", strength: "high" })
    await ph.reinforce(t.key)
    const found = await ph.detect({ location: "integrations" })
    expect(found.map((x) => [x.key, x.reinforcements])).toEqual([[t.key, 1]])
    expect((await ph.get(t.key))?.strength).toBeGreaterThan(0.99)
    expect(await ph.evaporate(t.key)).toBe(true)
    await waitUntil(() => heard.length >= 2, { message: "watch events of the tenant's own trail" })
    expect(heard).toEqual(["d1", "-d1"])
    await w.stop()

    const ws = createWorkspace(acme, { tenant: "acme", actor: "acme/writer" })
    const delivered: string[] = []
    const sw = await ws.watchStatus(["needs_review"], (a) => void delivered.push(a.id), { claim: "in_review" })
    await ws.create({ id: "reports.q3", status: "needs_review" })
    await waitUntil(async () => (await ws.get("reports.q3"))?.status === "in_review", { message: "claimed by the tenant's watcher" })
    expect(delivered).toEqual(["reports.q3"])
    await sw.stop()
  })

  it("tenant permissions - the server refuses a tenant's reads and writes of another tenant's keys", async () => {
    const theirs = await createPheromones(globex, { tenant: "globex" }).deposit({ type: "task", location: "ops", id: "secret", data: { x: 1 } })
    expect(theirs.key).toBe("globex.ops.secret")

    // Through the library, pretending to be the other tenant: every call is refused by the server.
    const fake = createPheromones(acme, { tenant: "globex" })
    for (const p of [fake.deposit({ type: "task", location: "ops", id: "forged" }), fake.get(theirs.key), fake.detect(), fake.reinforce(theirs.key)]) await refused(p)

    // Bypassing the library: a raw KV put, a direct get, consumers with the other tenant's filter
    // or with no filter in the subject.
    const js = jetstream(acme, { timeout: 1500 })
    await refused(js.publish(pheromoneSubject("globex.ops.forged"), "{}"))
    await refused(acme.request(`$JS.API.DIRECT.GET.${STREAM}.${pheromoneSubject(theirs.key)}`, "", { timeout: 1500 }))
    const jsm = await jetstreamManager(acme, { checkAPI: false, timeout: 1500 })
    const consumer = (filter: string, name?: string) =>
      jsm.consumers.add(STREAM, {
        ...(name ? { name } : {}),
        deliver_subject: createInbox("_INBOX_acme"),
        filter_subject: filter,
        ack_policy: "none" as never,
        inactive_threshold: nanos(5000),
      })
    await refused(consumer(`$KV.${PHEROMONE_BUCKET}.globex.>`, nuid.next()))
    await refused(consumer(`$KV.${PHEROMONE_BUCKET}.>`, nuid.next()))
    await refused(consumer(`$KV.${PHEROMONE_BUCKET}.globex.>`))
    await refused(acme.request(`$JS.API.STREAM.MSG.GET.${STREAM}`, JSON.stringify({ last_by_subj: pheromoneSubject(theirs.key) }), { timeout: 1500 }))

    // A rollup header on one's own key must not purge the stream (every tenant's trails).
    const h = headers()
    h.set("Nats-Rollup", "all")
    await expect(js.publish(pheromoneSubject("acme.ops.rollup"), "{}", { headers: h })).rejects.toThrow(/rollup/i)

    // Nothing of theirs changed, and the refused connection still works for its own tenant.
    const after = await createPheromones(globex, { tenant: "globex" }).get(theirs.key)
    expect(after).toMatchObject({ reinforcements: 0, data: { x: 1 } })
    expect((await createPheromones(globex, { tenant: "globex" }).detect()).map((t) => t.id)).toEqual(["secret"])
    const mine = await createPheromones(acme, { tenant: "acme" }).deposit({ type: "task", location: "ops", id: "still-works" })
    expect(mine.key).toBe("acme.ops.still-works")
    expect(acme.isClosed()).toBe(false)
  })
})
