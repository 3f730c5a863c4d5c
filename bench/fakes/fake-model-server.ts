/**
 * The machinery shared by the fake model servers (fake-openai.ts, fake-anthropic.ts): a real
 * HTTP server on a free port that answers each request with what the test's responder says,
 * and counts every request it receives. The responder speaks in a neutral shape; each fake
 * turns it into its API's wire format, plain JSON or server-sent events.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeReply {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments: unknown }>
  readonly usage?: { readonly input: number; readonly output: number }
  /** An HTTP error status instead of an answer. */
  readonly status?: number
  /** The Retry-After header of an error. */
  readonly retryAfter?: string
  /** A body sent as is with status 200 (a malformed answer). */
  readonly raw?: string
  /** Wait this long before answering. */
  readonly delayMs?: number
}

export interface FakeRequest {
  readonly path: string
  readonly body: any
  readonly stream: boolean
  readonly at: number
}

export type Responder = (request: FakeRequest, n: number) => FakeReply | Promise<FakeReply>

export interface FakeServer {
  /** Base URL of the server's root (`http://127.0.0.1:<port>`). */
  readonly url: string
  readonly requests: FakeRequest[]
  count(): number
  /** Replaces the responder. */
  respond(responder: Responder): void
  close(): Promise<void>
}

export interface Wire {
  /** The path the API posts to. */
  readonly path: string
  json(reply: FakeReply, req: FakeRequest, n: number): unknown
  /** Server-sent events of a streamed answer, already framed. */
  sse(reply: FakeReply, req: FakeRequest, n: number): string[]
  error(status: number, message: string): unknown
}

export async function startFakeModelServer(wire: Wire, responder: Responder): Promise<FakeServer> {
  const requests: FakeRequest[] = []
  let respond = responder
  const sockets = new Set<import("node:net").Socket>()
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let body: any = {}
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify(wire.error(400, "body is not JSON")))
      return
    }
    const path = (req.url ?? "").split("?")[0]
    if (req.method !== "POST" || path !== wire.path) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify(wire.error(404, `no route ${req.method} ${path}`)))
      return
    }
    const r: FakeRequest = { path, body, stream: body.stream === true, at: Date.now() }
    requests.push(r)
    const n = requests.length
    const reply = await respond(r, n)
    if (reply.delayMs) await new Promise((ok) => setTimeout(ok, reply.delayMs))
    if (res.destroyed) return
    if (reply.status !== undefined) {
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (reply.retryAfter !== undefined) headers["retry-after"] = reply.retryAfter
      res.writeHead(reply.status, headers).end(JSON.stringify(wire.error(reply.status, reply.text ?? `fake error ${reply.status}`)))
      return
    }
    if (reply.raw !== undefined) {
      res.writeHead(200, { "content-type": r.stream ? "text/event-stream" : "application/json" }).end(reply.raw)
      return
    }
    if (r.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      for (const ev of wire.sse(reply, r, n)) res.write(ev)
      res.end()
      return
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(wire.json(reply, r, n)))
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e))
    })
  })
  server.keepAliveTimeout = 30_000
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: () => requests.length,
    respond(r) {
      respond = r
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy()
        server.close(() => ok())
      }),
  }
}

/** Splits text into word pieces, as a model streams it. */
export function pieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? (text === "" ? [] : [text])
}
