/**
 * What the memory layer asks of an embedding provider: vectors for a batch of texts. The
 * caching and batching client (embedding-client.ts) sits in front of any provider.
 */
export interface EmbeddingProvider {
  /** Names the vector space; stored with every entry, and recall only compares entries of the same model. */
  readonly model: string
  readonly dimensions: number
  /** The most inputs the provider accepts in one call. */
  readonly maxBatch: number
  /** True for the offline lexical embedder: the README and `ants memory stats` say so. */
  readonly lexical: boolean
  embedBatch(texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>>
}
