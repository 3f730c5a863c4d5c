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
export { MemoryError, isMemoryError } from "./errors.ts"
export type { MemoryErrorCode } from "./errors.ts"
export { MEMORY_KINDS, MEMORY_SCOPES } from "./types.ts"
export type { ForgetSelector, MemoryItem, MemoryKind, MemoryOwner, MemoryScope, MemoryStats, Metadata, RecallQuery, RecalledItem, RememberInput } from "./types.ts"
export { DEFAULT_K, MAX_K, MAX_METADATA_BYTES, MAX_TEXT_BYTES } from "./validate.ts"
export { createMemoryStore, DEFAULT_EF_SEARCH } from "./memory-store.ts"
export type { MemoryStore, MemoryStoreConfig } from "./memory-store.ts"
export { scopeMemory } from "./scoped-memory.ts"
export type { MemoryCalls, ScopedMemory } from "./scoped-memory.ts"
export { chooseEmbedder, DEFAULT_DATA_DIR, DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_TENANT_ROLE, displayUrl, openMemory } from "./open-memory.ts"
export type { Memory, MemoryOptions } from "./open-memory.ts"
export { memoryOnDemand } from "./memory-on-demand.ts"
export type { NodeMemory } from "./memory-on-demand.ts"
export { startEmbeddedPostgres } from "./embedded-postgres.ts"
export type { EmbeddedPostgres } from "./embedded-postgres.ts"
export { HNSW_BUILD, LATEST_VERSION, MIGRATIONS, migrate } from "./migrations.ts"
export type { MigrationTarget } from "./migrations.ts"
export { TENANT_SETTING } from "./sql.ts"
export type { EmbeddingProvider } from "./embedding-provider.ts"
export { createEmbeddingClient } from "./embedding-client.ts"
export type { EmbeddingClient, EmbeddingClientOptions, EmbeddingClientStats } from "./embedding-client.ts"
export { EmbeddingCache, embeddingKey, EMBEDDING_CACHE_MAX_ENTRIES, EMBEDDING_CACHE_TTL_MS } from "./embedding-cache.ts"
export { lexicalEmbedder, lexicalVector, LEXICAL_DIMENSIONS, LEXICAL_MODEL } from "./lexical-embedder.ts"
export { openaiEmbedder, DEFAULT_OPENAI_EMBEDDING_MODEL, OPENAI_MAX_BATCH } from "./openai-embedder.ts"
export type { OpenAIEmbedderOptions } from "./openai-embedder.ts"
export { bestProcedures, createBandit, DEFAULT_EPSILON, epsilonGreedy, recordProcedure, REWARD } from "./learning.ts"
export type { ArmStats, Bandit, Choice, Procedure, ProcedureInput } from "./learning.ts"
