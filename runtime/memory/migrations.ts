/**
 * Versioned migrations of the memory schema, run when a store opens. Each version runs once,
 * recorded in `<schema>.migrations`; every starter takes the same transaction-scoped advisory
 * lock first, so nodes starting together apply each version exactly once and the late ones
 * find it done. The vector length is fixed when the table is created; a store opened later
 * with another length gets `dimension_mismatch` instead of a table of mixed vectors.
 *
 * Tenant isolation lives in SQL: row-level security (enabled and forced) lets the restricted
 * role see and write only rows whose tenant is the transaction's `ants_memory.tenant`
 * setting, and every tenant call switches to that role (`SET LOCAL ROLE`), because a
 * superuser, or a table owner without FORCE, would bypass the policy. Maintenance (the expiry
 * sweep, stats over all tenants) runs as the connecting user, which a second policy admits.
 */
import type pg from "pg"
import { MemoryError } from "./errors.ts"
import { ident, lit, TENANT_SETTING } from "./sql.ts"

/**
 * The HNSW index's build parameters, written down (they are pgvector's defaults): 16 links
 * per node, 64 candidates while building. On vectors shaped like real embeddings this gives
 * recall@10 of 0.99 at hnsw.ef_search 100 over 100,000 memories (bench `recall`); the offline
 * lexical embedder's vectors are harder (about 0.8 there; near 0.95 at ef_search 400).
 */
export const HNSW_BUILD = { m: 16, efConstruction: 64 } as const

/** Any constant shared by every ANTS memory starter of a database: migrations run one at a time per database. */
const MIGRATION_LOCK = 0x414e5453

export interface MigrationTarget {
  readonly schema: string
  readonly role: string
  readonly dimensions: number
}

interface Migration {
  readonly version: number
  readonly name: string
  sql(t: MigrationTarget): string
}

export const MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "memories table, HNSW index (cosine), row-level security by tenant",
    sql: ({ schema, role, dimensions }) => {
      const s = ident(schema)
      const r = ident(role)
      const own = `current_setting(${lit(TENANT_SETTING)}, true)`
      return `
CREATE TABLE ${s}.memories (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  agent_type text NOT NULL,
  actor_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('episodic', 'semantic', 'procedural')),
  text text NOT NULL,
  data jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  embedding vector(${dimensions}) NOT NULL,
  model text NOT NULL,
  content_hash text NOT NULL,
  uses integer NOT NULL DEFAULT 0,
  reward_sum double precision NOT NULL DEFAULT 0,
  success_rate double precision GENERATED ALWAYS AS (CASE WHEN uses > 0 THEN reward_sum / uses END) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE INDEX memories_embedding ON ${s}.memories USING hnsw (embedding vector_cosine_ops) WITH (m = ${HNSW_BUILD.m}, ef_construction = ${HNSW_BUILD.efConstruction});
CREATE INDEX memories_owner ON ${s}.memories (agent_type, actor_id, kind);
CREATE INDEX memories_expiry ON ${s}.memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX memories_procedure ON ${s}.memories (tenant, agent_type, model, content_hash) WHERE kind = 'procedural';
ALTER TABLE ${s}.memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${s}.memories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ${s}.memories TO ${r} USING (tenant = ${own}) WITH CHECK (tenant = ${own});
CREATE POLICY maintenance ON ${s}.memories TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT USAGE ON SCHEMA ${s} TO ${r};
GRANT SELECT, INSERT, UPDATE, DELETE ON ${s}.memories TO ${r};
`
    },
  },
]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** The restricted role tenant calls switch to; created once per cluster, shared by every schema. */
async function ensureRole(client: pg.PoolClient, role: string): Promise<void> {
  const { rows } = await client.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
  const superuser = rows[0]?.rolsuper === true
  // two databases of one cluster may race to create the role: the loser's error is harmless
  await client.query(`DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${lit(role)}) THEN CREATE ROLE ${ident(role)} NOLOGIN NOINHERIT; END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`)
  if (!superuser) {
    const member = await client.query<{ ok: boolean }>("SELECT pg_has_role(current_user, $1, 'MEMBER') AS ok", [role])
    if (member.rows[0]?.ok !== true) await client.query(`GRANT ${ident(role)} TO CURRENT_USER`)
  }
}

export async function migrate(pool: pg.Pool, target: MigrationTarget): Promise<{ applied: number[] }> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query("BEGIN")
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK])
    try {
      await client.query("CREATE EXTENSION IF NOT EXISTS vector")
    } catch (e) {
      throw new MemoryError("setup_failed", `pgvector is not available in this database (${e instanceof Error ? e.message : String(e)}): install the extension (package postgresql-<version>-pgvector, or build it from https://github.com/pgvector/pgvector) or ask the administrator to run CREATE EXTENSION vector`, { cause: e })
    }
    try {
      await ensureRole(client, target.role)
    } catch (e) {
      throw new MemoryError("setup_failed", `cannot create or join the role ${target.role} that tenant transactions run as (${e instanceof Error ? e.message : String(e)}): create it (CREATE ROLE ${target.role} NOLOGIN) and GRANT it to the user ANTS connects as`, { cause: e })
    }
    const s = ident(target.schema)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${s}.migrations`)).rows.map((r) => r.version))
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue
      await client.query(m.sql(target))
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name])
      applied.push(m.version)
    }
    const typmod = await client.query<{ dims: number }>(
      `SELECT atttypmod AS dims FROM pg_attribute WHERE attrelid = ${lit(`${ident(target.schema)}.memories`)}::regclass AND attname = 'embedding'`,
    )
    const dims = typmod.rows[0]?.dims
    if (dims !== target.dimensions) {
      throw new MemoryError(
        "dimension_mismatch",
        `the memory store in schema ${target.schema} holds vectors of ${String(dims)} dimensions; the embedder gives ${target.dimensions}. Use an embedder of ${String(dims)} dimensions (OpenAI text-embedding-3 models take a dimensions option), or another schema or data directory`,
      )
    }
    await client.query("COMMIT")
    return { applied }
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined)
    throw e
  } finally {
    client.release()
  }
}
