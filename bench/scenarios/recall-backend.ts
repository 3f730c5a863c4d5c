/**
 * One backend of the recall scenario (recall.ts): the memory layer and a raw `pg` client on the
 * same table, PostgreSQL with pgvector or the embedded PGlite. Run in the scenario's process or,
 * for PGlite while PostgreSQL runs, in a child of its own (bench/probes/recall-probe.ts).
 */
import pg from "pg"
import pgvector from "pgvector/pg"
import { DEFAULT_EF_SEARCH, HNSW_BUILD, openMemory, type Memory, type RememberInput } from "../../runtime/memory/mod.ts"
import { pgliteDataDir } from "../pglite-template.ts"
import { percentile, Samples } from "../stats.ts"
import type { ScenarioContext } from "../types.ts"
import type { RecallData, RecallSet } from "./recall-data.ts"

const K = 10
const EF_SEARCH = DEFAULT_EF_SEARCH
const TENANT = "bench"
const OWNER = { tenant: TENANT, type: "bench_recall", id: "r1" }
const DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"
/** What a recalled entry carries: the raw query returns the same columns. */
const COLUMNS = "id, kind, text, data, metadata, tenant, agent_type, actor_id, created_at, expires_at, uses, success_rate"

async function reachable(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await c.connect()
    return undefined
  } catch (e) {
    return `PostgreSQL at ${url.replace(/:[^:@/]*@/, ":***@")} is unreachable (${e instanceof Error ? e.message : String(e)}); set ANTS_BENCH_POSTGRES`
  } finally {
    await c.end().catch(() => undefined)
  }
}

export type RecallBackend = "pglite" | "postgres"

/**
 * Inserts, search and recall@10 on one backend (recall.ts says what each measures). `beforeSearch`
 * is awaited between the inserts and the searches: the scenario uses it so that no other backend
 * works while this one's searches are timed.
 */
export async function runBackend(ctx: ScenarioContext, backend: RecallBackend, data: RecallSet, kind: RecallData, beforeSearch?: () => Promise<void>): Promise<void> {
  const n = data.notes.length
  const BATCH = ctx.quick ? 100 : 500
  const schema = `bench_recall_${process.pid}`
  let pgData: { dir: string; remove(): void } | undefined
  let postgres: string | undefined
  // an initialised cluster copied: creating one takes seconds before the first insert
  if (backend === "pglite") pgData = await pgliteDataDir("ants-bench-recall-")
  else {
    postgres = process.env.ANTS_BENCH_POSTGRES ?? process.env.DATABASE_URL ?? DEFAULT_POSTGRES
    const why = await reachable(postgres)
    if (why !== undefined) {
      for (const metric of ["insert", "search p50", "recall@10"]) ctx.skip(why, `${metric} (${backend})`)
      return
    }
  }
  let memory: Memory | undefined
  let rawClient: pg.Client | undefined
  let exactClient: pg.Client | undefined
  try {
    memory = await openMemory({ dataDir: pgData?.dir, postgres, schema, sweepIntervalMs: 0, efSearch: EF_SEARCH, env: {} })
    rawClient = new pg.Client({ connectionString: memory.embedded?.url ?? postgres })
    await rawClient.connect()
    // exact search on a connection of its own: run on the raw one, its long scan left that
    // backend hot and the raw search after it measured faster than the same SQL elsewhere
    exactClient = new pg.Client({ connectionString: memory.embedded?.url ?? postgres })
    await exactClient.connect()
    // the settings recall sets per transaction, set once on the raw session
    await rawClient.query(`SET hnsw.ef_search = ${EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order`)
    const table = `${pg.escapeIdentifier(schema)}.memories`
    const model = memory.embeddings.model
    const params = { memories: n, dimensions: 384, batch: BATCH, k: K, efSearch: EF_SEARCH, hnsw: HNSW_BUILD, data: kind, queries: data.queries.length, backend }
    const label = kind === "clustered" ? backend : `${backend}, ${kind} vectors`

    // inserts: alternate ANTS and raw batches into the same table
    let antsMs = 0
    let antsRows = 0
    let rawMs = 0
    let rawRows = 0
    const batches = Math.ceil(n / BATCH)
    for (let b = 0; b < batches; b++) {
      const from = b * BATCH
      const to = Math.min(n, from + BATCH)
      const antsFirst = b % 4 < 2
      const half = from + Math.floor((to - from) / 2)
      const runAnts = async (lo: number, hi: number) => {
        const inputs: RememberInput[] = []
        for (let i = lo; i < hi; i++) inputs.push({ kind: "semantic", text: data.notes[i]!, embedding: data.vectors[i]! })
        const t = performance.now()
        await memory!.rememberMany(OWNER, inputs)
        antsMs += performance.now() - t
        antsRows += hi - lo
      }
      const runRaw = async (lo: number, hi: number) => {
        // timed from the same starting point as rememberMany: rows of texts and number arrays
        const t = performance.now()
        const values: string[] = []
        const args: unknown[] = []
        for (let i = lo; i < hi; i++) {
          const p = args.length
          values.push(`($${p + 1}, $${p + 2}, $${p + 3}, 'semantic', $${p + 4}, $${p + 5}::vector, $${p + 6}, $${p + 7})`)
          args.push(TENANT, OWNER.type, OWNER.id, data.notes[i], pgvector.toSql([...data.vectors[i]!]), model, String(i))
        }
        await rawClient!.query(`INSERT INTO ${table} (tenant, agent_type, actor_id, kind, text, embedding, model, content_hash) VALUES ${values.join(", ")}`, args)
        rawMs += performance.now() - t
        rawRows += hi - lo
      }
      // each batch is split between the two, in an order that alternates, so both see the same index size
      if (antsFirst) {
        await runAnts(from, half)
        await runRaw(half, to)
      } else {
        await runRaw(from, half)
        await runAnts(half, to)
      }
      ctx.progress((0.7 * (b + 1)) / batches, `${backend}: inserted ${to}/${n}`)
    }
    // what the periodic sweep does after this many writes (PGlite has no autovacuum)
    await memory.sweep()
    const antsRate = (antsRows / antsMs) * 1000
    const rawRate = (rawRows / rawMs) * 1000
    ctx.record({ metric: `insert (${label})`, value: antsRate, unit: "rows/s", baseline: rawRate, baselineOf: `raw pg multi-row INSERT of ${BATCH / 2}-row halves into the same table`, better: "higher", target: "ratio >= 0.8", headline: true, params })

    await beforeSearch?.()
    // search and recall@10
    const antsLat = new Samples()
    const rawLat = new Samples()
    let hits = 0
    let idHits = 0
    // the WHERE recall builds for a tenant-wide search (row-level security adds the tenant on the ANTS side)
    const where = `tenant = $2 AND model = $3 AND (expires_at IS NULL OR expires_at > now())`
    for (let q = 0; q < data.queries.length; q++) {
      const embedding = data.queries[q]!
      const ants = async () => {
        const t = performance.now()
        const found = await memory!.recall(OWNER, { embedding, k: K, scope: "tenant" })
        antsLat.push(performance.now() - t)
        return found
      }
      // both start from the query's number array: the raw side serialises it as pgvector's client does
      const rawSearch = async () => {
        const t = performance.now()
        await rawClient!.query(`SELECT ${COLUMNS}, embedding <=> $1 AS distance FROM ${table} WHERE ${where} ORDER BY distance LIMIT ${K}`, [pgvector.toSql([...embedding]), TENANT, model])
        rawLat.push(performance.now() - t)
      }
      let found: Awaited<ReturnType<typeof ants>>
      if (q % 2 === 0) {
        found = await ants()
        await rawSearch()
      } else {
        await rawSearch()
        found = await ants()
      }
      await exactClient.query("BEGIN")
      await exactClient.query("SET LOCAL enable_indexscan = off")
      const exact = await exactClient.query<{ id: string; distance: number }>(`SELECT id, embedding <=> $1 AS distance FROM ${table} WHERE ${where} ORDER BY distance LIMIT ${K}`, [pgvector.toSql([...embedding]), TENANT, model])
      await exactClient.query("COMMIT")
      const truth = new Set(exact.rows.map((r) => r.id))
      idHits += found.filter((m) => truth.has(m.id)).length / Math.max(1, truth.size)
      // lexical vectors tie often (notes sharing the same words): an entry as close as the
      // k-th exact neighbour is a true neighbour too, whichever of the tied ids exact search listed
      const kth = Math.max(...exact.rows.map((r) => Number(r.distance)))
      hits += Math.min(K, found.filter((m) => 1 - m.score <= kth + 1e-6).length) / Math.max(1, exact.rows.length)
      ctx.progress(0.7 + (0.3 * (q + 1)) / data.queries.length, `${backend}: query ${q + 1}/${data.queries.length}`)
    }
    const p50 = percentile(antsLat.view(), 0.5)
    const rawP50 = percentile(rawLat.view(), 0.5)
    ctx.record({ metric: `search p50 (${label})`, value: p50, unit: "ms", baseline: rawP50, baselineOf: "the same query (columns, WHERE, vector, k 10, ef_search, iterative scan) sent raw through pg on the same table", better: "lower", target: "ratio <= 1.2", headline: true, params })
    ctx.record({ metric: `search p99 (${label})`, value: percentile(antsLat.view(), 0.99), unit: "ms", baseline: percentile(rawLat.view(), 0.99), baselineOf: "the same query sent raw through pg", better: "lower", params })
    ctx.record({ metric: `recall@10 (${label})`, value: hits / data.queries.length, unit: "fraction", better: "higher", target: "value >= 0.95", headline: true, params, note: "against exact search (index scans off) for the same vector; a result as close as the 10th exact neighbour counts (ties)" })
    ctx.record({ metric: `recall@10 by id (${label})`, value: idHits / data.queries.length, unit: "fraction", better: "higher", params, note: "the share of exact search's ten ids returned; ties among equally close entries make it lower than recall@10" })
  } finally {
    await rawClient?.end().catch(() => undefined)
    await exactClient?.end().catch(() => undefined)
    if (memory !== undefined) {
      if (backend === "postgres") {
        const c = new pg.Client({ connectionString: postgres })
        await c.connect()
        await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`).finally(() => c.end())
      }
      await memory.close()
    }
    pgData?.remove()
  }
}
