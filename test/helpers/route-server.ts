/**
 * A local HTTP server answering fixed routes, for code that fetches (the sandbox's allow-listed
 * fetch, generated API tools): each route is a function of the request returning status,
 * headers and a body. `origin` is `http://127.0.0.1:<port>`; `hits` counts requests per path.
 */
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

export interface RouteReply {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: string
}

export type Route = (req: IncomingMessage, body: string) => RouteReply

export interface RouteServer {
  readonly origin: string
  readonly hits: Map<string, number>
  close(): Promise<void>
}

export async function startRouteServer(routes: Readonly<Record<string, Route>>): Promise<RouteServer> {
  const hits = new Map<string, number>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname
      hits.set(path, (hits.get(path) ?? 0) + 1)
      const route = routes[path]
      const reply: RouteReply = route ? route(req, Buffer.concat(chunks).toString("utf8")) : { status: 404, body: "not found" }
      res.writeHead(reply.status ?? 200, reply.headers ?? { "content-type": "application/json" })
      res.end(reply.body ?? "")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
