import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bestProcedures, isMemoryError, MAX_TEXT_BYTES, recordProcedure, TENANT_SETTING, type Memory, type MemoryOwner } from "../../runtime/memory/mod.ts"
import { memoryBackends } from "./backends.ts"

const backends = await memoryBackends()
const alice: MemoryOwner = { tenant: "acme", type: "assistant", id: "alice" }
const bob: MemoryOwner = { tenant: "acme", type: "assistant", id: "bob" }
const planner: MemoryOwner = { tenant: "acme", type: "planner", id: "p1" }
const rival: MemoryOwner = { tenant: "globex", type: "assistant", id: "alice" }

const DISTRACTORS = [
  "The quarterly budget review moved to Thursday afternoon.",
  "Our office plants need watering twice a week.",
  "The deployment pipeline failed because of a flaky integration test.",
  "Lunch options near the station include ramen and falafel.",
  "The printer on the third floor is out of toner again.",
  "Customer churn dropped after the onboarding redesign.",
  "Remember to rotate the database credentials every ninety days.",
  "The conference keynote discussed graph neural networks.",
  "Marketing wants new screenshots for the landing page.",
  "The cafeteria closes early on Fridays during summer.",
]

async function expectMemoryError(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(isMemoryError(e), `expected a MemoryError ${code}, got ${String(e)}`).toBe(true)
  expect((e as { code: string }).code).toBe(code)
  if (message) expect((e as Error).message).toMatch(message)
}

for (const backend of backends) {
  describe.skipIf(backend.skip !== undefined)(`memory on ${backend.name}`, () => {
    let memory: Memory
    beforeAll(async () => {
      await backend.setup()
      memory = await backend.open()
    })
    afterAll(async () => {
      await backend.teardown()
    })

    it("memory - recall finds the right item among distractors", async () => {
      const a = memory.forActor(alice)
      await a.rememberMany(DISTRACTORS.map((text) => ({ kind: "semantic" as const, text })))
      const target = await a.remember({ kind: "semantic", text: "Alice's favourite colour is teal, and she drinks oolong tea." })
      const found = await a.recall({ query: "what is alice's favourite colour", k: 3 })
      expect(found[0]?.id).toBe(target.id)
      expect(found[0]!.score).toBeGreaterThan(found[1]!.score)
      expect(found.length).toBe(3)
    })

    it("memory - recall is scoped to the actor, its type or its tenant", async () => {
      const b = memory.forActor(bob)
      const p = memory.forActor(planner)
      await b.remember({ kind: "semantic", text: "Bob keeps the spare office keys in the blue drawer." })
      await p.remember({ kind: "semantic", text: "The planner keeps a spare key schedule for the office." })
      const a = memory.forActor(alice)
      const own = await a.recall({ query: "spare office keys", k: 20 })
      expect(own.every((m) => m.actor === "alice")).toBe(true)
      const ofType = await a.recall({ query: "spare office keys", k: 20, scope: "type" })
      expect(ofType.some((m) => m.actor === "bob")).toBe(true)
      expect(ofType.every((m) => m.type === "assistant")).toBe(true)
      const ofTenant = await a.recall({ query: "spare office keys", k: 20, scope: "tenant" })
      expect(ofTenant.some((m) => m.type === "planner")).toBe(true)
    })

    it("memory - metadata filters, kinds and a minimum score narrow a recall", async () => {
      const a = memory.forActor(alice)
      await a.remember({ kind: "episodic", text: "Met the supplier about invoice 1042.", metadata: { topic: "billing", year: 2026 } })
      await a.remember({ kind: "episodic", text: "Met the supplier about the shipping delay.", metadata: { topic: "logistics", year: 2026 } })
      const billing = await a.recall({ query: "met the supplier", kind: "episodic", filter: { topic: "billing" } })
      expect(billing.map((m) => m.metadata.topic)).toEqual(["billing"])
      const semanticOnly = await a.recall({ query: "met the supplier", kind: "semantic", k: 50 })
      expect(semanticOnly.every((m) => m.kind === "semantic")).toBe(true)
      const strict = await a.recall({ query: "met the supplier about invoice 1042", minScore: 0.9 })
      expect(strict.map((m) => m.text)).toEqual(["Met the supplier about invoice 1042."])
    })

    it("memory - data objects are stored whole and found by their text", async () => {
      const a = memory.forActor(alice)
      const item = await a.remember({ kind: "semantic", data: { customer: "Initech", plan: "enterprise", seats: 250 } })
      expect(item.data).toEqual({ customer: "Initech", plan: "enterprise", seats: 250 })
      const [top] = await a.recall({ query: "Initech enterprise plan", k: 1 })
      expect(top?.id).toBe(item.id)
      expect(top?.data).toEqual({ customer: "Initech", plan: "enterprise", seats: 250 })
    })

    it("memory - tenants cannot see each other's memories, even through a raw query in the tenant's session", async () => {
      const secret = await memory.forActor(rival).remember({ kind: "semantic", text: "Globex launch codename is Hammock." })
      const fromAcme = await memory.forActor(alice).recall({ query: "Globex launch codename Hammock", k: 50, scope: "tenant" })
      expect(fromAcme.some((m) => m.id === secret.id)).toBe(false)
      const fromGlobex = await memory.forActor(rival).recall({ query: "Globex launch codename Hammock", k: 1 })
      expect(fromGlobex[0]?.id).toBe(secret.id)

      const client = new pg.Client({ connectionString: backend.url() })
      await client.connect()
      try {
        const table = `${pg.escapeIdentifier(memory.schema)}.memories`
        await client.query("BEGIN")
        await client.query(`SET LOCAL ROLE ${pg.escapeIdentifier("ants_memory_tenant")}`)
        await client.query("SELECT set_config($1, $2, true)", [TENANT_SETTING, "acme"])
        const rows = (await client.query<{ tenant: string }>(`SELECT tenant FROM ${table}`)).rows
        expect(rows.length).toBeGreaterThan(0)
        expect(rows.every((r) => r.tenant === "acme")).toBe(true)
        expect((await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant = 'globex'`)).rows[0].n).toBe(0)
        const updated = await client.query(`UPDATE ${table} SET text = 'stolen' WHERE tenant = 'globex'`)
        expect(updated.rowCount).toBe(0)
        await expect(
          client.query(`INSERT INTO ${table} (tenant, agent_type, actor_id, kind, text, embedding, model, content_hash) SELECT 'globex', 'x', 'y', 'semantic', 'planted', embedding, model, 'h' FROM ${table} LIMIT 1`),
        ).rejects.toThrow(/row-level security/)
        await client.query("ROLLBACK")
        // no tenant set at all: nothing visible
        await client.query("BEGIN")
        await client.query(`SET LOCAL ROLE ${pg.escapeIdentifier("ants_memory_tenant")}`)
        expect((await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0)
        await client.query("ROLLBACK")
      } finally {
        await client.end()
      }
      const [still] = await memory.forActor(rival).recall({ query: "Globex launch codename Hammock", k: 1 })
      expect(still?.text).toBe("Globex launch codename is Hammock.")
    })

    it("memory - procedures are shared across the agents of a tenant, with success rates from outcomes", async () => {
      const p = memory.forActor(planner)
      const steps = ["fetch invoices", "match payments", "email the report"]
      await recordProcedure(p, { task: "reconcile monthly invoices", steps, reward: 1 })
      await recordProcedure(p, { task: "reconcile monthly invoices", steps, reward: -1 })
      const again = await recordProcedure(p, { task: "reconcile monthly invoices", steps, reward: 1 })
      expect(again.uses).toBe(3)
      expect(again.successRate).toBeCloseTo(2 / 3)
      await recordProcedure(p, { task: "reconcile monthly invoices", steps: ["guess totals"], reward: -1 })

      const best = await bestProcedures(memory.forActor(alice), "how do I reconcile the monthly invoices?")
      expect(best[0]?.steps).toEqual(steps)
      expect(best[0]?.type).toBe("planner")
      expect(best[1]?.steps).toEqual(["guess totals"])
      const updated = await memory.forActor(alice).recordOutcome(best[0]!.id, 1)
      expect(updated.uses).toBe(4)
      expect(updated.successRate).toBeCloseTo(3 / 4)
      // another tenant sees none of it
      expect(await bestProcedures(memory.forActor(rival), "reconcile monthly invoices")).toEqual([])
      await expectMemoryError(memory.forActor(rival).recordOutcome(best[0]!.id, 1), "not_found")
    })

    it("memory - episodic entries expire: recall ignores them at once and the sweep deletes them", async () => {
      const a = memory.forActor(alice)
      const gone = await a.remember({ kind: "episodic", text: "The temporary door code is 4711.", expiresAt: new Date(Date.now() - 1000) })
      const kept = await a.remember({ kind: "episodic", text: "The permanent door code is 1234.", ttlMs: 3_600_000 })
      expect(kept.expiresAt).not.toBeNull()
      const found = await a.recall({ query: "door code", k: 10 })
      expect(found.map((m) => m.id)).toContain(kept.id)
      expect(found.map((m) => m.id)).not.toContain(gone.id)
      expect((await memory.stats()).expired).toBeGreaterThanOrEqual(1)
      expect(await memory.sweep()).toBeGreaterThanOrEqual(1)
      expect((await memory.stats()).expired).toBe(0)
      await expectMemoryError(a.remember({ kind: "semantic", text: "facts do not expire", ttlMs: 1000 }), "invalid_input", /only episodic/)
    })

    it("memory - forget deletes by id or by selector, only the owner's by default", async () => {
      const a = memory.forActor(alice)
      const b = memory.forActor(bob)
      const mine = await a.remember({ kind: "episodic", text: "Scratch note one", metadata: { scratch: true } })
      await a.remember({ kind: "episodic", text: "Scratch note two", metadata: { scratch: true } })
      await b.remember({ kind: "episodic", text: "Bob's scratch note", metadata: { scratch: true } })
      expect(await b.forget(mine.id)).toBe(0)
      expect(await a.forget(mine.id)).toBe(1)
      expect(await a.forget({ kind: "episodic", filter: { scratch: true } })).toBe(1)
      const left = await b.recall({ query: "scratch note", k: 10, filter: { scratch: true }, scope: "type" })
      expect(left.map((m) => m.text)).toEqual(["Bob's scratch note"])
    })

    it("memory - bad input gets a clear error and writes nothing", async () => {
      const a = memory.forActor(alice)
      const before = (await memory.stats("acme")).total
      await expectMemoryError(a.remember({ kind: "semantic", text: "x".repeat(MAX_TEXT_BYTES + 1) }), "too_large", /limit is 32768 bytes/)
      await expectMemoryError(a.remember({ kind: "semantic", text: "nan", embedding: [Number.NaN, ...new Array(383).fill(0.1)] }), "invalid_input", /embedding\[0\] is NaN/)
      await expectMemoryError(a.remember({ kind: "semantic", text: "short", embedding: [0.1, 0.2, 0.3] }), "dimension_mismatch", /3 dimensions; this memory store has 384/)
      await expectMemoryError(a.remember({ kind: "semantic", text: "zero", embedding: new Array(384).fill(0) }), "invalid_input", /all zeros/)
      await expectMemoryError(a.remember({ kind: "gossip" as never, text: "x" }), "invalid_input", /unknown memory kind "gossip"/)
      await expectMemoryError(a.remember({ kind: "semantic", text: "   " }), "invalid_input", /empty/)
      await expectMemoryError(a.remember({ kind: "semantic", text: "x", metadata: { blob: "y".repeat(10_000) } }), "too_large", /metadata/)
      await expectMemoryError(a.remember({ kind: "procedural", text: "x", outcome: 2 }), "invalid_input", /-1 to \+1/)
      // one bad entry in a batch: none of the batch is written
      await expectMemoryError(a.rememberMany([{ kind: "semantic", text: "fine" }, { kind: "semantic", text: "bad", embedding: [1] }]), "dimension_mismatch")
      await expectMemoryError(a.recall({ query: "x", k: 0 }), "invalid_input", /k must be an integer/)
      await expectMemoryError(a.recall({ query: "x", scope: "world" as never }), "invalid_input", /unknown memory scope/)
      await expectMemoryError(a.forget("not-a-uuid"), "invalid_input", /UUID/)
      await expectMemoryError(memory.forActor({ tenant: "a.b", type: "t", id: "i" }).remember({ kind: "semantic", text: "x" }), "invalid_input", /tenant/)
      expect((await memory.stats("acme")).total).toBe(before)
      // and the store still works
      expect((await a.recall({ query: "favourite colour", k: 1 })).length).toBe(1)
    })

    it("memory - a precomputed embedding is stored as given", async () => {
      const v = new Array(384).fill(0)
      v[7] = 1
      const item = await memory.forActor(alice).remember({ kind: "semantic", text: "a vector made by hand", embedding: v })
      const client = new pg.Client({ connectionString: backend.url() })
      await client.connect()
      try {
        const row = await client.query(`SELECT embedding::text AS e FROM ${pg.escapeIdentifier(memory.schema)}.memories WHERE id = $1`, [item.id])
        const stored = JSON.parse(row.rows[0].e) as number[]
        expect(stored[7]).toBe(1)
        expect(stored.filter((x) => x !== 0).length).toBe(1)
      } finally {
        await client.end()
      }
    })

    it("memory - recall by a precomputed query vector finds the entry nearest to it; a bad vector is a clear error", async () => {
      const me = memory.forActor({ tenant: "acme", type: "vectors", id: "v1" })
      const axis = (i: number, j = i, w = 0) => {
        const v = new Array(384).fill(0)
        v[i] = 1
        v[j] += w
        return v
      }
      await me.rememberMany([
        { kind: "semantic", text: "along axis 3", embedding: axis(3) },
        { kind: "semantic", text: "along axis 9", embedding: axis(9) },
        { kind: "semantic", text: "between 3 and 9, nearer 9", embedding: axis(9, 3, 0.3) },
      ])
      const found = await me.recall({ embedding: axis(3, 9, 0.1), k: 2 })
      expect(found.map((m) => m.text)).toEqual(["along axis 3", "between 3 and 9, nearer 9"])
      await expect(me.recall({ embedding: [1, 2, 3] })).rejects.toMatchObject({ _tag: "MemoryError", code: "dimension_mismatch" })
      await expect(me.recall({ embedding: new Array(384).fill(0) })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringMatching(/all zeros/) })
      await expect(me.recall({} as never)).rejects.toMatchObject({ code: "invalid_input" })
    })

    it("memory - starters racing on one schema apply each migration once", async () => {
      const schema = `race_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
      const stores = await Promise.all([backend.open({ schema }), backend.open({ schema }), backend.open({ schema })])
      const client = new pg.Client({ connectionString: backend.url() })
      await client.connect()
      try {
        const rows = (await client.query(`SELECT version FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`)).rows
        expect(rows.map((r) => r.version)).toEqual([1])
      } finally {
        await client.end()
      }
      await stores[0]!.forActor(alice).remember({ kind: "semantic", text: "written through the first" })
      const [seen] = await stores[2]!.forActor(alice).recall({ query: "written through the first", k: 1 })
      expect(seen?.text).toBe("written through the first")
    })

    it("memory - a store of another vector length is refused with dimension_mismatch", async () => {
      const { lexicalEmbedder } = await import("../../runtime/memory/mod.ts")
      await expectMemoryError(backend.open({ schema: memory.schema, embeddings: lexicalEmbedder(128) }), "dimension_mismatch", /holds vectors of 384 dimensions; the embedder gives 128/)
    })
  })
}
