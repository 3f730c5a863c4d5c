/**
 * The embedding client every memory call goes through: a cache in front (hash of model and
 * text, 24 h, 10,000 entries, LRU), then a batcher that coalesces the texts asked for in the
 * same turn of the event loop (and the same text asked twice) into calls of at most the
 * provider's per-call limit. Every vector returned is checked (length, finite numbers) before
 * anyone can store it.
 */
import { asMemoryError } from "./errors.ts"
import { EmbeddingCache, embeddingKey, EMBEDDING_CACHE_MAX_ENTRIES, EMBEDDING_CACHE_TTL_MS } from "./embedding-cache.ts"
import type { EmbeddingProvider } from "./embedding-provider.ts"
import { checkVector } from "./validate.ts"

export interface EmbeddingClientOptions {
  readonly cacheEntries?: number
  readonly cacheTtlMs?: number
  /** Inputs per provider call; at most the provider's own limit. */
  readonly maxBatch?: number
  readonly now?: () => number
}

export interface EmbeddingClientStats {
  /** Calls made to the provider. */
  readonly requests: number
  /** Texts sent to the provider. */
  readonly inputs: number
  readonly cacheHits: number
  readonly cacheMisses: number
  readonly cacheSize: number
}

export interface EmbeddingClient {
  readonly model: string
  readonly dimensions: number
  readonly lexical: boolean
  embed(text: string): Promise<ReadonlyArray<number>>
  embedMany(texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>>
  stats(): EmbeddingClientStats
}

interface Pending {
  readonly key: string
  readonly text: string
  readonly resolve: (v: ReadonlyArray<number>) => void
  readonly reject: (e: unknown) => void
}

export function createEmbeddingClient(provider: EmbeddingProvider, options: EmbeddingClientOptions = {}): EmbeddingClient {
  const cache = new EmbeddingCache(options.cacheEntries ?? EMBEDDING_CACHE_MAX_ENTRIES, options.cacheTtlMs ?? EMBEDDING_CACHE_TTL_MS, options.now)
  const maxBatch = Math.max(1, Math.min(options.maxBatch ?? provider.maxBatch, provider.maxBatch))
  const inFlight = new Map<string, Promise<ReadonlyArray<number>>>()
  let queue: Pending[] = []
  let scheduled = false
  let requests = 0
  let inputs = 0
  let hits = 0
  let misses = 0

  const callProvider = async (batch: Pending[]) => {
    requests++
    inputs += batch.length
    try {
      const vectors = await provider.embedBatch(batch.map((p) => p.text))
      batch.forEach((p, i) => {
        try {
          const v = checkVector(vectors[i], provider.dimensions, `the embedding ${provider.model} returned`)
          cache.set(p.key, v)
          p.resolve(v)
        } catch (e) {
          p.reject(e)
        }
      })
    } catch (e) {
      const err = asMemoryError(e, `embedding provider ${provider.model}`)
      for (const p of batch) p.reject(err)
    }
  }

  const flush = () => {
    scheduled = false
    const all = queue
    queue = []
    for (let i = 0; i < all.length; i += maxBatch) void callProvider(all.slice(i, i + maxBatch))
  }

  const embed = (text: string): Promise<ReadonlyArray<number>> => {
    const key = embeddingKey(provider.model, text)
    const cached = cache.get(key)
    if (cached !== undefined) {
      hits++
      return Promise.resolve(cached)
    }
    const pending = inFlight.get(key)
    if (pending !== undefined) {
      hits++
      return pending
    }
    misses++
    const p = new Promise<ReadonlyArray<number>>((resolve, reject) => {
      queue.push({ key, text, resolve, reject })
      if (!scheduled) {
        scheduled = true
        // every embed() of this turn of the event loop joins the same provider call
        setImmediate(flush)
      }
    }).finally(() => inFlight.delete(key))
    inFlight.set(key, p)
    return p
  }

  return {
    model: provider.model,
    dimensions: provider.dimensions,
    lexical: provider.lexical,
    embed,
    embedMany: (texts) => Promise.all(texts.map(embed)),
    stats: () => ({ requests, inputs, cacheHits: hits, cacheMisses: misses, cacheSize: cache.size }),
  }
}
