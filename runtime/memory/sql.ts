/**
 * SQL text for the memory store. A tenant's call is one transaction of four or five
 * statements (BEGIN, the tenant role, the tenant setting, the work, COMMIT); sent one by one
 * that is five round trips, which on a shared PostgreSQL or on PGlite behind its socket cost
 * more than the search itself. So each call is sent as **one simple-query batch**, with every
 * value written as a literal through these helpers (pg's own escaping for text and
 * identifiers; numbers checked finite; vectors in pgvector's text form). Nothing reaches SQL
 * that did not pass through them.
 */
import pg from "pg"
import pgvector from "pgvector/pg"

/** The setting the row-level-security policy reads; set per transaction (`set_config(..., true)`). */
export const TENANT_SETTING = "ants_memory.tenant"

export const ident = (name: string): string => pg.escapeIdentifier(name)

export function lit(value: string | number | boolean | null | Date): string {
  if (value === null) return "NULL"
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`)
    return String(value)
  }
  if (value instanceof Date) return `${pg.escapeLiteral(value.toISOString())}::timestamptz`
  return pg.escapeLiteral(value)
}

export const jsonLit = (value: unknown): string => (value === null || value === undefined ? "NULL" : `${pg.escapeLiteral(JSON.stringify(value))}::jsonb`)

export const vectorLit = (v: ReadonlyArray<number>): string => `${pg.escapeLiteral(pgvector.toSql([...v]) as string)}::vector`

export const arrayLit = (values: ReadonlyArray<string>): string => `ARRAY[${values.map((v) => pg.escapeLiteral(v)).join(",")}]::text[]`

/** The opening of a tenant transaction: the restricted role (so row-level security applies) and the tenant. */
export function tenantPrelude(role: string, tenant: string, settings: Readonly<Record<string, string | number>> = {}): string {
  const sets = Object.entries(settings).map(([k, v]) => `SET LOCAL ${k} = ${typeof v === "number" ? lit(v) : v}`)
  return [`BEGIN`, `SET LOCAL ROLE ${ident(role)}`, `SELECT set_config(${lit(TENANT_SETTING)}, ${lit(tenant)}, true)`, ...sets].join(";\n")
}
