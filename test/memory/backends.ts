/**
 * The two backends every memory suite runs on: PGlite (one embedded server per test file in a
 * temporary data directory, reached through its socket like any PostgreSQL) and the machine's
 * PostgreSQL (a fresh schema per store, dropped at the end). `skip` says why a backend cannot run.
 */
import { openMemory, startEmbeddedPostgres, type EmbeddedPostgres, type Memory, type MemoryOptions } from "../../runtime/memory/mod.ts"
import { dropSchema, freshSchema, pgliteDataDir, postgresReachable, TEST_POSTGRES_URL } from "../helpers/postgres.ts"

export interface Backend {
  readonly name: "pglite" | "postgres"
  readonly skip: string | undefined
  /** Starts what the backend needs (once per file). */
  setup(): Promise<void>
  /** A store in a fresh schema (or the given one). */
  open(options?: MemoryOptions): Promise<Memory>
  /** The URL a raw `pg` client uses to reach this backend. */
  url(): string
  teardown(): Promise<void>
}

function pgliteBackend(): Backend {
  let data: Awaited<ReturnType<typeof pgliteDataDir>> | undefined
  let server: EmbeddedPostgres | undefined
  const opened: Memory[] = []
  return {
    name: "pglite",
    skip: undefined,
    async setup() {
      data = await pgliteDataDir()
      server = await startEmbeddedPostgres(data.dir)
    },
    async open(options = {}) {
      const m = await openMemory({ dataDir: data!.dir, schema: freshSchema(), sweepIntervalMs: 0, env: {}, ...options })
      opened.push(m)
      return m
    },
    url: () => server!.url,
    async teardown() {
      for (const m of opened) await m.close()
      await server?.stop()
      data?.remove()
    },
  }
}

function postgresBackend(skip: string | undefined): Backend {
  const opened: Memory[] = []
  return {
    name: "postgres",
    skip,
    async setup() {},
    async open(options = {}) {
      const m = await openMemory({ postgres: TEST_POSTGRES_URL, schema: freshSchema(), sweepIntervalMs: 0, env: {}, ...options })
      opened.push(m)
      return m
    },
    url: () => TEST_POSTGRES_URL,
    async teardown() {
      for (const m of opened) {
        await m.close()
        await dropSchema(m.schema)
      }
    },
  }
}

export async function memoryBackends(): Promise<Backend[]> {
  const skip = await postgresReachable()
  if (skip !== undefined) console.warn(skip)
  return [pgliteBackend(), postgresBackend(skip)]
}
