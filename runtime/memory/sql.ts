/**
 * SQL text for the memory store. A tenant's call is one transaction: the role, the tenant
 * setting, then the work. Sent one statement at a time (BEGIN, SET, SET, work, COMMIT) that is
 * five round trips, which on a shared PostgreSQL or on PGlite behind its socket cost more than
 * the search itself. So each call is sent as **one simple-query batch** of two statements or
 * so, which PostgreSQL runs as a single transaction, with every
 * value written as a literal through these helpers (pg's own escaping for text and
 * identifiers; numbers checked finite; vectors in pgvector's text form). Nothing reaches SQL
 * that did not pass through them.
 */
import pg from "pg"

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

/**
 * pgvector's text form as a literal. Every component is checked to be a finite number, so the
 * text holds only digits, signs, points, exponents, commas and brackets and needs no escaping
 * (escaping it character by character cost more than the search it belonged to).
 */
export function vectorLit(v: ReadonlyArray<number>): string {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (typeof x !== "number" || !Number.isFinite(x)) throw new Error(`vector component ${i} is not a finite number: ${String(x)}`)
  }
  return `'${JSON.stringify(Array.isArray(v) ? v : Array.from(v))}'::vector`
}

export const arrayLit = (values: ReadonlyArray<string>): string => `ARRAY[${values.map((v) => pg.escapeLiteral(v)).join(",")}]::text[]`

/**
 * The first statement of a tenant transaction: the restricted role (so row-level security
 * applies), the tenant, and any planner settings, each local to the transaction. The batch it
 * opens is one simple query, which PostgreSQL runs as one transaction (committed when the last
 * statement succeeds, rolled back when any fails), so no BEGIN or COMMIT is sent.
 */
export function tenantPrelude(role: string, tenant: string, settings: Readonly<Record<string, string | number>> = {}): string {
  const all: Array<[string, string]> = [["role", role], [TENANT_SETTING, tenant], ...Object.entries(settings).map(([k, v]): [string, string] => [k, String(v)])]
  return `SELECT ${all.map(([k, v]) => `set_config(${lit(k)}, ${lit(v)}, true)`).join(", ")}`
}
