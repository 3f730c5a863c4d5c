/**
 * Checks every input of the memory API before anything is embedded or written, so bad input
 * gets a clear `MemoryError` and leaves the store as it was. Limits are written down here.
 */
import { MemoryError } from "./errors.ts"
import { MEMORY_KINDS, MEMORY_SCOPES, type MemoryKind, type MemoryOwner, type MemoryScope, type Metadata, type RecallQuery, type RememberInput } from "./types.ts"

/** The longest text remembered, in UTF-8 bytes (about 8,000 tokens: the OpenAI embedding models' input limit). */
export const MAX_TEXT_BYTES = 32 * 1024
/** The largest metadata object, as JSON bytes. */
export const MAX_METADATA_BYTES = 8 * 1024
/** The most entries one recall returns. */
export const MAX_K = 1000
export const DEFAULT_K = 5
/** The longest expiry accepted through `ttlMs` (ten years): a bigger number is a mistake. */
const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000
const TOKEN = /^[A-Za-z0-9_-]+$/

export interface CheckedRemember {
  readonly kind: MemoryKind
  readonly text: string
  readonly data: Record<string, unknown> | null
  readonly metadata: Metadata
  readonly outcome: number | null
  readonly expiresAt: Date | null
  readonly embedding: ReadonlyArray<number> | null
}

export function checkOwner(owner: MemoryOwner): void {
  for (const [name, value] of [["tenant", owner.tenant], ["type", owner.type], ["id", owner.id]] as const) {
    if (typeof value !== "string" || !TOKEN.test(value)) throw new MemoryError("invalid_input", `memory owner ${name} must be a token of letters, digits, _ or - (got ${JSON.stringify(value)})`)
  }
}

export function checkTenant(tenant: string): void {
  if (typeof tenant !== "string" || !TOKEN.test(tenant)) throw new MemoryError("invalid_input", `tenant must be a token of letters, digits, _ or - (got ${JSON.stringify(tenant)})`)
}

export function checkKind(kind: unknown): MemoryKind {
  if (!MEMORY_KINDS.includes(kind as MemoryKind)) throw new MemoryError("invalid_input", `unknown memory kind ${JSON.stringify(kind)}: one of ${MEMORY_KINDS.join(", ")}`)
  return kind as MemoryKind
}

export function checkScope(scope: unknown): MemoryScope {
  if (!MEMORY_SCOPES.includes(scope as MemoryScope)) throw new MemoryError("invalid_input", `unknown memory scope ${JSON.stringify(scope)}: one of ${MEMORY_SCOPES.join(", ")}`)
  return scope as MemoryScope
}

export function checkText(text: unknown, what = "text"): string {
  if (typeof text !== "string") throw new MemoryError("invalid_input", `${what} must be a string`)
  if (text.trim() === "") throw new MemoryError("invalid_input", `${what} is empty`)
  const bytes = Buffer.byteLength(text, "utf8")
  if (bytes > MAX_TEXT_BYTES) throw new MemoryError("too_large", `${what} is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES} bytes (split it, or remember a summary)`)
  if (text.includes("\u0000")) throw new MemoryError("invalid_input", `${what} contains a NUL character, which PostgreSQL text cannot hold`)
  return text
}

function jsonOf(value: unknown, what: string, limit: number): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (e) {
    throw new MemoryError("invalid_input", `${what} is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (json === undefined) throw new MemoryError("invalid_input", `${what} is not JSON`)
  const bytes = Buffer.byteLength(json, "utf8")
  if (bytes > limit) throw new MemoryError("too_large", `${what} is ${bytes} bytes of JSON; the limit is ${limit} bytes`)
  if (json.includes("\\u0000")) throw new MemoryError("invalid_input", `${what} contains a NUL character, which PostgreSQL jsonb cannot hold`)
  return json
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

export function checkMetadata(metadata: unknown, what = "metadata"): Metadata {
  if (metadata === undefined) return {}
  if (!isPlainObject(metadata)) throw new MemoryError("invalid_input", `${what} must be an object`)
  jsonOf(metadata, what, MAX_METADATA_BYTES)
  return metadata
}

export function checkReward(reward: unknown): number {
  if (typeof reward !== "number" || !Number.isFinite(reward) || reward < -1 || reward > 1) throw new MemoryError("invalid_input", `an outcome is a reward from -1 to +1 (got ${String(reward)})`)
  return reward
}

/** A vector must have the store's length and finite components; a zero vector has no direction. */
export function checkVector(vector: unknown, dimensions: number, what = "embedding"): ReadonlyArray<number> {
  if (!Array.isArray(vector) && !(vector instanceof Float32Array) && !(vector instanceof Float64Array)) throw new MemoryError("invalid_input", `${what} must be an array of numbers`)
  const v = vector as ArrayLike<number>
  if (v.length !== dimensions) throw new MemoryError("dimension_mismatch", `${what} has ${v.length} dimensions; this memory store has ${dimensions}`)
  let norm = 0
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (typeof x !== "number" || !Number.isFinite(x)) throw new MemoryError("invalid_input", `${what}[${i}] is ${String(x)}, not a finite number`)
    norm += x * x
  }
  if (norm === 0) throw new MemoryError("invalid_input", `${what} is all zeros: it has no direction to compare by cosine`)
  return Array.from(v)
}

export function checkRemember(input: RememberInput, dimensions: number, now = Date.now()): CheckedRemember {
  if (!isPlainObject(input)) throw new MemoryError("invalid_input", "remember takes an object {kind, text | data, ...}")
  const kind = checkKind(input.kind)
  let data: Record<string, unknown> | null = null
  if (input.data !== undefined) {
    if (!isPlainObject(input.data)) throw new MemoryError("invalid_input", "data must be an object")
    data = input.data as Record<string, unknown>
  }
  let text: string
  if (input.text !== undefined) text = checkText(input.text)
  else if (data !== null) text = checkText(jsonOf(data, "data", MAX_TEXT_BYTES), "data")
  else throw new MemoryError("invalid_input", "remember needs text or data")
  if (data !== null) jsonOf(data, "data", MAX_TEXT_BYTES)
  const metadata = checkMetadata(input.metadata)
  const outcome = input.outcome === undefined ? null : checkReward(input.outcome)
  let expiresAt: Date | null = null
  if (input.ttlMs !== undefined || input.expiresAt !== undefined) {
    if (kind !== "episodic") throw new MemoryError("invalid_input", `only episodic memories expire (this one is ${kind})`)
    if (input.ttlMs !== undefined && input.expiresAt !== undefined) throw new MemoryError("invalid_input", "give ttlMs or expiresAt, not both")
    if (input.ttlMs !== undefined) {
      if (typeof input.ttlMs !== "number" || !Number.isFinite(input.ttlMs) || input.ttlMs <= 0 || input.ttlMs > MAX_TTL_MS) throw new MemoryError("invalid_input", `ttlMs must be a positive number of milliseconds up to ${MAX_TTL_MS} (got ${String(input.ttlMs)})`)
      expiresAt = new Date(now + input.ttlMs)
    } else {
      const at = input.expiresAt instanceof Date ? input.expiresAt : new Date(String(input.expiresAt))
      if (Number.isNaN(at.getTime())) throw new MemoryError("invalid_input", `expiresAt is not a date: ${String(input.expiresAt)}`)
      expiresAt = at
    }
  }
  const embedding = input.embedding === undefined ? null : checkVector(input.embedding, dimensions)
  return { kind, text, data, metadata, outcome, expiresAt, embedding }
}

export interface CheckedRecall {
  /** null when only a precomputed vector was given. */
  readonly query: string | null
  readonly embedding: ReadonlyArray<number> | null
  readonly kind: MemoryKind | null
  readonly k: number
  readonly scope: MemoryScope
  readonly filter: Metadata | null
  readonly minScore: number | null
}

export function checkRecall(query: RecallQuery | string, dimensions: number): CheckedRecall {
  const q: RecallQuery = typeof query === "string" ? { query } : query
  if (!isPlainObject(q)) throw new MemoryError("invalid_input", "recall takes a query string or {query, embedding, kind, k, scope, filter, minScore}")
  const embedding = q.embedding === undefined ? null : checkVector(q.embedding, dimensions, "the query's embedding")
  // a precomputed vector makes the text optional: it only labels the query then
  const text = embedding !== null && q.query === undefined ? null : checkText(q.query, "query")
  const kind = q.kind === undefined ? null : checkKind(q.kind)
  const k = q.k ?? DEFAULT_K
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_K) throw new MemoryError("invalid_input", `k must be an integer from 1 to ${MAX_K} (got ${String(k)})`)
  const scope = q.scope === undefined ? (kind === "procedural" ? "tenant" : "actor") : checkScope(q.scope)
  const filter = q.filter === undefined ? null : checkMetadata(q.filter, "filter")
  let minScore: number | null = null
  if (q.minScore !== undefined) {
    if (typeof q.minScore !== "number" || !Number.isFinite(q.minScore) || q.minScore < -1 || q.minScore > 1) throw new MemoryError("invalid_input", `minScore must be a number from -1 to 1 (got ${String(q.minScore)})`)
    minScore = q.minScore
  }
  return { query: text, embedding, kind, k, scope, filter, minScore }
}
