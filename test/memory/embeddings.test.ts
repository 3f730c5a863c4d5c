import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { createEmbeddingClient, EmbeddingCache, isMemoryError, lexicalEmbedder, lexicalVector, openaiEmbedder, OPENAI_MAX_BATCH, type Memory } from "../../runtime/memory/mod.ts"
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from "../helpers/fake-embeddings-server.ts"
import { memoryBackends } from "./backends.ts"

const backends = await memoryBackends()
const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)

describe("lexical embedder", () => {
  it("lexical embedder - is deterministic, unit length and puts shared words closer", () => {
    const a = lexicalVector("The invoice from Initech is overdue")
    expect(lexicalVector("The invoice from Initech is overdue")).toEqual(a)
    expect(a.length).toBe(384)
    expect(Math.sqrt(a.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 10)
    const near = cosine(a, lexicalVector("Initech invoices are overdue"))
    const far = cosine(a, lexicalVector("Lunch options near the station"))
    expect(near).toBeGreaterThan(far + 0.3)
  })

  it("lexical embedder - text with no words still gets a direction", () => {
    const v = lexicalVector("!!! ???")
    expect(v.some((x) => x !== 0)).toBe(true)
  })
})

describe("embedding cache", () => {
  it("embedding cache - evicts the least recently used entry past its size", () => {
    const cache = new EmbeddingCache(2, 1000)
    cache.set("a", [1])
    cache.set("b", [2])
    expect(cache.get("a")).toEqual([1]) // a is now the most recent
    cache.set("c", [3])
    expect(cache.get("b")).toBeUndefined()
    expect(cache.get("a")).toEqual([1])
    expect(cache.get("c")).toEqual([3])
  })

  it("embedding cache - serves nothing older than its time to live", () => {
    let now = 0
    const cache = new EmbeddingCache(10, 24 * 3600 * 1000, () => now)
    cache.set("a", [1])
    now = 24 * 3600 * 1000 - 1
    expect(cache.get("a")).toEqual([1])
    now = 24 * 3600 * 1000
    expect(cache.get("a")).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})

describe("openai embeddings through the SDK", () => {
  let fake: FakeEmbeddingsServer
  beforeAll(async () => {
    fake = await startFakeEmbeddingsServer()
  })
  afterAll(async () => {
    await fake.stop()
  })
  afterEach(() => {
    fake.requests.length = 0
    fake.wrongDimensions = undefined
    fake.failWith = undefined
  })
  const sdk = () => new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 })

  it("embedding client - the same text twice costs one request (cache by model and text)", async () => {
    const client = createEmbeddingClient(openaiEmbedder({ client: sdk(), dimensions: 384 }))
    const a = await client.embed("the sky is blue")
    const b = await client.embed("the sky is blue")
    expect(b).toEqual(a)
    expect(fake.requests.length).toBe(1)
    expect(fake.requests[0]!.dimensions).toBe(384)
    expect(client.stats()).toMatchObject({ requests: 1, inputs: 1, cacheHits: 1, cacheMisses: 1 })
    // another model is another cache key
    const other = createEmbeddingClient(openaiEmbedder({ client: sdk(), model: "text-embedding-3-large", dimensions: 384 }))
    await other.embed("the sky is blue")
    expect(fake.requests.length).toBe(2)
  })

  it("embedding client - concurrent texts are coalesced into calls of at most the provider's limit", async () => {
    const client = createEmbeddingClient(openaiEmbedder({ client: sdk(), dimensions: 384 }))
    const texts = Array.from({ length: 5000 }, (_, i) => `note number ${i}`)
    const vectors = await Promise.all(texts.map((t) => client.embed(t)))
    expect(vectors.length).toBe(5000)
    expect(fake.requests.map((r) => r.inputs.length)).toEqual([OPENAI_MAX_BATCH, OPENAI_MAX_BATCH, 5000 - 2 * OPENAI_MAX_BATCH])
    expect(vectors[4321]).toEqual(lexicalVector("note number 4321", 384))
    // the same text asked for twice at once is sent once
    fake.requests.length = 0
    await Promise.all([client.embed("twice at once"), client.embed("twice at once"), client.embed("once")])
    expect(fake.requests.map((r) => [...r.inputs].sort())).toEqual([["once", "twice at once"]])
  })

  it("embedding client - the SDK's environment variables configure the provider", async () => {
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL }
    process.env.OPENAI_API_KEY = "sk-from-env"
    process.env.OPENAI_BASE_URL = fake.baseURL
    try {
      const client = createEmbeddingClient(openaiEmbedder())
      const v = await client.embed("from the environment")
      expect(v.length).toBe(1536)
      expect(fake.requests[0]).toMatchObject({ model: "text-embedding-3-small", dimensions: undefined, authorization: "Bearer sk-from-env" })
    } finally {
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY
      else process.env.OPENAI_API_KEY = saved.key
      if (saved.url === undefined) delete process.env.OPENAI_BASE_URL
      else process.env.OPENAI_BASE_URL = saved.url
    }
  })

  it("embedding client - a provider's wrong vector length or failure is a clear error, and nothing is cached", async () => {
    const client = createEmbeddingClient(openaiEmbedder({ client: sdk(), dimensions: 384 }))
    fake.wrongDimensions = 100
    const e1 = await client.embed("bad length").catch((e: unknown) => e)
    expect(isMemoryError(e1, "dimension_mismatch")).toBe(true)
    expect((e1 as Error).message).toMatch(/100 dimensions; this memory store has 384/)
    fake.wrongDimensions = undefined
    fake.failWith = 500
    const e2 = await client.embed("provider down").catch((e: unknown) => e)
    expect(isMemoryError(e2, "unavailable")).toBe(true)
    expect((e2 as Error).message).toMatch(/openai:text-embedding-3-small/)
    fake.failWith = undefined
    expect((await client.embed("bad length")).length).toBe(384)
    expect(client.stats().cacheSize).toBe(1)
  })

  for (const backend of backends) {
    describe.skipIf(backend.skip !== undefined)(`memory with OpenAI embeddings on ${backend.name}`, () => {
      let memory: Memory
      beforeAll(async () => {
        await backend.setup()
        memory = await backend.open({ embeddings: openaiEmbedder({ client: sdk(), dimensions: 384 }) })
      })
      afterAll(async () => {
        await backend.teardown()
      })

      it("memory - remembering a batch makes one embeddings request, and a repeated recall none", async () => {
        const m = memory.forActor({ tenant: "t1", type: "assistant", id: "a1" })
        await m.rememberMany(Array.from({ length: 50 }, (_, i) => ({ kind: "semantic" as const, text: `fact number ${i} about subject ${i % 7}` })))
        expect(fake.requests.length).toBe(1)
        expect(fake.requests[0]!.inputs.length).toBe(50)
        const first = await m.recall({ query: "fact number 42", k: 1 })
        const again = await m.recall({ query: "fact number 42", k: 1 })
        expect(first[0]?.text).toBe("fact number 42 about subject 0")
        expect(again[0]?.id).toBe(first[0]?.id)
        expect(fake.requests.length).toBe(2)
        expect(memory.embeddings.stats()).toMatchObject({ requests: 2, inputs: 51, cacheHits: 1 })
      })

      it("memory - a provider failure writes nothing", async () => {
        const m = memory.forActor({ tenant: "t1", type: "assistant", id: "a1" })
        const before = (await memory.stats("t1")).total
        fake.failWith = 503
        const e = await m.remember({ kind: "semantic", text: "never stored" }).catch((err: unknown) => err)
        fake.failWith = undefined
        expect(isMemoryError(e, "unavailable")).toBe(true)
        expect((await memory.stats("t1")).total).toBe(before)
      })
    })
  }
})

describe("embedder choice", () => {
  it("lexical embedder - says it is lexical, offline by default", () => {
    const p = lexicalEmbedder()
    expect(p).toMatchObject({ model: "ants-lexical-v1", dimensions: 384, lexical: true })
  })
})
