/**
 * A local HTTP server that speaks OpenAI's `POST /v1/embeddings`, so the real `openai` SDK
 * can be tested without the network. It embeds with the lexical embedder (any deterministic
 * vector would do), records every request it serves, and can be told to misbehave.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { lexicalVector } from "../../runtime/memory/mod.ts"

export interface EmbeddingsRequest {
  readonly model: string
  readonly inputs: ReadonlyArray<string>
  readonly dimensions: number | undefined
  readonly authorization: string | undefined
}

export interface FakeEmbeddingsServer {
  /** Base URL for the SDK (`.../v1`). */
  readonly baseURL: string
  readonly requests: EmbeddingsRequest[]
  /** Answers with vectors of this length instead of the asked one. */
  wrongDimensions: number | undefined
  /** Answers every request with this HTTP status. */
  failWith: number | undefined
  stop(): Promise<void>
}

export async function startFakeEmbeddingsServer(nativeDimensions = 1536): Promise<FakeEmbeddingsServer> {
  const requests: EmbeddingsRequest[] = []
  const state: { wrongDimensions: number | undefined; failWith: number | undefined } = { wrongDimensions: undefined, failWith: undefined }
  const server: Server = createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/embeddings") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }))
        return
      }
      const parsed = JSON.parse(body) as { model: string; input: string | string[]; dimensions?: number }
      const inputs = typeof parsed.input === "string" ? [parsed.input] : parsed.input
      requests.push({ model: parsed.model, inputs, dimensions: parsed.dimensions, authorization: req.headers.authorization })
      if (state.failWith !== undefined) {
        res.writeHead(state.failWith, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "the fake provider was told to fail", type: "server_error" } }))
        return
      }
      const dims = state.wrongDimensions ?? parsed.dimensions ?? nativeDimensions
      const data = inputs.map((text, index) => ({ object: "embedding", index, embedding: lexicalVector(text, dims) }))
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data, model: parsed.model, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const fake: FakeEmbeddingsServer = {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    get wrongDimensions() {
      return state.wrongDimensions
    },
    set wrongDimensions(v) {
      state.wrongDimensions = v
    },
    get failWith() {
      return state.failWith
    },
    set failWith(v) {
      state.failWith = v
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  return fake
}
