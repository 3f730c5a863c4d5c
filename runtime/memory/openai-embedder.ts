/**
 * Embeddings from OpenAI (or any server speaking its `/v1/embeddings` API) through the
 * official SDK, which reads `OPENAI_API_KEY` and `OPENAI_BASE_URL` when they are not given.
 */
import type OpenAI from "openai"
import type { EmbeddingProvider } from "./embedding-provider.ts"

export const DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
/** The API's limit on inputs per request. */
export const OPENAI_MAX_BATCH = 2048
const NATIVE_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
}

export interface OpenAIEmbedderOptions {
  readonly apiKey?: string
  readonly baseURL?: string
  /** Default text-embedding-3-small. */
  readonly model?: string
  /**
   * Vector length. For the text-embedding-3 models a smaller number is sent as the API's
   * `dimensions` (e.g. 384 to share a store with the offline embedder's size); otherwise the
   * model's native length, which must then be given for models this file does not know.
   */
  readonly dimensions?: number
  readonly maxBatch?: number
  /** An SDK client to use instead of building one. */
  readonly client?: OpenAI
}

export function openaiEmbedder(options: OpenAIEmbedderOptions = {}): EmbeddingProvider {
  const model = options.model ?? DEFAULT_OPENAI_EMBEDDING_MODEL
  const native = NATIVE_DIMENSIONS[model]
  const dimensions = options.dimensions ?? native
  if (dimensions === undefined) throw new Error(`the vector length of embedding model ${model} is unknown: give dimensions`)
  const sendDimensions = options.dimensions !== undefined && options.dimensions !== native
  // the SDK is loaded at the first batch (a node embedding otherwise never loads it); a missing
  // key is still found here, as the SDK's constructor would (it reads OPENAI_API_KEY)
  if (options.client === undefined && !options.apiKey && !process.env.OPENAI_API_KEY) {
    throw new Error("openaiEmbedder: no API key: give apiKey or set OPENAI_API_KEY")
  }
  let sdk: Promise<OpenAI> | undefined
  const sdkClient = () => (sdk ??= options.client ? Promise.resolve(options.client) : import("openai").then((m) => new m.default({ apiKey: options.apiKey, baseURL: options.baseURL })))
  return {
    model: `openai:${model}`,
    dimensions,
    maxBatch: Math.min(options.maxBatch ?? OPENAI_MAX_BATCH, OPENAI_MAX_BATCH),
    lexical: false,
    embedBatch: async (texts) => {
      const client = await sdkClient()
      const res = await client.embeddings.create({ model, input: [...texts], encoding_format: "float", ...(sendDimensions ? { dimensions } : {}) })
      const out: Array<ReadonlyArray<number>> = new Array(texts.length)
      for (const d of res.data) out[d.index] = d.embedding
      return out
    },
  }
}
