/**
 * The memory store: remember, recall by meaning, forget, outcomes, the expiry sweep and
 * stats, over one `pg` pool (PostgreSQL, or PGlite behind its socket: the same code path).
 * Every tenant call is one transaction as the restricted role with the tenant set, so
 * row-level security decides what it can see; a call resolves only after COMMIT, so an
 * acknowledged write is a committed write. Input is checked, and embedded, before the
 * transaction starts: bad input and provider failures write nothing.
 */
import { createHash } from "node:crypto"
import type pg from "pg"
import type { EmbeddingClient } from "./embedding-client.ts"
import { asMemoryError, MemoryError } from "./errors.ts"
import { arrayLit, ident, jsonLit, lit, tenantPrelude, vectorLit } from "./sql.ts"
import type { ForgetSelector, MemoryItem, MemoryKind, MemoryOwner, MemoryScope, MemoryStats, RecallQuery, RecalledItem, RememberInput } from "./types.ts"
import { checkKind, checkMetadata, checkOwner, checkRecall, checkRemember, checkReward, checkScope, checkTenant, type CheckedRemember } from "./validate.ts"

/** hnsw.ef_search used by recall: candidates the index keeps while searching (pgvector's default is 40). */
export const DEFAULT_EF_SEARCH = 100

export interface MemoryStoreConfig {
  readonly pool: pg.Pool
  readonly embeddings: EmbeddingClient
  readonly schema: string
  readonly role: string
  readonly backend: "postgres" | "pglite"
  /** The URL, without a password, for stats and logs. */
  readonly url: string
  readonly efSearch?: number
}

/** The memory API with the owner explicit: what the node and the CLI use. Agents get `ScopedMemory` (`ctx.memory`). */
export interface MemoryStore {
  readonly backend: "postgres" | "pglite"
  readonly url: string
  readonly schema: string
  readonly embeddings: EmbeddingClient
  remember(owner: MemoryOwner, input: RememberInput): Promise<MemoryItem>
  /** Many entries in one transaction (all or none). */
  rememberMany(owner: MemoryOwner, inputs: ReadonlyArray<RememberInput>): Promise<MemoryItem[]>
  recall(owner: MemoryOwner, query: RecallQuery | string): Promise<RecalledItem[]>
  /** Deletes matching entries; by default only the owner's own. Returns how many. */
  forget(owner: MemoryOwner, selector: ForgetSelector): Promise<number>
  /** Records a reward (-1..+1) on an entry of the tenant (a shared procedure, typically). */
  recordOutcome(owner: MemoryOwner, id: string, reward: number): Promise<MemoryItem>
  /**
   * Deletes expired entries of every tenant and returns how many; refreshes the planner's
   * statistics when a tenth of the table was written since the last time (PGlite has no
   * autovacuum, and without statistics the planner misjudges the tenant filter and scans).
   */
  sweep(): Promise<number>
  /** Refreshes the planner's statistics of the table now (ANALYZE). */
  analyze(): Promise<void>
  /** Counts per tenant and kind (one tenant, or all). */
  stats(tenant?: string): Promise<MemoryStats>
}

const COLUMNS = "id, kind, text, data, metadata, tenant, agent_type, actor_id, created_at, expires_at, uses, success_rate"

interface Row {
  id: string
  kind: MemoryKind
  text: string
  data: Record<string, unknown> | null
  metadata: Record<string, unknown>
  tenant: string
  agent_type: string
  actor_id: string
  created_at: Date
  expires_at: Date | null
  uses: number
  success_rate: number | null
  distance?: number
}

const toItem = (r: Row): MemoryItem => ({
  id: r.id,
  kind: r.kind,
  text: r.text,
  data: r.data,
  metadata: r.metadata,
  tenant: r.tenant,
  type: r.agent_type,
  actor: r.actor_id,
  createdAt: new Date(r.created_at).toISOString(),
  expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(),
  uses: r.uses,
  successRate: r.success_rate,
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function checkId(id: unknown): string {
  if (typeof id !== "string" || !UUID.test(id)) throw new MemoryError("invalid_input", `a memory id is a UUID (got ${JSON.stringify(id)})`)
  return id
}

/** What a scope adds to a WHERE clause, for the owner. */
function scopeWhere(owner: MemoryOwner, scope: MemoryScope): string[] {
  if (scope === "tenant") return []
  if (scope === "type") return [`agent_type = ${lit(owner.type)}`]
  return [`agent_type = ${lit(owner.type)}`, `actor_id = ${lit(owner.id)}`]
}

export function createMemoryStore(config: MemoryStoreConfig): MemoryStore {
  const { pool, embeddings, role } = config
  const table = `${ident(config.schema)}.memories`
  const efSearch = config.efSearch ?? DEFAULT_EF_SEARCH
  let writtenSinceAnalyze = 0
  let rowsAtAnalyze = 0

  /** One tenant transaction in one round trip; returns the results of `statements`. */
  async function inTenant(tenant: string, statements: ReadonlyArray<string>, settings: Record<string, string | number> = {}): Promise<pg.QueryResult[]> {
    const client = await pool.connect().catch((e: unknown) => {
      throw asMemoryError(e, `memory database ${config.url}`)
    })
    try {
      // one simple query: PostgreSQL commits it as one transaction before it answers, or rolls all of it back
      const results = (await client.query(`${tenantPrelude(role, tenant, settings)};\n${statements.join(";\n")}`)) as unknown as pg.QueryResult[]
      return results.slice(1)
    } catch (e) {
      throw mapError(e)
    } finally {
      client.release()
    }
  }

  async function rowsInTenant<T extends object>(tenant: string, sql: string, settings: Record<string, string | number> = {}): Promise<T[]> {
    const [result] = await inTenant(tenant, [sql], settings)
    return result!.rows as T[]
  }

  /** Maintenance as the connecting user (every tenant); the rows of the last statement. */
  async function asOwner<T extends object>(sql: string): Promise<T[]> {
    try {
      const r = (await pool.query(sql)) as pg.QueryResult | pg.QueryResult[]
      return (Array.isArray(r) ? r[r.length - 1]! : r).rows as T[]
    } catch (e) {
      throw mapError(e)
    }
  }

  function mapError(e: unknown): MemoryError {
    const code = (e as { code?: unknown }).code
    if (code === "22000" && String((e as Error).message).includes("dimensions")) return new MemoryError("dimension_mismatch", (e as Error).message, { cause: e })
    if (code === "54000") return new MemoryError("too_large", (e as Error).message, { cause: e })
    return asMemoryError(e, `memory database ${config.url}`)
  }

  async function vectorsFor(items: ReadonlyArray<CheckedRemember>): Promise<ReadonlyArray<ReadonlyArray<number>>> {
    return await Promise.all(items.map((c) => (c.embedding !== null ? c.embedding : embeddings.embed(c.text))))
  }

  function rowValues(owner: MemoryOwner, c: CheckedRemember, vector: ReadonlyArray<number>): string {
    const hash = createHash("sha256").update(c.text).digest("hex")
    const uses = c.outcome === null ? 0 : 1
    const rewardSum = c.outcome === null ? 0 : (c.outcome + 1) / 2
    return `(${[lit(owner.tenant), lit(owner.type), lit(owner.id), lit(c.kind), lit(c.text), jsonLit(c.data), jsonLit(c.metadata), vectorLit(vector), lit(embeddings.model), lit(hash), lit(uses), lit(rewardSum), lit(c.expiresAt)].join(", ")})`
  }

  async function analyze(): Promise<void> {
    writtenSinceAnalyze = 0
    const rows = await asOwner<{ n: number }>(`ANALYZE ${table}; SELECT reltuples::bigint::int AS n FROM pg_class WHERE oid = ${lit(table)}::regclass`)
    rowsAtAnalyze = Math.max(0, rows[0]?.n ?? 0)
  }

  const INSERT_INTO = `INSERT INTO ${table} (tenant, agent_type, actor_id, kind, text, data, metadata, embedding, model, content_hash, uses, reward_sum, expires_at) VALUES `
  // a procedure remembered again (same agent type, same text) is the same procedure: its outcomes add up
  const ON_PROCEDURE = ` ON CONFLICT (tenant, agent_type, model, content_hash) WHERE kind = 'procedural' DO UPDATE SET uses = memories.uses + EXCLUDED.uses, reward_sum = memories.reward_sum + EXCLUDED.reward_sum, metadata = memories.metadata || EXCLUDED.metadata, data = COALESCE(EXCLUDED.data, memories.data), updated_at = now()`

  async function rememberMany(owner: MemoryOwner, inputs: ReadonlyArray<RememberInput>): Promise<MemoryItem[]> {
    checkOwner(owner)
    if (!Array.isArray(inputs)) throw new MemoryError("invalid_input", "rememberMany takes an array")
    if (inputs.length === 0) return []
    const now = Date.now()
    const checked = inputs.map((i) => checkRemember(i, embeddings.dimensions, now))
    const vectors = await vectorsFor(checked)
    // one statement per procedure (each may merge into an existing row), one for all the rest
    const statements: string[] = []
    const plain = checked.flatMap((c, i) => (c.kind === "procedural" ? [] : [rowValues(owner, c, vectors[i]!)]))
    if (plain.length > 0) statements.push(`${INSERT_INTO}${plain.join(", ")} RETURNING ${COLUMNS}`)
    checked.forEach((c, i) => {
      if (c.kind === "procedural") statements.push(`${INSERT_INTO}${rowValues(owner, c, vectors[i]!)}${ON_PROCEDURE} RETURNING ${COLUMNS}`)
    })
    const results = await inTenant(owner.tenant, statements)
    writtenSinceAnalyze += checked.length
    const rows = results.flatMap((r) => r.rows as Row[])
    // back in input order: plain rows come first in the results, procedures after
    const plainRows = rows.slice(0, plain.length)
    const procRows = rows.slice(plain.length)
    let p = 0
    let q = 0
    return checked.map((c) => toItem(c.kind === "procedural" ? procRows[q++]! : plainRows[p++]!))
  }

  return {
    backend: config.backend,
    url: config.url,
    schema: config.schema,
    embeddings,

    async remember(owner, input) {
      const [item] = await rememberMany(owner, [input])
      return item!
    },

    rememberMany,

    async recall(owner, query) {
      checkOwner(owner)
      const q = checkRecall(query, embeddings.dimensions)
      const vector = q.embedding ?? (await embeddings.embed(q.query!))
      const v = vectorLit(vector)
      const where = [`model = ${lit(embeddings.model)}`, `(expires_at IS NULL OR expires_at > now())`, ...scopeWhere(owner, q.scope)]
      if (q.kind !== null) where.push(`kind = ${lit(q.kind)}`)
      if (q.filter !== null) where.push(`metadata @> ${jsonLit(q.filter)}`)
      const sql = `SELECT ${COLUMNS}, embedding <=> ${v} AS distance FROM ${table} WHERE ${where.join(" AND ")} ORDER BY distance LIMIT ${lit(q.k)}`
      // relaxed_order: a filtered search keeps scanning the index until it has k rows (pgvector 0.8)
      const rows = await rowsInTenant<Row>(owner.tenant, sql, { "hnsw.ef_search": Math.max(efSearch, q.k), "hnsw.iterative_scan": "relaxed_order" })
      return rows
        .map((r) => ({ ...toItem(r), score: 1 - Number(r.distance) }))
        .filter((r) => q.minScore === null || r.score >= q.minScore)
        .sort((a, b) => b.score - a.score)
    },

    async forget(owner, selector) {
      checkOwner(owner)
      if (typeof selector !== "object" || selector === null) throw new MemoryError("invalid_input", "forget takes {id}, {ids} or {kind, filter, scope}")
      const sel = selector as { id?: string; ids?: ReadonlyArray<string>; kind?: MemoryKind; filter?: Record<string, unknown>; scope?: MemoryScope }
      const where = scopeWhere(owner, sel.scope === undefined ? "actor" : checkScope(sel.scope))
      if ("id" in sel || "ids" in sel) {
        const ids = "id" in sel ? [checkId(sel.id)] : Array.isArray(sel.ids) ? sel.ids.map(checkId) : []
        if (ids.length === 0) return 0
        where.push(`id = ANY(${arrayLit(ids)}::uuid[])`)
      }
      if (sel.kind !== undefined) where.push(`kind = ${lit(checkKind(sel.kind))}`)
      if (sel.filter !== undefined) where.push(`metadata @> ${jsonLit(checkMetadata(sel.filter, "filter"))}`)
      if (where.length === 0) where.push("TRUE")
      const rows = await rowsInTenant<{ n: number }>(owner.tenant, `WITH d AS (DELETE FROM ${table} WHERE ${where.join(" AND ")} RETURNING 1) SELECT count(*)::int AS n FROM d`)
      return rows[0]?.n ?? 0
    },

    async recordOutcome(owner, id, reward) {
      checkOwner(owner)
      checkId(id)
      const r = checkReward(reward)
      const rows = await rowsInTenant<Row>(
        owner.tenant,
        `UPDATE ${table} SET uses = uses + 1, reward_sum = reward_sum + ${lit((r + 1) / 2)}, updated_at = now() WHERE id = ${lit(id)}::uuid RETURNING ${COLUMNS}`,
      )
      if (rows.length === 0) throw new MemoryError("not_found", `no memory ${id} in tenant ${owner.tenant}`)
      return toItem(rows[0]!)
    },

    async sweep() {
      const rows = await asOwner<{ n: number }>(`WITH d AS (DELETE FROM ${table} WHERE expires_at <= now() RETURNING 1) SELECT count(*)::int AS n FROM d`)
      // the same threshold as autovacuum's default: 50 rows plus a tenth of the table
      if (writtenSinceAnalyze > 50 + rowsAtAnalyze / 10) await analyze()
      return rows[0]?.n ?? 0
    },

    analyze,

    async stats(tenant) {
      if (tenant !== undefined) checkTenant(tenant)
      const groups = `SELECT tenant, kind, count(*)::int AS count FROM ${table} GROUP BY tenant, kind ORDER BY tenant, kind`
      const expired = `SELECT count(*)::int AS n FROM ${table} WHERE expires_at <= now()`
      const byTenant = tenant === undefined ? await asOwner<{ tenant: string; kind: MemoryKind; count: number }>(groups) : await rowsInTenant<{ tenant: string; kind: MemoryKind; count: number }>(tenant, groups)
      const exp = tenant === undefined ? await asOwner<{ n: number }>(expired) : await rowsInTenant<{ n: number }>(tenant, expired)
      return {
        backend: config.backend,
        url: config.url,
        dimensions: embeddings.dimensions,
        model: embeddings.model,
        total: byTenant.reduce((a, r) => a + r.count, 0),
        expired: exp[0]?.n ?? 0,
        byTenant,
      }
    },
  }
}
