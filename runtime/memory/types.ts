/**
 * The vocabulary of memory: kinds, who owns an entry, what is remembered and what a recall
 * returns. Plain data, so that it crosses NATS and the CLI as JSON unchanged.
 */

/** episodic: what happened (turns, experiences, outcomes); semantic: facts; procedural: how to do something, with a success rate. */
export const MEMORY_KINDS = ["episodic", "semantic", "procedural"] as const
export type MemoryKind = (typeof MEMORY_KINDS)[number]

/**
 * How wide a recall looks: the calling actor's own entries, every actor of its type, or its
 * whole tenant. Writes always belong to one actor; scopes only widen reads.
 */
export const MEMORY_SCOPES = ["actor", "type", "tenant"] as const
export type MemoryScope = (typeof MEMORY_SCOPES)[number]

/** The actor an entry belongs to. The tenant is also the row-level-security boundary. */
export interface MemoryOwner {
  readonly tenant: string
  readonly type: string
  readonly id: string
}

export type Metadata = Readonly<Record<string, unknown>>

export interface RememberInput {
  readonly kind: MemoryKind
  /** What to remember, as text. One of `text` and `data` is required. */
  readonly text?: string
  /** What to remember, as a JSON object; embedded as its JSON text unless `text` is given too. */
  readonly data?: Readonly<Record<string, unknown>>
  readonly metadata?: Metadata
  /**
   * A reward from +1 (worked, approved) to -1 (failed, a human had to step in). For a
   * procedure it updates the success rate of the stored procedure with the same text.
   */
  readonly outcome?: number
  /** Episodic entries only: forgotten after this long (recall ignores them at once, the sweep deletes them). */
  readonly ttlMs?: number
  /** Episodic entries only: forgotten at this time. */
  readonly expiresAt?: Date | string
  /** A precomputed vector of the store's dimensions, in the embedder's space; skips the embedder. */
  readonly embedding?: ReadonlyArray<number>
}

export interface RecallQuery {
  /** Searched by meaning (cosine similarity of embeddings). Optional when `embedding` is given. */
  readonly query?: string
  /** A precomputed query vector of the store's dimensions, in the embedder's space; skips the embedder. */
  readonly embedding?: ReadonlyArray<number>
  readonly kind?: MemoryKind
  /** Default 5; at most 1000. */
  readonly k?: number
  /** Default `actor`, except procedures, which default to `tenant` (shared across agents). */
  readonly scope?: MemoryScope
  /** Only entries whose metadata contains these key/values (JSON containment). */
  readonly filter?: Metadata
  /** Only entries at least this similar, -1..1. */
  readonly minScore?: number
}

export interface MemoryItem {
  readonly id: string
  readonly kind: MemoryKind
  readonly text: string
  readonly data: Readonly<Record<string, unknown>> | null
  readonly metadata: Metadata
  readonly tenant: string
  readonly type: string
  readonly actor: string
  readonly createdAt: string
  readonly expiresAt: string | null
  /** Outcomes recorded (procedures mostly). */
  readonly uses: number
  /** Mean of (reward + 1) / 2 over the outcomes, 0..1; null before the first outcome. */
  readonly successRate: number | null
}

export interface RecalledItem extends MemoryItem {
  /** Cosine similarity to the query, -1..1 (1 = same direction). */
  readonly score: number
}

/** What to forget: entries by id, or by kind and metadata; within `scope` (default: the owner's own entries). */
export type ForgetSelector = ({ readonly id: string } | { readonly ids: ReadonlyArray<string> } | { readonly kind?: MemoryKind; readonly filter?: Metadata }) & { readonly scope?: MemoryScope }

export interface MemoryStats {
  readonly backend: "postgres" | "pglite"
  readonly url: string
  readonly dimensions: number
  readonly model: string
  readonly total: number
  readonly expired: number
  readonly byTenant: ReadonlyArray<{ readonly tenant: string; readonly kind: MemoryKind; readonly count: number }>
}
