/**
 * Test databases for the memory layer: the machine's PostgreSQL (database `test` on
 * 127.0.0.1:5432, user postgres, pgvector installed by the CI setup) with a fresh schema per
 * test file, dropped at the end; and PGlite in a fresh temporary data directory. A suite asks
 * `postgresReachable()` first and skips its PostgreSQL half, saying why, only when no server
 * answers.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"

export const TEST_POSTGRES_URL = process.env.ANTS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"

export async function postgresReachable(url = TEST_POSTGRES_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return undefined
  } catch (e) {
    return `PostgreSQL at ${url} is unreachable (${e instanceof Error ? e.message : String(e)}): its half of the suite is skipped; start it and run .ci/setup to install pgvector`
  } finally {
    await client.end().catch(() => undefined)
  }
}

export function freshSchema(prefix = "t"): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
}

export async function dropSchema(schema: string, url = TEST_POSTGRES_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
}

export function tempDataDir(prefix = "ants-memory-"): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** An initialised embedded database's directory, copied from the machine's template. */
export { pgliteDataDir } from "../../bench/pglite-template.ts"
