/**
 * The node's HTTP listener (`ants node --http <addr>`, `startNode({ http })`), plain
 * `node:http`: `GET /metrics` (Prometheus text), `GET /healthz` (200 while the node serves,
 * 503 once it drains or has lost NATS), and whatever other routes are mounted on it (a gateway
 * or dashboard mounts its handler under a path prefix with `mount`).
 *
 * Secure by default: it listens on 127.0.0.1 unless told otherwise, and an address beyond this
 * machine needs a bearer token (`http.token`, else `ANTS_HTTP_TOKEN`): `/metrics` and mounted
 * routes then answer 401 without `Authorization: Bearer <token>` (Prometheus sends it with
 * `authorization: { credentials: <token> }`). `/healthz` tells only whether the node serves,
 * and stays open for probes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { timingSafeEqual } from "node:crypto"
import type { AddressInfo } from "node:net"
import { TaggedError } from "../../subjects/errors.ts"

export interface NodeHttpOptions {
  /** `host:port`, `:port` or `port` (host 127.0.0.1); `[::1]:port` for IPv6; port 0 picks a free one. */
  readonly address: string
  /** Bearer token for `/metrics` and mounted routes; required on an address beyond loopback. Default `ANTS_HTTP_TOKEN`. */
  readonly token?: string
}

/** A mounted route: answers requests whose path starts with its prefix. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface HttpListener {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly port: number
  /** Serves `handler` for every path under `prefix` (e.g. `/api`); the longest matching prefix wins. Behind the token when there is one. */
  mount(prefix: string, handler: HttpHandler): void
  close(): Promise<void>
}

/** An address or token the listener cannot use (a bad address, a public address without a token). */
export class HttpListenerError extends TaggedError("HttpListenerError") {}

export interface HttpListenerDeps {
  /** Prometheus text and its content type. */
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>
  /** Whether the node serves (`ok`) and what it says about itself. */
  health(): { readonly ok: boolean; readonly [k: string]: unknown }
  log(level: "info" | "warn" | "error", message: string): void
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"])

/** `host:port` parsed; the host defaults to 127.0.0.1. */
export function parseHttpAddress(address: string): { host: string; port: number } {
  const a = address.trim()
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(a)
  const port = m ? Number(m[3]) : NaN
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new HttpListenerError(`--http ${address} is not an address: write host:port (127.0.0.1:9464), :port or port`)
  }
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port }
}

const sameToken = (given: string, want: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(want)
  return a.length === b.length && timingSafeEqual(a, b)
}

export async function startHttpListener(options: NodeHttpOptions, deps: HttpListenerDeps): Promise<HttpListener> {
  const { host, port } = parseHttpAddress(options.address)
  const token = options.token ?? process.env.ANTS_HTTP_TOKEN
  if (!LOOPBACK.has(host) && !token) {
    throw new HttpListenerError(`--http ${options.address} listens beyond this machine: set ANTS_HTTP_TOKEN (scrapers then send "Authorization: Bearer <token>"), or listen on 127.0.0.1`)
  }
  const mounts: Array<{ prefix: string; handler: HttpHandler }> = []
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" })
    res.end(body)
  }
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, "application/json; charset=utf-8", JSON.stringify(body))

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!
    if (path === "/healthz") {
      const h = deps.health()
      return json(res, h.ok ? 200 : 503, h)
    }
    if (token) {
      const auth = req.headers.authorization ?? ""
      if (!auth.startsWith("Bearer ") || !sameToken(auth.slice(7).trim(), token)) {
        res.setHeader("www-authenticate", 'Bearer realm="ants"')
        return json(res, 401, { error: "unauthorized: send Authorization: Bearer <token> (the node's ANTS_HTTP_TOKEN)" })
      }
    }
    if (path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "use GET /metrics" })
      const m = await deps.metrics()
      return send(res, 200, m.contentType, m.body)
    }
    let best: { prefix: string; handler: HttpHandler } | undefined
    for (const m of mounts) if ((path === m.prefix || path.startsWith(m.prefix.endsWith("/") ? m.prefix : `${m.prefix}/`)) && (!best || m.prefix.length > best.prefix.length)) best = m
    if (best) return await best.handler(req, res)
    return json(res, 404, { error: `no route ${path}: try /metrics or /healthz` })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      deps.log("warn", `http ${req.method} ${req.url} failed: ${(e as Error)?.message ?? e}`)
      if (!res.headersSent) json(res, 500, { error: `internal error: ${(e as Error)?.message ?? e}` })
      else res.destroy()
    })
  })
  // a slow or idle client must not hold sockets open for ever
  server.requestTimeout = 30_000
  server.headersTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(new HttpListenerError(`--http ${options.address}: cannot listen (${e.code ?? e.message}); pick another port or stop what holds it`, { cause: e }))
    server.once("error", failed)
    server.listen(port, host, () => {
      server.off("error", failed)
      resolve()
    })
  })
  server.on("error", (e) => deps.log("warn", `http listener: ${e.message}`))
  const bound = (server.address() as AddressInfo).port
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    url: `http://${shown}:${bound}`,
    port: bound,
    mount(prefix, handler) {
      if (!prefix.startsWith("/") || prefix === "/metrics" || prefix === "/healthz") throw new HttpListenerError(`mount prefix "${prefix}" must start with / and not be /metrics or /healthz`)
      mounts.push({ prefix: prefix.replace(/\/+$/, "") || "/", handler })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
