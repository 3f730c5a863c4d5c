/** The gateway's options, defaults and handles (gateway.ts makes one; gateway-app.ts builds it). */
import type { Hono } from "hono"
import type { ServerType } from "@hono/node-server"
import type { AgentDefinition } from "../agent/define-agent.ts"
import type { Credentials } from "../security/connection-options.ts"
import type { GatewayEnv } from "./http.ts"
import type { GatewayPrincipal, TokenTable } from "./principals.ts"
import type { GatewayConnections } from "./connections.ts"
import type { TypeRepository } from "./type-repository.ts"

export interface GatewayOptions {
  /** NATS URL(s). Default `NATS_URL`, else nats://127.0.0.1:4222. */
  readonly nats?: string
  /** The bearer tokens and the principals they stand for (at least one). */
  readonly principals: ReadonlyArray<GatewayPrincipal>
  /** Credentials of principals that give none (a development server without per-tenant principals). */
  readonly credentials?: Credentials
  /** The agent types the gateway describes (discovery, OpenAPI, A2A): the definitions the nodes host. */
  readonly agents?: ReadonlyArray<AgentDefinition<any, any>>
  /** How long an ask waits for its reply unless `?timeout=` says otherwise. Default 30 000 ms. */
  readonly askTimeoutMs?: number
  /** The longest `?timeout=` accepted. Default 600 000 ms (a conversational turn may take minutes). */
  readonly maxTimeoutMs?: number
  /** The largest request body accepted (bytes); larger ones are refused `too_large` before they are read whole. Default 8 MiB. */
  readonly maxBodyBytes?: number
  /** Version shown in the OpenAPI document. */
  readonly version?: string
}

export const GATEWAY_DEFAULTS = { askTimeoutMs: 30_000, maxTimeoutMs: 600_000, maxBodyBytes: 8 * 1024 * 1024, host: "127.0.0.1", port: 8080 } as const

export interface GatewayListener {
  /** `http://host:port`, the port the system chose when 0 was asked. */
  readonly url: string
  readonly server: ServerType
  close(): Promise<void>
}

export interface Gateway {
  readonly app: Hono<GatewayEnv>
  readonly tokens: TokenTable
  readonly types: TypeRepository
  readonly connections: GatewayConnections
  /** Listens on `host:port` (default 127.0.0.1:8080; port 0 picks a free one). */
  serve(listen?: { host?: string; port?: number }): Promise<GatewayListener>
  /** Stops listening (every listener `serve` opened) and closes the NATS connections. */
  close(): Promise<void>
}
