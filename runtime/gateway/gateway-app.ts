/**
 * The gateway built (gateway.ts loads this file when the first gateway is made): the Hono app
 * with its authentication, body limit and routes, and `serve` on @hono/node-server.
 */
import type { AddressInfo } from "node:net"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { serve as serveNode } from "@hono/node-server"
import { a2aRoutes } from "./a2a.ts"
import { approvalRoutes } from "./approval-routes.ts"
import { agentRoutes } from "./agent-routes.ts"
import { gatewayConnections } from "./connections.ts"
import { dashboardData } from "./dashboard-data.ts"
import { dashboardRoutes } from "./dashboard-routes.ts"
import { discoveryRoutes } from "./discovery-routes.ts"
import { GatewayError } from "./errors.ts"
import { errorResponse, type GatewayEnv } from "./http.ts"
import { tokenTable } from "./principals.ts"
import { taskRoutes } from "./task-routes.ts"
import { typeRepository } from "./type-repository.ts"
import { GATEWAY_DEFAULTS, type Gateway, type GatewayListener, type GatewayOptions } from "./gateway-options.ts"

/** The gateway itself: its Hono app with every route, and its listeners. */
export function buildGateway(options: GatewayOptions): Gateway {
  const tokens = tokenTable(options.principals)
  const types = typeRepository(options.agents ?? [])
  const connections = gatewayConnections(options.nats, options.credentials)
  const app = new Hono<GatewayEnv>()
  const listeners: GatewayListener[] = []

  app.onError((e) => errorResponse(e))
  app.notFound((c) => errorResponse(new GatewayError("not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}; the routes are listed in /v1/openapi.json`)))

  const maxBodyBytes = options.maxBodyBytes ?? GATEWAY_DEFAULTS.maxBodyBytes
  const tooLarge = () => errorResponse(new GatewayError("too_large", `the request body is over the gateway's limit of ${maxBodyBytes} bytes; nothing was sent`))
  // a body without a declared length (chunked) is counted as it is read; refused part way, the
  // rest of it is still on the connection, which is closed rather than reused
  const streamedLimit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      const r = tooLarge()
      r.headers.set("connection", "close")
      return r
    },
  })
  // every API route needs a token; the dashboard's static files hold no data and load without one
  app.use("/v1/*", async (c, next) => {
    const caller = tokens.authenticate(c.req.header("authorization"))
    if (caller === undefined) {
      const why = c.req.header("authorization") === undefined ? "no Authorization header" : "an unknown token"
      return errorResponse(new GatewayError("unauthenticated", `${why}: send Authorization: Bearer <token> (a token of the gateway's tokens file)`))
    }
    c.set("caller", caller)
    // A declared length is checked from the header alone. Hono's bodyLimit looks at the
    // request's `body` first, which makes @hono/node-server build a whole web Request and
    // ReadableStream for every request instead of reading the body straight from Node's.
    if (c.req.header("transfer-encoding") === undefined) {
      const length = c.req.header("content-length")
      if (length !== undefined && Number(length) > maxBodyBytes) return tooLarge()
      // no length and no chunking: HTTP/1.1 says there is no body
      return next()
    }
    return streamedLimit(c, next)
  })

  agentRoutes(app, {
    connections,
    askTimeoutMs: options.askTimeoutMs ?? GATEWAY_DEFAULTS.askTimeoutMs,
    maxTimeoutMs: options.maxTimeoutMs ?? GATEWAY_DEFAULTS.maxTimeoutMs,
  })
  const dashboard = dashboardData({ connection: (caller) => connections.of(caller) })
  taskRoutes(app, connections, (caller, tenant, id) => void dashboard.taskSubmitted(caller, tenant, id).catch(() => undefined))
  discoveryRoutes(app, types, connections, options.version ?? "0.1.0")
  a2aRoutes(app, types, connections, { version: options.version ?? "0.1.0", timeoutMs: options.maxTimeoutMs ?? GATEWAY_DEFAULTS.maxTimeoutMs })
  approvalRoutes(app, connections)
  dashboardRoutes(app, connections, dashboard)

  return {
    app,
    tokens,
    types,
    connections,
    serve(listen = {}) {
      const hostname = listen.host ?? GATEWAY_DEFAULTS.host
      return new Promise((resolve, reject) => {
        const server = serveNode({ fetch: app.fetch, hostname, port: listen.port ?? GATEWAY_DEFAULTS.port }, (info: AddressInfo) => {
          const host = info.family === "IPv6" ? `[${info.address}]` : info.address
          const l: GatewayListener = {
            url: `http://${host}:${info.port}`,
            server,
            close: () =>
              new Promise<void>((done) => {
                ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
                server.close(() => done())
              }),
          }
          listeners.push(l)
          resolve(l)
        })
        server.once("error", reject)
      })
    },
    async close() {
      await Promise.all(listeners.splice(0).map((l) => l.close()))
      await dashboard.close()
      await connections.close()
    },
  }
}
