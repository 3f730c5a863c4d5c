/**
 * Fresh embedded databases without the wait of creating each one: a new PGlite data directory
 * spends 4 s of CPU (20 s and more on a busy machine) creating its cluster before the first
 * statement. The first caller on a machine creates one cluster with pgvector's extension, as a
 * template under the system's temporary directory, named for the PGlite and pgvector versions
 * installed; every later caller copies it. The template is built aside and renamed into place, so
 * processes starting at once never see half of it. Used by the recall scenario and the tests.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/** The version of an installed package, read from the package.json above its entry point. */
function installedVersion(pkg: string): string {
  let dir: string
  try {
    dir = dirname(createRequire(import.meta.url).resolve(pkg))
  } catch {
    return "unknown" // not resolvable from here: the import below says what is missing
  }
  for (;;) {
    const file = join(dir, "package.json")
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string }
      if (json.name === pkg && json.version) return json.version
    }
    const up = dirname(dir)
    if (up === dir) return "unknown"
    dir = up
  }
}

/** The template's directory, created first if this machine has none for these versions. */
async function template(): Promise<string> {
  const dir = join(tmpdir(), `ants-pglite-template-${installedVersion("@electric-sql/pglite")}-${installedVersion("@electric-sql/pglite-pgvector")}`)
  if (existsSync(dir)) return dir
  const { PGlite } = await import("@electric-sql/pglite")
  const { vector } = await import("@electric-sql/pglite-pgvector")
  const building = mkdtempSync(join(tmpdir(), "ants-pglite-building-"))
  const db = await PGlite.create({ dataDir: building, extensions: { vector } })
  await db.query("CREATE EXTENSION IF NOT EXISTS vector")
  await db.close()
  try {
    renameSync(building, dir)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another process made it first
  }
  return dir
}

/**
 * A new temporary directory for the memory layer's embedded database (`openMemory({ dataDir })`
 * keeps its cluster in `pgdata` inside it), holding an initialised cluster copied from the
 * template. `remove()` deletes it.
 */
export async function pgliteDataDir(prefix = "ants-memory-"): Promise<{ dir: string; remove(): void }> {
  const from = await template()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cpSync(from, join(dir, "pgdata"), { recursive: true })
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
