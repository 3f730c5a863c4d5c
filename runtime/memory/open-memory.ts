/**
 * Opens memory: picks the database (a PostgreSQL URL from the options or `DATABASE_URL`, else
 * the embedded PGlite in a data directory), the embedder (offline lexical unless OpenAI is
 * asked for), runs the migrations, and starts the expiry sweep. The composition root of the
 * layer; everything it wires is usable on its own.
 */
import { resolve } from "node:path"
import pg from "pg"
import { createEmbeddingClient } from "./embedding-client.ts"
import type { EmbeddingProvider } from "./embedding-provider.ts"
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.ts"
import { asMemoryError, MemoryError } from "./errors.ts"
import { lexicalEmbedder, LEXICAL_DIMENSIONS } from "./lexical-embedder.ts"
import { createMemoryStore, type MemoryStore } from "./memory-store.ts"
import { migrate } from "./migrations.ts"
import { openaiEmbedder, type OpenAIEmbedderOptions } from "./openai-embedder.ts"
import { scopeMemory, type ScopedMemory } from "./scoped-memory.ts"
import type { MemoryOwner } from "./types.ts"

/** Where the embedded database lives when no directory is given: relative to the working directory. */
export const DEFAULT_DATA_DIR = ".ants/memory"
export const DEFAULT_SCHEMA = "ants_memory"
/** The role tenant transactions run as, so that row-level security applies. */
export const DEFAULT_TENANT_ROLE = "ants_memory_tenant"
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000
/** Connections per process to a PostgreSQL server (PGlite: 1, it runs one statement at a time). */
export const DEFAULT_POOL_SIZE = 8

export interface MemoryOptions {
  /** A PostgreSQL URL (with pgvector available). Default: `DATABASE_URL`, else the embedded PGlite. */
  readonly postgres?: string
  /** The embedded database's directory. Default `.ants/memory` under the working directory. */
  readonly dataDir?: string
  /** Schema holding the tables (default `ants_memory`): one store per schema. */
  readonly schema?: string
  /** Role tenant transactions switch to (default `ants_memory_tenant`; created when missing). */
  readonly role?: string
  /**
   * `lexical` (offline, the default), `openai` (the SDK's OPENAI_API_KEY / OPENAI_BASE_URL,
   * or `openai` below), or any provider. Default from `ANTS_EMBEDDINGS`, else `lexical`.
   */
  readonly embeddings?: "lexical" | "openai" | EmbeddingProvider
  readonly openai?: OpenAIEmbedderOptions
  /** Cache of embeddings (default 10,000 entries, 24 h). */
  readonly cache?: { readonly entries?: number; readonly ttlMs?: number }
  readonly poolSize?: number
  /** hnsw.ef_search for recall (default 100). */
  readonly efSearch?: number
  /** How often expired episodic entries are deleted (default 60 s; 0: never, call `sweep()`). */
  readonly sweepIntervalMs?: number
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Where the sweep reports failures (default: nowhere; the next sweep tries again). */
  readonly onError?: (e: MemoryError) => void
}

export interface Memory extends MemoryStore {
  /** The embedded database when no URL was given. */
  readonly embedded: EmbeddedPostgres | undefined
  readonly dimensions: number
  /** Memory as one actor sees it. */
  forActor(owner: MemoryOwner): ScopedMemory
  close(): Promise<void>
}

export function chooseEmbedder(options: Pick<MemoryOptions, "embeddings" | "openai" | "env">): EmbeddingProvider {
  const env = options.env ?? process.env
  const choice = options.embeddings ?? env.ANTS_EMBEDDINGS ?? "lexical"
  if (typeof choice !== "string") return choice
  if (choice === "lexical") return lexicalEmbedder(LEXICAL_DIMENSIONS)
  if (choice === "openai") return openaiEmbedder(options.openai)
  throw new MemoryError("invalid_input", `unknown embeddings ${JSON.stringify(choice)}: lexical or openai`)
}

/** The URL without its password, for logs and stats. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = "***"
    return u.toString()
  } catch {
    return "(unparsable URL)"
  }
}

export async function openMemory(options: MemoryOptions = {}): Promise<Memory> {
  const env = options.env ?? process.env
  const provider = chooseEmbedder(options)
  const schema = options.schema ?? DEFAULT_SCHEMA
  const role = options.role ?? DEFAULT_TENANT_ROLE
  for (const [what, name] of [["schema", schema], ["role", role]] as const) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new MemoryError("invalid_input", `${what} must be a lower-case SQL name (letters, digits, _): ${JSON.stringify(name)}`)
  }
  const url = options.postgres ?? env.DATABASE_URL
  let embedded: EmbeddedPostgres | undefined
  if (url === undefined || url === "") embedded = await startEmbeddedPostgres(resolve(options.dataDir ?? DEFAULT_DATA_DIR))
  const connectionString = url || embedded!.url
  const pool = new pg.Pool({ connectionString, max: embedded !== undefined ? 1 : (options.poolSize ?? DEFAULT_POOL_SIZE) })
  // an idle connection dropped by the server must not take the process down; the next call reconnects
  pool.on("error", (e) => options.onError?.(asMemoryError(e, "memory database connection")))
  const shown = displayUrl(connectionString)
  try {
    await migrate(pool, { schema, role, dimensions: provider.dimensions })
  } catch (e) {
    await pool.end().catch(() => undefined)
    await embedded?.stop()
    throw asMemoryError(e, `memory database ${shown}`)
  }
  const embeddings = createEmbeddingClient(provider, { cacheEntries: options.cache?.entries, cacheTtlMs: options.cache?.ttlMs })
  const store = createMemoryStore({ pool, embeddings, schema, role, backend: embedded !== undefined ? "pglite" : "postgres", url: shown, efSearch: options.efSearch })
  // fresh statistics from the start: a restarted process does not know what was written before it
  await store.analyze().catch((e: unknown) => options.onError?.(asMemoryError(e, "memory analyze")))
  const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
  const sweeper =
    interval > 0
      ? setInterval(() => {
          store.sweep().catch((e: unknown) => options.onError?.(asMemoryError(e, "memory sweep")))
        }, interval).unref()
      : undefined
  let closed: Promise<void> | undefined
  return {
    ...store,
    embedded,
    dimensions: provider.dimensions,
    forActor: (owner) => scopeMemory(store, owner),
    close: () =>
      (closed ??= (async () => {
        if (sweeper !== undefined) clearInterval(sweeper)
        await pool.end().catch(() => undefined)
        await embedded?.stop()
      })()),
  }
}
