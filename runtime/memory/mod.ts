/**
 * Memory for agents: episodic (what happened, with outcomes; may expire), semantic (facts) and
 * procedural (how to do something, with a success rate shared across the agents of a tenant),
 * searched by meaning with vector embeddings in PostgreSQL + pgvector (HNSW, cosine).
 *
 * Promises: tenant isolation enforced by the database (row-level security, the tenant set per
 * transaction, a role that cannot bypass it); an acknowledged write is a committed write; bad
 * input is a `MemoryError` and writes nothing; the same SQL and the same `pg` code path on a
 * PostgreSQL server and on the embedded PGlite (served over its socket), which is the default.
 *
 * May import: `pg`, `pgvector`, PGlite and its socket and pgvector packages, `openai`, Node's
 * standard library; no other runtime layer. Never imports the actor engine or anything above
 * it: the engine imports this layer and hands each actor its scoped view as `ctx.memory`.
 */
export { MemoryError, isMemoryError, type MemoryErrorCode } from "./errors.ts"
export {
  MEMORY_KINDS,
  MEMORY_SCOPES,
  type ForgetSelector,
  type MemoryItem,
  type MemoryKind,
  type MemoryOwner,
  type MemoryScope,
  type MemoryStats,
  type Metadata,
  type RecallQuery,
  type RecalledItem,
  type RememberInput,
} from "./types.ts"
export { DEFAULT_K, MAX_K, MAX_METADATA_BYTES, MAX_TEXT_BYTES } from "./validate.ts"
export {
  createMemoryStore,
  DEFAULT_EF_SEARCH,
  type MemoryStore,
  type MemoryStoreConfig,
} from "./memory-store.ts"
export { scopeMemory, type MemoryCalls, type ScopedMemory } from "./scoped-memory.ts"
export {
  chooseEmbedder,
  DEFAULT_DATA_DIR,
  DEFAULT_POOL_SIZE,
  DEFAULT_SCHEMA,
  DEFAULT_SWEEP_INTERVAL_MS,
  DEFAULT_TENANT_ROLE,
  displayUrl,
  openMemory,
  type Memory,
  type MemoryOptions,
} from "./open-memory.ts"
export { memoryOnDemand, type NodeMemory } from "./memory-on-demand.ts"
export { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.ts"
export {
  HNSW_BUILD,
  LATEST_VERSION,
  MIGRATIONS,
  migrate,
  type MigrationTarget,
} from "./migrations.ts"
export { TENANT_SETTING } from "./sql.ts"
export type { EmbeddingProvider } from "./embedding-provider.ts"
export {
  createEmbeddingClient,
  type EmbeddingClient,
  type EmbeddingClientOptions,
  type EmbeddingClientStats,
} from "./embedding-client.ts"
export {
  EmbeddingCache,
  embeddingKey,
  EMBEDDING_CACHE_MAX_ENTRIES,
  EMBEDDING_CACHE_TTL_MS,
} from "./embedding-cache.ts"
export {
  lexicalEmbedder,
  lexicalVector,
  LEXICAL_DIMENSIONS,
  LEXICAL_MODEL,
} from "./lexical-embedder.ts"
export {
  openaiEmbedder,
  DEFAULT_OPENAI_EMBEDDING_MODEL,
  OPENAI_MAX_BATCH,
  type OpenAIEmbedderOptions,
} from "./openai-embedder.ts"
export {
  bestProcedures,
  createBandit,
  DEFAULT_EPSILON,
  epsilonGreedy,
  recordProcedure,
  REWARD,
  type ArmStats,
  type Bandit,
  type Choice,
  type Procedure,
  type ProcedureInput,
} from "./learning.ts"
