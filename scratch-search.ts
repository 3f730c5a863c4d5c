import pg from "pg"
import pgvector from "pgvector/pg"
import { openMemory, lexicalVector } from "./runtime/memory/mod.ts"
import { tenantPrelude, vectorLit } from "./runtime/memory/sql.ts"
const url = "postgres://postgres@127.0.0.1:5432/test"
await new pg.Pool({ connectionString: url }).query("drop schema if exists scratch_s cascade")
const memory = await openMemory({ postgres: url, schema: "scratch_s", sweepIntervalMs: 0, env: {} })
const owner = { tenant: "bench", type: "b", id: "r" }
for (let b = 0; b < 10; b++) await memory.rememberMany(owner, Array.from({ length: 100 }, (_, i) => ({ kind: "semantic" as const, text: `note ${b} ${i} alpha beta gamma ${i % 97} delta ${i % 13} w${(b * 100 + i) % 331}` })))
await memory.analyze()
const c = new pg.Client({ connectionString: url }); await c.connect(); await c.query("SET hnsw.ef_search = 100")
const T = "scratch_s.memories"
const q = (i: number) => `alpha ${i % 97} delta w${i}`
const va = vectorLit(lexicalVector(q(5)))
const ex = await c.query(`${tenantPrelude("ants_memory_tenant", "bench", { "hnsw.ef_search": 100, "hnsw.iterative_scan": "relaxed_order" })}; EXPLAIN ANALYZE SELECT id, embedding <=> ${va} AS distance FROM ${T} WHERE model = 'ants-lexical-v1' AND (expires_at IS NULL OR expires_at > now()) ORDER BY distance LIMIT 10`) as any
console.log(ex[1].rows.map((r: any) => r["QUERY PLAN"]).join("\n").replace(/\[[-0-9.,e]{100,}\]/g, "[v]"))
const ex2 = await c.query(`EXPLAIN ANALYZE SELECT id, text, 1 - (embedding <=> $1) AS score FROM ${T} ORDER BY embedding <=> $1 LIMIT 10`, [pgvector.toSql(lexicalVector(q(5)))])
console.log(ex2.rows.map((r: any) => r["QUERY PLAN"]).join("\n"))
const time = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t }
const a: number[] = [], r: number[] = [], e: number[] = []
for (let i = 0; i < 300; i++) {
  a.push(await time(() => memory.recall(owner, { query: q(i), k: 10, scope: "tenant" })))
  r.push(await time(() => c.query(`SELECT id, text, 1 - (embedding <=> $1) AS score FROM ${T} ORDER BY embedding <=> $1 LIMIT 10`, [pgvector.toSql(lexicalVector(q(i)))])))
  e.push(await time(async () => lexicalVector(q(i) + "x")))
}
const p50 = (x: number[]) => x.sort((m, n) => m - n)[x.length >> 1]
console.log("ants", p50(a), "raw", p50(r), "embed", p50(e))
await c.end(); await memory.close(); await new pg.Pool({ connectionString: url }).query("drop schema if exists scratch_s cascade"); process.exit(0)
