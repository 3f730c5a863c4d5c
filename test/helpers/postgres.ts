/**
 * Test databases for the memory layer: the machine's PostgreSQL (database `test` on
 * 127.0.0.1:5432, user postgres, pgvector installed by the CI setup) with a fresh schema per
 * test file, dropped at the end; and PGlite in a fresh temporary data directory. A suite asks
 * `postgresReachable()` first and skips its PostgreSQL half, saying why, only when no server
 * answers.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from "node:fs"
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

/**
 * A temporary data directory for the embedded database, already initialised: a fresh PGlite
 * spends most of its first start creating the cluster (20 s and more on a busy machine), so
 * the first caller on this machine creates one template and every test copies it. The
 * template is built aside and renamed into place, so concurrent test files never see half of it.
 */
export async function pgliteDataDir(prefix = "ants-memory-"): Promise<{ dir: string; remove(): void }> {
  const { PGlite } = await import("@electric-sql/pglite")
  const { vector } = await import("@electric-sql/pglite-pgvector")
  const template = join(tmpdir(), "ants-test-pglite-template-0.5.14")
  if (!existsSync(template)) {
    const building = mkdtempSync(join(tmpdir(), "ants-test-pglite-building-"))
    const db = await PGlite.create({ dataDir: building, extensions: { vector } })
    await db.query("CREATE EXTENSION IF NOT EXISTS vector")
    await db.close()
    try {
      renameSync(building, template)
    } catch {
      rmSync(building, { recursive: true, force: true }) // another test file made it first
    }
  }
  const data = tempDataDir(prefix)
  cpSync(template, join(data.dir, "pgdata"), { recursive: true })
  return data
}
