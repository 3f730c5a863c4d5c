/**
 * recall: the memory layer (runtime/memory) on 100,000 memories of 384 dimensions (quick:
 * 1,000), on PostgreSQL with pgvector (`ANTS_BENCH_POSTGRES`, else `DATABASE_URL`, else the
 * local test database; a fresh schema, dropped at the end; skipped with the reason when
 * unreachable) and on the embedded PGlite (served over its socket, in the process that runs it).
 * `ANTS_BENCH_RECALL_SIZE` sets another number of memories, `ANTS_BENCH_RECALL_BACKENDS` (a
 * comma-separated list of postgres, pglite) runs only some backends, `ANTS_BENCH_RECALL_DATA`
 * picks the vectors: `clustered` (default, shaped like real sentence embeddings) or `lexical`
 * (the offline embedder's); recall-data.ts describes both and why. With both backends, PGlite
 * runs in a child process (bench/probes/recall-probe.ts) and both insert at once, each database on
 * a core of its own; their searches are timed one after the other, nothing else running.
 *
 *   - insert: batches of 500 (quick: 100) split between `rememberMany` (one tenant
 *     transaction with the restricted role, checks and literals) and a raw `pg`
 *     parameterised multi-row INSERT of the same kind of rows into the same table, in an
 *     order that alternates, so both pay the same growing HNSW index. Vectors are precomputed
 *     for both; each side is timed from rows of texts and number arrays, so building the
 *     statement (serialising the vectors) counts on both. Issue target: ANTS rows/s >= 0.8x raw.
 *   - search: `recall` (k 10, the whole tenant, the query's vector given) against the same
 *     query sent raw through `pg` on the same table with the same semantics: the same columns
 *     and WHERE (tenant, model, not expired), `ORDER BY embedding <=> $1 LIMIT 10`, the same
 *     hnsw.ef_search and hnsw.iterative_scan (set once on the raw session). What ANTS adds is
 *     its own: the restricted role and the tenant setting per transaction (row-level
 *     security), the checks, the literal SQL and the conversion of rows. One query at a time,
 *     alternating which goes first. Issue target: p50 <= 1.2x raw.
 *   - recall@10: what `recall` returned against exact search (index scans off, the same
 *     WHERE) for the same vector, averaged over the queries; a result counts when it is as
 *     close as the tenth exact neighbour (lexical vectors tie often; ann-benchmarks counts
 *     the same way). Issue target: >= 0.95. The share of exact search's own ids is a second
 *     figure.
 */import { spawnTs } from "../children.ts"
import { probeResult } from "../probe-output.ts"
import type { Scenario, ScenarioContext } from "../types.ts"
import { runBackend, type RecallBackend } from "./recall-backend.ts"
import { RECALL_DATA, recallSet, type RecallData, type RecallSet } from "./recall-data.ts"

/** The PGlite child's whole run, inserts, searches and exact searches, may take this long. */
const PGLITE_PROBE_TIMEOUT_MS = 60 * 60_000

/** `ctx` with the progress of one of two backends that run at once: the scenario's is their mean. */
function sharedProgress(ctx: ScenarioContext, at: number[], i: number): ScenarioContext {
  return {
    ...ctx,
    progress(fraction, label) {
      at[i] = fraction
      ctx.progress((at[0]! + at[1]!) / 2, label)
    },
  }
}

/**
 * PostgreSQL here and PGlite in a child process, their inserts at once (the two databases run on
 * different cores: PostgreSQL's server process, PGlite in the child's thread), their searches one
 * after the other: PostgreSQL's once the child has inserted, the child's once PostgreSQL is done.
 */
async function bothBackends(ctx: ScenarioContext, data: RecallSet, kind: RecallData): Promise<void> {
  const [n, queries] = [data.notes.length, data.queries.length]
  const at = [0, 0]
  const child = spawnTs("bench/probes/recall-probe.ts", [JSON.stringify({ backend: "pglite", n, queries, kind, options: ctx.options })], [], { stdin: true })
  let inserted: () => void = () => undefined
  const childInserted = new Promise<void>((ok) => (inserted = ok))
  child.once("exit", () => inserted())
  const childDone = probeResult<unknown>(sharedProgress(ctx, at, 1), child, PGLITE_PROBE_TIMEOUT_MS, (line) => {
    if (line === "inserted") inserted()
  })
  // whichever fails, the other backend's figures are still taken; the first failure is thrown after
  const childFailed = childDone.then(
    () => undefined,
    (e: unknown) => e,
  )
  let failed: unknown
  try {
    await runBackend(sharedProgress(ctx, at, 0), "postgres", data, kind, () => childInserted)
  } catch (e) {
    failed = e
  } finally {
    child.stdin?.end("go\n")
  }
  failed ??= await childFailed
  if (failed !== undefined) throw failed
}

export const recallScenario: Scenario = {
  name: "recall",
  summary: "memory on PGlite and PostgreSQL: recall@10 vs exact search, search p50 vs a raw pg query, inserts vs raw batched INSERT (100,000 x 384)",
  async run(ctx) {
    const n = Number(process.env.ANTS_BENCH_RECALL_SIZE) || (ctx.quick ? 1_000 : 100_000)
    const queries = ctx.quick ? 20 : 200
    const kind = (process.env.ANTS_BENCH_RECALL_DATA ?? "clustered") as RecallData
    if (!RECALL_DATA.includes(kind)) throw new Error(`ANTS_BENCH_RECALL_DATA must be one of ${RECALL_DATA.join(", ")} (got ${kind})`)
    const only = process.env.ANTS_BENCH_RECALL_BACKENDS?.split(",")
    const backends = (["postgres", "pglite"] as const).filter((b: RecallBackend) => only === undefined || only.includes(b))
    const t = performance.now()
    const data = recallSet(kind, n, queries)
    ctx.record({ metric: `${kind} vectors generated`, value: ((n + queries) / (performance.now() - t)) * 1000, unit: "vectors/s", better: "higher", params: { vectors: n + queries, dimensions: 384 }, note: "test data (recall-data.ts), one thread, no baseline" })
    if (backends.length === 2) return bothBackends(ctx, data, kind)
    for (const backend of backends) await runBackend(ctx, backend, data, kind)
  },
}
