/**
 * A bounded cache of embeddings keyed by a hash of model and text: least recently used
 * entries leave first, and no entry is served after its time to live.
 */
import { createHash } from "node:crypto"

export const EMBEDDING_CACHE_TTL_MS = 24 * 3600 * 1000
export const EMBEDDING_CACHE_MAX_ENTRIES = 10_000

export function embeddingKey(model: string, text: string): string {
  return createHash("sha256").update(model).update("\u0000").update(text).digest("base64url")
}

export class EmbeddingCache {
  // a Map iterates in insertion order: re-inserting on each hit keeps the oldest use first
  private readonly entries = new Map<string, { readonly vector: ReadonlyArray<number>; readonly at: number }>()
  constructor(
    readonly maxEntries = EMBEDDING_CACHE_MAX_ENTRIES,
    readonly ttlMs = EMBEDDING_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size
  }

  get(key: string): ReadonlyArray<number> | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    this.entries.delete(key)
    if (this.now() - e.at >= this.ttlMs) return undefined
    this.entries.set(key, e)
    return e.vector
  }

  set(key: string, vector: ReadonlyArray<number>): void {
    if (this.maxEntries <= 0) return
    this.entries.delete(key)
    this.entries.set(key, { vector, at: this.now() })
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
