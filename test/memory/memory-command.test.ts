import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { main } from "../../runtime/cli/main.ts"
import { openMemory, startEmbeddedPostgres, type EmbeddedPostgres, type Memory } from "../../runtime/memory/mod.ts"
import { freshSchema, pgliteDataDir } from "../helpers/postgres.ts"

async function run(argv: string[], json = true): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(["memory", ...argv, ...(json ? ["--json"] : [])], { out: (s) => void out.push(s), err: (s) => void err.push(s) })
  return { code, out, err }
}

describe("ants memory", () => {
  let data: Awaited<ReturnType<typeof pgliteDataDir>>
  const schema = freshSchema()
  let server: EmbeddedPostgres
  let memory: Memory
  beforeAll(async () => {
    // a node of this machine serving the directory: the command goes through its socket
    data = await pgliteDataDir()
    server = await startEmbeddedPostgres(data.dir)
    memory = await openMemory({ dataDir: data.dir, schema, sweepIntervalMs: 0, env: {} })
    const a = memory.forActor({ tenant: "acme", type: "assistant", id: "a1" })
    await a.remember({ kind: "semantic", text: "The wifi password for the guest network is on the fridge." })
    await a.remember({ kind: "episodic", text: "Discussed the roadmap with the design team." })
    await memory.forActor({ tenant: "globex", type: "assistant", id: "g1" }).remember({ kind: "semantic", text: "Globex guest wifi is open." })
  })
  afterAll(async () => {
    await memory.close()
    await server.stop()
    data.remove()
  })

  it("ants memory - search finds by meaning within one tenant", async () => {
    const r = await run(["search", "guest", "wifi", "password", "--tenant", "acme", "--k", "2", "--data-dir", data.dir, "--schema", schema])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.out[0]!) as { ok: boolean; value: { items: Array<{ text: string; tenant: string; score: number }> } }
    expect(doc.ok).toBe(true)
    expect(doc.value.items[0]!.text).toBe("The wifi password for the guest network is on the fridge.")
    expect(doc.value.items.every((i) => i.tenant === "acme")).toBe(true)
    const text = await run(["search", "roadmap", "--tenant", "acme", "--kind", "episodic", "--data-dir", data.dir, "--schema", schema], false)
    expect(text.out.join("\n")).toMatch(/episodic\s+assistant\/a1\s+Discussed the roadmap/)
  })

  it("ants memory - stats counts by tenant and kind and names the embedder", async () => {
    const r = await run(["stats", "--data-dir", data.dir, "--schema", schema])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.out[0]!) as { value: { total: number; backend: string; lexical: boolean; byTenant: Array<{ tenant: string; kind: string; count: number }> } }
    expect(doc.value).toMatchObject({ total: 3, backend: "pglite", lexical: true })
    expect(doc.value.byTenant).toEqual([
      { tenant: "acme", kind: "episodic", count: 1 },
      { tenant: "acme", kind: "semantic", count: 1 },
      { tenant: "globex", kind: "semantic", count: 1 },
    ])
    const one = await run(["stats", "--tenant", "globex", "--data-dir", data.dir, "--schema", schema], false)
    expect(one.out.join("\n")).toMatch(/1 memories in tenant globex/)
    expect(one.out.join("\n")).toMatch(/lexical, not semantic/)
  })

  it("ants memory - bad arguments are usage errors", async () => {
    expect((await run(["search"])).code).toBe(2)
    expect((await run(["forget", "x"])).code).toBe(2)
    const badK = await run(["search", "x", "--k", "zero", "--data-dir", data.dir, "--schema", schema])
    expect(badK.code).toBe(2)
    expect(JSON.parse(badK.out[0]!).error).toMatchObject({ code: "usage" })
    const badKind = await run(["search", "x", "--kind", "gossip", "--data-dir", data.dir, "--schema", schema])
    expect(badKind.code).toBe(2)
    expect(JSON.parse(badKind.out[0]!).error.message).toMatch(/--kind must be one of episodic, semantic, procedural, got "gossip"/)
    const both = await run(["stats", "--postgres", "postgres://127.0.0.1/x", "--data-dir", data.dir])
    expect(both.code).toBe(2)
    expect(JSON.parse(both.out[0]!).error.message).toMatch(/exclude each other/)
    const actorAlone = await run(["search", "x", "--actor", "a1", "--data-dir", data.dir])
    expect(JSON.parse(actorAlone.out[0]!).error.message).toMatch(/--actor needs --type/)
  })

  it("ants node - --no-memory and a memory store exclude each other (a usage error before anything starts)", async () => {
    const out: string[] = []
    const code = await main(["node", "--agents", "./actors/examples/index.ts", "--no-memory", "--data-dir", data.dir, "--json"], { out: (s) => void out.push(s), err: () => undefined })
    expect(code).toBe(2)
    expect(JSON.parse(out[0]!).error.message).toMatch(/--no-memory and --data-dir exclude each other/)
  })
})
